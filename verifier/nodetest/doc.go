// Package nodetest is the home of the scaffolding of the tests that check
// authgw against an independent implementation under the machine's
// Node.js (the npm macaroon package for tokens, the npm jose package for
// the request-info header, the npm openid-client package for the OpenID
// provider): installing the pinned npm package with npm ci
// from the committed lock file, and running a script with JSON in and out.
// Without node or npm such a test is skipped on a developer machine and
// fails when the CI environment variable is set. It is imported by tests
// only.
package nodetest
