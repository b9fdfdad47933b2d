package password

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Params are the argon2id cost parameters and sizes of a hash.
type Params struct {
	// Memory is the memory cost in KiB. Required: at least 8 × Threads,
	// at most MaxMemory.
	Memory uint32
	// Time is the number of passes over the memory. Required: 1 to
	// MaxTime.
	Time uint32
	// Threads is the degree of parallelism (lanes). Required: 1 to
	// MaxThreads.
	Threads uint8
	// SaltLen is the salt length in bytes. Required: MinSaltLen to
	// MaxSaltLen.
	SaltLen uint32
	// KeyLen is the derived key length in bytes. Required: MinKeyLen to
	// MaxKeyLen.
	KeyLen uint32
}

// DefaultParams are OWASP's minimum recommendation for argon2id: 19 MiB
// of memory, 2 passes, 1 lane, a 16-byte salt and a 32-byte key.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on the parameters that Hash accepts and that Verify is willing
// to run. They keep a hostile or corrupted stored hash from exhausting
// the memory or the CPU of the process that verifies it.
const (
	MaxMemory  = 256 * 1024 // KiB: 256 MiB per verification
	MaxTime    = 16
	MaxThreads = 16
	MinSaltLen = 8
	MaxSaltLen = 64
	MinKeyLen  = 16
	MaxKeyLen  = 128
	// MaxBcryptCost is the highest bcrypt cost Verify runs: 2^15 rounds,
	// about two seconds. Imported hashes are typically 10 to 12.
	MaxBcryptCost = 15
	// maxEncodedLen bounds the stored string before any parsing.
	maxEncodedLen = 512
)

// argon2Version is the only argon2 version written and accepted: 0x13.
const argon2Version = argon2.Version

var (
	// ErrMalformedHash means a stored hash string cannot be parsed, or
	// names parameters outside the bounds above.
	ErrMalformedHash = errors.New("password: malformed hash")
	// ErrUnsupportedHash means a stored hash is well formed but of an
	// algorithm or version this package does not verify (argon2i,
	// argon2d, scrypt, ...).
	ErrUnsupportedHash = errors.New("password: unsupported hash algorithm")
	// ErrBadParams means Hash was given parameters outside the bounds.
	ErrBadParams = errors.New("password: bad hash parameters")
)

// Validate fails with ErrBadParams when p is outside the bounds Hash
// accepts.
func (p Params) Validate() error { return p.validate(ErrBadParams) }

// validate checks p against the bounds; what names the kind of error.
func (p Params) validate(what error) error {
	switch {
	case p.Threads < 1 || p.Threads > MaxThreads:
		return fmt.Errorf("%w: parallelism %d not in 1..%d", what, p.Threads, MaxThreads)
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("%w: time %d not in 1..%d", what, p.Time, MaxTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxMemory:
		return fmt.Errorf("%w: memory %d KiB not in %d..%d", what, p.Memory, 8*uint32(p.Threads), MaxMemory)
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("%w: salt length %d not in %d..%d", what, p.SaltLen, MinSaltLen, MaxSaltLen)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("%w: key length %d not in %d..%d", what, p.KeyLen, MinKeyLen, MaxKeyLen)
	}
	return nil
}

// Hash returns the argon2id PHC string of pw with parameters p and a
// salt of p.SaltLen bytes read from random (crypto/rand.Reader in
// production). It fails with ErrBadParams when p is outside the bounds,
// and when random cannot supply the salt. It does not apply the
// password policy: call CheckPolicy first.
func Hash(pw string, p Params, random io.Reader) (string, error) {
	if err := p.validate(ErrBadParams); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(random, salt); err != nil {
		return "", fmt.Errorf("password: reading the salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encode(p, salt, key), nil
}

// encode formats a PHC argon2id string.
func encode(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	var b strings.Builder
	b.Grow(64 + b64.EncodedLen(len(salt)) + b64.EncodedLen(len(key)))
	fmt.Fprintf(&b, "$argon2id$v=%d$m=%d,t=%d,p=%d$", argon2Version, p.Memory, p.Time, p.Threads)
	b.WriteString(b64.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(key))
	return b.String()
}

// Verify reports whether pw matches the stored hash encoded, an argon2id
// PHC string or a bcrypt hash ($2a$, $2b$, $2y$). needsRehash is true
// when pw matches but the hash should be replaced by Hash(pw, want, ...):
// always for bcrypt, and for argon2id when its parameters differ from
// want; it is false whenever ok is false. A wrong password is ok=false
// with a nil error. Verify fails with ErrMalformedHash for a string that
// does not parse or whose parameters exceed the bounds (MaxMemory,
// MaxTime, MaxThreads, MaxKeyLen, MaxBcryptCost), and with
// ErrUnsupportedHash for another algorithm or argon2 version.
func Verify(pw, encoded string, want Params) (ok bool, needsRehash bool, err error) {
	if len(encoded) > maxEncodedLen {
		return false, false, fmt.Errorf("%w: %d bytes long", ErrMalformedHash, len(encoded))
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return verifyArgon2id(pw, encoded, want)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return verifyBcrypt(pw, encoded)
	case strings.HasPrefix(encoded, "$argon2i$"), strings.HasPrefix(encoded, "$argon2d$"),
		strings.HasPrefix(encoded, "$2$"), strings.HasPrefix(encoded, "$2x$"), strings.HasPrefix(encoded, "$scrypt$"):
		id, _, _ := strings.Cut(encoded[1:], "$")
		return false, false, fmt.Errorf("%w: %q", ErrUnsupportedHash, id)
	}
	return false, false, fmt.Errorf("%w: not an argon2id or bcrypt hash", ErrMalformedHash)
}

// verifyArgon2id parses and checks a PHC argon2id string.
func verifyArgon2id(pw, encoded string, want Params) (bool, bool, error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	return true, p != want, nil
}

// decode parses "$argon2id$v=19$m=M,t=T,p=P$SALT$KEY" strictly: the
// fields in this order, decimal numbers without sign or leading zeros,
// unpadded standard base64, and every value within the bounds.
func decode(encoded string) (p Params, salt, key []byte, err error) {
	malformed := func(format string, args ...any) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2id: "+format, append([]any{ErrMalformedHash}, args...)...)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return malformed("want $argon2id$v=19$m=...,t=...,p=...$salt$key")
	}
	version, ok := strings.CutPrefix(parts[2], "v=")
	if !ok {
		return malformed("no version field")
	}
	v, err := parseDecimal(version, 32)
	if err != nil {
		return malformed("version: %v", err)
	}
	if v != argon2Version {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2id version %d (want %d)", ErrUnsupportedHash, v, argon2Version)
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return malformed("want parameters m=...,t=...,p=...")
	}
	var values [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		text, ok := strings.CutPrefix(fields[i], name+"=")
		if !ok {
			return malformed("parameter %d is not %s=", i+1, name)
		}
		if values[i], err = parseDecimal(text, 32); err != nil {
			return malformed("%s: %v", name, err)
		}
	}
	if values[2] > 255 {
		return malformed("p=%d is not in 1..%d", values[2], MaxThreads)
	}
	b64 := base64.RawStdEncoding.Strict()
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return malformed("salt is not unpadded base64")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return malformed("key is not unpadded base64")
	}
	p = Params{Memory: uint32(values[0]), Time: uint32(values[1]), Threads: uint8(values[2]),
		SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := p.validate(ErrMalformedHash); err != nil {
		return Params{}, nil, nil, err
	}
	return p, salt, key, nil
}

// parseDecimal parses a decimal without sign or leading zeros.
func parseDecimal(s string, bits int) (uint64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') || s[0] == '+' {
		return 0, fmt.Errorf("%q is not a plain decimal", s)
	}
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%q is not a %d-bit decimal", s, bits)
	}
	return n, nil
}

// verifyBcrypt checks a legacy bcrypt hash, refusing costs above
// MaxBcryptCost before doing any work. A match always needs a rehash.
func verifyBcrypt(pw, encoded string) (bool, bool, error) {
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return false, false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
	}
	if cost > MaxBcryptCost {
		return false, false, fmt.Errorf("%w: bcrypt cost %d above %d", ErrMalformedHash, cost, MaxBcryptCost)
	}
	err = bcrypt.CompareHashAndPassword([]byte(encoded), []byte(pw))
	switch {
	case err == nil:
		return true, true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	}
	return false, false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
}
