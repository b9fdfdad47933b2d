package totp_test

import (
	"bytes"
	"encoding/base32"
	"errors"
	"image"
	"image/png"
	"io"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/accounts/totp/totptest"
	"github.com/boombuler/barcode/qr"
	otptotp "github.com/pquerna/otp/totp"
)

var (
	// testKey and otherKey are AES-256 keys.
	testKey  = bytes.Repeat([]byte{0x42}, totp.KeySize)
	otherKey = bytes.Repeat([]byte{0x43}, totp.KeySize)
	// rfcSecret is the SHA1 secret of RFC 6238 appendix B.
	rfcSecret = []byte("12345678901234567890")
	// randomSecret is a secret without structure.
	randomSecret = []byte{
		0x9f, 0x1c, 0x07, 0xe2, 0x55, 0xa0, 0x3b, 0xc8, 0x11, 0x6d,
		0xf4, 0x80, 0x2a, 0x97, 0x0e, 0x63, 0xd1, 0x4b, 0xbe, 0x38,
	}
	// fixedNow is a clock 20 s into a step.
	fixedNow = time.Unix(1700000000, 0).UTC()
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// fixedClock returns a clock that always reads at.
func fixedClock(at time.Time) func() time.Time { return func() time.Time { return at } }

// newTOTP returns a TOTP with testKey, the clock at now and crypto/rand.
func newTOTP(t testing.TB, now time.Time) *totp.TOTP {
	t.Helper()
	tp, err := totp.New(totp.Config{Issuer: "authgw", Key: testKey, Now: fixedClock(now)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tp
}

// mustSeal seals secret for userID.
func mustSeal(t testing.TB, tp *totp.TOTP, userID string, secret []byte) []byte {
	t.Helper()
	ct, err := tp.Seal(userID, secret)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return ct
}

// oathtool runs oathtool, the independent TOTP implementation: the codes
// of secret for the step of at and the window steps after it.
func oathtool(t *testing.T, secret []byte, at time.Time, window int) []string {
	t.Helper()
	return totptest.Oathtool(t, b32.EncodeToString(secret), at, window)
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		givenCfg  totp.Config
		expectErr bool
	}{
		{name: "valid", givenCfg: totp.Config{Issuer: "authgw", Key: testKey}},
		{name: "valid with clock and rand", givenCfg: totp.Config{Issuer: "Acme Corp", Key: testKey, Now: time.Now, Rand: bytes.NewReader(nil)}},
		{name: "missing issuer", givenCfg: totp.Config{Key: testKey}, expectErr: true},
		{name: "issuer with colon", givenCfg: totp.Config{Issuer: "a:b", Key: testKey}, expectErr: true},
		{name: "issuer not UTF-8", givenCfg: totp.Config{Issuer: "a\xffb", Key: testKey}, expectErr: true},
		{name: "issuer too long", givenCfg: totp.Config{Issuer: strings.Repeat("a", totp.MaxIssuerLen+1), Key: testKey}, expectErr: true},
		{name: "missing key", givenCfg: totp.Config{Issuer: "authgw"}, expectErr: true},
		{name: "AES-128 key", givenCfg: totp.Config{Issuer: "authgw", Key: testKey[:16]}, expectErr: true},
		{name: "33-byte key", givenCfg: totp.Config{Issuer: "authgw", Key: append(bytes.Clone(testKey), 0)}, expectErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := totp.New(tc.givenCfg)
			if tc.expectErr {
				if err == nil || tp != nil {
					t.Fatalf("New = %v, %v; want nil and an error", tp, err)
				}
				return
			}
			if err != nil || tp == nil {
				t.Fatalf("New = %v, %v; want a TOTP", tp, err)
			}
		})
	}
}

// TestCodeAt_RFC6238 checks the code generator against RFC 6238
// appendix B (SHA1); the RFC gives 8 digits, of which 6 are ours.
func TestCodeAt_RFC6238(t *testing.T) {
	tests := []struct {
		name       string
		givenUnix  int64
		expectCode string
	}{
		{name: "59", givenUnix: 59, expectCode: "94287082"},
		{name: "1111111109", givenUnix: 1111111109, expectCode: "07081804"},
		{name: "1111111111", givenUnix: 1111111111, expectCode: "14050471"},
		{name: "1234567890", givenUnix: 1234567890, expectCode: "89005924"},
		{name: "2000000000", givenUnix: 2000000000, expectCode: "69279037"},
		{name: "20000000000", givenUnix: 20000000000, expectCode: "65353130"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := totp.CodeAt(rfcSecret, time.Unix(tc.givenUnix, 0))
			if want := tc.expectCode[2:]; got != want {
				t.Fatalf("CodeAt(%d) = %q, want %q", tc.givenUnix, got, want)
			}
		})
	}
}

// TestCheck_oathtool checks Check against oathtool for several clocks:
// the codes of the previous, current and next step are accepted with
// their step, the codes two steps away are refused.
func TestCheck_oathtool(t *testing.T) {
	tests := []struct {
		name        string
		givenSecret []byte
		givenNow    time.Time
	}{
		{name: "RFC secret, 2009", givenSecret: rfcSecret, givenNow: time.Unix(1234567890, 0)},
		{name: "RFC secret, start of a step", givenSecret: rfcSecret, givenNow: time.Unix(1700000010, 0)},
		{name: "RFC secret, last second of a step", givenSecret: rfcSecret, givenNow: time.Unix(1700000039, 0)},
		{name: "random secret, 2023", givenSecret: randomSecret, givenNow: fixedNow},
		{name: "random secret, 2033", givenSecret: randomSecret, givenNow: time.Unix(2000000000, 0)},
		{name: "random secret, 2038 and after", givenSecret: randomSecret, givenNow: time.Unix(1<<31+7, 0)},
		{name: "random secret, 2603", givenSecret: randomSecret, givenNow: time.Unix(20000000000, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp := newTOTP(t, tc.givenNow)
			ct := mustSeal(t, tp, "user-1", tc.givenSecret)
			now := tc.givenNow.Unix() / 30

			// One oathtool call for the five steps, to cross-check the
			// one-step calls below.
			window := oathtool(t, tc.givenSecret, tc.givenNow.Add(-60*time.Second), 4)
			for i, offset := range []int64{-2, -1, 0, 1, 2} {
				at := tc.givenNow.Add(time.Duration(offset) * 30 * time.Second)
				code := oathtool(t, tc.givenSecret, at, 0)[0]
				if code != window[i] {
					t.Fatalf("oathtool at %v gives %s alone and %s in a window", at, code, window[i])
				}
				if own := totp.CodeAt(tc.givenSecret, at); own != code {
					t.Fatalf("CodeAt(%v) = %s, oathtool says %s", at, own, code)
				}
				step, err := tp.Check("user-1", ct, code, 0)
				if offset == -2 || offset == 2 {
					if !errors.Is(err, totp.ErrInvalidCode) {
						t.Fatalf("code of step now%+d: Check = %d, %v; want ErrInvalidCode", offset, step, err)
					}
					continue
				}
				if err != nil || step != now+offset {
					t.Fatalf("code of step now%+d: Check = %d, %v; want %d", offset, step, err, now+offset)
				}
			}
		})
	}
}

// TestCheck_replay: a step at or before lastUsedStep never matches.
func TestCheck_replay(t *testing.T) {
	tp := newTOTP(t, fixedNow)
	ct := mustSeal(t, tp, "user-1", randomSecret)
	now := totp.StepAt(fixedNow)
	codeOf := func(step int64) string { return totp.CodeAt(randomSecret, time.Unix(step*30, 0)) }

	tests := []struct {
		name          string
		givenCodeStep int64
		givenLastUsed int64
		expectStep    int64
		expectErr     error
	}{
		{name: "current step, never used", givenCodeStep: now, givenLastUsed: 0, expectStep: now},
		{name: "current step, previous used", givenCodeStep: now, givenLastUsed: now - 1, expectStep: now},
		{name: "current step, used", givenCodeStep: now, givenLastUsed: now, expectErr: totp.ErrReplayed},
		{name: "current step, next used", givenCodeStep: now, givenLastUsed: now + 1, expectErr: totp.ErrReplayed},
		{name: "previous step, used", givenCodeStep: now - 1, givenLastUsed: now - 1, expectErr: totp.ErrReplayed},
		{name: "previous step, current used", givenCodeStep: now - 1, givenLastUsed: now, expectErr: totp.ErrReplayed},
		{name: "previous step, older used", givenCodeStep: now - 1, givenLastUsed: now - 2, expectStep: now - 1},
		{name: "next step, current used", givenCodeStep: now + 1, givenLastUsed: now, expectStep: now + 1},
		{name: "next step, used", givenCodeStep: now + 1, givenLastUsed: now + 1, expectErr: totp.ErrReplayed},
		{name: "two steps back, never used", givenCodeStep: now - 2, givenLastUsed: 0, expectErr: totp.ErrInvalidCode},
		{name: "two steps back, used", givenCodeStep: now - 2, givenLastUsed: now - 2, expectErr: totp.ErrInvalidCode},
		{name: "two steps ahead", givenCodeStep: now + 2, givenLastUsed: 0, expectErr: totp.ErrInvalidCode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, err := tp.Check("user-1", ct, codeOf(tc.givenCodeStep), tc.givenLastUsed)
			if tc.expectErr != nil {
				if !errors.Is(err, tc.expectErr) || step != 0 {
					t.Fatalf("Check = %d, %v; want 0, %v", step, err, tc.expectErr)
				}
				return
			}
			if err != nil || step != tc.expectStep {
				t.Fatalf("Check = %d, %v; want %d", step, err, tc.expectStep)
			}
		})
	}
}

// TestCheck_replayFlow walks a login, a replay and the next login.
func TestCheck_replayFlow(t *testing.T) {
	tp := newTOTP(t, fixedNow)
	ct := mustSeal(t, tp, "user-1", randomSecret)
	code := totp.CodeAt(randomSecret, fixedNow)

	step, err := tp.Check("user-1", ct, code, 0)
	if err != nil || step != totp.StepAt(fixedNow) {
		t.Fatalf("first Check = %d, %v; want %d", step, err, totp.StepAt(fixedNow))
	}
	// The caller stored step; the same code again is a replay.
	if again, err := tp.Check("user-1", ct, code, step); !errors.Is(err, totp.ErrReplayed) {
		t.Fatalf("replayed Check = %d, %v; want ErrReplayed", again, err)
	}
	// 30 s later the next step's code is good.
	later := fixedNow.Add(30 * time.Second)
	next, err := newTOTP(t, later).Check("user-1", ct, totp.CodeAt(randomSecret, later), step)
	if err != nil || next != step+1 {
		t.Fatalf("next step's Check = %d, %v; want %d", next, err, step+1)
	}
}

// collisionSecret has the same code, 363422, for the steps of fixedNow
// and the one before (found by search): the newest unused step wins.
var collisionSecret = []byte("authgw-collision\x00\x2b\xe1\x8e")

func TestCheck_sameCodeTwoSteps(t *testing.T) {
	now := totp.StepAt(fixedNow)
	previous := fixedNow.Add(-30 * time.Second)
	code := totp.CodeAt(collisionSecret, fixedNow)
	if code != "363422" || totp.CodeAt(collisionSecret, previous) != code {
		t.Fatalf("collisionSecret's codes are %s and %s, want 363422 twice", totp.CodeAt(collisionSecret, previous), code)
	}
	tp := newTOTP(t, fixedNow)
	ct := mustSeal(t, tp, "user-1", collisionSecret)

	tests := []struct {
		name          string
		givenLastUsed int64
		expectStep    int64
		expectErr     error
	}{
		{name: "both unused: the current step", givenLastUsed: 0, expectStep: now},
		{name: "previous used: the current step", givenLastUsed: now - 1, expectStep: now},
		{name: "both used: replayed", givenLastUsed: now, expectErr: totp.ErrReplayed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, err := tp.Check("user-1", ct, code, tc.givenLastUsed)
			if !errors.Is(err, tc.expectErr) || step != tc.expectStep {
				t.Fatalf("Check = %d, %v; want %d, %v", step, err, tc.expectStep, tc.expectErr)
			}
		})
	}
}

func TestCheck_refused(t *testing.T) {
	tp := newTOTP(t, fixedNow)
	ct := mustSeal(t, tp, "user-1", randomSecret)
	good := totp.CodeAt(randomSecret, fixedNow)
	flipped := bytes.Clone(ct)
	flipped[len(flipped)-1] ^= 1

	tests := []struct {
		name      string
		givenUser string
		givenCT   []byte
		givenCode string
		expectErr error
	}{
		{name: "empty", givenCode: "", expectErr: totp.ErrInvalidCode},
		{name: "5 digits", givenCode: good[:5], expectErr: totp.ErrInvalidCode},
		{name: "7 digits", givenCode: good + "0", expectErr: totp.ErrInvalidCode},
		{name: "7 digits, right prefix", givenCode: "0" + good, expectErr: totp.ErrInvalidCode},
		{name: "letter", givenCode: "12a456", expectErr: totp.ErrInvalidCode},
		{name: "leading space", givenCode: " " + good[:5], expectErr: totp.ErrInvalidCode},
		{name: "surrounding space", givenCode: " " + good + " ", expectErr: totp.ErrInvalidCode},
		{name: "sign", givenCode: "+12345", expectErr: totp.ErrInvalidCode},
		{name: "fullwidth digits", givenCode: "１２３４５６", expectErr: totp.ErrInvalidCode},
		{name: "Arabic-Indic digits", givenCode: "٠١٢٣٤٥", expectErr: totp.ErrInvalidCode},
		{name: "NUL", givenCode: "12345\x00", expectErr: totp.ErrInvalidCode},
		{name: "wrong code", givenCode: wrongCode(good), expectErr: totp.ErrInvalidCode},
		{name: "other user's ciphertext", givenUser: "user-2", givenCode: good, expectErr: totp.ErrCorrupt},
		{name: "tampered ciphertext", givenCT: flipped, givenCode: good, expectErr: totp.ErrCorrupt},
		{name: "no ciphertext", givenCT: []byte{}, givenCode: good, expectErr: totp.ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			user, c := "user-1", ct
			if tc.givenUser != "" {
				user = tc.givenUser
			}
			if tc.givenCT != nil {
				c = tc.givenCT
			}
			step, err := tp.Check(user, c, tc.givenCode, 0)
			if !errors.Is(err, tc.expectErr) || step != 0 {
				t.Fatalf("Check(%q) = %d, %v; want 0, %v", tc.givenCode, step, err, tc.expectErr)
			}
		})
	}
}

// wrongCode is a code that is none of the window's codes.
func wrongCode(good string) string {
	b := []byte(good)
	b[0] = '0' + (b[0]-'0'+5)%10
	return string(b)
}

func TestSealOpen_roundTrip(t *testing.T) {
	tp := newTOTP(t, fixedNow)
	for _, secret := range [][]byte{randomSecret, rfcSecret, bytes.Repeat([]byte{7}, totp.MinSecretSize), bytes.Repeat([]byte{8}, totp.MaxSecretSize)} {
		a := mustSeal(t, tp, "user-1", secret)
		b := mustSeal(t, tp, "user-1", secret)
		if bytes.Equal(a, b) {
			t.Fatalf("two Seals of one secret are equal: %x", a)
		}
		if len(a) != 2+len(totp.LegacyKeyID)+12+len(secret)+16 || a[0] != 2 || a[1] != byte(len(totp.LegacyKeyID)) {
			t.Fatalf("Seal = %x: want version 2, key ID, 12-byte nonce, %d bytes sealed", a, len(secret)+16)
		}
		for _, ct := range [][]byte{a, b} {
			got, err := tp.Open("user-1", ct)
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("Open = %x, %v; want %x", got, err, secret)
			}
		}
	}
}

func TestOpen_corrupt(t *testing.T) {
	tp := newTOTP(t, fixedNow)
	other, err := totp.New(totp.Config{Issuer: "authgw", Key: otherKey})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ct := mustSeal(t, tp, "user-1", randomSecret)
	with := func(change func(b []byte) []byte) []byte { return change(bytes.Clone(ct)) }

	tests := []struct {
		name      string
		givenTOTP *totp.TOTP
		givenUser string
		givenCT   []byte
	}{
		{name: "other user", givenUser: "user-2", givenCT: ct},
		{name: "user ID with a prefix", givenUser: "xuser-1", givenCT: ct},
		{name: "user ID with a NUL", givenUser: "user-1\x00", givenCT: ct},
		{name: "empty user ID", givenUser: "", givenCT: ct},
		{name: "other key", givenTOTP: other, givenUser: "user-1", givenCT: ct},
		{name: "version 0", givenUser: "user-1", givenCT: with(func(b []byte) []byte { b[0] = 0; return b })},
		{name: "version 3", givenUser: "user-1", givenCT: with(func(b []byte) []byte { b[0] = 3; return b })},
		{name: "version 1", givenUser: "user-1", givenCT: with(func(b []byte) []byte { b[0] = 1; return b })},
		{name: "nil", givenUser: "user-1", givenCT: nil},
		{name: "version byte only", givenUser: "user-1", givenCT: ct[:1]},
		{name: "one more byte", givenUser: "user-1", givenCT: append(bytes.Clone(ct), 0)},
	}
	for n := 0; n < len(ct); n++ {
		tests = append(tests, struct {
			name      string
			givenTOTP *totp.TOTP
			givenUser string
			givenCT   []byte
		}{name: "truncated to " + strconv.Itoa(n), givenUser: "user-1", givenCT: ct[:n]})
	}
	for i := range ct {
		for _, bit := range []byte{0x01, 0x80} {
			tests = append(tests, struct {
				name      string
				givenTOTP *totp.TOTP
				givenUser string
				givenCT   []byte
			}{name: "bit " + strconv.Itoa(int(bit)) + " of byte " + strconv.Itoa(i), givenUser: "user-1", givenCT: with(func(b []byte) []byte { b[i] ^= bit; return b })})
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp := tp
			if tc.givenTOTP != nil {
				tp = tc.givenTOTP
			}
			got, err := tp.Open(tc.givenUser, tc.givenCT)
			if !errors.Is(err, totp.ErrCorrupt) || got != nil {
				t.Fatalf("Open = %x, %v; want nil, ErrCorrupt", got, err)
			}
		})
	}
}

func TestSeal_invalid(t *testing.T) {
	tp := newTOTP(t, fixedNow)
	tests := []struct {
		name        string
		givenUser   string
		givenSecret []byte
	}{
		{name: "empty user ID", givenUser: "", givenSecret: randomSecret},
		{name: "no secret", givenUser: "user-1", givenSecret: nil},
		{name: "80-bit secret", givenUser: "user-1", givenSecret: randomSecret[:10]},
		{name: "secret too long", givenUser: "user-1", givenSecret: make([]byte, totp.MaxSecretSize+1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ct, err := tp.Seal(tc.givenUser, tc.givenSecret)
			if !errors.Is(err, totp.ErrInvalidInput) || ct != nil {
				t.Fatalf("Seal = %x, %v; want nil, ErrInvalidInput", ct, err)
			}
		})
	}
}

func TestSeal_randomFails(t *testing.T) {
	tp, err := totp.New(totp.Config{Issuer: "authgw", Key: testKey, Rand: bytes.NewReader(make([]byte, 5))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if ct, err := tp.Seal("user-1", randomSecret); !errors.Is(err, io.ErrUnexpectedEOF) || ct != nil {
		t.Fatalf("Seal = %x, %v; want nil, io.ErrUnexpectedEOF", ct, err)
	}
}

// enrollRand is the random source of an enrolment: the secret, then the
// nonce.
func enrollRand() io.Reader {
	return bytes.NewReader(append(bytes.Clone(randomSecret), bytes.Repeat([]byte{0xaa}, 12)...))
}

func TestEnroll(t *testing.T) {
	tests := []struct {
		name         string
		givenAccount string
		expectPath   string
	}{
		{name: "email", givenAccount: "alice@example.com", expectPath: "/authgw:alice@example.com"},
		{name: "spaces and non-ASCII", givenAccount: "Zoë Martin", expectPath: "/authgw:Zoë Martin"},
		{name: "characters that need escaping", givenAccount: "a+b/c?d#e&f=g%h", expectPath: "/authgw:a+b/c?d#e&f=g%h"},
		{name: "longest account name", givenAccount: strings.Repeat("x", totp.MaxAccountNameLen), expectPath: "/authgw:" + strings.Repeat("x", totp.MaxAccountNameLen)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			newTP := func() *totp.TOTP {
				tp, err := totp.New(totp.Config{Issuer: "authgw", Key: testKey, Now: fixedClock(fixedNow), Rand: enrollRand()})
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return tp
			}
			tp := newTP()
			e, err := tp.Enroll("user-1", tc.givenAccount)
			if err != nil {
				t.Fatalf("Enroll: %v", err)
			}

			u, err := url.Parse(e.URI)
			if err != nil {
				t.Fatalf("URI %q does not parse: %v", e.URI, err)
			}
			if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != tc.expectPath {
				t.Fatalf("URI %q: scheme %q, host %q, path %q; want otpauth, totp, %q", e.URI, u.Scheme, u.Host, u.Path, tc.expectPath)
			}
			q := u.Query()
			for param, want := range map[string]string{
				"secret": e.Secret, "issuer": "authgw", "algorithm": "SHA1", "digits": "6", "period": "30",
			} {
				if got := q[param]; len(got) != 1 || got[0] != want {
					t.Fatalf("URI %q: %s = %q, want %q", e.URI, param, got, want)
				}
			}

			secret, err := b32.DecodeString(e.Secret)
			if err != nil || len(secret) != totp.SecretSize || strings.Contains(e.Secret, "=") {
				t.Fatalf("Secret %q: %x, %v; want 20 bytes of unpadded base32", e.Secret, secret, err)
			}
			if !bytes.Equal(secret, randomSecret) {
				t.Fatalf("Secret = %x, want the random source's first 20 bytes %x", secret, randomSecret)
			}
			if opened, err := tp.Open("user-1", e.Ciphertext); err != nil || !bytes.Equal(opened, secret) {
				t.Fatalf("Open(Ciphertext) = %x, %v; want the secret %x", opened, err, secret)
			}
			// The app's first code confirms the enrolment.
			if step, err := tp.Check("user-1", e.Ciphertext, totp.CodeAt(secret, fixedNow), 0); err != nil || step != totp.StepAt(fixedNow) {
				t.Fatalf("Check of the enrolled secret = %d, %v", step, err)
			}

			checkQRCode(t, e.PNG, e.URI)

			again, err := newTP().Enroll("user-1", tc.givenAccount)
			if err != nil {
				t.Fatalf("second Enroll: %v", err)
			}
			if again.Secret != e.Secret || again.URI != e.URI || !bytes.Equal(again.PNG, e.PNG) || !bytes.Equal(again.Ciphertext, e.Ciphertext) {
				t.Fatalf("Enroll is not deterministic with a fixed random source")
			}
		})
	}
}

// checkQRCode checks that pngData is a QRSize×QRSize PNG of the QR code
// of uri, with a white quiet zone of at least 4 modules. The modules are
// compared with boombuler/barcode's encoding of uri: this checks what
// the PNG says and how it is drawn, not the QR encoder itself.
func checkQRCode(t *testing.T, pngData []byte, uri string) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	if b := img.Bounds(); b != image.Rect(0, 0, totp.QRSize, totp.QRSize) {
		t.Fatalf("PNG is %v, want %dx%d", b, totp.QRSize, totp.QRSize)
	}
	dark := func(x, y int) bool {
		r, g, b, _ := img.At(x, y).RGBA()
		return r+g+b < 3*0x8000
	}
	want, err := qr.Encode(uri, qr.M, qr.Auto)
	if err != nil {
		t.Fatalf("qr.Encode: %v", err)
	}
	modules := want.Bounds().Dx()

	// The top-left finder pattern starts at the first dark pixel of the
	// diagonal and is 7 modules wide.
	at := 0
	for at < totp.QRSize && !dark(at, at) {
		at++
	}
	run := 0
	for at+run < totp.QRSize && dark(at+run, at) {
		run++
	}
	scale := run / 7
	if scale < 1 || run%7 != 0 {
		t.Fatalf("finder pattern is %d pixels wide, not 7 modules", run)
	}
	if margin := totp.QRSize - at - modules*scale; at < 4*scale || margin < 4*scale {
		t.Fatalf("quiet zone is %d and %d pixels, want at least 4 modules of %d", at, margin, scale)
	}
	for y := 0; y < totp.QRSize; y++ {
		for x := 0; x < totp.QRSize; x++ {
			i, j := (x-at)/scale, (y-at)/scale
			inside := x >= at && y >= at && i < modules && j < modules
			wantDark := false
			if inside {
				r, _, _, _ := want.At(i, j).RGBA()
				wantDark = r < 0x8000
			}
			if dark(x, y) != wantDark {
				t.Fatalf("pixel (%d, %d) (module %d, %d of %d) dark = %v, want %v", x, y, i, j, modules, dark(x, y), wantDark)
			}
		}
	}
}

func TestEnroll_invalid(t *testing.T) {
	tests := []struct {
		name         string
		givenUser    string
		givenAccount string
		givenRand    io.Reader
		expectErr    error
	}{
		{name: "empty user ID", givenUser: "", givenAccount: "alice@example.com", expectErr: totp.ErrInvalidInput},
		{name: "empty account", givenUser: "user-1", givenAccount: "", expectErr: totp.ErrInvalidInput},
		{name: "account with colon", givenUser: "user-1", givenAccount: "evil:alice", expectErr: totp.ErrInvalidInput},
		{name: "account not UTF-8", givenUser: "user-1", givenAccount: "alice\xff", expectErr: totp.ErrInvalidInput},
		{name: "account too long", givenUser: "user-1", givenAccount: strings.Repeat("x", totp.MaxAccountNameLen+1), expectErr: totp.ErrInvalidInput},
		{name: "random source runs dry", givenUser: "user-1", givenAccount: "alice@example.com", givenRand: bytes.NewReader(make([]byte, 10)), expectErr: io.ErrUnexpectedEOF},
		{name: "no randomness left for the nonce", givenUser: "user-1", givenAccount: "alice@example.com", givenRand: bytes.NewReader(make([]byte, 25)), expectErr: io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.givenRand
			if r == nil {
				r = enrollRand()
			}
			tp, err := totp.New(totp.Config{Issuer: "authgw", Key: testKey, Rand: r})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			e, err := tp.Enroll(tc.givenUser, tc.givenAccount)
			if !errors.Is(err, tc.expectErr) {
				t.Fatalf("Enroll = %+v, %v; want %v", e, err, tc.expectErr)
			}
			if e.Secret != "" || e.URI != "" || e.PNG != nil || e.Ciphertext != nil {
				t.Fatalf("Enroll failed but returned %+v", e)
			}
		})
	}
}

// FuzzCheck: Check never panics, and accepts (or calls replayed) only
// the code of a step of the window, answering with that step.
func FuzzCheck(f *testing.F) {
	tp := newTOTP(f, fixedNow)
	ct := mustSeal(f, tp, "user-1", randomSecret)
	now := totp.StepAt(fixedNow)
	codes := map[int64]string{}
	for s := now - 2; s <= now+2; s++ {
		codes[s] = totp.CodeAt(randomSecret, time.Unix(s*30, 0))
		f.Add(codes[s])
	}
	for _, seed := range []string{"", "12345", "1234567", "12a456", " 123456", "１２３４５６", "000000", "999999", "\x00\x00\x00\x00\x00\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, code string) {
		for _, last := range []int64{0, now - 1, now, now + 1} {
			step, err := tp.Check("user-1", ct, code, last)
			switch {
			case err == nil:
				if step < now-1 || step > now+1 || step <= last || codes[step] != code {
					t.Fatalf("Check(%q, last %d) accepted step %d, whose code is %q", code, last, step, codes[step])
				}
				// No newer usable step has the same code.
				for s := step + 1; s <= now+1; s++ {
					if codes[s] == code {
						t.Fatalf("Check(%q, last %d) = %d, but step %d matches too", code, last, step, s)
					}
				}
			case errors.Is(err, totp.ErrReplayed):
				if !(codes[now-1] == code && now-1 <= last || codes[now] == code && now <= last || codes[now+1] == code && now+1 <= last) {
					t.Fatalf("Check(%q, last %d) = ErrReplayed, but no spent step of the window has that code", code, last)
				}
			case errors.Is(err, totp.ErrInvalidCode):
				for s := now - 1; s <= now+1; s++ {
					if codes[s] == code {
						t.Fatalf("Check(%q, last %d) = ErrInvalidCode, but it is the code of step %d", code, last, s)
					}
				}
			default:
				t.Fatalf("Check(%q, last %d) = %d, %v; want nil, ErrReplayed or ErrInvalidCode", code, last, step, err)
			}
		}
	})
}

// BenchmarkCheck measures Check, with pquerna/otp's ValidateCustom on the
// same code as the baseline (it neither decrypts nor checks replays).
func BenchmarkCheck(b *testing.B) {
	tp := newTOTP(b, fixedNow)
	ct := mustSeal(b, tp, "user-1", randomSecret)
	code := totp.CodeAt(randomSecret, fixedNow.Add(30*time.Second))
	b.Run("authgw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tp.Check("user-1", ct, code, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pquerna-ValidateCustom", func(b *testing.B) {
		b.ReportAllocs()
		secret := b32.EncodeToString(randomSecret)
		opts := otptotp.ValidateOpts{Period: 30, Skew: 1, Digits: 6}
		for b.Loop() {
			if ok, err := otptotp.ValidateCustom(code, secret, fixedNow, opts); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}
