// Package totptest is the home of the TOTP tests' independent
// implementation: oathtool, run as a command, gives the codes authgw's
// own must match. Without oathtool a test is skipped on a developer
// machine and fails when the CI environment variable is set. It is
// imported by tests only.
package totptest
