package gateway_test

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/verifier"
)

// TestProxy_overrideHeadersRefused: a header or query parameter that
// makes some framework handle a request as another method or path than
// the one the token was judged for is refused with 400, whatever its case
// or spelling, and never reaches the backend.
func TestProxy_overrideHeadersRefused(t *testing.T) {
	e, id, tok := proxyEnv(t, nil)
	for _, tt := range []struct {
		name         string
		givenMethod  string // default GET
		givenPath    string // default /demo/v1/items
		givenHeader  string
		givenValue   string
		expectStatus int
	}{
		{name: "X-HTTP-Method-Override", givenHeader: "X-HTTP-Method-Override", givenValue: "DELETE", expectStatus: 400},
		{name: "X-HTTP-Method", givenHeader: "X-HTTP-Method", givenValue: "DELETE", expectStatus: 400},
		{name: "X-Method-Override", givenHeader: "X-Method-Override", givenValue: "DELETE", expectStatus: 400},
		{name: "lower case", givenHeader: "x-http-method-override", givenValue: "DELETE", expectStatus: 400},
		{name: "underscores", givenHeader: "X_HTTP_Method_Override", givenValue: "DELETE", expectStatus: 400},
		{name: "X-Original-URL", givenHeader: "X-Original-URL", givenValue: "/admin", expectStatus: 400},
		{name: "X-Rewrite-URL", givenHeader: "X-Rewrite-URL", givenValue: "/admin", expectStatus: 400},
		{name: "control: an unrelated header", givenHeader: "X-HTTP-Method-Overridden", givenValue: "DELETE", expectStatus: 200},
		// Laravel/Symfony, Express methodOverride('_method'), Jersey.
		{name: "_method query parameter on a POST", givenMethod: "POST", givenPath: "/demo/v1/items?_method=DELETE", expectStatus: 400},
		{name: "_method after another parameter", givenMethod: "POST", givenPath: "/demo/v1/items?q=1&_method=DELETE", expectStatus: 400},
		{name: "_method after a semicolon", givenMethod: "POST", givenPath: "/demo/v1/items?q=1;_method=DELETE", expectStatus: 400},
		{name: "_method in upper case (ASP.NET Core)", givenMethod: "POST", givenPath: "/demo/v1/items?_METHOD=DELETE", expectStatus: 400},
		{name: "_method percent-encoded", givenMethod: "POST", givenPath: "/demo/v1/items?%5F%6Dethod=DELETE", expectStatus: 400},
		{name: "_method spelled .method (PHP)", givenMethod: "POST", givenPath: "/demo/v1/items?.method=DELETE", expectStatus: 400},
		{name: "_method as an array (PHP, qs)", givenMethod: "POST", givenPath: "/demo/v1/items?_method[]=DELETE", expectStatus: 400},
		{name: "_method without a value", givenMethod: "POST", givenPath: "/demo/v1/items?_method", expectStatus: 400},
		{name: "_method on a GET", givenPath: "/demo/v1/items?_method=DELETE", expectStatus: 400},
		{name: "header name as a query key", givenMethod: "POST", givenPath: "/demo/v1/items?X-HTTP-Method-Override=DELETE", expectStatus: 400},
		{name: "control: _method as a value", givenMethod: "POST", givenPath: "/demo/v1/items?q=_method", expectStatus: 200},
		{name: "control: a longer key", givenMethod: "POST", givenPath: "/demo/v1/items?_methods=x&method=y", expectStatus: 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method, path := tt.givenMethod, tt.givenPath
			if method == "" {
				method = "GET"
			}
			if path == "" {
				path = "/demo/v1/items"
			}
			h := header("Authorization", authz(id, "s3cret", tok[method]))
			if tt.givenHeader != "" {
				h[tt.givenHeader] = []string{tt.givenValue}
			}
			res, body := e.send(method, path, h, nil)
			if res.StatusCode != tt.expectStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.expectStatus, body)
			}
			if tt.expectStatus == 400 {
				if got := decodeError(t, body).Error.Code; got != gateway.CodeOverrideHeader {
					t.Errorf("code %s, want %s", got, gateway.CodeOverrideHeader)
				}
			}
		})
	}
}

// TestProxy_clientIPHeadersStripped: no header in which a proxy or CDN
// names the client's address reaches the backend from a client; the
// backend's X-Forwarded-For is the gateway's.
func TestProxy_clientIPHeadersStripped(t *testing.T) {
	e, id, tok := proxyEnv(t, nil)
	spoofed := []string{"True-Client-IP", "X-Client-IP", "CF-Connecting-IP", "X-Real-IP", "Fastly-Client-IP",
		"X-Cluster-Client-IP", "Forwarded", "X-Forwarded", "X-Originating-IP", "Client-IP", "X-Envoy-External-Address", "true_client_ip", "cf-connecting-ip"}
	kv := []string{"Authorization", authz(id, "s3cret", tok["GET"])}
	for _, name := range spoofed {
		kv = append(kv, name, "10.6.6.6")
	}
	res, body := e.send("GET", "/demo/v1/items", header(kv...), nil)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	got := http.Header(decodeEcho(t, body).Header)
	for name, vs := range got {
		for _, v := range vs {
			if strings.Contains(v, "10.6.6.6") {
				t.Errorf("the backend got the client's %s: %q", name, v)
			}
		}
	}
	if v := got.Values("X-Forwarded-For"); len(v) != 1 || v[0] != "127.0.0.1" {
		t.Errorf("X-Forwarded-For %q, want [127.0.0.1]", v)
	}
}

// TestProxy_tokenCookieVariants: every cookie a backend could read as a
// token cookie is stripped; the verifier reads only the exact name
// (trimmed), and then the backend never sees it either. Secure names
// (__Host-authgw-get).
func TestProxy_tokenCookieVariants(t *testing.T) {
	e, id, tok := proxyEnv(t, func(c *gateway.Config) { c.Cookies = verifier.CookieConfig{} })
	get := tok["GET"]
	for _, tt := range []struct {
		name         string
		givenCookie  string
		givenBasic   bool // client credentials only; the token comes from the cookie
		expectStatus int
		expectCookie string // what the backend gets
	}{
		{"exact name", "__Host-authgw-get=" + get + "; theme=dark", true, 200, "theme=dark"},
		{"space before =", "__Host-authgw-get =" + get + "; theme=dark", true, 200, "theme=dark"},
		{"tab around the name", "theme=dark;\t__Host-authgw-get\t=" + get, true, 200, "theme=dark"},
		{"quoted value", `__Host-authgw-get="` + get + `"; theme=dark`, true, 200, "theme=dark"},
		{"other case, not read", "__host-AUTHGW-get=" + get + "; theme=dark", true, 401, ""},
		{"other case, stripped", "__host-AUTHGW-get=x; theme=dark", false, 200, "theme=dark"},
		{"percent-encoded, stripped", "%5F%5FHost-authgw-get=x; theme=dark", false, 200, "theme=dark"},
		{"PHP dots and spaces, stripped", "..Host-authgw-get=x; theme=dark; _+Host-authgw-get=y", false, 200, "theme=dark"},
		{"PHP array, stripped", "__Host-authgw-get[a]=x; theme=dark", false, 200, "theme=dark"},
		{"the POST cookie on a GET, stripped", "__Host-authgw-post=x; theme=dark", false, 200, "theme=dark"},
		{"comma-separated (Rack reads two cookies)", "theme=dark, __Host-authgw-get=x", false, 200, "theme=dark"},
		{"comma-separated, token first", "__Host-authgw-get=x,theme=dark; lang=en", false, 200, "theme=dark; lang=en"},
		// Python's str.strip (Django, Starlette) and JavaScript's trim
		// (jshttp/cookie) trim these from a name.
		{"no-break space before, stripped", "\xa0__Host-authgw-get=x; theme=dark", false, 200, "theme=dark"},
		{"next line before, stripped", "\x85__Host-authgw-get=x; theme=dark", false, 200, "theme=dark"},
		{"no-break space after, stripped", "__Host-authgw-get\xa0=x; theme=dark", false, 200, "theme=dark"},
		{"UTF-8 no-break space before, stripped", "theme=dark; \xc2\xa0__Host-authgw-get=x", false, 200, "theme=dark"},
		{"escaped no-break space before, stripped", "%A0__Host-authgw-get=x; theme=dark", false, 200, "theme=dark"},
		{"control: a comma inside another cookie's value is kept", "prefs=a,b; __Host-authgw-get=x", false, 200, "prefs=a,b"},
		{"control: a longer name is the backend's", "__Host-authgw-getter=x; theme=dark", false, 200, "__Host-authgw-getter=x; theme=dark"},
		{"control: no token cookie, untouched", "theme=dark;  lang=en", false, 200, "theme=dark;  lang=en"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			auth := authz(id, "s3cret", get)
			if tt.givenBasic {
				auth = authz(id, "s3cret", "")
			}
			res, body := e.send("GET", "/demo/v1/items", header("Authorization", auth, "Cookie", tt.givenCookie), nil)
			if res.StatusCode != tt.expectStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.expectStatus, body)
			}
			if tt.expectStatus != 200 {
				return
			}
			if got := http.Header(decodeEcho(t, body).Header).Get("Cookie"); got != tt.expectCookie {
				t.Errorf("the backend's Cookie %q, want %q", got, tt.expectCookie)
			}
		})
	}
}

// TestProxy_absoluteForm: a request target that is a URL is refused with
// 400 before anything else; its authority never becomes the host.
func TestProxy_absoluteForm(t *testing.T) {
	e, id, tok := proxyEnv(t, nil)
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	for _, tt := range []struct {
		name         string
		givenTarget  string
		expectStatus int
	}{
		{"absolute form, another host", "http://evil.example/demo/v1/items", 400},
		{"absolute form, the gateway's own host", "http://" + addr + "/demo/v1/items", 400},
		{"control: origin form", "/demo/v1/items", 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			_, err = conn.Write([]byte("GET " + tt.givenTarget + " HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: " +
				authz(id, "s3cret", tok["GET"]) + "\r\nConnection: close\r\n\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var b strings.Builder
			_, _ = bufio.NewReader(res.Body).WriteTo(&b)
			if res.StatusCode != tt.expectStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.expectStatus, b.String())
			}
			if tt.expectStatus == 400 {
				if got := decodeError(t, []byte(b.String())).Error.Code; got != gateway.CodeNotOriginForm {
					t.Errorf("code %s, want %s", got, gateway.CodeNotOriginForm)
				}
				return
			}
			if got := http.Header(decodeEcho(t, []byte(b.String())).Header).Get("X-Forwarded-Host"); got != addr {
				t.Errorf("X-Forwarded-Host %q, want %q", got, addr)
			}
		})
	}
}

// TestCheckOverrides_allocs: the override check runs on every request; it
// allocates nothing, with headers and a query to scan.
func TestCheckOverrides_allocs(t *testing.T) {
	req := httptest.NewRequest("GET", "/demo/v1/items?page=2&sort=name;%5Fmethods=x&q=caf%C3%A9+au+lait", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cookie", "theme=dark")
	req.Header.Set("X-HTTP-Method-Overridden", "x")
	if e := gateway.CheckOverrides(req); e != nil {
		t.Fatalf("refused: %v", e)
	}
	if n := testing.AllocsPerRun(100, func() { _ = gateway.CheckOverrides(req) }); n != 0 {
		t.Errorf("%v allocations per request, want 0", n)
	}
}
