package requestinfo_test

import (
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/nodetest"
	"github.com/authgw/authgw/verifier/requestinfo"
	"github.com/authgw/authgw/verifier/requestinfo/requestinfotest"
)

// joseDir holds the Node.js side of the cross-implementation test: a
// package.json pinning the npm `jose` package, its lock file, and jose.mjs.
const joseDir = "testdata/jose"

// joseRequest is one request to jose.mjs (see there).
type joseRequest struct {
	Op       string          `json:"op"`
	Token    string          `json:"token,omitempty"`
	JWKS     json.RawMessage `json:"jwks,omitempty"`
	JWK      json.RawMessage `json:"jwk,omitempty"`
	SPKI     string          `json:"spki,omitempty"`
	PKCS8    string          `json:"pkcs8,omitempty"`
	Audience string          `json:"audience,omitempty"`
	Issuer   string          `json:"issuer,omitempty"`
	Now      int64           `json:"now,omitempty"`
	Payload  string          `json:"payload,omitempty"`
	Header   map[string]any  `json:"header,omitempty"`
	Key      string          `json:"key,omitempty"`
	EmbedJWK bool            `json:"embedJwk,omitempty"`
	URL      string          `json:"url,omitempty"`
}

// joseResult is one result of jose.mjs.
type joseResult struct {
	OK         bool           `json:"ok"`
	Code       string         `json:"code"`
	Error      string         `json:"error"`
	Payload    map[string]any `json:"payload"`
	Header     map[string]any `json:"header"`
	Thumbprint string         `json:"thumbprint"`
	Token      string         `json:"token"`
	Compact    bool           `json:"compact"`
}

// setupJose returns the node binary once the pinned npm jose package is
// installed in joseDir (npm ci from the committed lock file when
// node_modules lacks it). Without node or npm the test is skipped on a
// developer machine and fails when CI is set.
func setupJose(t *testing.T) string {
	t.Helper()
	node, _ := nodetest.Setup(t, joseDir, "jose", "jose.mjs", "package-lock.json")
	return node
}

// runJose passes reqs through one run of jose.mjs.
func runJose(t *testing.T, node string, reqs []joseRequest) []joseResult {
	t.Helper()
	var res []joseResult
	nodetest.Run(t, node, joseDir, "jose.mjs", reqs, &res, 60*time.Second)
	if len(res) != len(reqs) {
		t.Fatalf("jose.mjs answered %d requests of %d", len(res), len(reqs))
	}
	return res
}

// The npm jose package, a backend in another language, verifies what the
// gateway sends with nothing but the published public key: the JWKS (the
// key chosen by kid, during a rotation too) or the PEM file.
func TestInteropJoseVerifiesGatewayTokens(t *testing.T) {
	node := setupJose(t)
	key, another := keys(t)
	clk := newClock()
	jwks, err := requestinfo.PublicJWKS(&key.PublicKey, &requestinfotest.Keys(t).Rotated.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := requestinfo.MarshalPublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := requestinfo.Thumbprint(&key.PublicKey)
	rotatedKid, _ := requestinfo.Thumbprint(&requestinfotest.Keys(t).Rotated.PublicKey)
	signer := newSigner(t, infosign.SignerConfig{Key: key, Now: clk.Now})
	rotated := newSigner(t, infosign.SignerConfig{Key: requestinfotest.Keys(t).Rotated, Now: clk.Now})

	otherAudience := sampleClaims()
	otherAudience.Audience = "billing"
	valid := sign(t, signer, sampleClaims())
	vh, _, vs := parts(t, valid)
	tampered := sampleClaims()
	tampered.IP = "127.0.0.1"
	tamperedPayload, _ := requestinfo.MarshalPayload(tampered)

	now := t0.Unix() + 1
	tests := []struct {
		name        string
		givenToken  string
		givenPEM    bool // verify with the PEM file, not the JWKS
		whenNow     int64
		expectKid   string // "": refused
		expectCode  string // jose's error code when refused ("": any)
		expectGoErr error
	}{
		{name: "client and user, JWKS", givenToken: valid, expectKid: kid},
		{name: "client and user, PEM", givenToken: valid, givenPEM: true, expectKid: kid},
		{name: "client without user", givenToken: sign(t, signer, requestinfo.Claims{Client: "cl_1", ClientRoles: []string{"external"}, IP: "::1", Audience: "demo"}), expectKid: kid},
		{name: "unidentified caller, nil roles", givenToken: sign(t, signer, requestinfo.Claims{IP: "198.51.100.7", Audience: "demo"}), expectKid: kid},
		{name: "rotated key found by kid", givenToken: sign(t, rotated, sampleClaims()), expectKid: rotatedKid},
		{name: "a second before exp", givenToken: valid, whenNow: t0.Unix() + 29, expectKid: kid},
		// Controls: the JS side refuses what it should.
		{name: "expired", givenToken: valid, whenNow: t0.Unix() + 60, expectCode: "ERR_JWT_EXPIRED", expectGoErr: requestinfo.ErrExpired},
		{name: "another audience", givenToken: sign(t, signer, otherAudience), expectCode: "ERR_JWT_CLAIM_VALIDATION_FAILED", expectGoErr: requestinfo.ErrAudience},
		{name: "tampered payload", givenToken: vh + "." + enc.EncodeToString(tamperedPayload) + "." + vs, expectCode: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED", expectGoErr: requestinfo.ErrBadSignature},
		{name: "another key claiming our kid", givenToken: sign(t, newSigner(t, infosign.SignerConfig{Key: another, KeyID: kid, Now: clk.Now}), sampleClaims()), expectCode: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED", expectGoErr: requestinfo.ErrBadSignature},
		{name: "another key, PEM", givenToken: sign(t, newSigner(t, infosign.SignerConfig{Key: another, Now: clk.Now}), sampleClaims()), givenPEM: true, expectCode: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED", expectGoErr: requestinfo.ErrBadSignature},
	}
	reqs := make([]joseRequest, 0, len(tests)+2)
	for _, tt := range tests {
		req := joseRequest{Op: "verify", Token: tt.givenToken, Audience: "demo", Issuer: "authgw", Now: now}
		if tt.whenNow != 0 {
			req.Now = tt.whenNow
		}
		if tt.givenPEM {
			req.SPKI = string(spki)
		} else {
			req.JWKS = jwks
		}
		reqs = append(reqs, req)
	}
	var published struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &published); err != nil || len(published.Keys) != 2 {
		t.Fatalf("JWKS %s: %v", jwks, err)
	}
	for _, k := range published.Keys {
		reqs = append(reqs, joseRequest{Op: "thumbprint", JWK: k})
	}
	res := runJose(t, node, reqs)

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := res[i]
			at := newClock()
			at.Advance(time.Duration(reqs[i].Now-t0.Unix()) * time.Second)
			goClaims, goErr := newVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey, &requestinfotest.Keys(t).Rotated.PublicKey}, Issuer: "authgw", Now: at.Now}).Verify(tt.givenToken)
			if tt.expectKid == "" {
				if got.OK {
					t.Fatalf("jose accepted the token: %v", got.Payload)
				}
				if tt.expectCode != "" && got.Code != tt.expectCode {
					t.Errorf("jose refused with %s (%s), want %s", got.Code, got.Error, tt.expectCode)
				}
				if !errors.Is(goErr, tt.expectGoErr) {
					t.Errorf("Go Verify error = %v, want %v", goErr, tt.expectGoErr)
				}
				return
			}
			if !got.OK {
				t.Fatalf("jose refused the gateway's token: %s: %s", got.Code, got.Error)
			}
			if goErr != nil {
				t.Fatalf("Go Verify (control): %v", goErr)
			}
			wantHeader := map[string]any{"alg": "ES256", "kid": tt.expectKid, "typ": "JWT"}
			if !reflect.DeepEqual(got.Header, wantHeader) {
				t.Errorf("jose read header %v, want %v", got.Header, wantHeader)
			}
			// jose reads the very claims our reader does, names included.
			_, p, _ := parts(t, tt.givenToken)
			if want := decodeJSON(t, p); !reflect.DeepEqual(got.Payload, want) {
				t.Errorf("jose read payload %v, want %v", got.Payload, want)
			}
			if got.Payload["c"] != goClaims.Client || got.Payload["ip"] != goClaims.IP || got.Payload["aud"] != goClaims.Audience {
				t.Errorf("jose read c/ip/aud %v/%v/%v, Go read %+v", got.Payload["c"], got.Payload["ip"], got.Payload["aud"], goClaims)
			}
		})
	}
	t.Run("JWKS thumbprints are the key IDs", func(t *testing.T) {
		for i, want := range []string{kid, rotatedKid} {
			if got := res[len(tests)+i].Thumbprint; got != want {
				t.Errorf("jose thumbprint of JWKS key %d = %s, want %s", i, got, want)
			}
		}
	})
}

// A token jose signs with the gateway's key file is accepted by our
// reader only in the shape the gateway writes: ES256 with at most kid and
// typ JWT beside alg. Another algorithm (HS256 keyed with the public key,
// none, ES384), a key of the token's own, or header members that change
// how it is read are refused.
func TestInteropJoseSignsForOurReader(t *testing.T) {
	node := setupJose(t)
	key, _ := keys(t)
	pkcs8, err := infosign.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := requestinfo.MarshalPublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := requestinfo.Thumbprint(&key.PublicKey)

	claims := sampleClaims()
	claims.IssuedAt, claims.Expires, claims.Issuer = t0.Unix(), t0.Unix()+30, "authgw"
	payload, err := requestinfo.MarshalPayload(claims)
	if err != nil {
		t.Fatal(err)
	}
	otherAudience := claims
	otherAudience.Audience = "billing"
	otherAudiencePayload, _ := requestinfo.MarshalPayload(otherAudience)
	noDots := claims // an unencoded (b64 false) compact payload may not hold a "."
	noDots.IP = "::1"
	noDotsPayload, _ := requestinfo.MarshalPayload(noDots)
	bitwiseRoles := strings.Replace(string(payload), `"t":0`, `"t":1`, 1)

	tests := []struct {
		name         string
		givenHeader  map[string]any
		givenKey     string
		givenEmbed   bool
		givenPayload string // default payload
		expectError  error  // nil: accepted
	}{
		{name: "the gateway's header", givenHeader: map[string]any{"alg": "ES256", "typ": "JWT", "kid": kid}, givenKey: "gateway"},
		{name: "alg alone", givenHeader: map[string]any{"alg": "ES256"}, givenKey: "gateway"},
		{name: "unknown kid, the key is tried", givenHeader: map[string]any{"alg": "ES256", "kid": "2026-03"}, givenKey: "gateway"},
		{name: "typ at+jwt", givenHeader: map[string]any{"alg": "ES256", "typ": "at+jwt"}, givenKey: "gateway", expectError: requestinfo.ErrMalformed},
		{name: "the gateway's own jwk embedded", givenHeader: map[string]any{"alg": "ES256", "kid": kid}, givenKey: "gateway", givenEmbed: true, expectError: requestinfo.ErrMalformed},
		{name: "a fresh key with its jwk embedded", givenHeader: map[string]any{"alg": "ES256"}, givenKey: "fresh-p256", givenEmbed: true, expectError: requestinfo.ErrMalformed},
		{name: "a fresh key claiming our kid", givenHeader: map[string]any{"alg": "ES256", "typ": "JWT", "kid": kid}, givenKey: "fresh-p256", expectError: requestinfo.ErrBadSignature},
		{name: "jku", givenHeader: map[string]any{"alg": "ES256", "jku": "https://evil.example/jwks.json"}, givenKey: "gateway", expectError: requestinfo.ErrMalformed},
		{name: "x5u", givenHeader: map[string]any{"alg": "ES256", "x5u": "https://evil.example/cert.pem"}, givenKey: "gateway", expectError: requestinfo.ErrMalformed},
		{name: "unencoded payload (b64 false)", givenHeader: map[string]any{"alg": "ES256", "b64": false, "crit": []string{"b64"}}, givenKey: "gateway", givenPayload: string(noDotsPayload), expectError: requestinfo.ErrMalformed},
		{name: "HS256 keyed with the public key PEM", givenHeader: map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}, givenKey: "hmac-spki", expectError: requestinfo.ErrAlgorithm},
		{name: "alg none", givenKey: "none", expectError: requestinfo.ErrAlgorithm},
		{name: "ES384 with a P-384 key", givenHeader: map[string]any{"alg": "ES384", "typ": "JWT"}, givenKey: "fresh-p384", expectError: requestinfo.ErrAlgorithm},
		{name: "another audience", givenHeader: map[string]any{"alg": "ES256", "typ": "JWT", "kid": kid}, givenKey: "gateway", givenPayload: string(otherAudiencePayload), expectError: requestinfo.ErrAudience},
		{name: "bitwise roles, t=1", givenHeader: map[string]any{"alg": "ES256", "typ": "JWT", "kid": kid}, givenKey: "gateway", givenPayload: bitwiseRoles, expectError: requestinfo.ErrMalformed},
	}
	reqs := make([]joseRequest, len(tests))
	for i, tt := range tests {
		p := tt.givenPayload
		if p == "" {
			p = string(payload)
		}
		reqs[i] = joseRequest{Op: "sign", Payload: p, Header: tt.givenHeader, Key: tt.givenKey, EmbedJWK: tt.givenEmbed, PKCS8: string(pkcs8), SPKI: string(spki)}
	}
	res := runJose(t, node, reqs)

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := res[i].Token
			if strings.Count(token, ".") != 2 {
				t.Fatalf("jose produced %q, not a compact JWS", token)
			}
			if tt.givenHeader != nil {
				h, _, _ := parts(t, token)
				if got := slices.Sorted(maps.Keys(decodeJSON(t, h))); len(got) < len(tt.givenHeader) {
					t.Errorf("jose wrote header members %v, asked for %v", got, tt.givenHeader)
				}
			}
			clk := newClock()
			v := newVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Issuer: "authgw", Now: clk.Now})
			got, err := v.Verify(token)
			if tt.expectError == nil {
				if err != nil {
					t.Fatalf("Verify of a jose-signed token: %v", err)
				}
				if !reflect.DeepEqual(got, claims) {
					t.Errorf("Verify = %+v, want %+v", got, claims)
				}
				return
			}
			if !errors.Is(err, tt.expectError) {
				t.Errorf("Verify error = %v, want %v", err, tt.expectError)
			}
			if got.Client != "" || got.User != nil {
				t.Errorf("Verify returned claims %+v with its error", got)
			}
		})
	}
}
