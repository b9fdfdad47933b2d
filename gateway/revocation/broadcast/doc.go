// Package broadcast is the home of the revocations' fast path between
// gateways over Redis pub/sub: the message format (Encode, Decode), the
// Publisher the accounts service calls when it revokes a session or a
// user, and the subscription (Subscribe) that applies what the other
// gateways publish.
//
// Revocations reach the gateways two ways (the README's "Revocation"):
// every gateway polls the database's revocation feed (package
// revocation), and, when a Redis is configured, the accounts service that
// revoked a session or a user publishes it on Channel, to which every
// gateway subscribes, so that the other gateways refuse its tokens at
// once instead of at their next poll. Pub/sub is only the fast path: a
// message lost (Redis down, a gateway reconnecting) is still applied by
// the next poll.
//
// It is a package of its own so that package revocation, which every
// embedding of the gateway uses, does not link the Redis client.
package broadcast
