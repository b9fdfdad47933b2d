// Package webhooks sends the audit log's events to the endpoints that
// subscribed to them (the "hook system"): Standard Webhooks signatures
// (webhook-id, webhook-timestamp, webhook-signature: HMAC-SHA256 with a
// per-subscription secret), a durable queue in the database, and a
// background Dispatcher that never runs on a request's path.
//
// The audit_events table is the outbox: the request that records an
// event commits it with fanned_out 0, and the Dispatcher, in the
// background, queues one delivery per matching active subscription and
// marks the event fanned out. A delivery is then claimed under a lease
// (so that of N instances on one database one sends it at a time), POSTed
// with a timeout, and either delivered (2xx), retried later with
// exponential backoff and jitter, or, after Config.MaxAttempts attempts
// or Config.MaxAge, dead: kept for the operator, who may queue it again.
// Delivery is at least once: a dispatcher that stops lets its requests in
// flight end and records them, but one that dies mid-request leaves its
// lease to expire, and another sends the delivery again with the
// same webhook-id, which receivers use to drop duplicates.
//
// The package also owns the rules the accounts API applies to a new
// subscription (CheckURL, CheckEvents, NewSecret) and the payload of
// each event (Payload).
package webhooks
