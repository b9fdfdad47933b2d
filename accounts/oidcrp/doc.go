// Package oidcrp signs people in with external OpenID Connect providers
// ("Sign in with …"): authgw as a relying party.
//
// The operator configures providers (Settings, ParseSettings): each has
// an ID (a slug used in URLs), a name shown on the sign-in button, an
// issuer, a client ID and secret, scopes, and two decisions: whether a
// sign-in may link the identity to the account whose verified address the
// provider asserts verified (AllowLinking), and whether a first sign-in
// creates an account (AllowSignUp).
//
// The protocol comes from github.com/coreos/go-oidc/v3 (discovery, ID
// token verification: signature, iss, aud, exp) and golang.org/x/oauth2
// (the authorization code flow with PKCE S256). This package owns the
// rest: the state, nonce and PKCE verifier of each sign-in, each 256
// bits from the injected randomness, kept in the store (FlowStore) keyed
// by the state's SHA-256 and taken once, so a replayed callback finds
// nothing; the nonce compared in constant time; an ID token with several
// audiences must name the client as its azp. Discovery happens on first
// use and is retried (at most once per Config.RetryInterval) while the
// provider is down, so a provider that is down never stops the service:
// its sign-in answers ErrUnavailable.
//
// What a provider vouched for (Identity) goes to the accounts service's
// login (accounts.WithFederatedIdentity), which decides which account it
// opens. Nothing here logs a secret, a code or a token.
package oidcrp
