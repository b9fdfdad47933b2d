package verifier_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/authgw/authgw/verifier"
)

func TestCookieName(t *testing.T) {
	tests := []struct {
		name         string
		givenConfig  verifier.CookieConfig
		whenMethod   string
		expectCookie string
	}{
		{"secure default GET", verifier.CookieConfig{}, "GET", "__Host-authgw-get"},
		{"secure default POST", verifier.CookieConfig{}, "POST", "__Host-authgw-post"},
		{"secure default DELETE", verifier.CookieConfig{}, "DELETE", "__Host-authgw-delete"},
		{"secure HEAD uses GET", verifier.CookieConfig{}, "HEAD", "__Host-authgw-get"},
		{"insecure GET", verifier.CookieConfig{Insecure: true}, "GET", "authgw-get"},
		{"insecure PATCH", verifier.CookieConfig{Insecure: true}, "PATCH", "authgw-patch"},
		{"insecure HEAD uses GET", verifier.CookieConfig{Insecure: true}, "HEAD", "authgw-get"},
		{"custom prefix secure", verifier.CookieConfig{Prefix: "app-"}, "PUT", "__Host-app-put"},
		{"custom prefix insecure", verifier.CookieConfig{Prefix: "app-", Insecure: true}, "PUT", "app-put"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.givenConfig.Name(tt.whenMethod); got != tt.expectCookie {
				t.Errorf("Name(%s) = %q, want %q", tt.whenMethod, got, tt.expectCookie)
			}
		})
	}
}

func TestCookies(t *testing.T) {
	expires := time.Date(2026, 11, 22, 12, 15, 0, 0, time.FixedZone("CET", 3600))
	tokens := map[string]string{"DELETE": "tok-delete", "GET": "tok-get", "POST": "tok-post"}
	tests := []struct {
		name           string
		givenConfig    verifier.CookieConfig
		expectNames    []string
		expectSecure   bool
		expectSameSite http.SameSite
	}{
		{"secure default", verifier.CookieConfig{},
			[]string{"__Host-authgw-get", "__Host-authgw-post", "__Host-authgw-delete"}, true, http.SameSiteLaxMode},
		{"insecure", verifier.CookieConfig{Insecure: true},
			[]string{"authgw-get", "authgw-post", "authgw-delete"}, false, http.SameSiteLaxMode},
		{"strict", verifier.CookieConfig{SameSite: http.SameSiteStrictMode},
			[]string{"__Host-authgw-get", "__Host-authgw-post", "__Host-authgw-delete"}, true, http.SameSiteStrictMode},
		{"prefix", verifier.CookieConfig{Prefix: "x-"},
			[]string{"__Host-x-get", "__Host-x-post", "__Host-x-delete"}, true, http.SameSiteLaxMode},
	}
	methods := []string{"GET", "POST", "DELETE"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.givenConfig.Cookies(tokens, expires)
			if len(got) != len(tt.expectNames) {
				t.Fatalf("got %d cookies, want %d", len(got), len(tt.expectNames))
			}
			for i, c := range got {
				if c.Name != tt.expectNames[i] {
					t.Errorf("cookie %d name = %q, want %q (method order)", i, c.Name, tt.expectNames[i])
				}
				if c.Value != tokens[methods[i]] {
					t.Errorf("%s value = %q, want %q", c.Name, c.Value, tokens[methods[i]])
				}
				if !c.HttpOnly {
					t.Errorf("%s not HttpOnly", c.Name)
				}
				if c.Secure != tt.expectSecure {
					t.Errorf("%s Secure = %v, want %v", c.Name, c.Secure, tt.expectSecure)
				}
				if c.SameSite != tt.expectSameSite {
					t.Errorf("%s SameSite = %v, want %v", c.Name, c.SameSite, tt.expectSameSite)
				}
				if c.Path != "/" || c.Domain != "" {
					t.Errorf("%s Path %q Domain %q, want / and none", c.Name, c.Path, c.Domain)
				}
				if !c.Expires.Equal(expires) {
					t.Errorf("%s Expires = %v, want %v", c.Name, c.Expires, expires)
				}
				if c.MaxAge != 0 {
					t.Errorf("%s MaxAge = %d, want 0 (Expires only)", c.Name, c.MaxAge)
				}
				if err := c.Valid(); err != nil {
					t.Errorf("%s invalid: %v", c.Name, err)
				}
			}
		})
	}
	t.Run("no tokens", func(t *testing.T) {
		if got := (verifier.CookieConfig{}).Cookies(nil, expires); len(got) != 0 {
			t.Errorf("got %d cookies for no tokens", len(got))
		}
	})
	t.Run("unknown method ignored", func(t *testing.T) {
		got := (verifier.CookieConfig{}).Cookies(map[string]string{"TRACE": "x", "PUT": "p"}, expires)
		if len(got) != 1 || got[0].Name != "__Host-authgw-put" {
			t.Errorf("cookies = %v, want only the PUT cookie", got)
		}
	})
}

func TestCookiesRoundTrip(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	cfg := verifier.CookieConfig{}
	w := http.Header{}
	for _, c := range cfg.Cookies(toks.ByMethod, toks.Expires) {
		w.Add("Set-Cookie", c.String())
	}
	parsed := (&http.Response{Header: w}).Cookies()
	if len(parsed) != len(toks.ByMethod) {
		t.Fatalf("parsed %d cookies, want %d", len(parsed), len(toks.ByMethod))
	}
	for _, c := range parsed {
		var method string
		for m := range toks.ByMethod {
			if cfg.Name(m) == c.Name {
				method = m
			}
		}
		if method == "" {
			t.Errorf("unexpected cookie %q", c.Name)
			continue
		}
		if c.Value != toks.ByMethod[method] {
			t.Errorf("%s value did not survive Set-Cookie", c.Name)
		}
		if !c.Expires.Equal(toks.Expires) || !c.Secure || !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("%s attributes after parsing: %+v", c.Name, c)
		}
	}
}

// withStepUp lists each token cookie followed by its step-up token's and
// its discharge's.
func withStepUp(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, n, n+"-stepup", n+"-discharge")
	}
	return out
}

func TestCookiesExpired(t *testing.T) {
	tests := []struct {
		name         string
		givenConfig  verifier.CookieConfig
		expectNames  []string
		expectSecure bool
	}{
		{"secure", verifier.CookieConfig{}, withStepUp("__Host-authgw-get", "__Host-authgw-post", "__Host-authgw-put", "__Host-authgw-patch", "__Host-authgw-delete"), true},
		{"insecure", verifier.CookieConfig{Insecure: true}, withStepUp("authgw-get", "authgw-post", "authgw-put", "authgw-patch", "authgw-delete"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.givenConfig.Expired()
			if len(got) != len(tt.expectNames) {
				t.Fatalf("got %d cookies, want %d", len(got), len(tt.expectNames))
			}
			for i, c := range got {
				if c.Name != tt.expectNames[i] {
					t.Errorf("cookie %d = %q, want %q", i, c.Name, tt.expectNames[i])
				}
				if c.MaxAge >= 0 {
					t.Errorf("%s MaxAge = %d, want < 0", c.Name, c.MaxAge)
				}
				if c.Value != "" {
					t.Errorf("%s value = %q, want empty", c.Name, c.Value)
				}
				if !c.Expires.Before(fixedNow) {
					t.Errorf("%s Expires = %v, want in the past", c.Name, c.Expires)
				}
				if c.Path != "/" || !c.HttpOnly || c.Secure != tt.expectSecure {
					t.Errorf("%s attributes differ from the cookie it clears: %+v", c.Name, c)
				}
				if err := c.Valid(); err != nil {
					t.Errorf("%s invalid: %v", c.Name, err)
				}
			}
		})
	}
}
