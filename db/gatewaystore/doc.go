// Package gatewaystore is the home of the bridge between the SQL store
// and the gateway. The gateway and its revocation poller declare the
// records they read (gateway.Snapshot, revocation.Entry) and link no SQL
// driver; this package converts the store's records into them, so that a
// program embedding the gateway chooses its own store and only a program
// that wires in package db (cmd/authgw, the tests) links MySQL and
// SQLite.
//
// The conversions run when the gateway reloads its snapshot and when the
// poller reads the revocation feed, never on the request path.
package gatewaystore
