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
