// Package e2e is the home of authgw's end-to-end suites: the attack
// suites, the production walk-through, the README's tested blocks and
// the soak test. It holds test files only (and this one): they build the
// authgw binary once per test run, with the race detector when the tests
// run with it, and drive it as a process, the way an operator and an
// attacker meet it: command lines, environment variables, files in the
// data directory, standard output and error, exit statuses and HTTP.
//
// Services follow the repository's rule: a test that needs MariaDB,
// Redis, nginx or oathtool skips when it is absent, unless the CI
// environment variable is set: then it fails.
package e2e
