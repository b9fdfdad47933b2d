// Package clitest is the home of the test helpers shared by the tests of
// package main (which run serve in-process) and the end-to-end suites in
// cmd/authgw/e2e (which run the built binary): a caller of the accounts
// service as the bootstrapped system client, and the login checks built on
// it. Both kinds of test reach serve over HTTP, so one caller serves both.
// It is imported by tests only.
package clitest
