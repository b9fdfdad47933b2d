package infosign_test

import (
	"testing"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo/requestinfotest"
)

// Run: go test -run '^$' -bench . -benchmem ./gateway/infosign/
//
// BenchmarkSignUncached is the baseline: an ECDSA signature per request.
// BenchmarkSignCached is what the gateway pays per request for an identity
// signed less than Reuse ago.

func BenchmarkSignCached(b *testing.B) {
	key := requestinfotest.Keys(b).Gateway
	s := newSigner(b, infosign.SignerConfig{Key: key, Now: requestinfotest.NewClock().Now})
	c := requestinfotest.SampleClaims()
	sign(b, s, c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignCachedParallel(b *testing.B) {
	key := requestinfotest.Keys(b).Gateway
	s := newSigner(b, infosign.SignerConfig{Key: key, Now: requestinfotest.NewClock().Now})
	ips := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"}
	for _, ip := range ips {
		c := requestinfotest.SampleClaims()
		c.IP = ip
		sign(b, s, c)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c := requestinfotest.SampleClaims()
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
	key := requestinfotest.Keys(b).Gateway
	s := newSigner(b, infosign.SignerConfig{Key: key, Reuse: -1, Now: requestinfotest.NewClock().Now})
	c := requestinfotest.SampleClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}
