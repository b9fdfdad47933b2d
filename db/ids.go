package db

import (
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// maxUnixMs is the largest time a UUIDv7 holds: 48 bits of milliseconds.
const maxUnixMs = 1<<48 - 1

// NewID returns a new UUIDv7 (RFC 9562 §5.7) for a row created at now, in
// the canonical lower-case form "xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx"
// (36 characters, the width of the ID columns).
//
// The layout is: 48 bits of Unix milliseconds (unix_ts_ms), the version
// 7, 12 bits of sub-millisecond time in rand_a (RFC 9562 §6.2, method 3:
// increased clock precision), the variant 0b10, and 62 bits read from
// random. IDs of rows created at different milliseconds therefore sort,
// as strings and as bytes, in creation order, and so do IDs of one
// millisecond when now carries sub-millisecond precision; ties within
// the same 244 ns are ordered by the random bits. Keyset pagination (see
// Page) relies on that order. Times before 1970 are clamped to 0, and
// times after the year 10889 to the largest UUIDv7 time.
//
// NewID reads 8 bytes from random (crypto/rand.Reader in production, a
// fixed stream in tests). It panics when random fails, as
// crypto/rand.Read itself does since Go 1.24: an ID generator without
// entropy must not hand out guessable or colliding IDs.
func NewID(now time.Time, random io.Reader) string {
	var b [16]byte
	if _, err := io.ReadFull(random, b[8:]); err != nil {
		panic(fmt.Sprintf("db: NewID: reading randomness: %v", err))
	}
	ms := now.UnixMilli()
	// Sub-millisecond fraction, scaled from [0, 1e6) ns to [0, 4096).
	frac := int64(now.Nanosecond()%int(time.Millisecond)) * 4096 / int64(time.Millisecond)
	switch {
	case ms < 0:
		ms, frac = 0, 0
	case ms > maxUnixMs:
		ms, frac = maxUnixMs, 4095
	}
	b[0] = byte(ms >> 40)
	b[1] = byte(ms >> 32)
	b[2] = byte(ms >> 24)
	b[3] = byte(ms >> 16)
	b[4] = byte(ms >> 8)
	b[5] = byte(ms)
	b[6] = 0x70 | byte(frac>>8) // version 7, rand_a high nibble
	b[7] = byte(frac)
	b[8] = 0x80 | b[8]&0x3f // variant 0b10
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}
