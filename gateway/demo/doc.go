// Package demo is the home of the demo backend that "authgw serve" runs
// beside the gateway (on --demo-listen, registered as the API demo v1),
// so that a fresh start has something behind the gateway to try tokens
// on. It is a demo, not for production: it keeps its notes in memory.
//
// It is also an example of a backend: it trusts nothing but the
// gateway's signed X-Auth-Info header, verified with verifier/requestinfo
// (the public half of serve's request-info key, audience "demo", issuer
// "authgw:<server-id>"). A request without a valid header is 401.
//
// The package holds the handler only; cmd/authgw listens, registers the
// API in the database and serves it.
package demo
