package requestinfo_test

import (
	"crypto/ecdsa"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// Run: go test -run '^$' -bench . -benchmem ./verifier/requestinfo/
// (the gateway's signing: ./gateway/infosign/).

// BenchmarkVerify is the baseline: one ECDSA verification per request.
func BenchmarkVerify(b *testing.B) {
	key, _ := keys(b)
	clk := newClock()
	token := sign(b, newSigner(b, infosign.SignerConfig{Key: key, Now: clk.Now}), sampleClaims())
	v := newVerifier(b, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, CacheSize: -1, Now: clk.Now})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCached is a backend receiving a token it verified
// before, as it does while the gateway reuses it.
func BenchmarkVerifyCached(b *testing.B) {
	key, _ := keys(b)
	clk := newClock()
	token := sign(b, newSigner(b, infosign.SignerConfig{Key: key, Now: clk.Now}), sampleClaims())
	v := newVerifier(b, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Now: clk.Now})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFromRequest is the backend's one call, with the default cache.
func BenchmarkFromRequest(b *testing.B) {
	key, _ := keys(b)
	clk := newClock()
	token := sign(b, newSigner(b, infosign.SignerConfig{Key: key, Now: clk.Now}), sampleClaims())
	v := newVerifier(b, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Now: clk.Now})
	r := httptest.NewRequest(http.MethodGet, "/things", nil)
	infosign.SetHeaders(r.Header, token)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := requestinfo.FromRequest(r, v); err != nil {
			b.Fatal(err)
		}
	}
}
