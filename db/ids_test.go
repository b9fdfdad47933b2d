package db_test

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/authgw/authgw/db"
)

// uuidV7 is the canonical text form of a UUIDv7: version 7, variant 10.
var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// idMs reads the 48-bit millisecond time at the start of a UUIDv7.
func idMs(t *testing.T, id string) int64 {
	t.Helper()
	ms, err := strconv.ParseInt(strings.ReplaceAll(id[:13], "-", ""), 16, 64)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return ms
}

// TestNewID checks the RFC 9562 layout of the IDs NewID makes.
func TestNewID(t *testing.T) {
	tests := []struct {
		name         string
		givenNow     time.Time
		givenRandom  []byte
		expectID     string // "" to check the layout only
		expectTimeMs int64
	}{
		{
			name:         "all-zero randomness keeps the variant bits",
			givenNow:     time.UnixMilli(0x0123456789ab),
			givenRandom:  make([]byte, 8),
			expectID:     "01234567-89ab-7000-8000-000000000000",
			expectTimeMs: 0x0123456789ab,
		},
		{
			name:         "all-one randomness has its top two bits replaced by the variant",
			givenNow:     time.UnixMilli(0x0123456789ab).Add(999_999 * time.Nanosecond),
			givenRandom:  bytes.Repeat([]byte{0xff}, 8),
			expectID:     "01234567-89ab-7fff-bfff-ffffffffffff",
			expectTimeMs: 0x0123456789ab,
		},
		{
			name:         "half a millisecond is half of rand_a",
			givenNow:     time.UnixMilli(1).Add(500 * time.Microsecond),
			givenRandom:  []byte{1, 2, 3, 4, 5, 6, 7, 8},
			expectID:     "00000000-0001-7800-8102-030405060708",
			expectTimeMs: 1,
		},
		{
			name:         "a time before 1970 is clamped to zero",
			givenNow:     time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC),
			givenRandom:  make([]byte, 8),
			expectID:     "00000000-0000-7000-8000-000000000000",
			expectTimeMs: 0,
		},
		{
			name:         "a time beyond 48 bits is clamped to the largest",
			givenNow:     time.UnixMilli(1 << 50),
			givenRandom:  make([]byte, 8),
			expectID:     "ffffffff-ffff-7fff-8000-000000000000",
			expectTimeMs: 1<<48 - 1,
		},
		{
			name:         "today",
			givenNow:     time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
			givenRandom:  []byte("8 bytes!"),
			expectTimeMs: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).UnixMilli(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := db.NewID(tt.givenNow, bytes.NewReader(tt.givenRandom))
			if !uuidV7.MatchString(id) {
				t.Errorf("NewID = %q, not a canonical UUIDv7", id)
			}
			if tt.expectID != "" && id != tt.expectID {
				t.Errorf("NewID = %s, want %s", id, tt.expectID)
			}
			if ms := idMs(t, id); ms != tt.expectTimeMs {
				t.Errorf("time in the ID = %d, want %d", ms, tt.expectTimeMs)
			}
		})
	}
}

// TestNewID_ordersByTime checks that IDs made at increasing times sort,
// as strings, in that order, down to sub-millisecond steps, whatever
// their random bits.
func TestNewID_ordersByTime(t *testing.T) {
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		name      string
		givenStep time.Duration
	}{
		{"one millisecond", time.Millisecond},
		{"a quarter of a millisecond", 250 * time.Microsecond},
		{"one rand_a unit", 245 * time.Nanosecond},
		{"one second", time.Second},
	}
	for _, tt := range steps {
		t.Run(tt.name, func(t *testing.T) {
			ids := make([]string, 200)
			for i := range ids {
				// Decreasing random bits: the order must come from the time.
				random := bytes.Repeat([]byte{byte(255 - i)}, 8)
				ids[i] = db.NewID(base.Add(time.Duration(i)*tt.givenStep), bytes.NewReader(random))
			}
			if !slices.IsSorted(ids) {
				t.Errorf("IDs made at increasing times are not sorted: %v", ids)
			}
			if len(slices.Compact(slices.Clone(ids))) != len(ids) {
				t.Error("IDs repeat")
			}
		})
	}
}

// TestNewID_randomnessFails checks that NewID panics, rather than return
// a guessable ID, when its randomness source fails or runs short.
func TestNewID_randomnessFails(t *testing.T) {
	tests := []struct {
		name        string
		givenRandom []byte
		givenErr    error
	}{
		{name: "reader error", givenErr: errors.New("entropy exhausted")},
		{name: "seven bytes only", givenRandom: make([]byte, 7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("NewID did not panic")
				}
			}()
			r := bytes.NewReader(tt.givenRandom)
			if tt.givenErr != nil {
				_ = db.NewID(time.Now(), iotest.ErrReader(tt.givenErr))
				return
			}
			_ = db.NewID(time.Now(), r)
		})
	}
}
