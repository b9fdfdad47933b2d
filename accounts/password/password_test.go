package password_test

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/password"
	"golang.org/x/crypto/bcrypt"
)

// fixedSalt is a deterministic random source: the salt is 0x01 bytes.
func fixedSalt() *bytes.Reader { return bytes.NewReader(bytes.Repeat([]byte{1}, 64)) }

// fastParams keep the tests quick; the shape of the code is the same.
var fastParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func mustHash(t *testing.T, pw string, p password.Params) string {
	t.Helper()
	h, err := password.Hash(pw, p, fixedSalt())
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return h
}

func TestHash_defaultFormat(t *testing.T) {
	h := mustHash(t, "correct horse battery staple", password.DefaultParams)
	if !phc.MatchString(h) {
		t.Fatalf("Hash = %q, not a PHC argon2id string with the default parameters", h)
	}
	// The salt comes from the random source: 16 bytes of 0x01.
	if !strings.Contains(h, "$AQEBAQEBAQEBAQEBAQEBAQ$") {
		t.Errorf("Hash = %q, salt not read from the random source", h)
	}
	h2, err := password.Hash("correct horse battery staple", password.DefaultParams, bytes.NewReader(bytes.Repeat([]byte{2}, 16)))
	if err != nil {
		t.Fatal(err)
	}
	if h2 == h {
		t.Error("two salts gave the same hash")
	}
}

// TestHash_golden pins the output for a fixed salt, so that a change of
// encoding, parameter order or key derivation is caught.
func TestHash_golden(t *testing.T) {
	const want = "$argon2id$v=19$m=64,t=1,p=1$AQEBAQEBAQEBAQEBAQEBAQ$UPXY1MHOFXPg5D27GgnvGdv0uCZn0/l2CPBii1QqXsI"
	if got := mustHash(t, "pw", fastParams); got != want {
		t.Fatalf("Hash = %q, want %q", got, want)
	}
	ok, rehash, err := password.Verify("pw", want, fastParams)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify of the golden hash = %v, %v, %v", ok, rehash, err)
	}
}

func TestHash_badParams(t *testing.T) {
	tests := []struct {
		name       string
		givenParam func(*password.Params)
	}{
		{name: "zero time", givenParam: func(p *password.Params) { p.Time = 0 }},
		{name: "zero threads", givenParam: func(p *password.Params) { p.Threads = 0 }},
		{name: "memory below 8 per lane", givenParam: func(p *password.Params) { p.Memory, p.Threads = 15, 2 }},
		{name: "memory above the maximum", givenParam: func(p *password.Params) { p.Memory = password.MaxMemory + 1 }},
		{name: "time above the maximum", givenParam: func(p *password.Params) { p.Time = password.MaxTime + 1 }},
		{name: "threads above the maximum", givenParam: func(p *password.Params) { p.Threads = password.MaxThreads + 1 }},
		{name: "salt too short", givenParam: func(p *password.Params) { p.SaltLen = password.MinSaltLen - 1 }},
		{name: "key too short", givenParam: func(p *password.Params) { p.KeyLen = password.MinKeyLen - 1 }},
		{name: "key too long", givenParam: func(p *password.Params) { p.KeyLen = password.MaxKeyLen + 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fastParams
			tt.givenParam(&p)
			if _, err := password.Hash("pw", p, fixedSalt()); !errors.Is(err, password.ErrBadParams) {
				t.Errorf("Hash error = %v, want ErrBadParams", err)
			}
		})
	}
	t.Run("random source fails", func(t *testing.T) {
		if _, err := password.Hash("pw", fastParams, bytes.NewReader(nil)); err == nil {
			t.Error("Hash with an empty random source succeeded")
		}
	})
}

func TestVerify(t *testing.T) {
	stored := mustHash(t, "s3cret-enough", fastParams)
	bcryptHash := func(prefix string) string {
		h, err := bcrypt.GenerateFromPassword([]byte("legacy-password"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return prefix + string(h[4:])
	}
	tests := []struct {
		name              string
		givenHash         string
		whenPassword      string
		whenWant          password.Params
		expectOK          bool
		expectNeedsRehash bool
	}{
		{name: "right password, same parameters", givenHash: stored, whenPassword: "s3cret-enough", whenWant: fastParams, expectOK: true},
		{name: "wrong password", givenHash: stored, whenPassword: "s3cret-enougH", whenWant: fastParams},
		{name: "empty password", givenHash: stored, whenPassword: "", whenWant: fastParams},
		{name: "wrong password never asks for a rehash", givenHash: stored, whenPassword: "nope", whenWant: password.DefaultParams},
		{name: "memory changed", givenHash: stored, whenPassword: "s3cret-enough", whenWant: with(func(p *password.Params) { p.Memory = 128 }), expectOK: true, expectNeedsRehash: true},
		{name: "time changed", givenHash: stored, whenPassword: "s3cret-enough", whenWant: with(func(p *password.Params) { p.Time = 2 }), expectOK: true, expectNeedsRehash: true},
		{name: "threads changed", givenHash: stored, whenPassword: "s3cret-enough", whenWant: with(func(p *password.Params) { p.Threads = 2 }), expectOK: true, expectNeedsRehash: true},
		{name: "salt length changed", givenHash: stored, whenPassword: "s3cret-enough", whenWant: with(func(p *password.Params) { p.SaltLen = 32 }), expectOK: true, expectNeedsRehash: true},
		{name: "key length changed", givenHash: stored, whenPassword: "s3cret-enough", whenWant: with(func(p *password.Params) { p.KeyLen = 64 }), expectOK: true, expectNeedsRehash: true},
		{name: "bcrypt $2a$ imported", givenHash: bcryptHash("$2a$"), whenPassword: "legacy-password", whenWant: fastParams, expectOK: true, expectNeedsRehash: true},
		{name: "bcrypt $2b$ imported", givenHash: bcryptHash("$2b$"), whenPassword: "legacy-password", whenWant: fastParams, expectOK: true, expectNeedsRehash: true},
		{name: "bcrypt $2y$ imported", givenHash: bcryptHash("$2y$"), whenPassword: "legacy-password", whenWant: fastParams, expectOK: true, expectNeedsRehash: true},
		{name: "bcrypt wrong password", givenHash: bcryptHash("$2b$"), whenPassword: "legacy-passworD", whenWant: fastParams},
		// From the bcrypt reference test vectors (OpenBSD), "U*U".
		{name: "bcrypt reference vector", givenHash: "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", whenPassword: "U*U", whenWant: fastParams, expectOK: true, expectNeedsRehash: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := password.Verify(tt.whenPassword, tt.givenHash, tt.whenWant)
			if err != nil {
				t.Fatalf("Verify error: %v", err)
			}
			if ok != tt.expectOK || rehash != tt.expectNeedsRehash {
				t.Errorf("Verify = ok %v, needsRehash %v; want %v, %v", ok, rehash, tt.expectOK, tt.expectNeedsRehash)
			}
		})
	}
}

func with(change func(*password.Params)) password.Params {
	p := fastParams
	change(&p)
	return p
}

// TestVerify_malformed feeds broken and hostile hashes: each is refused
// with the right error, quickly (no hostile parameter is ever run), and
// without a panic.
func TestVerify_malformed(t *testing.T) {
	const salt, key = "AQEBAQEBAQEBAQEBAQEBAQ", "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI"
	argon := func(version, params string) string {
		return "$argon2id$" + version + "$" + params + "$" + salt + "$" + key
	}
	tests := []struct {
		name        string
		givenHash   string
		expectError error
	}{
		{name: "empty", givenHash: "", expectError: password.ErrMalformedHash},
		{name: "plain text", givenHash: "hunter2", expectError: password.ErrMalformedHash},
		{name: "prefix only", givenHash: "$argon2id$", expectError: password.ErrMalformedHash},
		{name: "missing key", givenHash: "$argon2id$v=19$m=64,t=1,p=1$" + salt, expectError: password.ErrMalformedHash},
		{name: "extra field", givenHash: argon("v=19", "m=64,t=1,p=1") + "$x", expectError: password.ErrMalformedHash},
		{name: "no version", givenHash: "$argon2id$m=64,t=1,p=1$" + salt + "$" + key, expectError: password.ErrMalformedHash},
		{name: "version 16", givenHash: argon("v=16", "m=64,t=1,p=1"), expectError: password.ErrUnsupportedHash},
		{name: "version with leading zero", givenHash: argon("v=019", "m=64,t=1,p=1"), expectError: password.ErrMalformedHash},
		{name: "parameters out of order", givenHash: argon("v=19", "t=1,m=64,p=1"), expectError: password.ErrMalformedHash},
		{name: "parameter missing", givenHash: argon("v=19", "m=64,t=1"), expectError: password.ErrMalformedHash},
		{name: "extra parameter", givenHash: argon("v=19", "m=64,t=1,p=1,k=2"), expectError: password.ErrMalformedHash},
		{name: "negative memory", givenHash: argon("v=19", "m=-64,t=1,p=1"), expectError: password.ErrMalformedHash},
		{name: "plus sign", givenHash: argon("v=19", "m=+64,t=1,p=1"), expectError: password.ErrMalformedHash},
		{name: "memory overflows 32 bits", givenHash: argon("v=19", "m=4294967296,t=1,p=1"), expectError: password.ErrMalformedHash},
		{name: "hostile memory 4 TiB", givenHash: argon("v=19", "m=4294967295,t=1,p=1"), expectError: password.ErrMalformedHash},
		{name: "hostile memory just over the cap", givenHash: argon("v=19", "m=262145,t=1,p=1"), expectError: password.ErrMalformedHash},
		{name: "hostile time", givenHash: argon("v=19", "m=64,t=4294967295,p=1"), expectError: password.ErrMalformedHash},
		{name: "hostile parallelism", givenHash: argon("v=19", "m=4096,t=1,p=255"), expectError: password.ErrMalformedHash},
		{name: "parallelism over 8 bits", givenHash: argon("v=19", "m=4096,t=1,p=256"), expectError: password.ErrMalformedHash},
		{name: "zero time", givenHash: argon("v=19", "m=64,t=0,p=1"), expectError: password.ErrMalformedHash},
		{name: "zero parallelism", givenHash: argon("v=19", "m=64,t=1,p=0"), expectError: password.ErrMalformedHash},
		{name: "memory below 8 per lane", givenHash: argon("v=19", "m=7,t=1,p=1"), expectError: password.ErrMalformedHash},
		{name: "padded base64 salt", givenHash: "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key, expectError: password.ErrMalformedHash},
		{name: "URL base64 key", givenHash: "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("_", 43), expectError: password.ErrMalformedHash},
		{name: "salt too short", givenHash: "$argon2id$v=19$m=64,t=1,p=1$AQEBAQ$" + key, expectError: password.ErrMalformedHash},
		{name: "key too short", givenHash: "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AQEBAQ", expectError: password.ErrMalformedHash},
		{name: "key too long", givenHash: "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("A", 176), expectError: password.ErrMalformedHash},
		{name: "overlong string", givenHash: argon("v=19", "m=64,t=1,p=1") + strings.Repeat("A", 600), expectError: password.ErrMalformedHash},
		{name: "argon2i", givenHash: "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key, expectError: password.ErrUnsupportedHash},
		{name: "argon2d", givenHash: "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key, expectError: password.ErrUnsupportedHash},
		{name: "scrypt", givenHash: "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E", expectError: password.ErrUnsupportedHash},
		{name: "bcrypt hostile cost 31", givenHash: "$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", expectError: password.ErrMalformedHash},
		{name: "bcrypt cost over the cap", givenHash: "$2b$16$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", expectError: password.ErrMalformedHash},
		{name: "bcrypt cost not a number", givenHash: "$2b$xx$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", expectError: password.ErrMalformedHash},
		{name: "bcrypt truncated", givenHash: "$2b$05$CCCC", expectError: password.ErrMalformedHash},
		{name: "bcrypt salt not bcrypt base64", givenHash: "$2b$05$!!!!!!!!!!!!!!!!!!!!!!E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", expectError: password.ErrMalformedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			ok, rehash, err := password.Verify("pw", tt.givenHash, password.DefaultParams)
			if !errors.Is(err, tt.expectError) {
				t.Errorf("Verify error = %v, want %v", err, tt.expectError)
			}
			if ok || rehash {
				t.Errorf("Verify = ok %v, needsRehash %v for a malformed hash", ok, rehash)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Verify took %v on a refused hash", d)
			}
		})
	}
}

// FuzzVerify checks that no stored string makes Verify panic, and that
// every refusal is one of the package's errors. Its seeds run with go test.
func FuzzVerify(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$AQEBAQEBAQEBAQEBAQEBAQ$AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI")
	f.Add("$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=1$$")
	f.Add("$2y$04$$")
	f.Fuzz(func(t *testing.T, encoded string) {
		ok, rehash, err := password.Verify("pw", encoded, fastParams)
		if err != nil && !errors.Is(err, password.ErrMalformedHash) && !errors.Is(err, password.ErrUnsupportedHash) {
			t.Errorf("Verify(%q) error %v is none of the package's", encoded, err)
		}
		if err != nil && (ok || rehash) {
			t.Errorf("Verify(%q) = %v, %v with error %v", encoded, ok, rehash, err)
		}
	})
}

func BenchmarkHash(b *testing.B) {
	b.Run("argon2id-default", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := password.Hash("correct horse battery staple", password.DefaultParams, fixedSalt()); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The baseline: what the original auth-gateway paid (bcrypt, cost 10).
	b.Run("bcrypt-cost10-baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bcrypt.GenerateFromPassword([]byte("correct horse battery staple"), 10); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	stored, err := password.Hash("correct horse battery staple", password.DefaultParams, fixedSalt())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := password.Verify("correct horse battery staple", stored, password.DefaultParams); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
