// Package audit records the security events of the accounts service:
// each event is one row of the audit log (table audit_events, which the
// webhook dispatcher also reads as its outbox) and one structured log
// line, so an operator sees it in the logs at once and can still list it
// later (GET /accounts/v1/audit-events, authgw audit tail).
//
// The event types are the table Types: one place that names each type,
// says what it means and which data keys it carries. The Recorder keeps
// only those keys, so a detail nobody documented (and nobody checked for
// secrets) never reaches the row or the line.
//
// Recording is best effort towards the caller and never silent: a row
// that cannot be stored is logged at level error with the whole event,
// and the user's action, already done, still succeeds. An audit outage
// must not turn a password change into a 500 nor hide the change.
package audit
