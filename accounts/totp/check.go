package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"hash"
)

// Check tells whether code is the user's code at the configured clock's
// now, for the current time step (Unix time / Period) or one step either
// side, and returns the step that matched. Steps at or before
// lastUsedStep never match; when two steps match, the newest wins. The
// caller must then record the step atomically as the user's last used
// one (db.UseTOTPStep) and refuse the code when the store says that step,
// or a later one, was spent meanwhile.
//
// Check fails with ErrInvalidCode when code is not exactly 6 ASCII digits
// (checked first, before the secret is opened) or matches no step of the
// window, ErrReplayed when it matches only
// steps at or before lastUsedStep, and ErrCorrupt when ciphertext does not
// open for userID (see Open). All three steps are computed and compared in
// constant time whatever matches.
func (t *TOTP) Check(userID string, ciphertext []byte, code string, lastUsedStep int64) (step int64, err error) {
	given, ok := parseCode(code)
	if !ok {
		return 0, ErrInvalidCode
	}
	var buf [MaxSecretSize]byte
	defer clear(buf[:])
	secret, err := t.open(buf[:0], userID, ciphertext)
	if err != nil {
		return 0, err
	}
	mac := hmac.New(sha1.New, secret)
	now := stepAt(t.now().Unix())

	var matched, replayed int
	for s := now - Skew; s <= now+Skew; s++ {
		// Whether a step may match depends on the clock and lastUsedStep,
		// not on the secret; which step matches does, so it is kept out of
		// branches.
		eq := subtle.ConstantTimeEq(int32(hotp(mac, uint64(s))), int32(given))
		fresh := boolToInt(s >= 0 && s > lastUsedStep)
		spent := boolToInt(s >= 0 && s <= lastUsedStep)
		hit := eq & fresh
		// The loop goes from old to new: a later hit replaces an earlier.
		step = selectInt64(hit, s, step)
		matched |= hit
		replayed |= eq & spent
	}
	switch {
	case matched == 1:
		return step, nil
	case replayed == 1:
		return 0, ErrReplayed
	default:
		return 0, ErrInvalidCode
	}
}

// parseCode reads exactly Digits ASCII digits.
func parseCode(code string) (uint32, bool) {
	if len(code) != Digits {
		return 0, false
	}
	var n uint32
	for i := 0; i < len(code); i++ {
		c := code[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint32(c-'0')
	}
	return n, true
}

// stepAt is the time step of Unix time unix, rounded down.
func stepAt(unix int64) int64 {
	s := unix / Period
	if unix%Period != 0 && unix < 0 {
		s--
	}
	return s
}

// hotp is the RFC 4226 value of counter, reduced to Digits digits. mac is
// an HMAC-SHA1 keyed with the secret; hotp resets it.
func hotp(mac hash.Hash, counter uint64) uint32 {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Reset()
	mac.Write(msg[:])
	var sum [sha1.Size]byte
	mac.Sum(sum[:0])
	offset := sum[sha1.Size-1] & 0x0f
	value := binary.BigEndian.Uint32(sum[offset:offset+4]) & 0x7fffffff
	return value % 1_000_000
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// selectInt64 returns x if v is 1 and y if v is 0, without a branch.
func selectInt64(v int, x, y int64) int64 {
	mask := -int64(v)
	return x&mask | y&^mask
}
