package requestinfo_test

import (
	"crypto/ecdsa"
	"encoding/json"
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

// FuzzParseJWKS feeds arbitrary documents to ParseJWKS, which RemoteKeys
// runs on what the network gives it. It must never panic, and every key it
// returns must be a P-256 public key of a document with no private member.
func FuzzParseJWKS(f *testing.F) {
	key, another := keys(f)
	good, _ := requestinfo.PublicJWKS(&key.PublicKey, &another.PublicKey)
	f.Add(good)
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","alg":"ES256","d":"AA"}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		keys, err := requestinfo.ParseJWKS(doc)
		if err != nil {
			return
		}
		if len(keys) == 0 {
			t.Fatal("no error and no key")
		}
		for _, k := range keys {
			if _, err := requestinfo.Thumbprint(k); err != nil {
				t.Fatalf("a key that is not P-256: %v", err)
			}
		}
		if strings.Contains(string(doc), `"d"`) && !strings.Contains(string(doc), `\`) {
			// Plain spellings only: an escaped member name is
			// unescaped by the parser and checked there.
			var probe struct {
				Keys []map[string]any `json:"keys"`
			}
			if json.Unmarshal(doc, &probe) == nil {
				for _, m := range probe.Keys {
					if _, ok := m["d"]; ok {
						t.Fatal("a document with a private member was accepted")
					}
				}
			}
		}
	})
}
