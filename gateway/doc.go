// Package gateway is authgw's front door (the README's "The gateway"): one http.Handler that
// runs every request through, in this order, request ID, access log,
// metrics and panic recovery; CORS; the canonical-path check and the
// parse of /<api>/v<N>/rest; client credentials (HTTP Basic, or for a
// browser the client its token cookie names); the client's
// access restrictions; its rate limit; macaroon verification; and the
// route, to the in-process accounts service or through a reverse proxy to
// the backend registered for (api, version), with a signed X-Auth-Info
// header (signed by gateway/infosign, read with verifier/requestinfo) in
// place of the client's credentials.
//
// Clients, their restrictions and the APIs come from an in-memory
// snapshot that Refresh loads and Run reloads in the background; no SQL
// runs on the request path, and the last good snapshot keeps serving when
// the database is down. The gateway declares what it reads (Snapshot,
// through a SnapshotSource) and imports no storage package: embedding it
// links no SQL driver. cmd/authgw connects package db to it with
// db/gatewaystore.
//
// ForwardAuth is the same decision (steps 3 to 7) as an endpoint for
// nginx auth_request, Traefik ForwardAuth, Caddy forward_auth and the
// like; Admin serves /healthz, /readyz and Prometheus /metrics.
//
// Every rejection is the JSON error envelope of package verifier/envelope,
// but that a browser's GET or HEAD refused for want of a valid token is
// sent to the sign-in page (303) on APIs registered with loginRedirect
// and on the sign-in pages, and that a browser never gets the Basic
// challenge (browser.go).
// Decisions where the specification is silent are told at the code that makes them
// and collected in the README.
package gateway
