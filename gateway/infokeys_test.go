package gateway_test

import (
	"crypto/ecdsa"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// TestInfoKeysPublished: the request-info JWKS is served with no token on
// the gateway's listener and on the admin listener, with a max-age, the
// signing key first and the previous key after it, and nothing private;
// other methods and near-miss paths are not it.
func TestInfoKeysPublished(t *testing.T) {
	prev, err := infosign.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *gateway.Config) {
		s, err := infosign.NewSigner(infosign.SignerConfig{Key: signingKey(), Issuer: "authgw-test", Now: clock, Previous: []*ecdsa.PublicKey{&prev.PublicKey}})
		if err != nil {
			t.Fatal(err)
		}
		c.Signer = s
	})
	e.refresh()
	wantKeys := []*ecdsa.PublicKey{&signingKey().PublicKey, &prev.PublicKey}
	check := func(t *testing.T, name string, h http.Handler, path string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", name, rec.Code, rec.Body)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=300" {
			t.Errorf("%s: Cache-Control %q", name, cc)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/jwk-set+json" {
			t.Errorf("%s: Content-Type %q", name, ct)
		}
		body := rec.Body.String()
		if strings.Contains(body, `"d"`) {
			t.Errorf("%s: private member in %s", name, body)
		}
		keys, err := requestinfo.ParseJWKS([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(keys) != 2 || !keys[0].Equal(wantKeys[0]) || !keys[1].Equal(wantKeys[1]) {
			t.Errorf("%s: keys %v", name, keys)
		}
		for _, want := range wantKeys {
			kid, _ := requestinfo.Thumbprint(want)
			if !strings.Contains(body, `"kid":"`+kid+`"`) || !strings.Contains(body, `"alg":"ES256"`) || !strings.Contains(body, `"use":"sig"`) {
				t.Errorf("%s: %s lacks kid %s, alg or use", name, body, kid)
			}
		}
	}
	for _, path := range []string{gateway.InfoKeysPath, gateway.InfoKeysWellKnownPath} {
		check(t, "gateway "+path, e.gw, path)
		check(t, "admin "+path, e.gw.Admin(), path)
	}

	// Over the real listener, with no credentials at all.
	res, err := http.Get(e.srv.URL + gateway.InfoKeysPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"keys"`) {
		t.Errorf("over HTTP: %d %s", res.StatusCode, body)
	}

	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"HEAD", gateway.InfoKeysPath, 200},
		{"POST", gateway.InfoKeysPath, 405},
		{"DELETE", gateway.InfoKeysPath, 405},
		{"GET", gateway.InfoKeysPath + "x", 404},
		{"GET", gateway.InfoKeysWellKnownPath + "/", 404},
		{"GET", "/accounts/v1/request-info/../request-info/jwks.json", 404},
		{"POST", gateway.InfoKeysWellKnownPath, 405},
	} {
		rec := httptest.NewRecorder()
		e.gw.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.want && !(tc.want == 404 && rec.Code >= 400 && rec.Code < 500) {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
		if tc.method == "HEAD" && rec.Body.Len() != 0 {
			t.Errorf("HEAD has a body")
		}
	}
}
