package requestinfo_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
)

func TestFromRequest(t *testing.T) {
	key, _ := keys(t)
	clk := newClock()
	s := newSigner(t, infosign.SignerConfig{Key: key, Now: clk.Now})
	v := newVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Now: clk.Now})
	token := sign(t, s, sampleClaims())
	tests := []struct {
		name         string
		givenHeaders map[string][]string
		expectError  error
	}{
		{name: "all three headers", givenHeaders: map[string][]string{"X-Auth-Info": {token}, "X-Auth-Info-Signed": {"1"}, "X-Auth-Info-Algorithm": {"ES256"}}},
		{name: "token alone", givenHeaders: map[string][]string{"X-Auth-Info": {token}}},
		{name: "no header", expectError: requestinfo.ErrMissing},
		{name: "empty header", givenHeaders: map[string][]string{"X-Auth-Info": {""}}, expectError: requestinfo.ErrMissing},
		{name: "two X-Auth-Info headers", givenHeaders: map[string][]string{"X-Auth-Info": {token, token}}, expectError: requestinfo.ErrMalformed},
		{name: "unsigned mode of the original", givenHeaders: map[string][]string{"X-Auth-Info": {`{"t":0,"c":"x","a":true,"r":["system"],"ip":"::1"}`}, "X-Auth-Info-Signed": {"0"}}, expectError: requestinfo.ErrMalformed},
		{name: "signed: true", givenHeaders: map[string][]string{"X-Auth-Info": {token}, "X-Auth-Info-Signed": {"true"}}, expectError: requestinfo.ErrMalformed},
		{name: "algorithm HS256", givenHeaders: map[string][]string{"X-Auth-Info": {token}, "X-Auth-Info-Algorithm": {"HS256"}}, expectError: requestinfo.ErrAlgorithm},
		{name: "raw JSON instead of a token", givenHeaders: map[string][]string{"X-Auth-Info": {`{"t":0,"c":"x"}`}}, expectError: requestinfo.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/demo/v1/things", nil)
			for k, vs := range tt.givenHeaders {
				r.Header[k] = vs
			}
			got, err := requestinfo.FromRequest(r, v)
			if !errors.Is(err, tt.expectError) {
				t.Fatalf("FromRequest error = %v, want %v", err, tt.expectError)
			}
			if err == nil && (got.Client != "cl_7f3a" || got.User == nil || got.User.ID != "usr_42") {
				t.Errorf("FromRequest = %+v", got)
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	key, another := keys(t)
	clk := newClock()
	v := newVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Now: clk.Now})
	backend := httptest.NewServer(requestinfo.Middleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := requestinfo.ClaimsFrom(r.Context())
		if !ok {
			http.Error(w, "no claims in context", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(c)
	})))
	defer backend.Close()

	valid := sign(t, newSigner(t, infosign.SignerConfig{Key: key, Now: clk.Now}), sampleClaims())
	forged := sign(t, newSigner(t, infosign.SignerConfig{Key: another, Now: clk.Now}), sampleClaims())
	tests := []struct {
		name         string
		givenToken   string
		expectStatus int
		expectCode   string
	}{
		{name: "valid", givenToken: valid, expectStatus: http.StatusOK},
		{name: "missing", expectStatus: http.StatusUnauthorized, expectCode: "AUTH-INFO-MISSING"},
		{name: "forged", givenToken: forged, expectStatus: http.StatusUnauthorized, expectCode: "AUTH-INFO-INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, backend.URL+"/things", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.givenToken != "" {
				infosign.SetHeaders(req.Header, tt.givenToken)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.expectStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.expectStatus, body)
			}
			if tt.expectStatus == http.StatusOK {
				var c requestinfo.Claims
				if err := json.Unmarshal(body, &c); err != nil || c.Client != "cl_7f3a" || c.User == nil || c.User.SessionID != "ses_9" {
					t.Errorf("handler saw %s (%v)", body, err)
				}
				return
			}
			var env struct {
				T     string `json:"t"`
				Error struct {
					Status int    `json:"status"`
					Code   string `json:"code"`
					Title  string `json:"title"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if env.T != "error" || env.Error.Status != 401 || env.Error.Code != tt.expectCode || env.Error.Title != "Unauthorized" {
				t.Errorf("envelope = %+v, want 401 %s", env, tt.expectCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

func TestClaimsFromEmptyContext(t *testing.T) {
	if c, ok := requestinfo.ClaimsFrom(context.Background()); ok {
		t.Errorf("ClaimsFrom(empty) = %+v, true", c)
	}
	want := sampleClaims()
	got, ok := requestinfo.ClaimsFrom(requestinfo.NewContext(context.Background(), want))
	if !ok || got.Client != want.Client {
		t.Errorf("ClaimsFrom(NewContext) = %+v, %v", got, ok)
	}
}
