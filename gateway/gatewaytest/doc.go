// Package gatewaytest is the home of what tests of servers share, as
// net/http/httptest is: real nginx, Caddy or HAProxy in front of a
// server under test (finding the binary, starting it with a configuration
// on a free loopback port, stopping it when the test ends), free loopback
// addresses, and a log buffer safe to read while a server writes to it.
//
// A helper that needs a proxy skips the test when it is not installed,
// unless the CI environment variable is set: then it fails. The package
// imports only the standard library, so any package's tests, the
// gateway's own included, can use it.
package gatewaytest
