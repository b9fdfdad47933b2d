package totptest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Oathtool returns oathtool's TOTP codes of the base32 secret for the
// step of at and the window steps after it (window+1 codes). It skips t
// when oathtool is not installed, unless CI is set: then it fails t, as
// it does when oathtool fails or prints another number of codes.
func Oathtool(t testing.TB, secret string, at time.Time, window int) []string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("oathtool is not installed, and CI needs it: %v", err)
		}
		t.Skipf("oathtool is not installed: %v", err)
	}
	args := []string{"--totp", "--base32", "-N", at.UTC().Format(time.RFC3339)}
	if window > 0 {
		args = append(args, "-w", strconv.Itoa(window))
	}
	args = append(args, secret)
	out, err := exec.Command(path, args...).Output()
	if err != nil {
		t.Fatalf("oathtool %v: %v", args, err)
	}
	codes := strings.Fields(string(out))
	if len(codes) != window+1 {
		t.Fatalf("oathtool %v printed %q, want %d codes", args, out, window+1)
	}
	return codes
}

// Code is oathtool's TOTP code of the base32 secret at at: Oathtool with
// no window.
func Code(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	return Oathtool(t, secret, at, 0)[0]
}

// At computes the RFC 6238 code (SHA-1, 6 digits, 30 s steps) of the
// base32 secret at at in Go, without oathtool, for the tests that must
// always run. It fails t when secret is not base32.
func At(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		t.Fatal(err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1000000)
}

// LegacySeal seals secret for userID with key the way authgw did before
// key rings (version 1, no key ID, a random nonce), so tests can check
// that such ciphertexts still open. It fails t when key is not an AES
// key.
func LegacySeal(t testing.TB, key []byte, userID string, secret []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	return aead.Seal(append([]byte{1}, nonce...), nonce, secret, []byte("authgw-totp-v1\x00"+userID))
}
