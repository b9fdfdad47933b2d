// Package passwordtest holds what tests that create users with passwords
// share: a cheap argon2id cost and a hash of one password computed once.
// The cost is not what those tests check; production never uses it.
package passwordtest
