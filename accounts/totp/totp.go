package totp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
	"github.com/pquerna/otp"
	otptotp "github.com/pquerna/otp/totp"
)

// The code parameters. They are what authenticator apps assume when an
// otpauth:// URI says nothing, and they are fixed by the README's "Login and sessions".
const (
	// Digits is the length of a code.
	Digits = 6
	// Period is the length of one time step, in seconds.
	Period = 30
	// Skew is how many steps either side of the current one are accepted.
	Skew = 1
	// SecretSize is the size in bytes of the secrets Enroll makes (160
	// bits, as RFC 4226 recommends).
	SecretSize = 20
	// MinSecretSize and MaxSecretSize bound the secrets Seal accepts and
	// Open returns: 128 bits (RFC 4226's minimum) to one SHA-1 block.
	MinSecretSize = 16
	MaxSecretSize = 64
	// KeySize is the size of Config.Key and of each Key.Secret: an
	// AES-256 key.
	KeySize = 32
	// MaxKeyIDLen bounds a Key.ID, which every sealed secret carries.
	MaxKeyIDLen = 64
	// LegacyKeyID is the ID of the key Config.Key gives, and the ID
	// that names the key of the legacy ciphertexts (see Config.Keys).
	LegacyKeyID = "0"
	// MaxIssuerLen and MaxAccountNameLen bound the label of the
	// otpauth:// URI, so that its QR code stays small enough to scan.
	MaxIssuerLen      = 64
	MaxAccountNameLen = 254
	// QRSize is the width and height in pixels of Enrollment.PNG.
	QRSize = 256
	// quietZone is the white margin around a QR code, in modules, that
	// ISO/IEC 18004 asks for: readers need it to find the code on a dark
	// page.
	quietZone = 4
)

// Config configures a TOTP.
type Config struct {
	// Issuer is the name authenticator apps show above the account
	// ("authgw"). Required: valid UTF-8, at most MaxIssuerLen bytes, no
	// colon (it separates issuer and account in the URI's label).
	Issuer string
	// Keys is the ring of AES-256-GCM keys that seal secrets at rest:
	// the first seals, each opens what it sealed (every sealed secret
	// names its key). A secret sealed before key rings existed names no
	// key: it opens with the ring's key of ID LegacyKeyID, or, without
	// one, its last (oldest) key. Each ID is 1 to MaxKeyIDLen of
	// [A-Za-z0-9._-], IDs are unique, each Secret is KeySize bytes.
	// Removing a key makes what it sealed ErrCorrupt: reseal first.
	Keys []Key
	// Key is a ring of one: the key of ID LegacyKeyID. Used only when
	// Keys is empty.
	Key []byte
	// Now is the clock Check reads. Optional. Default time.Now.
	Now func() time.Time
	// Rand is the source of secrets (Enroll) and nonces (Seal).
	// Optional. Default crypto/rand.Reader.
	Rand io.Reader
}

// Key is one key of the ring.
type Key struct {
	ID     string
	Secret []byte
}

// ValidKeyID reports whether id may name a key of the ring.
func ValidKeyID(id string) bool {
	if id == "" || len(id) > MaxKeyIDLen {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// TOTP enrols users, seals their secrets and checks their codes. It is
// safe for concurrent use.
type TOTP struct {
	issuer string
	// ring is the key ring, replaced whole by SetKeys.
	ring atomic.Pointer[keyRing]
	now  func() time.Time
	rand io.Reader
}

// keyRing is a TOTP's keys, ready to seal and open.
type keyRing struct {
	keys   []ringKey // keys[0] seals
	legacy int       // the index of the key of version 1 ciphertexts
}

// New returns a TOTP for cfg. It fails when Issuer is missing, longer
// than MaxIssuerLen, not UTF-8 or holds a colon, and when a key of the
// ring is not KeySize bytes, has a bad ID or repeats an ID.
func New(cfg Config) (*TOTP, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("totp: Config.Issuer is required")
	case len(cfg.Issuer) > MaxIssuerLen:
		return nil, fmt.Errorf("totp: Config.Issuer is longer than %d bytes", MaxIssuerLen)
	case !utf8.ValidString(cfg.Issuer) || strings.Contains(cfg.Issuer, ":"):
		return nil, errors.New("totp: Config.Issuer must be UTF-8 without a colon")
	}
	keys := cfg.Keys
	if len(keys) == 0 {
		keys = []Key{{ID: LegacyKeyID, Secret: cfg.Key}}
	}
	t := &TOTP{issuer: cfg.Issuer, now: cfg.Now, rand: cfg.Rand}
	ring, err := newKeyRing(keys)
	if err != nil {
		return nil, err
	}
	t.ring.Store(ring)
	if t.now == nil {
		t.now = time.Now
	}
	if t.rand == nil {
		t.rand = rand.Reader
	}
	return t, nil
}

// newKeyRing checks keys (each KeySize bytes, a valid and distinct ID)
// and makes their ciphers.
func newKeyRing(keys []Key) (*keyRing, error) {
	if len(keys) == 0 {
		return nil, errors.New("totp: the key ring holds no key")
	}
	r := &keyRing{legacy: len(keys) - 1}
	for i, k := range keys {
		switch {
		case !ValidKeyID(k.ID):
			return nil, fmt.Errorf("totp: key ID %q must be 1 to %d of [A-Za-z0-9._-]", k.ID, MaxKeyIDLen)
		case len(k.Secret) != KeySize:
			return nil, fmt.Errorf("totp: key %q must be %d bytes, not %d", k.ID, KeySize, len(k.Secret))
		}
		for _, seen := range r.keys {
			if seen.id == k.ID {
				return nil, fmt.Errorf("totp: key ID %q appears twice", k.ID)
			}
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("totp: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("totp: %w", err)
		}
		if k.ID == LegacyKeyID {
			r.legacy = i
		}
		r.keys = append(r.keys, ringKey{id: k.ID, aead: aead})
	}
	return r, nil
}

// SetKeys replaces the key ring (the --totp-key file read again while
// serving): the first key seals from the next call on, every key opens.
// It fails, keeping the ring, as New does for a bad key or an empty ring.
// It is safe to call while sealing and opening.
func (t *TOTP) SetKeys(keys []Key) error {
	ring, err := newKeyRing(keys)
	if err != nil {
		return err
	}
	t.ring.Store(ring)
	return nil
}

// Enrollment is what the user needs to add the account to an
// authenticator app, and what the caller stores.
type Enrollment struct {
	// Secret is the SecretSize-byte secret in base32 without padding, to
	// type in by hand.
	Secret string
	// URI is the otpauth://totp/Issuer:account?... key URI, with the
	// secret, issuer, algorithm (SHA1), digits (6) and period (30).
	URI string
	// PNG is a QRSize×QRSize PNG of URI's QR code, with a white margin
	// of at least 4 modules.
	PNG []byte
	// Ciphertext is the secret sealed for userID (see Seal): what goes in
	// the totp_secrets table.
	Ciphertext []byte
}

// Enroll makes a new secret for the user. accountName is the label the
// app shows (the user's email address, say); userID is the user's ID,
// which the ciphertext is bound to. The secret is worth nothing until the
// user proves with a code (Check) that the app has it. Enroll fails with
// ErrInvalidInput when userID is empty or accountName is empty, longer
// than MaxAccountNameLen, not UTF-8 or holds a colon, and when the random
// source fails.
func (t *TOTP) Enroll(userID, accountName string) (Enrollment, error) {
	switch {
	case userID == "":
		return Enrollment{}, fmt.Errorf("%w: empty user ID", ErrInvalidInput)
	case accountName == "" || len(accountName) > MaxAccountNameLen:
		return Enrollment{}, fmt.Errorf("%w: account name must be 1 to %d bytes", ErrInvalidInput, MaxAccountNameLen)
	case !utf8.ValidString(accountName) || strings.Contains(accountName, ":"):
		return Enrollment{}, fmt.Errorf("%w: account name must be UTF-8 without a colon", ErrInvalidInput)
	}
	secret := make([]byte, SecretSize)
	defer clear(secret)
	if _, err := io.ReadFull(t.rand, secret); err != nil {
		return Enrollment{}, fmt.Errorf("totp: reading a secret: %w", err)
	}
	key, err := otptotp.Generate(otptotp.GenerateOpts{
		Issuer:      t.issuer,
		AccountName: accountName,
		Period:      Period,
		Secret:      secret,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return Enrollment{}, fmt.Errorf("totp: key URI: %w", err)
	}
	qrPNG, err := qrCodePNG(key.String())
	if err != nil {
		return Enrollment{}, err
	}
	ciphertext, err := t.Seal(userID, secret)
	if err != nil {
		return Enrollment{}, err
	}
	return Enrollment{
		Secret:     key.Secret(),
		URI:        key.String(),
		PNG:        qrPNG,
		Ciphertext: ciphertext,
	}, nil
}

// qrCodePNG draws a QR code of uri (error correction level M, as
// pquerna/otp's Key.Image) in a QRSize×QRSize PNG: black modules of the
// largest whole number of pixels that still leaves a white quiet zone of
// 4 modules all round. (Key.Image scales the code to fill the whole image,
// leaving next to no margin.)
func qrCodePNG(uri string) ([]byte, error) {
	code, err := qr.Encode(uri, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	modules := code.Bounds().Dx()
	scale := QRSize / (modules + 2*quietZone)
	if scale < 1 {
		return nil, fmt.Errorf("totp: QR code of %d modules does not fit in %d pixels", modules, QRSize)
	}
	scaled, err := barcode.Scale(code, modules*scale, modules*scale)
	if err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	canvas := image.NewGray(image.Rect(0, 0, QRSize, QRSize))
	draw.Draw(canvas, canvas.Bounds(), image.White, image.Point{}, draw.Src)
	at := (QRSize - modules*scale) / 2
	draw.Draw(canvas, image.Rect(at, at, at+modules*scale, at+modules*scale), scaled, scaled.Bounds().Min, draw.Src)
	var out bytes.Buffer
	if err := png.Encode(&out, canvas); err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	return out.Bytes(), nil
}
