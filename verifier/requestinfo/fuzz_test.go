package requestinfo_test

import (
	"crypto/ecdsa"
	"strings"
	"testing"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// FuzzVerify feeds arbitrary tokens to Verify. It must never panic, and
// anything it accepts must carry the very header and payload the gateway
// signed: nobody without the key can get other claims through.
func FuzzVerify(f *testing.F) {
	key, _ := keys(f)
	clk := newClock()
	s := newSigner(f, infosign.SignerConfig{Key: key, Now: clk.Now})
	v := newVerifier(f, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Now: clk.Now})
	valid := sign(f, s, sampleClaims())
	signedPart := valid[:strings.LastIndexByte(valid, '.')]

	f.Add(valid)
	f.Add(signedPart + ".")
	f.Add(unsigned(`{"alg":"none"}`, validPayload(""), ""))
	f.Add(hs256(`{"alg":"HS256"}`, validPayload(""), []byte("secret")))
	f.Add("..")
	f.Add("a.b.c")
	f.Add(strings.Repeat(".", 100))

	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(token)
		if err != nil {
			if c.Client != "" || c.User != nil {
				t.Errorf("claims returned with error %v", err)
			}
			return
		}
		if got := token[:strings.LastIndexByte(token, '.')]; got != signedPart {
			t.Errorf("accepted a token with other content: %q", token)
		}
	})
}

// FuzzCanonicalBase64URL checks the canonical-spelling check against the
// standard library's strict decoder, which accepts exactly the canonical
// unpadded base64url (apart from CR and LF, which it skips and a token
// part may not hold).
func FuzzCanonicalBase64URL(f *testing.F) {
	for _, seed := range []string{"", "AA", "AB", "AAA", "AAB", "AAAA", "A", "AA==", "-_", "A+/A", "AA\n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, part string) {
		got := requestinfo.CanonicalBase64URL(part)
		_, err := enc.Strict().DecodeString(part)
		want := err == nil && !strings.ContainsAny(part, "\r\n")
		if got != want {
			t.Errorf("canonicalBase64URL(%q) = %v, strict decoding says %v (%v)", part, got, want, err)
		}
	})
}
