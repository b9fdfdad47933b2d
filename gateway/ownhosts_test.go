package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/authgw/authgw/gateway"
)

// TestHosts_unknownRefused: with the gateway's own names set, a request
// for a host that is neither one of them nor bound to an API is refused
// 421 UNKNOWN-HOST before anything else, the sign-in pages included;
// own names route by path, bound hosts go to their API. The host counted
// is the one the bindings use: Host, or a trusted proxy's
// X-Forwarded-Host, so an untrusted peer can neither reach an unknown
// host through an own name's X-Forwarded-Host nor an own name through a
// made-up Host.
func TestHosts_unknownRefused(t *testing.T) {
	teapot := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	eachPeer(t, func(t *testing.T, trusted bool) {
		e, id, wiki, demo := hostsEnv(t, func(c *gateway.Config) {
			c.Hosts = []string{"gw.example.com", "10.0.0.7", "::1"}
			c.Accounts = teapot
			c.Public = map[string][]string{"GET": {"/accounts/v1/ui/login"}}
			if trusted {
				c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
			}
		})
		addr := strings.TrimPrefix(e.srv.URL, "http://")
		ifTrusted := func(yes, no int) int { return pick(trusted, yes, no) }
		demoAuth := "Authorization: " + authz(id, "s3cret", demo["GET"]) + "\r\n"
		wikiAuth := "Authorization: " + authz(id, "s3cret", wiki["GET"]) + "\r\n"
		for _, tt := range []struct {
			name         string
			givenRequest string
			expectStatus int
		}{
			{"own name routes by path", "GET /demo/v1/items HTTP/1.1\r\nHost: gw.example.com\r\n" + demoAuth, 200},
			{"own name: case, trailing dot, port", "GET /demo/v1/items HTTP/1.1\r\nHost: GW.Example.COM.:8443\r\n" + demoAuth, 200},
			{"own IPv4 address", "GET /demo/v1/items HTTP/1.1\r\nHost: 10.0.0.7:8080\r\n" + demoAuth, 200},
			{"own IPv6 address", "GET /demo/v1/items HTTP/1.1\r\nHost: [::1]:8080\r\n" + demoAuth, 200},
			{"own IPv6 address without port", "GET /demo/v1/items HTTP/1.1\r\nHost: [::1]\r\n" + demoAuth, 200},
			{"bound host", "GET /pages/Home HTTP/1.1\r\nHost: wiki.example.com\r\n" + wikiAuth, 200},
			{"unknown host", "GET /demo/v1/items HTTP/1.1\r\nHost: evil.example\r\n" + demoAuth, 421},
			{"unknown host: the sign-in pages", "GET /accounts/v1/ui/login HTTP/1.1\r\nHost: evil.example\r\n", 421},
			{"own name: the sign-in pages", "GET /accounts/v1/ui/login HTTP/1.1\r\nHost: gw.example.com\r\n", 418},
			{"bound host: the sign-in pages", "GET /accounts/v1/ui/login HTTP/1.1\r\nHost: wiki.example.com\r\n", 418},
			{"the listener's address is not an own name", "GET /demo/v1/items HTTP/1.1\r\nHost: " + addr + "\r\n" + demoAuth, 421},
			{"own name as a prefix", "GET /demo/v1/items HTTP/1.1\r\nHost: gw.example.com.evil.example\r\n" + demoAuth, 421},
			{"own name as a suffix", "GET /demo/v1/items HTTP/1.1\r\nHost: evil-gw.example.com\r\n" + demoAuth, 421},
			{"sub-domain of an own name", "GET /demo/v1/items HTTP/1.1\r\nHost: x.gw.example.com\r\n" + demoAuth, 421},
			{"user info before an own name (Go's server refuses it)", "GET /demo/v1/items HTTP/1.1\r\nHost: evil@gw.example.com\r\n" + demoAuth, 400},
			{"two trailing dots", "GET /demo/v1/items HTTP/1.1\r\nHost: gw.example.com..\r\n" + demoAuth, 421},
			{"own IPv6 address with a zone", "GET /demo/v1/items HTTP/1.1\r\nHost: [::1%25lo]:8080\r\n" + demoAuth, 421},
			{"own name with a port that is no number", "GET /demo/v1/items HTTP/1.1\r\nHost: gw.example.com:x\r\n" + demoAuth, 421},
			{"own name with a port of six digits", "GET /demo/v1/items HTTP/1.1\r\nHost: gw.example.com:008443\r\n" + demoAuth, 421},
			{"own name in Unicode look-alike letters (Go's server refuses it)", "GET /demo/v1/items HTTP/1.1\r\nHost: gw.exаmple.com\r\n" + demoAuth, 400},
			{"own name after a comma", "GET /demo/v1/items HTTP/1.1\r\nHost: evil.example,gw.example.com\r\n" + demoAuth, 421},
			{"empty Host (HTTP/1.1)", "GET /demo/v1/items HTTP/1.1\r\nHost: \r\n" + demoAuth, 421},
			{"IPv4 address in another spelling", "GET /demo/v1/items HTTP/1.1\r\nHost: 10.0.0.07\r\n" + demoAuth, 421},
			{"no Host (HTTP/1.0)", "GET /demo/v1/items HTTP/1.0\r\n" + demoAuth, 421},
			{"absolute form naming an own name", "GET http://gw.example.com/demo/v1/items HTTP/1.1\r\nHost: evil.example\r\n" + demoAuth, 400},
			{"X-Forwarded-Host names an own name", "GET /demo/v1/items HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Host: gw.example.com\r\n" + demoAuth,
				ifTrusted(200, 421)},
			{"X-Forwarded-Host names an unknown host", "GET /demo/v1/items HTTP/1.1\r\nHost: gw.example.com\r\nX-Forwarded-Host: evil.example\r\n" + demoAuth,
				ifTrusted(421, 200)},
		} {
			t.Run(tt.name, func(t *testing.T) {
				status, body := rawHostRequest(t, addr, tt.givenRequest+"Connection: close\r\n\r\n")
				if status != tt.expectStatus {
					t.Fatalf("status %d, want %d: %s", status, tt.expectStatus, body)
				}
				if status == http.StatusMisdirectedRequest {
					if got := decodeError(t, []byte(body)).Error.Code; got != gateway.CodeUnknownHost {
						t.Errorf("code %s, want %s", got, gateway.CodeUnknownHost)
					}
				}
			})
		}
	})
}

// TestHosts_unknownRefusedForwardAuth: in forward-auth the original host
// (the proxy's X-Forwarded-Host, Envoy's Host) counts; an unknown one is
// refused 403 UNKNOWN-HOST, which nginx's auth_request passes on (it
// turns a 421 into a 500), in every dialect.
func TestHosts_unknownRefusedForwardAuth(t *testing.T) {
	e, id, wiki, demo := hostsEnv(t, func(c *gateway.Config) {
		c.ForwardAuthCallers = loopbackCallers
		c.Hosts = []string{"gw.example.com"}
	})
	fa := httptest.NewServer(e.gw.ForwardAuthEndpoints(http.NotFoundHandler()))
	t.Cleanup(fa.Close)
	for _, d := range []gateway.ForwardAuthDialect{gateway.DialectNginx, gateway.DialectCaddy, gateway.DialectTraefik, gateway.DialectHAProxy, gateway.DialectEnvoy} {
		for _, tt := range []struct {
			name         string
			givenHost    string
			givenURI     string
			givenToken   string
			expectStatus int
		}{
			{"own name", "gw.example.com", "/demo/v1/items", demo["GET"], 200},
			{"bound host", "wiki.example.com", "/pages/Home", wiki["GET"], 200},
			{"unknown host", "evil.example", "/demo/v1/items", demo["GET"], 403},
			{"unknown host, no token", "evil.example", "/demo/v1/items", "", 403},
		} {
			t.Run(string(d)+"/"+tt.name, func(t *testing.T) {
				req := proxyRequest(t, d, fa.URL, "GET", tt.givenURI, header("Authorization", authz(id, "s3cret", tt.givenToken)))
				switch d {
				case gateway.DialectEnvoy:
					req.Host = tt.givenHost
				case gateway.DialectNginx:
					req.Header.Set("X-Original-Method", "GET")
					req.Header.Set("X-Original-URI", tt.givenURI)
					fallthrough
				default:
					req.Header.Set("X-Forwarded-Host", tt.givenHost)
				}
				_, body := sendExpect(t, noRedirect, req, tt.expectStatus)
				if tt.expectStatus == 403 {
					if got := decodeError(t, body).Error.Code; got != gateway.CodeUnknownHost {
						t.Errorf("code %s, want %s", got, gateway.CodeUnknownHost)
					}
				}
			})
		}
	}
}

// TestHosts_ownNamesConfig: an own name is a host name or IP address
// without port; without Hosts the own names are PublicURL's host (with
// the other loopback names when it is one); without either, and with
// "*", every host is served.
func TestHosts_ownNamesConfig(t *testing.T) {
	for _, bad := range []string{"gw.example.com:80", "*", "gw example", "gw_1.example.com", "fe80::1%eth0", "-gw.example.com", "", ".", "gw..example.com", "http://gw.example.com", "[::1]:80", strings.Repeat("a", 64) + ".example"} {
		if err := gateway.CheckHost(bad); err == nil {
			t.Errorf("CheckHost(%q) = nil, want an error", bad)
		}
	}
	for _, good := range []string{"gw.example.com", "GW.example.com.", "localhost", "10.0.0.7", "::1", "[::1]", "xn--bcher-kva.example"} {
		if err := gateway.CheckHost(good); err != nil {
			t.Errorf("CheckHost(%q) = %v, want nil", good, err)
		}
	}
	for _, tt := range []struct {
		name       string
		givenURL   string
		givenHosts []string
		served     []string
		refused    []string
	}{
		{"PublicURL's host", "https://auth.example.com", nil, []string{"auth.example.com", "AUTH.example.com:443"}, []string{"localhost", "127.0.0.1", "evil.example"}},
		{"a loopback PublicURL", "http://127.0.0.1:8080", nil, []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080"}, []string{"evil.example", "10.0.0.7"}},
		{"localhost PublicURL", "http://localhost:8080", nil, []string{"127.0.0.1", "localhost"}, []string{"evil.example"}},
		{"Hosts replace PublicURL's", "https://auth.example.com", []string{"gw.internal"}, []string{"gw.internal"}, []string{"auth.example.com"}},
		{"*", "https://auth.example.com", []string{"*"}, []string{"evil.example", "auth.example.com"}, nil},
		{"neither", "", nil, []string{"evil.example", "127.0.0.1"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *gateway.Config) { c.PublicURL, c.Hosts = tt.givenURL, tt.givenHosts })
			e.api("demo", 1, echoBackend(t, "demo").URL, false, true)
			id := e.client(sha256Hex("s3cret"), -1)
			e.refresh()
			tok := e.tokens("session-1", fixedNow).ByMethod["GET"]
			for _, host := range tt.served {
				res, body := e.send("GET", "/demo/v1/items", header("Host", host, "Authorization", authz(id, "s3cret", tok)), nil)
				if res.StatusCode != 200 {
					t.Errorf("host %s: status %d, want 200: %s", host, res.StatusCode, body)
				}
			}
			for _, host := range tt.refused {
				res, body := e.send("GET", "/demo/v1/items", header("Host", host, "Authorization", authz(id, "s3cret", tok)), nil)
				if res.StatusCode != http.StatusMisdirectedRequest {
					t.Errorf("host %s: status %d, want 421: %s", host, res.StatusCode, body)
				}
			}
		})
	}
}
