package requestinfo_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/mint/minttest"
	"github.com/authgw/authgw/verifier/requestinfo"
	"github.com/authgw/authgw/verifier/requestinfo/requestinfotest"
)

// jwksServer is a real HTTP server publishing a JWKS the test changes,
// counting the fetches; down makes it answer 503.
type jwksServer struct {
	*httptest.Server
	mu          sync.Mutex
	body        []byte
	contentType string
	down        bool
	fetches     atomic.Int64
}

func newJWKSServer(t *testing.T, pubs ...*ecdsa.PublicKey) *jwksServer {
	t.Helper()
	s := &jwksServer{contentType: "application/jwk-set+json"}
	s.publish(t, pubs...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", s.contentType)
		w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) publish(t *testing.T, pubs ...*ecdsa.PublicKey) {
	t.Helper()
	doc, err := requestinfo.PublicJWKS(pubs...)
	if err != nil {
		t.Fatal(err)
	}
	s.serve(doc)
}

func (s *jwksServer) serve(body []byte) {
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

func (s *jwksServer) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// remoteFixture is a Verifier reading the keys of a jwksServer on a fake
// clock, and signers for three keys on the same clock.
type remoteFixture struct {
	srv                *jwksServer
	clk                *minttest.Clock
	remote             *requestinfo.RemoteKeys
	v                  *requestinfo.Verifier
	old, next, unknown *infosign.Signer
	keys               requestinfotest.TestKeys
}

func newRemoteFixture(t *testing.T, cfg requestinfo.RemoteKeysConfig) *remoteFixture {
	t.Helper()
	k := requestinfotest.Keys(t)
	f := &remoteFixture{keys: k, clk: newClock()}
	f.srv = newJWKSServer(t, &k.Gateway.PublicKey)
	cfg.URL = f.srv.URL + "/.well-known/authgw-info-jwks.json"
	cfg.Now = f.clk.Now
	remote, err := requestinfo.NewRemoteKeys(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.remote = remote
	f.v = newVerifier(t, requestinfo.VerifierConfig{Remote: remote, Now: f.clk.Now, CacheSize: -1})
	mk := func(key *ecdsa.PrivateKey) *infosign.Signer {
		return newSigner(t, infosign.SignerConfig{Key: key, Now: f.clk.Now, Reuse: -1})
	}
	f.old, f.next, f.unknown = mk(k.Gateway), mk(k.Rotated), mk(k.Another)
	return f
}

// verify signs sample claims with s now and verifies them.
func (f *remoteFixture) verify(t *testing.T, s *infosign.Signer) error {
	t.Helper()
	_, err := f.v.Verify(sign(t, s, sampleClaims()))
	return err
}

// TestRemoteKeysRotation: a backend with only the gateway's URL verifies
// its headers; during a rotation the new kid is fetched on demand while
// the old key's headers still verify; once the old key is no longer
// published its headers are refused after the next fetch; a flood of
// tokens with unknown kids costs one fetch per MinRefetchInterval.
func TestRemoteKeysRotation(t *testing.T) {
	f := newRemoteFixture(t, requestinfo.RemoteKeysConfig{})
	if err := f.verify(t, f.old); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}
	if n := f.srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for the first verification, want 1", n)
	}
	for range 10 {
		if err := f.verify(t, f.old); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want the keys cached", n)
	}

	// The gateway rotates: new key first, old key still published.
	f.srv.publish(t, &f.keys.Rotated.PublicKey, &f.keys.Gateway.PublicKey)
	f.clk.Advance(requestinfo.DefaultMinRefetchInterval)
	if err := f.verify(t, f.next); err != nil {
		t.Fatalf("new key's header, fetched on demand: %v", err)
	}
	if n := f.srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want one more for the unknown kid", n)
	}
	if err := f.verify(t, f.old); err != nil {
		t.Fatalf("old key's header while it is published: %v", err)
	}

	// Unknown kids: refused, and at most one fetch per interval.
	for range 50 {
		if err := f.verify(t, f.unknown); !errors.Is(err, requestinfo.ErrBadSignature) {
			t.Fatalf("unpublished key: %v, want ErrBadSignature", err)
		}
	}
	if n := f.srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after a flood of unknown kids within the interval, want 2", n)
	}
	f.clk.Advance(requestinfo.DefaultMinRefetchInterval)
	for range 50 {
		f.verify(t, f.unknown)
	}
	if n := f.srv.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches, want one more after the interval", n)
	}

	// The previous key is dropped: its headers fail once the keys are
	// refreshed (the interval), the new key's still verify.
	f.srv.publish(t, &f.keys.Rotated.PublicKey)
	f.clk.Advance(requestinfo.DefaultRefreshInterval)
	if err := f.verify(t, f.next); err != nil {
		t.Fatal(err)
	}
	if err := f.verify(t, f.old); !errors.Is(err, requestinfo.ErrBadSignature) {
		t.Fatalf("dropped key after the refresh: %v, want ErrBadSignature", err)
	}
}

// TestRemoteKeysServerDown: while the JWKS server fails, the last good
// keys are kept up to the stale limit, fetches are retried at most once
// per MinRefetchInterval, and beyond the limit every header is refused
// with ErrKeysUnavailable until the server answers again. With no keys
// ever fetched, headers are refused at once.
func TestRemoteKeysServerDown(t *testing.T) {
	f := newRemoteFixture(t, requestinfo.RemoteKeysConfig{RefreshInterval: time.Minute, StaleLimit: time.Hour})
	if err := f.verify(t, f.old); err != nil {
		t.Fatal(err)
	}
	f.srv.setDown(true)
	f.clk.Advance(2 * time.Minute)
	for range 20 {
		if err := f.verify(t, f.old); err != nil {
			t.Fatalf("stale keys while the server is down: %v", err)
		}
	}
	if n := f.srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches while down, want one retry", n)
	}
	if f.remote.LastError() == nil {
		t.Fatal("LastError is nil while the server is down")
	}
	f.clk.Advance(time.Hour)
	if err := f.verify(t, f.old); !errors.Is(err, requestinfo.ErrKeysUnavailable) || !errors.Is(err, requestinfo.ErrInvalid) {
		t.Fatalf("beyond the stale limit: %v, want ErrKeysUnavailable", err)
	}
	f.srv.setDown(false)
	f.clk.Advance(requestinfo.DefaultMinRefetchInterval)
	if err := f.verify(t, f.old); err != nil {
		t.Fatalf("server back: %v", err)
	}
	if f.remote.LastError() != nil {
		t.Fatalf("LastError after a good fetch: %v", f.remote.LastError())
	}

	// Never fetched: refused at once, not a hang nor a panic.
	g := newRemoteFixture(t, requestinfo.RemoteKeysConfig{})
	g.srv.setDown(true)
	if err := g.verify(t, g.old); !errors.Is(err, requestinfo.ErrKeysUnavailable) {
		t.Fatalf("no keys ever: %v", err)
	}
	if err := g.remote.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Refresh while down: %v", err)
	}
	// A closed server (connection refused).
	g.srv.Close()
	g.clk.Advance(requestinfo.DefaultMinRefetchInterval)
	if err := g.verify(t, g.old); !errors.Is(err, requestinfo.ErrKeysUnavailable) {
		t.Fatalf("closed server: %v", err)
	}
}

// TestRemoteKeysHostileBodies: documents a backend must not trust are
// refused whole, never with a panic: the last good keys stay in use, and
// with none, headers are refused with ErrKeysUnavailable.
func TestRemoteKeysHostileBodies(t *testing.T) {
	k := requestinfotest.Keys(t)
	good, _ := requestinfo.PublicJWKS(&k.Gateway.PublicKey)
	var withD map[string]any
	json.Unmarshal(good, &withD)
	withD["keys"].([]any)[0].(map[string]any)["d"] = enc.EncodeToString(k.Gateway.D.Bytes())
	privateDoc, _ := json.Marshal(withD)
	es384 := bytes.Replace(good, []byte(`"alg":"ES256"`), []byte(`"alg":"ES384"`), 1)
	encSign := bytes.Replace(good, []byte(`"use":"sig"`), []byte(`"use":"enc"`), 1)
	many := []*ecdsa.PublicKey{}
	for range 17 {
		key, _ := infosign.GenerateKey()
		many = append(many, &key.PublicKey)
	}
	manyDoc, _ := requestinfo.PublicJWKS(many...)
	for _, tc := range []struct {
		name        string
		body        []byte
		contentType string
	}{
		{"huge", append([]byte(`{"keys":[`), bytes.Repeat([]byte(" "), 1<<20)...), ""},
		{"not JSON", []byte("<html>hello</html>"), ""},
		{"truncated JSON", good[:len(good)/2], ""},
		{"keys not a list", []byte(`{"keys":{"kty":"EC"}}`), ""},
		{"no keys", []byte(`{"keys":[]}`), ""},
		{"null", []byte(`null`), ""},
		{"deep nesting", append(bytes.Repeat([]byte("["), 10000), bytes.Repeat([]byte("]"), 10000)...), ""},
		{"wrong alg only", es384, ""},
		{"encryption key only", encSign, ""},
		{"private key material", privateDoc, ""},
		{"symmetric key", []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","alg":"HS256"}]}`), ""},
		{"off-curve point", bytes.Replace(good, []byte(`"x":"`), []byte(`"x":"AA`), 1), ""},
		{"too many keys", manyDoc, ""},
		{"HTML content type", good, "text/html"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// With no good keys before: refused.
			f := newRemoteFixture(t, requestinfo.RemoteKeysConfig{})
			if tc.contentType != "" {
				f.srv.contentType = tc.contentType
			}
			f.srv.serve(tc.body)
			if err := f.remote.Refresh(context.Background()); err == nil {
				t.Fatal("Refresh accepted the document")
			}
			f.clk.Advance(requestinfo.DefaultMinRefetchInterval)
			if err := f.verify(t, f.old); !errors.Is(err, requestinfo.ErrKeysUnavailable) {
				t.Fatalf("with no good keys: %v, want ErrKeysUnavailable", err)
			}
			// After good keys: they stay.
			f.srv.contentType = "application/json"
			f.srv.serve(good)
			f.clk.Advance(requestinfo.DefaultMinRefetchInterval)
			if err := f.verify(t, f.old); err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				f.srv.contentType = tc.contentType
			}
			f.srv.serve(tc.body)
			f.clk.Advance(requestinfo.DefaultRefreshInterval)
			if err := f.verify(t, f.old); err != nil {
				t.Fatalf("last good keys not kept: %v", err)
			}
			if f.remote.LastError() == nil {
				t.Fatal("the hostile document was not reported")
			}
		})
	}
}

// TestNewRemoteKeysConfig: settings out of range are refused.
func TestNewRemoteKeysConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  requestinfo.RemoteKeysConfig
		ok   bool
	}{
		{"defaults", requestinfo.RemoteKeysConfig{URL: "https://gw.example/.well-known/authgw-info-jwks.json"}, true},
		{"no URL", requestinfo.RemoteKeysConfig{}, false},
		{"relative URL", requestinfo.RemoteKeysConfig{URL: "/jwks"}, false},
		{"file URL", requestinfo.RemoteKeysConfig{URL: "file:///etc/passwd"}, false},
		{"refresh under a second", requestinfo.RemoteKeysConfig{URL: "http://gw", RefreshInterval: time.Millisecond}, false},
		{"negative refetch", requestinfo.RemoteKeysConfig{URL: "http://gw", MinRefetchInterval: -1}, false},
		{"stale limit below refresh", requestinfo.RemoteKeysConfig{URL: "http://gw", RefreshInterval: time.Hour, StaleLimit: time.Minute}, false},
		{"negative size", requestinfo.RemoteKeysConfig{URL: "http://gw", MaxSize: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := requestinfo.NewRemoteKeys(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok %v", err, tc.ok)
			}
		})
	}
	if _, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Audience: "demo"}); err == nil {
		t.Fatal("a Verifier with neither Keys nor Remote")
	}
}

// TestRemoteKeysConcurrent: many Verifies at once while the gateway
// rotates its key (run with -race): every header of a published key
// verifies, and the unknown kid of the rotation is fetched a bounded
// number of times, not once per request.
func TestRemoteKeysConcurrent(t *testing.T) {
	f := newRemoteFixture(t, requestinfo.RemoteKeysConfig{})
	oldTok := sign(t, f.old, sampleClaims())
	newTok := sign(t, f.next, sampleClaims())
	if _, err := f.v.Verify(oldTok); err != nil {
		t.Fatal(err)
	}
	f.srv.publish(t, &f.keys.Rotated.PublicKey, &f.keys.Gateway.PublicKey)
	f.clk.Advance(requestinfo.DefaultMinRefetchInterval)
	var wg sync.WaitGroup
	var failures atomic.Int64
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				tok := oldTok
				if (i+j)%2 == 0 {
					tok = newTok
				}
				if _, err := f.v.Verify(tok); err != nil {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d verifications failed", n)
	}
	if n := f.srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (the first and one for the new kid)", n)
	}
}
