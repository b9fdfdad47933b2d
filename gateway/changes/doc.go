// Package changes is the home of the change notices over Redis pub/sub:
// a writer of clients or APIs (the accounts service, "authgw apis")
// announces a change on Channel, and every gateway that subscribes
// reloads its snapshot at once instead of at its next refresh (the
// README's "The gateway"). It feeds gateway.Config.Changes.
//
// Notices are only the fast path: a notice lost (Redis down, a gateway
// reconnecting) is picked up by the gateway's periodic refresh. It is a
// package of its own so that the gateway core does not link the Redis
// client.
package changes
