package requestinfo_test

import (
	"crypto/ecdsa"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authgw/authgw/gateway/requestinfo"
)

// Run: go test -run '^$' -bench . -benchmem ./gateway/requestinfo/
//
// BenchmarkSignUncached is the baseline: an ECDSA signature per request.
// BenchmarkSignCached is what the gateway pays per request for an identity
// signed less than Reuse ago.

func BenchmarkSignCached(b *testing.B) {
	key, _ := keys(b)
	s := newSigner(b, requestinfo.SignerConfig{Key: key, Now: newClock().Now})
	c := sampleClaims()
	sign(b, s, c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignCachedParallel(b *testing.B) {
	key, _ := keys(b)
	s := newSigner(b, requestinfo.SignerConfig{Key: key, Now: newClock().Now})
	ips := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"}
	for _, ip := range ips {
		c := sampleClaims()
		c.IP = ip
		sign(b, s, c)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c := sampleClaims()
		i := 0
		for pb.Next() {
			c.IP = ips[i%len(ips)]
			i++
			if _, err := s.Sign(c); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkSignUncached(b *testing.B) {
	key, _ := keys(b)
	s := newSigner(b, requestinfo.SignerConfig{Key: key, Reuse: -1, Now: newClock().Now})
	c := sampleClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is the baseline: one ECDSA verification per request.
func BenchmarkVerify(b *testing.B) {
	key, _ := keys(b)
	clk := newClock()
	token := sign(b, newSigner(b, requestinfo.SignerConfig{Key: key, Now: clk.Now}), sampleClaims())
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
	token := sign(b, newSigner(b, requestinfo.SignerConfig{Key: key, Now: clk.Now}), sampleClaims())
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
	token := sign(b, newSigner(b, requestinfo.SignerConfig{Key: key, Now: clk.Now}), sampleClaims())
	v := newVerifier(b, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Now: clk.Now})
	r := httptest.NewRequest(http.MethodGet, "/things", nil)
	requestinfo.SetHeaders(r.Header, token)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := requestinfo.FromRequest(r, v); err != nil {
			b.Fatal(err)
		}
	}
}
