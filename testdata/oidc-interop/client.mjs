#!/usr/bin/env node
// client.mjs: the certified npm openid-client (pinned in package.json), as
// an independent implementation, is the app of a public client (no
// secret: PKCE alone) of authgw's OpenID provider.
//
// Used by cmd/authgw/e2e/browser_oidc_test.go (TestOIDCOpenIDClient). Reads
// one JSON request on stdin, in two steps, as an app runs across the
// browser's trip to the provider:
//
//   {"step": "start", "issuer": "...", "clientId": "...", "redirectUri": "...", "scope": "..."}
//     -> {"url": "<authorization URL>", "verifier": "...", "state": "...", "nonce": "..."}
//
//   {"step": "finish", "issuer": "...", "clientId": "...", "callback": "<URL the browser came back to>",
//    "verifier": "...", "state": "...", "nonce": "..."}
//     -> {"sub": "...", "aud": "...", "email": "...", "userinfoSub": "...", "tokenType": "...",
//         "accessToken": "...", "refreshed": true, "refreshedAccessToken": "...",
//         "codeReplayError": "<the OAuth error of the code used again>",
//         "refreshAfterCodeReplayError": "<the error of the refresh token after that>"}
//
// openid-client checks what a careful app must: the issuer from discovery,
// state, the ID token's signature against the JWKS, iss, aud, exp, nonce,
// and that userinfo's sub is the ID token's. Any failure exits non-zero
// with the reason on stderr.
import * as client from 'openid-client';

const input = JSON.parse(await new Promise((resolve, reject) => {
  let data = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (c) => { data += c; });
  process.stdin.on('end', () => resolve(data));
  process.stdin.on('error', reject);
}));

// Loopback HTTP in the test only; a real deployment's issuer is https.
const config = await client.discovery(new URL(input.issuer), input.clientId, undefined, client.None(),
  { execute: [client.allowInsecureRequests] });

async function oauthError(fn) {
  try {
    await fn();
  } catch (e) {
    return e.error || e.code || String(e);
  }
  return '';
}

if (input.step === 'start') {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: input.redirectUri,
    scope: input.scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  process.stdout.write(JSON.stringify({ url: url.href, verifier, state, nonce }));
} else if (input.step === 'finish') {
  const callback = new URL(input.callback);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: input.verifier,
    expectedState: input.state,
    expectedNonce: input.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  process.stderr.write(`openid-client: signed in ${claims.sub} and refreshed; now using the code again\n`);
  // A code used twice is a stolen code: the provider refuses it and ends
  // what the first use issued, refresh tokens included.
  const codeReplayError = await oauthError(() => client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: input.verifier,
    expectedState: input.state,
    expectedNonce: input.nonce,
  }));
  const refreshAfterCodeReplayError = await oauthError(() => client.refreshTokenGrant(config, refreshed.refresh_token));
  process.stdout.write(JSON.stringify({
    sub: claims.sub,
    aud: Array.isArray(claims.aud) ? claims.aud.join(' ') : claims.aud,
    email: info.email || '',
    userinfoSub: info.sub,
    tokenType: tokens.token_type,
    accessToken: tokens.access_token,
    refreshed: Boolean(refreshed.access_token && refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token),
    refreshedAccessToken: refreshed.access_token,
    codeReplayError,
    refreshAfterCodeReplayError,
  }));
} else {
  throw new Error(`unknown step ${input.step}`);
}
