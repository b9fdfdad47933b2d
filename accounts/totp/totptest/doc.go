// Package totptest is the home of the TOTP test helpers: the codes tests
// compare against (oathtool, the independent implementation, run as a
// command: without it a test is skipped on a developer machine and fails
// when the CI environment variable is set; and a plain Go RFC 6238
// computation for the tests that must always run), and the sealing of
// TOTP secrets as authgw did before key rings. It is imported by tests
// only.
package totptest
