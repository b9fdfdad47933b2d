// Package gateway will hold the request pipeline of SPEC §5: client
// credentials, restrictions, rate limits, token verification, routing,
// the signed request-info header and the reverse proxy. It is not built
// yet (issue 4); this file only reserves the package in the layout.
package gateway
