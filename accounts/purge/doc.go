// Package purge deletes, on a schedule, the stored data past its
// retention: ended sessions and their refresh tokens, expired codes,
// login-regulation records and mail counters past their windows,
// revocations no token needs any more, audit events past the audit
// retention, and the IP addresses and user agents of sessions older than
// the personal-data retention.
//
// The deleting is the store's (db.DB.Purge, in bounded batches); this
// package computes the cutoffs from the current time and runs it every
// Interval. Several instances on one database may each run it: deletes
// are idempotent.
package purge
