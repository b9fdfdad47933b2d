// Package policytest is the home of the test helpers shared by the tests
// of policies and of what is built on them (mint, verifier): parsing a
// policy written inline, and reading the hand-written fuzz seed corpora
// under the repository's testdata/fuzz. It is imported by tests only.
package policytest
