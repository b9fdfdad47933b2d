package passwordtest

import (
	"bytes"
	"sync"

	"github.com/authgw/authgw/accounts/password"
)

// Password is the password of the users tests create.
const Password = "correct horse battery staple"

// Fast is an argon2id cost far below any production one (64 KiB, one
// pass), so that a test's logins take microseconds.
var Fast = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Hash returns Password hashed at the Fast cost, computed once per test
// binary (with a fixed salt: tests compare logins, not hashes).
var Hash = sync.OnceValue(func() string {
	h, err := password.Hash(Password, Fast, bytes.NewReader(make([]byte, 16)))
	if err != nil {
		panic(err)
	}
	return h
})
