package infosign_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
	"github.com/authgw/authgw/verifier/requestinfo/requestinfotest"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	key := requestinfotest.Keys(t).Gateway
	tests := []struct {
		name            string
		givenClaims     requestinfo.Claims
		expectKeys      []string
		expectUserKeys  []string
		expectRoles     []any
		expectUserRoles []any
	}{
		{
			name:            "client with secret and user",
			givenClaims:     requestinfotest.SampleClaims(),
			expectKeys:      []string{"a", "aud", "c", "exp", "iat", "ip", "iss", "r", "t", "u"},
			expectUserKeys:  []string{"id", "r", "sid"},
			expectRoles:     []any{"internal"},
			expectUserRoles: []any{"user", "employee"},
		},
		{
			name:        "client without user",
			givenClaims: requestinfo.Claims{Client: "cl_1", ClientRoles: []string{"external"}, IP: "::1", Audience: "demo"},
			expectKeys:  []string{"a", "aud", "c", "exp", "iat", "ip", "iss", "r", "t"},
			expectRoles: []any{"external"},
		},
		{
			name:        "unidentified caller, nil roles sent as []",
			givenClaims: requestinfo.Claims{IP: "198.51.100.7", Audience: "demo"},
			expectKeys:  []string{"a", "aud", "c", "exp", "iat", "ip", "iss", "r", "t"},
			expectRoles: []any{},
		},
		{
			name:            "user without roles",
			givenClaims:     requestinfo.Claims{Client: "cl_1", IP: "::1", Audience: "demo", User: &requestinfo.UserClaims{ID: "u", SessionID: "s"}},
			expectKeys:      []string{"a", "aud", "c", "exp", "iat", "ip", "iss", "r", "t", "u"},
			expectUserKeys:  []string{"id", "r", "sid"},
			expectRoles:     []any{},
			expectUserRoles: []any{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := requestinfotest.NewClock()
			s := newSigner(t, infosign.SignerConfig{Key: key, Issuer: "authgw", Now: clk.Now})
			v := requestinfotest.NewVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Audience: "demo", Issuer: "authgw", Now: clk.Now})

			token := sign(t, s, tt.givenClaims)

			_, payload, _ := requestinfotest.Parts(t, token)
			wire := requestinfotest.DecodePart(t, payload)
			if got := sortedKeys(wire); !slices.Equal(got, tt.expectKeys) {
				t.Errorf("payload keys = %v, want %v", got, tt.expectKeys)
			}
			c := tt.givenClaims
			want := map[string]any{
				"t": 0.0, "c": c.Client, "a": c.SecretVerified, "r": tt.expectRoles, "ip": c.IP,
				"iat": float64(requestinfotest.T0.Unix()), "exp": float64(requestinfotest.T0.Unix() + 30), "aud": "demo", "iss": "authgw",
			}
			for k, w := range want {
				if !reflect.DeepEqual(wire[k], w) {
					t.Errorf("payload %q = %#v, want %#v", k, wire[k], w)
				}
			}
			if tt.expectUserKeys != nil {
				u, ok := wire["u"].(map[string]any)
				if !ok {
					t.Fatalf("payload u = %#v, want an object", wire["u"])
				}
				if got := sortedKeys(u); !slices.Equal(got, tt.expectUserKeys) {
					t.Errorf("u keys = %v, want %v", got, tt.expectUserKeys)
				}
				if u["id"] != c.User.ID || u["sid"] != c.User.SessionID || !reflect.DeepEqual(u["r"], tt.expectUserRoles) {
					t.Errorf("u = %#v, want id %q sid %q r %v", u, c.User.ID, c.User.SessionID, tt.expectUserRoles)
				}
			}

			got, err := v.Verify(token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			expect := tt.givenClaims
			expect.IssuedAt, expect.Expires, expect.Issuer = requestinfotest.T0.Unix(), requestinfotest.T0.Unix()+30, "authgw"
			if expect.ClientRoles == nil {
				expect.ClientRoles = []string{}
			}
			if expect.User != nil && expect.User.Roles == nil {
				u := *expect.User
				u.Roles = []string{}
				expect.User = &u
			}
			if !reflect.DeepEqual(got, expect) {
				t.Errorf("Verify = %+v, want %+v", got, expect)
			}
		})
	}
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestSignHeaderAndSignatureFormat(t *testing.T) {
	key := requestinfotest.Keys(t).Gateway
	kid, err := requestinfo.Thumbprint(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		givenKeyID  string
		expectKeyID string
	}{
		{name: "default kid is the thumbprint", expectKeyID: kid},
		{name: "configured kid", givenKeyID: "gw-2026-03", expectKeyID: "gw-2026-03"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSigner(t, infosign.SignerConfig{Key: key, KeyID: tt.givenKeyID, Now: requestinfotest.NewClock().Now})
			token := sign(t, s, requestinfotest.SampleClaims())
			h, p, sig := requestinfotest.Parts(t, token)

			header := requestinfotest.DecodePart(t, h)
			want := map[string]any{"alg": "ES256", "typ": "JWT", "kid": tt.expectKeyID}
			if !reflect.DeepEqual(header, want) {
				t.Errorf("header = %v, want %v", header, want)
			}

			// RFC 7518 §3.4: exactly R||S, 32 bytes each, checked here
			// with crypto/ecdsa directly rather than through Verify.
			raw, err := enc.DecodeString(sig)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) != 64 {
				t.Fatalf("signature is %d bytes, want 64", len(raw))
			}
			digest := sha256.Sum256([]byte(h + "." + p))
			r, s2 := new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])
			if !ecdsa.Verify(&key.PublicKey, digest[:], r, s2) {
				t.Error("signature does not verify as raw R||S")
			}
		})
	}
}

func TestSignReuse(t *testing.T) {
	key := requestinfotest.Keys(t).Gateway
	otherIP := requestinfotest.SampleClaims()
	otherIP.IP = "203.0.113.10"
	otherRoles := requestinfotest.SampleClaims()
	otherRoles.User.Roles = []string{"user"}
	noUser := requestinfotest.SampleClaims()
	noUser.User = nil
	otherAudience := requestinfotest.SampleClaims()
	otherAudience.Audience = "billing"
	noSecret := requestinfotest.SampleClaims()
	noSecret.SecretVerified = false
	noRoles := requestinfotest.SampleClaims()
	noRoles.ClientRoles = nil
	emptyRoles := requestinfotest.SampleClaims()
	emptyRoles.ClientRoles = []string{}
	// Role lists that would concatenate alike must not collide.
	splitA, splitB := requestinfotest.SampleClaims(), requestinfotest.SampleClaims()
	splitA.ClientRoles, splitB.ClientRoles = []string{"ab", "c"}, []string{"a", "bc"}
	// How and when the user authenticated are identity: a password-only
	// session must never be sent a two-factor session's header.
	withMFA, withPwd := requestinfotest.SampleClaims(), requestinfotest.SampleClaims()
	withMFA.User.AMR, withPwd.User.AMR = []string{"pwd", "otp", "mfa"}, []string{"pwd"}
	withMFA.User.AuthTime, withPwd.User.AuthTime = 1_790_000_000, 1_790_000_000
	laterAuth := requestinfotest.SampleClaims()
	laterAuth.User.AMR, laterAuth.User.AuthTime = []string{"pwd", "otp", "mfa"}, 1_790_000_001
	sameMFA := requestinfotest.SampleClaims()
	sameMFA.User.AMR, sameMFA.User.AuthTime = []string{"pwd", "otp", "mfa"}, 1_790_000_000
	timestamps := requestinfotest.SampleClaims()
	timestamps.IssuedAt, timestamps.Expires, timestamps.Issuer = 1, 2, "someone else"

	tests := []struct {
		name        string
		givenReuse  time.Duration
		givenFirst  requestinfo.Claims
		whenAfter   time.Duration
		whenSecond  requestinfo.Claims
		expectSame  bool
		expectExpAt time.Duration // exp of the second token, from requestinfotest.T0, minus TTL
	}{
		{name: "same identity at once", givenFirst: requestinfotest.SampleClaims(), whenSecond: requestinfotest.SampleClaims(), expectSame: true},
		{name: "same identity just within Reuse", givenFirst: requestinfotest.SampleClaims(), whenAfter: 14 * time.Second, whenSecond: requestinfotest.SampleClaims(), expectSame: true},
		{name: "same identity at Reuse", givenFirst: requestinfotest.SampleClaims(), whenAfter: 15 * time.Second, whenSecond: requestinfotest.SampleClaims(), expectExpAt: 15 * time.Second},
		{name: "same identity after Reuse", givenFirst: requestinfotest.SampleClaims(), whenAfter: 20 * time.Second, whenSecond: requestinfotest.SampleClaims(), expectExpAt: 20 * time.Second},
		{name: "clock went backwards", givenFirst: requestinfotest.SampleClaims(), whenAfter: -time.Second, whenSecond: requestinfotest.SampleClaims(), expectExpAt: -time.Second},
		{name: "different IP", givenFirst: requestinfotest.SampleClaims(), whenSecond: otherIP},
		{name: "different user roles", givenFirst: requestinfotest.SampleClaims(), whenSecond: otherRoles},
		{name: "no user", givenFirst: requestinfotest.SampleClaims(), whenSecond: noUser},
		{name: "different audience", givenFirst: requestinfotest.SampleClaims(), whenSecond: otherAudience},
		{name: "secret not verified", givenFirst: requestinfotest.SampleClaims(), whenSecond: noSecret},
		{name: "role lists that concatenate alike", givenFirst: splitA, whenSecond: splitB},
		{name: "two factors, then password only", givenFirst: withMFA, whenSecond: withPwd},
		{name: "two factors, then unknown", givenFirst: withMFA, whenSecond: requestinfotest.SampleClaims()},
		{name: "another auth time", givenFirst: withMFA, whenSecond: laterAuth},
		{name: "the same amr and auth time", givenFirst: withMFA, whenSecond: sameMFA, expectSame: true},
		{name: "nil and empty roles are one identity", givenFirst: noRoles, whenSecond: emptyRoles, expectSame: true},
		{name: "caller's iat, exp and iss are not identity", givenFirst: requestinfotest.SampleClaims(), whenSecond: timestamps, expectSame: true},
		{name: "reuse off signs every time", givenReuse: -1, givenFirst: requestinfotest.SampleClaims(), whenSecond: requestinfotest.SampleClaims()},
		{name: "short reuse", givenReuse: time.Second, givenFirst: requestinfotest.SampleClaims(), whenAfter: 2 * time.Second, whenSecond: requestinfotest.SampleClaims(), expectExpAt: 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := requestinfotest.NewClock()
			s := newSigner(t, infosign.SignerConfig{Key: key, Reuse: tt.givenReuse, Now: clk.Now})
			first := sign(t, s, tt.givenFirst)
			clk.Advance(tt.whenAfter)
			second := sign(t, s, tt.whenSecond)

			if same := first == second; same != tt.expectSame {
				t.Fatalf("second token identical = %v, want %v", same, tt.expectSame)
			}
			_, p, _ := requestinfotest.Parts(t, second)
			claims := requestinfotest.DecodePart(t, p)
			wantExp := float64(requestinfotest.T0.Add(30*time.Second + tt.expectExpAt).Unix())
			if claims["exp"] != wantExp {
				t.Errorf("second exp = %v, want %v", claims["exp"], wantExp)
			}
			if claims["iss"] != "authgw" {
				t.Errorf("second iss = %v, want authgw", claims["iss"])
			}
		})
	}
}

func TestSignCacheIsBounded(t *testing.T) {
	key := requestinfotest.Keys(t).Gateway
	clk := requestinfotest.NewClock()
	s := newSigner(t, infosign.SignerConfig{Key: key, CacheSize: 64, Now: clk.Now})
	v := requestinfotest.NewVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Now: clk.Now})
	c := requestinfotest.SampleClaims()
	for i := range 500 {
		c.IP = "10.0.0." + itoa(int64(i))
		if _, err := v.Verify(sign(t, s, c)); err != nil {
			t.Fatalf("identity %d: %v", i, err)
		}
	}
	if n := s.CacheLen(); n > 64 || n < 32 {
		t.Errorf("cache holds %d tokens, want between 32 and 64", n)
	}
}

func TestSignConcurrent(t *testing.T) {
	key := requestinfotest.Keys(t).Gateway
	clk := requestinfotest.NewClock()
	s := newSigner(t, infosign.SignerConfig{Key: key, CacheSize: 32, Now: clk.Now})
	// The goroutines share the clock and advance it 40 s in all, more than
	// a token's life: between one goroutine's Sign and its Verify the
	// others may move the clock past exp. This test is about the cache
	// under concurrency, not expiry, so the verifier tolerates the skew.
	v := requestinfotest.NewVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Now: clk.Now, Leeway: time.Hour})
	var wg sync.WaitGroup
	errs := make(chan error, 8*50)
	for g := range 8 {
		wg.Go(func() {
			c := requestinfotest.SampleClaims()
			for i := range 50 {
				c.IP = "10.0." + itoa(int64(g)) + "." + itoa(int64(i%5))
				tok, err := s.Sign(c)
				if err == nil {
					var got requestinfo.Claims
					if got, err = v.Verify(tok); err == nil && got.IP != c.IP {
						t.Errorf("token for %s carries IP %s", c.IP, got.IP)
					}
				}
				if err != nil {
					errs <- err
				}
				if i%10 == 0 {
					clk.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSignDoesNotModifyClaims(t *testing.T) {
	key := requestinfotest.Keys(t).Gateway
	s := newSigner(t, infosign.SignerConfig{Key: key, Now: requestinfotest.NewClock().Now})
	user := &requestinfo.UserClaims{ID: "u", SessionID: "s"}
	c := requestinfo.Claims{Client: "c", IP: "::1", Audience: "demo", User: user}
	sign(t, s, c)
	if user.Roles != nil || c.ClientRoles != nil || c.IssuedAt != 0 {
		t.Errorf("Sign modified its argument: %+v, user %+v", c, user)
	}
}

func TestSignRefuses(t *testing.T) {
	key := requestinfotest.Keys(t).Gateway
	s := newSigner(t, infosign.SignerConfig{Key: key, Now: requestinfotest.NewClock().Now})
	huge := requestinfotest.SampleClaims()
	huge.ClientRoles = []string{strings.Repeat("r", requestinfo.MaxTokenLength)}
	noAudience := requestinfotest.SampleClaims()
	noAudience.Audience = ""
	tests := []struct {
		name        string
		givenClaims requestinfo.Claims
	}{
		{name: "no audience", givenClaims: noAudience},
		{name: "token over MaxTokenLength", givenClaims: huge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := s.Sign(tt.givenClaims); err == nil {
				t.Errorf("Sign = %d bytes, want an error", len(tok))
			}
		})
	}
}

func TestNewSignerConfig(t *testing.T) {
	key := requestinfotest.Keys(t).Gateway
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		givenConfig infosign.SignerConfig
		expectError bool
		expectTTL   time.Duration
	}{
		{name: "defaults", givenConfig: infosign.SignerConfig{Key: key, Issuer: "gw"}, expectTTL: 30 * time.Second},
		{name: "longer TTL", givenConfig: infosign.SignerConfig{Key: key, Issuer: "gw", TTL: time.Minute}, expectTTL: time.Minute},
		{name: "no key", givenConfig: infosign.SignerConfig{Issuer: "gw"}, expectError: true},
		{name: "P-384 key", givenConfig: infosign.SignerConfig{Key: p384, Issuer: "gw"}, expectError: true},
		{name: "no issuer", givenConfig: infosign.SignerConfig{Key: key}, expectError: true},
		{name: "TTL under a second", givenConfig: infosign.SignerConfig{Key: key, Issuer: "gw", TTL: 500 * time.Millisecond}, expectError: true},
		{name: "Reuse equal to TTL", givenConfig: infosign.SignerConfig{Key: key, Issuer: "gw", TTL: 10 * time.Second, Reuse: 10 * time.Second}, expectError: true},
		{name: "negative cache size", givenConfig: infosign.SignerConfig{Key: key, Issuer: "gw", CacheSize: -1}, expectError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.givenConfig.Now = requestinfotest.NewClock().Now
			s, err := infosign.NewSigner(tt.givenConfig)
			if (err != nil) != tt.expectError {
				t.Fatalf("NewSigner error = %v, want error %v", err, tt.expectError)
			}
			if err != nil {
				return
			}
			_, p, _ := requestinfotest.Parts(t, sign(t, s, requestinfotest.SampleClaims()))
			c := requestinfotest.DecodePart(t, p)
			if got := time.Duration(c["exp"].(float64)-c["iat"].(float64)) * time.Second; got != tt.expectTTL {
				t.Errorf("exp-iat = %v, want %v", got, tt.expectTTL)
			}
		})
	}
}

// The exact bytes a backend receives: the payload is what the
// hand-written signer sent before go-jose (the original auth-gateway's
// names, in this order), and the protected header has the same three
// members, in go-jose's sorted order.
func TestSignWireBytes(t *testing.T) {
	key := requestinfotest.Keys(t).Gateway
	kid, err := requestinfo.Thumbprint(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	s := newSigner(t, infosign.SignerConfig{Key: key, Now: requestinfotest.NewClock().Now})
	h, p, _ := requestinfotest.Parts(t, sign(t, s, requestinfotest.SampleClaims()))
	iat := requestinfotest.T0.Unix()
	tests := []struct {
		name   string
		part   string
		expect string
	}{
		{name: "protected header", part: h, expect: `{"alg":"ES256","kid":"` + kid + `","typ":"JWT"}`},
		{name: "payload", part: p, expect: `{"t":0,"c":"cl_7f3a","a":true,"r":["internal"],"ip":"203.0.113.9",` +
			`"u":{"id":"usr_42","sid":"ses_9","r":["user","employee"]},` +
			`"iat":` + itoa(iat) + `,"exp":` + itoa(iat+30) + `,"aud":"demo","iss":"authgw"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := enc.DecodeString(tt.part)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.expect {
				t.Errorf("%s =\n %s\nwant\n %s", tt.name, got, tt.expect)
			}
		})
	}
}
