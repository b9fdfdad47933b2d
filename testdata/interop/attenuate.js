#!/usr/bin/env node
// attenuate.js: an independent macaroon implementation (the npm `macaroon`
// package, pinned in package.json) attenuates an authgw token.
//
// Used by verifier/interop_test.go. Reads one JSON request on stdin:
//
//   {
//     "token":   "<authgw token: V2 binary, base64url>",
//     "caveats": ["routes /notes/v1/x/**", ...],   // added properly (re-signed)
//     "forge": {                                    // optional, for negative tests
//       "append": ["routes /**"],                    // appended WITHOUT updating the signature
//       "drop":   ["time-before"]                    // caveats with these names removed, signature kept
//     }
//   }
//
// and writes one JSON response on stdout:
//
//   {
//     "exportShim": true,   // whether the exportBinary work-around below was applied
//     "version": 2,
//     "identifier": "<hex of the identifier as this library decoded it>",
//     "location": "",
//     "signatureBefore": "<hex>", "signatureAfter": "<hex>",
//     "decodedCaveats": [... the token's caveats as decoded, before adding ...],
//     "caveats": [... every caveat id after adding (and forging) ...],
//     "token": "<V2 binary, base64url without padding>"
//   }
//
// A human-readable summary goes to stderr. Any failure exits non-zero with
// the reason on stderr.
'use strict';

const fs = require('fs');
const macaroon = require('macaroon');

// macaroon@3.0.4, the newest release on npm, has a bug in the private
// ByteBuffer class behind exportBinary: _grow compares against
// this._capacity, which is never set, so every append doubles the buffer
// and exporting a macaroon with more than 3 caveats throws "RangeError:
// Invalid typed array length" (after allocating gigabytes). Upstream fixed
// it in git (go-macaroon/js-macaroon#40, #48; issue #41) but never
// published the fix. When the installed source still has the bug, we
// supply the missing property, with the value the fix uses (the buffer's
// length), only for the duration of exportBinary. The serializer itself
// is the library's, unchanged.
const librarySource = fs.readFileSync(require.resolve('macaroon'), 'utf8');
const needsCapacityShim = librarySource.includes('minCap <= this._capacity') &&
  !/this\._capacity\s*=/.test(librarySource);

function exportBinary(m) {
  if (!needsCapacityShim) {
    return m.exportBinary();
  }
  Object.defineProperty(Object.prototype, '_capacity', {
    configurable: true,
    get() {
      return this._buf instanceof Uint8Array ? this._buf.length : undefined;
    },
  });
  try {
    return m.exportBinary();
  } finally {
    delete Object.prototype._capacity;
  }
}

const utf8 = new TextDecoder('utf-8', {fatal: true});

function hex(bytes) {
  return Buffer.from(bytes).toString('hex');
}

function caveatText(cav) {
  if (cav.vid || cav.location) {
    throw new Error('unexpected third-party caveat in an authgw token');
  }
  return utf8.decode(cav.identifier); // throws on invalid UTF-8
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', c => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

function stringList(v, what) {
  if (v === undefined) {
    return [];
  }
  if (!Array.isArray(v) || !v.every(s => typeof s === 'string')) {
    throw new Error(`${what} must be an array of strings`);
  }
  return v;
}

async function main() {
  const req = JSON.parse(await readStdin());
  if (typeof req.token !== 'string' || req.token === '') {
    throw new Error('request: token must be a non-empty string');
  }
  const add = stringList(req.caveats, 'request: caveats');
  const forge = req.forge || {};
  const append = stringList(forge.append, 'request: forge.append');
  const drop = stringList(forge.drop, 'request: forge.drop');

  // Decode with this library only: its own base64 and V2 binary parsers.
  const m = macaroon.importMacaroon(macaroon.base64ToBytes(req.token));
  if (Array.isArray(m)) {
    throw new Error('decoded more than one macaroon');
  }
  const exported0 = m.exportJSON();
  if (exported0.v !== 2) {
    throw new Error(`decoded macaroon version ${exported0.v}, want 2`);
  }
  const identifier = hex(m.identifier);
  const signatureBefore = hex(m.signature);
  const decodedCaveats = m.caveats.map(caveatText);
  process.stderr.write(`npm macaroon: decoded V2 macaroon, location ${JSON.stringify(m.location || '')}\n`);
  process.stderr.write(`  identifier ${identifier}\n  signature  ${signatureBefore}\n`);
  decodedCaveats.forEach((c, i) => process.stderr.write(`  caveat[${i}] ${JSON.stringify(c)}\n`));

  for (const c of add) {
    m.addFirstPartyCaveat(c); // string: UTF-8 encoded by the library
    process.stderr.write(`  + added    ${JSON.stringify(c)}\n`);
  }

  let out = m;
  if (append.length > 0 || drop.length > 0) {
    // Forge: edit the exported JSON form and re-import it, so the caveat
    // list changes but the signature stays what it was.
    const j = out.exportJSON();
    const name = c => (c.i !== undefined ? c.i : Buffer.from(c.i64, 'base64').toString('utf8')).split(' ')[0];
    j.c = j.c || [];
    const before = j.c.length;
    j.c = j.c.filter(c => !drop.includes(name(c)));
    if (j.c.length === before && drop.length > 0) {
      throw new Error(`forge.drop: no caveat named ${drop.join(', ')}`);
    }
    for (const c of append) {
      j.c.push({i: c});
      process.stderr.write(`  + FORGED (not signed) ${JSON.stringify(c)}\n`);
    }
    drop.forEach(d => process.stderr.write(`  - FORGED (signature kept) dropped ${d}\n`));
    out = macaroon.importMacaroon(j);
  }

  const bin = exportBinary(out);
  if (bin[0] !== 2) {
    throw new Error(`exportBinary wrote version byte ${bin[0]}, want 2 (V2 binary)`);
  }
  const token = macaroon.bytesToBase64(bin);
  // The library's encoder is documented as URL-safe and unpadded; hold it to that.
  if (!/^[A-Za-z0-9_-]+$/.test(token) || token !== Buffer.from(bin).toString('base64url')) {
    throw new Error('bytesToBase64 did not produce unpadded base64url');
  }
  const res = {
    exportShim: needsCapacityShim,
    version: exported0.v,
    identifier,
    location: m.location || '',
    signatureBefore,
    signatureAfter: hex(out.signature),
    decodedCaveats,
    caveats: out.caveats.map(caveatText),
    token,
  };
  process.stderr.write(`  signature  ${res.signatureAfter} (after)\n`);
  if (needsCapacityShim) {
    process.stderr.write('  (exportBinary ran with the _capacity work-around for macaroon@3.0.4)\n');
  }
  process.stdout.write(JSON.stringify(res) + '\n');
}

main().catch(err => {
  process.stderr.write(`attenuate.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
