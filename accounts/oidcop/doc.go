// Package oidcop makes the accounts service an OpenID Connect provider
// (the README's "OpenID Connect"): it configures the protocol library
// github.com/zitadel/oidc/v3/pkg/op, which owns discovery, the
// authorization request's validation, client authentication, the JWKS,
// end-session parsing and the token and ID token formats, and gives it
// authgw's storage and policy decisions.
//
// Its one job is that wiring: authorization requests and codes in the
// database (so instances share them), authgw's API clients with redirect
// URIs as OIDC clients, the code exchange (PKCE S256, single-use codes
// whose reuse revokes what they issued), access tokens that are authgw
// macaroons minted by package accounts from the user's policies filtered
// by the granted scopes, refresh through the session's rotating refresh
// tokens, ID tokens signed RS256 with a ring of RSA keys, userinfo for
// those macaroons, and RP-initiated logout. The consent page is the
// portal's (accounts/portal), through the accounts API.
package oidcop
