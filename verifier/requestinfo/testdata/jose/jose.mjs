#!/usr/bin/env node
// jose.mjs: an independent JOSE implementation (the npm `jose` package,
// pinned in package.json) verifies and signs authgw request-info tokens.
//
// Used by verifier/requestinfo/interop_test.go. Reads a JSON array of
// requests on stdin and writes a JSON array of results, one per request,
// on stdout. Requests:
//
//   {"op": "verify", "token": "...", "jwks": {...} | "spki": "<PEM>",
//    "audience": "demo", "issuer": "authgw", "now": <Unix seconds>}
//     -> {"ok": true, "payload": {...}, "header": {...}}
//      | {"ok": false, "code": "<jose error code>", "error": "..."}
//     jwtVerify with algorithms ["ES256"] and typ "JWT", the way a
//     backend in another language would read X-Auth-Info.
//
//   {"op": "verify", "token": "...", "url": "<JWKS URL>", "audience": "demo"}
//     -> the same, plus "compact": true when compactVerify accepts the
//     token too: the keys fetched from a running gateway's JWKS with
//     createRemoteJWKSet, as a backend in another language would (see
//     cmd/authgw's TestServeInfoKeyRotation). Without "now" the clock is
//     the real one.
//
//   {"op": "thumbprint", "jwk": {...}}  -> {"thumbprint": "<RFC 7638, SHA-256>"}
//
//   {"op": "sign", "payload": "<JSON text>", "header": {...},
//    "key": "gateway" | "hmac-spki" | "fresh-p256" | "fresh-p384" | "none",
//    "pkcs8": "<PEM>", "spki": "<PEM>", "embedJwk": true|false}
//     -> {"token": "..."}
//     "gateway" signs with the gateway's PKCS#8 key as authgw writes it;
//     "hmac-spki" is the algorithm-confusion forgery (HS256 keyed with the
//     public key PEM); "fresh-*" sign with a key made here; "none" is an
//     unsecured JWT. embedJwk puts the signing key's public JWK in the
//     header.
//
// Any failure outside a verification exits non-zero with the reason on
// stderr.
import * as jose from 'jose';
import { readFileSync } from 'node:fs';

const requests = JSON.parse(readFileSync(0, 'utf8'));
const enc = new TextEncoder();
const results = [];

async function verify(req) {
  let key;
  if (req.url) {
    key = jose.createRemoteJWKSet(new URL(req.url));
  } else {
    key = req.jwks ? jose.createLocalJWKSet(req.jwks) : await jose.importSPKI(req.spki, 'ES256');
  }
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(req.token, key, {
      algorithms: ['ES256'],
      typ: 'JWT',
      audience: req.audience,
      issuer: req.issuer,
      currentDate: req.now ? new Date(req.now * 1000) : undefined,
    });
    if (req.url) {
      // The JWS layer alone, as a library without JWT claims checks would.
      await jose.compactVerify(req.token, key, { algorithms: ['ES256'] });
      return { ok: true, payload, header: protectedHeader, compact: true };
    }
    return { ok: true, payload, header: protectedHeader };
  } catch (e) {
    return { ok: false, code: e.code || 'ERR_UNKNOWN', error: String(e.message) };
  }
}

async function sign(req) {
  if (req.key === 'none') {
    return { token: new jose.UnsecuredJWT(JSON.parse(req.payload)).encode() };
  }
  let key;
  let pub;
  const header = { ...req.header };
  switch (req.key) {
    case 'gateway':
      key = await jose.importPKCS8(req.pkcs8, 'ES256', { extractable: true });
      pub = await jose.importSPKI(req.spki, 'ES256', { extractable: true });
      break;
    case 'hmac-spki':
      key = enc.encode(req.spki);
      break;
    case 'fresh-p256':
      ({ privateKey: key, publicKey: pub } = await jose.generateKeyPair('ES256', { extractable: true }));
      break;
    case 'fresh-p384':
      ({ privateKey: key, publicKey: pub } = await jose.generateKeyPair('ES384', { extractable: true }));
      break;
    default:
      throw new Error(`unknown key ${req.key}`);
  }
  if (req.embedJwk) {
    header.jwk = await jose.exportJWK(pub);
  }
  if (header.b64 === false) {
    // CompactSign refuses unencoded payloads; assemble the compact form
    // from the flattened one (RFC 7797 section 5).
    const jws = await new jose.FlattenedSign(enc.encode(req.payload)).setProtectedHeader(header).sign(key);
    return { token: `${jws.protected}.${jws.payload}.${jws.signature}` };
  }
  const token = await new jose.CompactSign(enc.encode(req.payload)).setProtectedHeader(header).sign(key);
  return { token };
}

for (const req of requests) {
  switch (req.op) {
    case 'verify':
      results.push(await verify(req));
      break;
    case 'thumbprint':
      results.push({ thumbprint: await jose.calculateJwkThumbprint(req.jwk, 'sha256') });
      break;
    case 'sign':
      results.push(await sign(req));
      break;
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}
process.stdout.write(JSON.stringify(results));
