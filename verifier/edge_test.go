package verifier_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier"
)

// TestMiddlewareOriginCheck: an unsafe method carried by cookie passes
// the CSRF check only from an allowed origin or the request's own origin,
// scheme, host and port alike; "Origin: null" never passes.
func TestMiddlewareOriginCheck(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	post := &http.Cookie{Name: "authgw-post", Value: toks.ByMethod["POST"]}
	tests := []struct {
		name         string
		givenScheme  string // what Config.Scheme says; "" for the default
		whenHeader   [][2]string
		expectStatus int
	}{
		{"own origin", "", [][2]string{{"Origin", "http://{host}"}}, 200},
		{"own origin, host in upper case", "", [][2]string{{"Origin", "http://{HOST}"}}, 200},
		{"own host over https: another origin", "", [][2]string{{"Origin", "https://{host}"}}, 403},
		{"own host name, another port", "", [][2]string{{"Origin", "http://{name}:1"}}, 403},
		{"own host name, no port (80)", "", [][2]string{{"Origin", "http://{name}"}}, 403},
		{"null", "", [][2]string{{"Origin", "null"}}, 403},
		{"null with a same-origin Referer", "", [][2]string{{"Origin", "null"}, {"Referer", "http://{host}/page"}}, 403},
		{"two Origin headers", "", [][2]string{{"Origin", "http://{host}"}, {"Origin", "http://{host}"}}, 403},
		{"no Origin, same-origin Referer", "", [][2]string{{"Referer", "http://{host}/page?x=1"}}, 200},
		{"no Origin, Referer of the host over https", "", [][2]string{{"Referer", "https://{host}/page"}}, 403},
		{"no Origin, Referer with userinfo", "", [][2]string{{"Referer", "http://u@{host}/page"}}, 403},
		{"behind TLS: https origin of the host", "https", [][2]string{{"Origin", "https://{host}"}}, 200},
		{"behind TLS: http origin of the host", "https", [][2]string{{"Origin", "http://{host}"}}, 403},
		{"allowed origin", "", [][2]string{{"Origin", allowedOrigin}}, 200},
		{"allowed origin's host over http", "", [][2]string{{"Origin", "http://app.example.com"}}, 403},
	}
	for _, s := range servers {
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				cfg := baseConfig(ring)
				if tt.givenScheme != "" {
					cfg.Scheme = func(*http.Request) string { return tt.givenScheme }
				}
				srv := s.start(t, cfg)
				host := strings.TrimPrefix(srv.URL, "http://")
				name, _, _ := strings.Cut(host, ":")
				req := request{method: "POST", path: "/projects/v1/shared/x", header: map[string][]string{}, cookies: []*http.Cookie{post}}
				for _, kv := range tt.whenHeader {
					v := strings.NewReplacer("{host}", host, "{HOST}", strings.ToUpper(host), "{name}", name).Replace(kv[1])
					req.header[kv[0]] = append(req.header[kv[0]], v)
				}
				resp := do(t, srv, req)
				if resp.status != tt.expectStatus {
					t.Fatalf("status %d, want %d: %s", resp.status, tt.expectStatus, resp.body)
				}
				if tt.expectStatus == 403 {
					if got := resp.envelope(t).Error.Code; got != "ORIGIN-NOT-ALLOWED" {
						t.Errorf("code %s, want ORIGIN-NOT-ALLOWED", got)
					}
				}
			})
		}
	}
}

// TestMiddlewareTokenSize: a token longer than MaxTokenSize is refused
// before it is decoded, 401 TOKEN-TOO-LARGE, even with a valid signature;
// up to the cap, an attenuated token still works.
func TestMiddlewareTokenSize(t *testing.T) {
	ring := testRing(t)
	get := mintTokens(t, ring, browserPolicy).ByMethod["GET"]
	// attenuateTo adds routes caveats (each one granting the path) until
	// the token is at least n bytes long.
	attenuateTo := func(n int) string {
		tok := get
		for len(tok) < n {
			pad := "/pad/" + strings.Repeat("p", 200)
			var err error
			if tok, err = mint.AttenuateText(tok, "routes "+userPath("")+" "+pad); err != nil {
				t.Fatal(err)
			}
		}
		return tok
	}
	near := get
	for {
		next, err := mint.AttenuateText(near, "routes "+userPath("")+" /pad/"+strings.Repeat("q", 100))
		if err != nil {
			t.Fatal(err)
		}
		if len(next) > verifier.MaxTokenSize {
			break
		}
		near = next
	}
	big := attenuateTo(12700)
	tests := []struct {
		name         string
		givenToken   string
		givenCookie  bool
		expectStatus int
		expectCode   string
	}{
		{"12.7 KB token with a valid signature, header", big, false, 401, "TOKEN-TOO-LARGE"},
		{"12.7 KB token with a valid signature, cookie", big, true, 401, "TOKEN-TOO-LARGE"},
		{"one byte over the cap, header", strings.Repeat("A", verifier.MaxTokenSize+1), false, 401, "TOKEN-TOO-LARGE"},
		{"attenuated to just under the cap", near, false, 200, ""},
	}
	for _, s := range servers {
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				srv := s.start(t, baseConfig(ring))
				req := request{path: userPath(""), header: map[string][]string{}}
				if tt.givenCookie {
					req.header["Cookie"] = []string{"authgw-get=" + tt.givenToken}
				} else {
					req.header["Authorization"] = []string{"Macaroon " + tt.givenToken}
				}
				resp := do(t, srv, req)
				if resp.status != tt.expectStatus {
					t.Fatalf("status %d, want %d: %s", resp.status, tt.expectStatus, resp.body)
				}
				if tt.expectCode != "" {
					if got := resp.envelope(t).Error.Code; got != tt.expectCode {
						t.Errorf("code %s, want %s", got, tt.expectCode)
					}
				}
			})
		}
	}
	if e := verifier.ErrorResponse(verifier.ErrTokenTooLarge); e.Status != 401 || !errors.Is(verifier.ErrTokenTooLarge, verifier.ErrUnauthorized) {
		t.Errorf("ErrTokenTooLarge maps to %d, want 401 under ErrUnauthorized", e.Status)
	}
}

// TestMiddlewareCookieNames: the verifier reads the token cookie by its
// exact name, trimmed of spaces and tabs as net/http and browsers read
// it; a name another server might fold into it is not read.
func TestMiddlewareCookieNames(t *testing.T) {
	ring := testRing(t)
	get := mintTokens(t, ring, browserPolicy).ByMethod["GET"]
	tests := []struct {
		name         string
		givenCookie  string
		expectStatus int
	}{
		{"exact", "authgw-get=" + get, 200},
		{"space before =", "authgw-get =" + get, 200},
		{"tabs and spaces around", "a=b;\t authgw-get\t= " + get + " ; c=d", 200},
		{"quoted", `authgw-get="` + get + `"`, 200},
		{"first of two", "authgw-get=" + get + "; authgw-get=garbage", 200},
		{"other case", "AUTHGW-GET=" + get, 401},
		{"percent-encoded", "authgw%2Dget=" + get, 401},
		{"empty", "authgw-get=", 401},
		{"longer name", "authgw-getx=" + get, 401},
	}
	for _, s := range servers {
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				srv := s.start(t, baseConfig(ring))
				resp := do(t, srv, request{path: userPath(""), header: map[string][]string{"Cookie": {tt.givenCookie}}})
				if resp.status != tt.expectStatus {
					t.Fatalf("status %d, want %d: %s", resp.status, tt.expectStatus, resp.body)
				}
			})
		}
	}
}

// TestSameOrigin: an origin is the request's own when scheme, host name
// (ignoring case) and port (the scheme's default when missing) agree.
func TestSameOrigin(t *testing.T) {
	tests := []struct {
		givenOrigin, givenScheme, givenHost string
		expect                              bool
	}{
		{"https://gw.example", "https", "gw.example", true},
		{"https://gw.example", "https", "gw.example:443", true},
		{"https://gw.example:443", "https", "gw.example", true},
		{"https://GW.example", "https", "gw.EXAMPLE", true},
		{"http://gw.example", "https", "gw.example", false},
		{"https://gw.example", "http", "gw.example", false},
		{"https://gw.example:8443", "https", "gw.example", false},
		{"http://gw.example:443", "https", "gw.example", false},
		{"https://[::1]:8443", "https", "[::1]:8443", true},
		{"https://[::1]", "https", "[::1]", true},
		{"https://[::1]:8443", "https", "[::2]:8443", false},
		{"https://u@gw.example", "https", "gw.example", false},
		{"https://gw.example/path", "https", "gw.example", false},
		{"https://gw.example.", "https", "gw.example", false},
		{"ftp://gw.example", "ftp", "gw.example", false},
		{"https://gw.example", "https", "", false},
		{"null", "https", "gw.example", false},
	}
	for _, tt := range tests {
		if got := verifier.SameOrigin(tt.givenOrigin, tt.givenScheme, tt.givenHost); got != tt.expect {
			t.Errorf("SameOrigin(%q, %q, %q) = %v, want %v", tt.givenOrigin, tt.givenScheme, tt.givenHost, got, tt.expect)
		}
	}
}
