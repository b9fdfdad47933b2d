// Package verifier checks authgw macaroons against HTTP requests, with no
// database, cache or network call: a token is decoded, its signature is
// checked first (in constant time, with a root key derived from the key
// ring), and only then are its caveats read, every occurrence of each
// having to hold.
//
// Use it as Echo middleware, in one line e.Use(verifier.MustEchoMiddleware(cfg)),
// or, with a Skipper and hooks, New(cfg) then Verifier.EchoMiddleware(EchoConfig{...});
// around any net/http handler it is Verifier.HTTPMiddleware(next). The
// verified Identity is read back with IdentityFrom. Verifier.Verify is
// the same check for code that already has the token and the request's
// facts (the CLI's check command uses it).
//
// Outcomes: 400 for a non-canonical path, 401 (with WWW-Authenticate) for
// a missing, malformed, forged, expired or revoked token, 403 for a valid
// token that does not grant the method or route, each in the JSON error
// envelope. A refusal is a *DenialError, made in one place
// (NewDenialError): the net/http middleware writes it; the Echo
// middleware returns it inside an *echo.HTTPError, so the app's
// HTTPErrorHandler sees it, and Echo's default one sends the same
// envelope. Why a token was refused is logged, never told to the client.
package verifier
