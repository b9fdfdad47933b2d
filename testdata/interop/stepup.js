#!/usr/bin/env node
// stepup.js: the npm `macaroon` package (pinned in package.json), as an
// independent implementation, attenuates an authgw step-up token AND its
// discharge, then binds the discharge to the attenuated token itself
// (bindToRoot), as a client of another language would.
//
// Used by verifier/interop_test.go (TestInteropNodeStepUp). Reads one JSON
// request on stdin:
//
//   {
//     "token":            "<step-up token: V2 binary, base64url>",
//     "discharge":        "<its discharge as the accounts service answers it, unbound>",
//     "tokenCaveats":     ["ip 10.0.0.0/8", ...],
//     "dischargeCaveats": ["time-before 2026-11-22T12:01:00Z", ...]
//   }
//
// and writes one JSON response on stdout:
//
//   {
//     "thirdParty": {"location": "/accounts/v1/discharge", "identifier": "<hex>"},
//     "dischargeIdentifier": "<hex>",
//     "tokenCaveats": [... first-party caveats of the token after adding ...],
//     "dischargeCaveats": [... caveats of the discharge after adding ...],
//     "token": "<attenuated step-up token, base64url>",
//     "discharge": "<attenuated discharge bound to that token, base64url>"
//   }
//
// A human-readable summary goes to stderr. Any failure exits non-zero with
// the reason on stderr.
'use strict';

const fs = require('fs');
const macaroon = require('macaroon');

// The exportBinary work-around of attenuate.js (see there for the bug of
// macaroon@3.0.4 it covers), applied the same way, only while exporting.
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

function decode(text, what) {
  const m = macaroon.importMacaroon(macaroon.base64ToBytes(text));
  if (Array.isArray(m) || m.exportJSON().v !== 2) {
    throw new Error(`${what}: not one V2 macaroon`);
  }
  return m;
}

function encode(m, what) {
  const bin = exportBinary(m);
  if (bin[0] !== 2) {
    throw new Error(`${what}: exportBinary wrote version byte ${bin[0]}, want 2`);
  }
  return macaroon.bytesToBase64(bin);
}

async function main() {
  const req = JSON.parse(await readStdin());
  for (const k of ['token', 'discharge']) {
    if (typeof req[k] !== 'string' || req[k] === '') {
      throw new Error(`request: ${k} must be a non-empty string`);
    }
  }
  const tokenCaveats = stringList(req.tokenCaveats, 'request: tokenCaveats');
  const dischargeCaveats = stringList(req.dischargeCaveats, 'request: dischargeCaveats');

  const token = decode(req.token, 'token');
  const third = token.caveats.filter(c => c.vid);
  if (third.length !== 1) {
    throw new Error(`token has ${third.length} third-party caveats, want 1`);
  }
  const discharge = decode(req.discharge, 'discharge');
  if (hex(discharge.identifier) !== hex(third[0].identifier)) {
    throw new Error('the discharge is not of the token\'s third-party caveat');
  }
  process.stderr.write(`npm macaroon: step-up token with third-party caveat at ${JSON.stringify(third[0].location)}\n`);

  for (const c of tokenCaveats) {
    token.addFirstPartyCaveat(c);
    process.stderr.write(`  token     + ${JSON.stringify(c)}\n`);
  }
  for (const c of dischargeCaveats) {
    discharge.addFirstPartyCaveat(c);
    process.stderr.write(`  discharge + ${JSON.stringify(c)}\n`);
  }
  // Bind last, to the token as it will be sent: the library's own
  // binding (HMAC of the two signatures under a zero key).
  discharge.bindToRoot(token.signature);
  process.stderr.write('  discharge bound to the attenuated token (bindToRoot)\n');

  const res = {
    thirdParty: {location: third[0].location || '', identifier: hex(third[0].identifier)},
    dischargeIdentifier: hex(discharge.identifier),
    tokenCaveats: token.caveats.filter(c => !c.vid).map(c => utf8.decode(c.identifier)),
    dischargeCaveats: discharge.caveats.map(c => {
      if (c.vid) {
        throw new Error('unexpected third-party caveat in the discharge');
      }
      return utf8.decode(c.identifier);
    }),
    token: encode(token, 'token'),
    discharge: encode(discharge, 'discharge'),
  };
  process.stdout.write(JSON.stringify(res) + '\n');
}

main().catch(err => {
  process.stderr.write(`stepup.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
