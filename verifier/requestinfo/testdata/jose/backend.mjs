#!/usr/bin/env node
// backend.mjs: a backend in Node.js that trusts authgw's X-Auth-Info,
// verified with the npm jose package against the keys the gateway
// publishes: the README's "Request info for backends" example, run by
// cmd/authgw's TestNodeBackendVerifiesByURL behind a real gateway.
//
// AUTHGW_JWKS_URL is the gateway's JWKS (https://gateway.example/accounts/v1/request-info/jwks.json),
// AUTHGW_AUDIENCE this backend's API name, AUTHGW_ISSUER "authgw:<server-id>"
// (optional). It listens on PORT (0: any; the port is printed as JSON).
import http from 'node:http';
import * as jose from 'jose';

// Fetched at the first request, cached, fetched again for an unknown kid
// (a rotation): nothing to configure but the URL.
const jwks = jose.createRemoteJWKSet(new URL(process.env.AUTHGW_JWKS_URL));

async function requestInfo(req) {
  if (req.headers['x-auth-info-signed'] !== '1') throw new Error('unsigned');
  const { payload } = await jose.jwtVerify(req.headers['x-auth-info'] ?? '', jwks, {
    algorithms: ['ES256'], // never what the token says
    typ: 'JWT',
    audience: process.env.AUTHGW_AUDIENCE,
    issuer: process.env.AUTHGW_ISSUER || undefined,
    clockTolerance: 5,
  });
  return payload; // c: client, r: client roles, ip, u: {id, sid, r, amr, auth_time}
}

const server = http.createServer(async (req, res) => {
  let info;
  try {
    info = await requestInfo(req);
  } catch {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'AUTH-INFO-INVALID' }));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ client: info.c, user: info.u?.id ?? null, kid: jose.decodeProtectedHeader(req.headers['x-auth-info']).kid }));
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
