// Package accounts is the accounts service of the README's "The accounts service" and "Login and sessions", served at
// /accounts/v1 behind the gateway: organizations, users, emails, API
// clients with their roles and access restrictions, memberships, the API
// registry, sessions, the multi-step login that mints tokens, password
// recovery by a mailed code (recovery.go) and the verification of an
// address from its mailed link (verifylink.go).
//
// The service trusts the gateway for who is calling: the client (and
// whether it presented its secret), the client IP and, when the request
// carried a verified macaroon, the user and session. The gateway puts
// these in the request context as request-info claims
// (requestinfo.NewContext); a service run on its own behind authgw reads
// the same claims from the signed X-Auth-Info header with
// requestinfo.Middleware. It never reads a client credential or a token
// itself.
//
// Authorization follows one table, Routes: each endpoint names the rule
// that admits a caller (the README's "Authorization"), checked before the
// handler runs, after the target resource is found: a caller who may not
// see the resource gets 404, one who may see it but not act on it 403.
// The few field-level rules (a client's reqsPerSec, api restrictions, a
// member lowering their own flags) use the same named rules. A route
// without a rule is public; PublicScope, the verifier's public scope the
// gateway is configured with, is derived from those rows.
//
// The service takes one Store but each part reaches it through the
// interface it uses: the login flow through LoginStore, the management
// API through ManagementStore, the login regulator through
// regulation.Store. Answers, success and error, are the JSON envelopes
// of package verifier/envelope.
//
// The Operator (operator.go) takes the management actions the command
// line needs (ban, roles, clients, restrictions, organizations) through
// the same functions as the handlers, for an operator instead of a
// caller, so that both have the same checks and effects.
//
// Every security event (a sign-in, a refused step, a session ended, a
// change of password, factor, role, membership or client, a step-up, a
// consent) is recorded in the audit log (audit.go, package audit): a row
// of audit_events and a log line, listed to sysadmins at
// GET /audit-events.
//
// Request bodies are {"data": {...}}: every problem of a body comes back
// at once as the error's obstructions; unknown fields, wrong types,
// malformed JSON, a wrong content type (415) and a body over 1 MiB (413)
// are client errors. A store that is unreachable is a 503; nothing the
// caller sends produces a 500.
package accounts
