package e2e

import (
	"crypto/ecdsa"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway/gatewaytest"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// TestAttackGateway attacks one running `authgw serve` on the gateway's
// points of issue 12: forward-auth behind a real nginx (the shipped
// testdata/nginx/forward-auth.conf.tmpl) with X-Forwarded-* and
// X-Original-* headers the client wrote (point 1), a local process
// asking the admin listener's /forward-auth to sign an IP of its choice
// (point 1), method-override and client-IP headers and token-cookie
// spellings reaching the backend (point 13), and the CSRF origin, an
// absolute-form request target and an oversized token (point 14).
//
// serve runs with --forward-auth-callers 127.0.0.1/32 (nginx's address
// here), the default forward-auth dialect, nginx, and its own names
// 127.0.0.1 and gw.example.com: other hosts are refused (issue 18).
func TestAttackGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("starts authgw serve and nginx")
	}
	s := newAttackSuite(t, "--forward-auth-callers", "127.0.0.1/32", "--demo-listen", "off", "--gateway-hosts", "127.0.0.1,gw.example.com")
	t.Run("forward-auth behind nginx", s.gwForwardAuthNginx)
	t.Run("forward-auth callers", s.gwForwardAuthCallers)
	t.Run("headers reaching backends", s.gwBackendHeaders)
	t.Run("CSRF origin", s.gwCSRF)
	t.Run("request target and token size", s.gwEdges)
}

// gwAttenuate adds caveats to token, failing the test on an error.
func gwAttenuate(t *testing.T, token string, caveats ...string) string {
	t.Helper()
	out, err := mint.AttenuateText(token, caveats...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// gwInfo verifies the request info a backend received.
func (s *attackSuite) gwInfo(t *testing.T, h http.Header) (requestinfo.Claims, error) {
	t.Helper()
	v, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{s.infoKey}, Audience: "demo",
		Issuer: "authgw:" + s.serverID, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	return requestinfo.FromRequest(&http.Request{Header: h}, v)
}

// gwStartNginx renders the shipped forward-auth template for the suite's
// backend and serve's admin listener, and runs nginx until the test ends.
// It returns nginx's host:port.
func (s *attackSuite) gwStartNginx(t *testing.T) string {
	t.Helper()
	return gatewaytest.StartNginx(t, gatewaytest.ForwardAuth(filepath.Join("..", "..", ".."), strings.TrimPrefix(s.backend.URL, "http://"), s.adminAddr))
}

// gwDo sends one request with a plain client from the local address from
// ("" for any) and returns the answer with the request's tag.
func (s *attackSuite) gwDo(t *testing.T, from, method, url string, h http.Header) attackReply {
	t.Helper()
	tag := strconv.FormatInt(s.seq.Add(1), 10)
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if host := h.Get("Host"); host != "" {
		req.Host = host
	}
	req.Header.Set(attackTagHeader, tag)
	d := &net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return attackReply{Status: res.StatusCode, header: res.Header, Body: body, tag: tag}
}

func (s *attackSuite) gwForwardAuthNginx(t *testing.T) {
	base := "http://" + s.gwStartNginx(t)
	mine := "/demo/v1/notes/" + s.pat.UserID + "_"
	// The token of the finding: GET attenuated to the user's own notes.
	notes := s.system + ", Macaroon " + gwAttenuate(t, s.pat.Macaroons["GET"], "routes "+mine+"*")
	deleteOwn := s.system + ", Macaroon " + s.pat.Macaroons["DELETE"]
	// spoof is every header in which a client could describe another
	// request than the one it sends: its own note, by GET, from
	// 10.9.9.9, over https, to app.example.com.
	spoof := func(auth string, kv ...string) http.Header {
		h := http.Header{"Authorization": {auth},
			"X-Forwarded-Uri": {mine + "x"}, "X-Original-Uri": {mine + "x"},
			"X-Forwarded-Method": {"GET"}, "X-Original-Method": {"GET"},
			"X-Forwarded-Host": {"app.example.com"}, "X-Forwarded-Proto": {"https"}, "X-Forwarded-For": {"10.9.9.9"}}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name          string
		expect        string
		whenMethod    string
		whenPath      string
		whenHeader    http.Header
		expectStatus  int
		expectBackend bool
	}{
		{"the finding: attenuated token, another API's path, X-Forwarded-Uri naming an own note",
			"403: nginx sets the description of the request, the client's headers decide nothing",
			"GET", "/echo/v1/secret-report", spoof(notes), 403, false},
		{"the same on the demo API", "403", "GET", "/demo/v1/secret-report", spoof(notes), 403, false},
		{"DELETE of the sysadmin's note with X-Forwarded-Uri naming an own note", "403",
			"DELETE", "/demo/v1/notes/" + s.admin.UserID + "_1", spoof(deleteOwn, "X-Forwarded-Method", "DELETE", "X-Original-Method", "DELETE"), 403, false},
		{"a GET token for a DELETE of an own note, headers saying GET", "403: the method is nginx's",
			"DELETE", mine + "x", spoof(notes), 403, false},
		{"control: attenuated token, an own note, spoofed headers", "200 from the backend",
			"GET", mine + "x", spoof(notes), 200, true},
		{"control: the DELETE token on an own note", "200 from the backend", "DELETE", mine + "x", spoof(deleteOwn), 200, true},
		{"the attenuated token in a cookie written 'authgw-get =T'", "200; the backend gets the other cookies only",
			"GET", mine + "x", http.Header{"Authorization": {s.system}, "Cookie": {"theme=dark; authgw-get =" + gwAttenuate(t, s.pat.Macaroons["GET"], "routes "+mine+"*")}}, 200, true},
		{"a method override through nginx", "400: authgw refuses it, nginx passes the 400 on",
			"POST", mine + "x", http.Header{"Authorization": {s.auth(s.pat, "POST")}, "X-Http-Method-Override": {"DELETE"}}, 400, false},
		{"a _method query parameter through nginx", "400: authgw refuses it, nginx passes the 400 on",
			"POST", mine + "x?_method=DELETE", http.Header{"Authorization": {s.auth(s.pat, "POST")}}, 400, false},
		{"no token", "401", "GET", mine + "x", spoof(s.system), 401, false},
		{"an unknown host through nginx", "403 UNKNOWN-HOST: nginx's $host is neither an own name nor bound",
			"GET", mine + "x", spoof(notes, "Host", "evil.example"), 403, false},
		{"an unknown host through nginx, the sign-in page", "403 UNKNOWN-HOST",
			"GET", "/accounts/v1/ui/login", http.Header{"Host": {"evil.example"}, "Accept": {"text/html"}}, 403, false},
		{"control: an own name through nginx", "200 from the backend", "GET", mine + "x", spoof(notes, "Host", "gw.example.com"), 200, true},
	}
	t.Run("client-address and forwarding headers through nginx", func(t *testing.T) { s.gwNginxHeaders(t, base) })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Logf("expect: %s", tt.expect)
			r := s.gwDo(t, "", tt.whenMethod, base+tt.whenPath, tt.whenHeader)
			if r.Status != tt.expectStatus {
				t.Fatalf("%s %s through nginx = %d %.300s, want %d", tt.whenMethod, tt.whenPath, r.Status, r.Body, tt.expectStatus)
			}
			hits := s.backend.hitsFor(r.tag)
			if !tt.expectBackend {
				if len(hits) > 0 {
					t.Errorf("the request reached the backend as %s %s", hits[0].method, hits[0].target)
				}
				return
			}
			if len(hits) != 1 || hits[0].target != tt.whenPath || hits[0].method != tt.whenMethod {
				t.Fatalf("the backend got %d requests (%v), want %s %s", len(hits), hits, tt.whenMethod, tt.whenPath)
			}
			claims, err := s.gwInfo(t, hits[0].header)
			if err != nil {
				t.Fatalf("the backend's X-Auth-Info does not verify: %v", err)
			}
			if claims.IP != "127.0.0.1" || claims.User == nil || claims.User.ID != s.pat.UserID {
				t.Errorf("request info %+v, want the user from 127.0.0.1 (nginx's client), not the spoofed 10.9.9.9", claims)
			}
			if c := hits[0].header.Values("Cookie"); strings.Contains(strings.ToLower(strings.Join(c, ";")), "authgw") {
				t.Errorf("the backend got a token cookie: %q", c)
			}
			for name, want := range map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http"} {
				if got := hits[0].header.Values(name); len(got) != 1 || got[0] != want {
					t.Errorf("the backend's %s = %q, want [%s] from nginx", name, got, want)
				}
			}
		})
	}
}

// gwNginxOwned are headers in which a client could tell a backend
// behind the shipped nginx template who it is or how the request came:
// client-IP headers, X-Forwarded-* names, the request info and the
// request ID. The template empties or replaces each.
var gwNginxOwned = []string{"X-Originating-IP", "Client-IP", "X-Envoy-External-Address", "X-Forwarded",
	"X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Server", "X-Forwarded-Ssl", "X-Forwarded-Scheme",
	"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Client-Cert", "True-Client-IP", "X-Request-Id"}

// gwNginxHeaders sends gwNginxOwned through nginx on an allowed request:
// the backend sees none of the client's values.
func (s *attackSuite) gwNginxHeaders(t *testing.T, base string) {
	t.Logf("expect: 200; the backend gets none of the client's %v; X-Request-Id is nginx's", gwNginxOwned)
	mine := "/demo/v1/notes/" + s.pat.UserID + "_x"
	h := http.Header{"Authorization": {s.auth(s.pat, "GET")}}
	for _, n := range gwNginxOwned {
		h.Set(n, "10.6.6.6")
	}
	r := s.gwDo(t, "", "GET", base+mine, h)
	if r.Status != 200 {
		t.Fatalf("= %d %.300s, want 200", r.Status, r.Body)
	}
	hits := s.backend.hitsFor(r.tag)
	if len(hits) != 1 {
		t.Fatalf("the backend got %d requests", len(hits))
	}
	for name, vs := range hits[0].header {
		for _, v := range vs {
			if strings.Contains(v, "10.6.6.6") {
				t.Errorf("the backend got the client's %s: %q", name, v)
			}
		}
	}
}

func (s *attackSuite) gwForwardAuthCallers(t *testing.T) {
	url := "http://" + s.adminAddr + "/forward-auth"
	described := http.Header{"Authorization": {s.auth(s.pat, "GET")},
		"X-Original-Uri": {"/demo/v1/x"}, "X-Original-Method": {"GET"},
		"X-Forwarded-Host": {s.addr}, "X-Forwarded-Proto": {"http"}, "X-Forwarded-For": {"10.0.0.1"}}
	t.Run("a local process not among the callers", func(t *testing.T) {
		t.Logf("expect: 403 FORWARD-AUTH-UNTRUSTED-PEER from 127.0.0.2 (loopback, not configured): no signed header with 10.0.0.1")
		r := s.gwDo(t, "127.0.0.2", "GET", url, described)
		attackExpectRefusal(t, "GET /forward-auth from 127.0.0.2", r, 403, "FORWARD-AUTH-UNTRUSTED-PEER")
		if r.header.Get(requestinfo.HeaderInfo) != "" {
			t.Errorf("the refusal carries %s", requestinfo.HeaderInfo)
		}
	})
	for _, xff := range [][]string{nil, {"203.0.113.9:4711"}, {"10.0.0.1", "10.0.0.2"}, {"[2001:db8::1]"}} {
		t.Run("the configured caller, X-Forwarded-For "+strconv.Quote(strings.Join(xff, "|")), func(t *testing.T) {
			t.Logf("expect: 400 FORWARD-AUTH-BAD-REQUEST: the client IP signed would be the caller's own, not the client's")
			h := described.Clone()
			h.Del("X-Forwarded-For")
			for _, v := range xff {
				h.Add("X-Forwarded-For", v)
			}
			r := s.gwDo(t, attackFromMain, "GET", url, h)
			attackExpectRefusal(t, "GET /forward-auth", r, 400, "FORWARD-AUTH-BAD-REQUEST")
			if !strings.Contains(string(r.Body), "X-Forwarded-For") {
				t.Errorf("the refusal does not name X-Forwarded-For: %s", r.Body)
			}
		})
	}
	t.Run("every dialect's endpoint on the served admin listener", func(t *testing.T) {
		t.Logf("expect: 200 with request info from /forward-auth/caddy, /traefik, /haproxy (X-Forwarded-*) and /envoy/<path> (the request itself)")
		forwarded := http.Header{"Authorization": {s.auth(s.pat, "GET")},
			"X-Forwarded-Uri": {"/demo/v1/x"}, "X-Forwarded-Method": {"GET"},
			"X-Forwarded-Host": {s.addr}, "X-Forwarded-Proto": {"http"}, "X-Forwarded-For": {"10.0.0.1"}}
		envoy := http.Header{"Authorization": {s.auth(s.pat, "GET")}, "X-Forwarded-Proto": {"http"}, "X-Forwarded-For": {"10.0.0.1"}}
		for path, h := range map[string]http.Header{"/forward-auth/caddy": forwarded, "/forward-auth/traefik": forwarded,
			"/forward-auth/haproxy": forwarded, "/forward-auth/nginx": described, "/forward-auth/envoy/demo/v1/x": envoy} {
			r := s.gwDo(t, attackFromMain, "GET", "http://"+s.adminAddr+path, h)
			if r.Status != 200 {
				t.Errorf("GET %s = %d %.300s, want 200", path, r.Status, r.Body)
				continue
			}
			if c, err := s.gwInfo(t, r.header); err != nil || c.IP != "10.0.0.1" {
				t.Errorf("GET %s: request info %+v (%v), want IP 10.0.0.1", path, c, err)
			}
		}
	})
	t.Run("control: the configured caller", func(t *testing.T) {
		t.Logf("expect: 200 with request info naming the client IP the caller reports")
		r := s.gwDo(t, attackFromMain, "GET", url, described)
		if r.Status != 200 {
			t.Fatalf("= %d %.300s, want 200", r.Status, r.Body)
		}
		if c, err := s.gwInfo(t, r.header); err != nil || c.IP != "10.0.0.1" {
			t.Errorf("request info %+v (%v), want IP 10.0.0.1", c, err)
		}
	})
}

func (s *attackSuite) gwBackendHeaders(t *testing.T) {
	withToken := func(kv ...string) []string { return append([]string{"Authorization", s.auth(s.pat, "GET")}, kv...) }
	refused := "400 OVERRIDE-HEADER-REFUSED: the token was judged for GET; a backend honouring the override would DELETE"
	noneOf := func(names ...string) func(*testing.T, attackReply, []attackHit) {
		return func(t *testing.T, _ attackReply, hits []attackHit) {
			if len(hits) != 1 {
				return
			}
			for _, n := range names {
				if v := hits[0].header.Values(n); len(v) > 0 {
					t.Errorf("the backend got the client's %s: %q", n, v)
				}
			}
			if v := hits[0].header.Values("X-Forwarded-For"); len(v) != 1 || v[0] != attackFromMain {
				t.Errorf("the backend's X-Forwarded-For = %q, want [%s]", v, attackFromMain)
			}
		}
	}
	backendCookie := func(want string) func(*testing.T, attackReply, []attackHit) {
		return func(t *testing.T, _ attackReply, hits []attackHit) {
			if len(hits) == 1 && hits[0].header.Get("Cookie") != want {
				t.Errorf("the backend's Cookie = %q, want %q", hits[0].header.Get("Cookie"), want)
			}
		}
	}
	get := s.pat.Macaroons["GET"]
	basicOnly := func(cookie string) attackReq {
		return attackReq{target: "/demo/v1/cookies", header: []string{"Authorization", s.system, "Cookie", cookie}}
	}
	clientIP := []string{"True-Client-IP", "X-Client-IP", "CF-Connecting-IP", "X-Real-IP", "Fastly-Client-IP", "X-Cluster-Client-IP", "Forwarded"}
	var spoofedIP []string
	for _, n := range clientIP {
		spoofedIP = append(spoofedIP, n, "10.6.6.6")
	}
	s.runCases(t, []attackCase{
		{name: "X-HTTP-Method-Override: DELETE", expect: refused,
			when: attackReq{target: "/demo/v1/notes/x", header: withToken("X-HTTP-Method-Override", "DELETE")}, expectStatus: 400, expectCode: "OVERRIDE-HEADER-REFUSED"},
		{name: "X-HTTP-Method: DELETE", expect: refused,
			when: attackReq{target: "/demo/v1/notes/x", header: withToken("X-HTTP-Method", "DELETE")}, expectStatus: 400, expectCode: "OVERRIDE-HEADER-REFUSED"},
		{name: "X-Method-Override: DELETE", expect: refused,
			when: attackReq{target: "/demo/v1/notes/x", header: withToken("X-Method-Override", "DELETE")}, expectStatus: 400, expectCode: "OVERRIDE-HEADER-REFUSED"},
		{name: "x_http_method_override: DELETE", expect: refused + " (CGI-style servers read _ as -)",
			when: attackReq{target: "/demo/v1/notes/x", header: withToken("x_http_method_override", "DELETE")}, expectStatus: 400, expectCode: "OVERRIDE-HEADER-REFUSED"},
		{name: "X-Original-URL: /admin", expect: "400 OVERRIDE-HEADER-REFUSED: some frameworks route by it",
			when: attackReq{target: "/demo/v1/notes/x", header: withToken("X-Original-URL", "/admin")}, expectStatus: 400, expectCode: "OVERRIDE-HEADER-REFUSED"},
		{name: "client-IP headers of CDNs and proxies", expect: "200; none reaches the backend, whose X-Forwarded-For is the gateway's",
			when: attackReq{target: "/demo/v1/ip", header: withToken(spoofedIP...)}, expectStatus: 200, expectBackend: "/ip",
			check: noneOf(clientIP...)},
		{name: "cookie written 'authgw-get =TOKEN'", expect: "200 (it is the token cookie, as net/http and browsers read it); the backend never sees it",
			when: basicOnly("authgw-get =" + get + "; theme=dark"), expectStatus: 200, expectBackend: "/cookies", check: backendCookie("theme=dark")},
		{name: "cookie written ' authgw-get\t= TOKEN '", expect: "200; the backend never sees it",
			when: basicOnly("theme=dark; authgw-get\t= " + get + " "), expectStatus: 200, expectBackend: "/cookies", check: backendCookie("theme=dark")},
		{name: "cookie written 'AUTHGW-GET=TOKEN'", expect: "401 TOKEN-MISSING: not our name for the verifier (case-sensitive, as browsers send it)",
			when: basicOnly("AUTHGW-GET=" + get), expectStatus: 401, expectCode: "TOKEN-MISSING"},
		{name: "POST with ?_method=DELETE and a POST token", expect: "400 OVERRIDE-HEADER-REFUSED: Laravel/Symfony, Express methodOverride('_method') and Jersey read it and would DELETE",
			when:         attackReq{method: "POST", target: "/demo/v1/notes/" + s.pat.UserID + "_1?_method=DELETE", header: []string{"Authorization", s.auth(s.pat, "POST")}, body: []byte("x")},
			expectStatus: 400, expectCode: "OVERRIDE-HEADER-REFUSED"},
		{name: "POST with ?a=1;%5Fmethod=DELETE", expect: "400 OVERRIDE-HEADER-REFUSED: pairs split at ';' too, the key percent-decoded",
			when:         attackReq{method: "POST", target: "/demo/v1/notes/" + s.pat.UserID + "_1?a=1;%5Fmethod=DELETE", header: []string{"Authorization", s.auth(s.pat, "POST")}, body: []byte("x")},
			expectStatus: 400, expectCode: "OVERRIDE-HEADER-REFUSED"},
		{name: "GET with ?X-HTTP-Method-Override=DELETE", expect: "400 OVERRIDE-HEADER-REFUSED: some frameworks read the header's name from the query",
			when: attackReq{target: "/demo/v1/notes/x?X-HTTP-Method-Override=DELETE", header: withToken()}, expectStatus: 400, expectCode: "OVERRIDE-HEADER-REFUSED"},
		{name: "control: _method as a value", expect: "200; the query reaches the backend as sent",
			when: attackReq{target: "/demo/v1/ip?q=_method", header: withToken()}, expectStatus: 200, expectBackend: "/ip?q=_method"},
		{name: "cookie named '\\xa0authgw-get' or with \\x85 around it", expect: "200 with the header token; none reaches the backend (Django and Starlette strip \\x85 and \\xa0 with str.strip, jshttp/cookie \\xa0)",
			when:         attackReq{target: "/demo/v1/cookies", header: withToken("Cookie", "\xa0authgw-get=ATTACKER; theme=dark; \x85authgw-post\x85=ATTACKER; authgw-get\xa0=ATTACKER")},
			expectStatus: 200, expectBackend: "/cookies", check: backendCookie("theme=dark")},
		{name: "cookies that some server reads as authgw-get", expect: "200 with the header token; none reaches the backend (ASP.NET folds case, PHP and Rack percent-decode, PHP reads name[x])",
			when:         attackReq{target: "/demo/v1/cookies", header: withToken("Cookie", "AUTHGW-GET=a; %61uthgw-get=b; authgw-get[x]=c; theme=dark")},
			expectStatus: 200, expectBackend: "/cookies", check: backendCookie("theme=dark")},
	})
}

func (s *attackSuite) gwCSRF(t *testing.T) {
	post := s.pat.cookies["authgw-post"]
	if post == "" {
		t.Fatalf("the registration set no authgw-post cookie: %v", s.pat.cookies)
	}
	target := "/demo/v1/notes/" + s.pat.UserID + "_csrf"
	byCookie := func(kv ...string) attackReq {
		return attackReq{method: "POST", target: target, body: []byte("x"),
			header: append([]string{"Authorization", s.system, "Cookie", "authgw-post=" + post}, kv...)}
	}
	refused := "403 ORIGIN-NOT-ALLOWED"
	s.runCases(t, []attackCase{
		{name: "Origin: the gateway's host over https", expect: refused + ": the gateway is served over http, so https://host is another origin",
			when: byCookie("Origin", "https://"+s.addr), expectStatus: 403, expectCode: "ORIGIN-NOT-ALLOWED"},
		{name: "Origin: the gateway's host name on another port", expect: refused,
			when: byCookie("Origin", "http://127.0.0.1:1"), expectStatus: 403, expectCode: "ORIGIN-NOT-ALLOWED"},
		{name: "Origin: null with a same-origin Referer", expect: refused + ": an opaque origin is never ours, whatever the Referer",
			when: byCookie("Origin", "null", "Referer", "http://"+s.addr+"/page"), expectStatus: 403, expectCode: "ORIGIN-NOT-ALLOWED"},
		{name: "no Origin, a Referer of the host over https", expect: refused,
			when: byCookie("Referer", "https://"+s.addr+"/page"), expectStatus: 403, expectCode: "ORIGIN-NOT-ALLOWED"},
		{name: "control: Origin the gateway's own", expect: "200 from the backend",
			when: byCookie("Origin", "http://"+s.addr), expectStatus: 200, expectBackend: strings.TrimPrefix(target, "/demo/v1")},
		{name: "control: no Origin, a same-origin Referer", expect: "200 from the backend",
			when: byCookie("Referer", "http://"+s.addr+"/page"), expectStatus: 200, expectBackend: strings.TrimPrefix(target, "/demo/v1")},
	})
}

func (s *attackSuite) gwEdges(t *testing.T) {
	get := s.pat.Macaroons["GET"]
	big := get
	for len(big) < 12700 {
		big = gwAttenuate(t, big, "routes /demo/v1/** /pad/"+strings.Repeat("p", 300))
	}
	s.runCases(t, []attackCase{
		{name: "absolute-form target naming another host", expect: "400 NOT-ORIGIN-FORM: its authority would be the backend's X-Forwarded-Host",
			when:         attackReq{target: "http://evil.example/demo/v1/x", header: []string{"Authorization", s.auth(s.pat, "GET")}},
			expectStatus: 400, expectCode: "NOT-ORIGIN-FORM"},
		{name: "absolute-form target naming the gateway", expect: "400 NOT-ORIGIN-FORM",
			when:         attackReq{target: "http://" + s.addr + "/demo/v1/x", header: []string{"Authorization", s.auth(s.pat, "GET")}},
			expectStatus: 400, expectCode: "NOT-ORIGIN-FORM"},
		{name: "origin form, Host evil.example", expect: "421 UNKNOWN-HOST: not an own name, not bound",
			when:         attackReq{target: "/demo/v1/x", header: []string{"Authorization", s.auth(s.pat, "GET"), "Host", "evil.example"}},
			expectStatus: 421, expectCode: "UNKNOWN-HOST"},
		{name: "the sign-in page, Host evil.example", expect: "421 UNKNOWN-HOST: a domain pointed at the gateway gets no pages",
			when:         attackReq{target: "/accounts/v1/ui/login", header: []string{"Host", "evil.example", "Accept", "text/html"}},
			expectStatus: 421, expectCode: "UNKNOWN-HOST"},
		{name: "Host an own name with another domain after it", expect: "421 UNKNOWN-HOST",
			when:         attackReq{target: "/demo/v1/x", header: []string{"Authorization", s.auth(s.pat, "GET"), "Host", "gw.example.com.evil.example"}},
			expectStatus: 421, expectCode: "UNKNOWN-HOST"},
		{name: "X-Forwarded-Host an own name from an untrusted peer", expect: "421 UNKNOWN-HOST: only a trusted proxy's X-Forwarded-Host counts",
			when:         attackReq{target: "/demo/v1/x", header: []string{"Authorization", s.auth(s.pat, "GET"), "Host", "evil.example", "X-Forwarded-Host", "gw.example.com"}},
			expectStatus: 421, expectCode: "UNKNOWN-HOST"},
		{name: "control: origin form, Host an own name", expect: "200; the backend's X-Forwarded-Host is the Host header",
			when:         attackReq{target: "/demo/v1/x", header: []string{"Authorization", s.auth(s.pat, "GET"), "Host", "GW.example.com.:443"}},
			expectStatus: 200, expectBackend: "/x",
			check: func(t *testing.T, _ attackReply, hits []attackHit) {
				if len(hits) == 1 && hits[0].header.Get("X-Forwarded-Host") != "GW.example.com.:443" {
					t.Errorf("X-Forwarded-Host %q", hits[0].header.Get("X-Forwarded-Host"))
				}
			}},
		{name: "a 12.7 KB token with a valid signature", expect: "401 TOKEN-TOO-LARGE, refused before decoding",
			when:         attackReq{target: "/demo/v1/x", header: []string{"Authorization", s.system + ", Macaroon " + big}},
			expectStatus: 401, expectCode: "TOKEN-TOO-LARGE"},
		{name: "a 12.7 KB token in the cookie", expect: "401 TOKEN-TOO-LARGE",
			when:         attackReq{target: "/demo/v1/x", header: []string{"Authorization", s.system, "Cookie", "authgw-get=" + big}},
			expectStatus: 401, expectCode: "TOKEN-TOO-LARGE"},
	})
}
