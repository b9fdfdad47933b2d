package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/gateway/gatewaytest/otlpreceiver"
)

// servedWorld is a bootstrapped data directory with a backend registered
// as demo v1 that records the traceparent it gets, and a GET token.
type servedWorld struct {
	dir          string
	creds        struct{ UserID, ClientID, ClientSecret string }
	token        string
	mu           sync.Mutex
	traceparents []string
}

func newServedWorld(t *testing.T) *servedWorld {
	t.Helper()
	w := &servedWorld{dir: t.TempDir()}
	vars := map[string]string{envDataDir: w.dir}
	backend := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.traceparents = append(w.traceparents, r.Header.Get("Traceparent"))
		w.mu.Unlock()
		io.WriteString(rw, "backend "+r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	boot := mustRun(t, invocation{args: []string{"bootstrap", "--org", "Acme", "--email", "admin@example.com", "--name", "Ada",
		"--password-stdin"}, stdin: "correct horse battery staple\n", vars: vars})
	if err := json.Unmarshal([]byte(boot), &w.creds); err != nil {
		t.Fatal(err)
	}
	mustRun(t, invocation{args: []string{"apis", "add", "--name", "demo", "--version", "1", "--url", backend.URL}, vars: vars})
	// serve creates the key ring and the policies at its first start:
	// the token is minted after it, by mint().
	return w
}

func (w *servedWorld) mint(t *testing.T) {
	t.Helper()
	var tokens map[string]string
	out := mustRun(t, invocation{args: []string{"mint", "--policy", filepath.Join(w.dir, "policies", "member.json"),
		"--user", w.creds.UserID, "--client", w.creds.ClientID}, vars: map[string]string{envDataDir: w.dir}, now: time.Now()})
	if err := json.Unmarshal([]byte(out), &tokens); err != nil {
		t.Fatal(err)
	}
	w.token = tokens["GET"]
}

// get sends GET path with a Basic credential (secret as given) and the
// token, and returns the status.
func (w *servedWorld) get(t *testing.T, gatewayURL, path, secret string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", gatewayURL+path, nil)
	basic := base64.StdEncoding.EncodeToString([]byte(w.creds.ClientID + ":" + secret))
	req.Header.Set("Authorization", "Basic "+basic+", Macaroon "+w.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// TestServe_traces runs authgw serve with --otel-endpoint pointed at a
// real OTLP/HTTP receiver (decoding with the collector's pdata) and
// Redis: a proxied request leaves a server span with the pipeline's
// steps, a Redis span (the shared rate limit) and an upstream client
// span whose context the backend got in traceparent; a request to the
// accounts service leaves database spans under its server span. The
// spans reach the receiver by the flush at stop.
func TestServe_traces(t *testing.T) {
	redisURL := dbtest.RedisURL(t)
	rcv := otlpreceiver.Start(t)
	w := newServedWorld(t)
	gatewayURL, _, stop, exited, _, stderr := startServeLogged(t, w.dir, "--otel-endpoint", rcv.URL, "--trace-sampling", "1",
		"--redis", redisURL, "--demo-listen", "off")
	w.mint(t)
	if s := w.get(t, gatewayURL, "/demo/v1/notes", w.creds.ClientSecret); s != 200 {
		t.Fatalf("proxied request: %d", s)
	}
	if s := w.get(t, gatewayURL, "/accounts/v1/users/"+w.creds.UserID, w.creds.ClientSecret); s != 200 {
		t.Fatalf("accounts request: %d", s)
	}
	// The bootstrapped client is unlimited, which needs no Redis; a
	// request without a client spends its IP's budget there.
	res, err := http.Get(gatewayURL + "/accounts/v1/ui/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	stopServe(t, stop, exited)
	if !strings.Contains(stderr.String(), "tracing on") {
		t.Errorf("serve did not say tracing is on:\n%s", stderr.String())
	}
	spans := rcv.Spans()
	if rcv.BadRequests() > 0 || len(spans) == 0 {
		t.Fatalf("receiver: %d bad requests, %d spans", rcv.BadRequests(), len(spans))
	}
	bySpanID := map[string]otlpreceiver.Span{}
	for _, s := range spans {
		bySpanID[s.SpanID] = s
		if s.Service != "authgw" {
			t.Errorf("span %q of service %q, want authgw", s.Name, s.Service)
		}
	}
	// under reports whether s descends from the span root.
	under := func(s otlpreceiver.Span, root string) bool {
		for p := s.ParentSpanID; p != ""; p = bySpanID[p].ParentSpanID {
			if p == root {
				return true
			}
		}
		return false
	}
	var proxied, accounts, page *otlpreceiver.Span
	for i, s := range spans {
		if s.Kind == "Server" && s.Attrs["url.path"] == "/accounts/v1/ui/login" {
			page = &spans[i]
		}
		if s.Kind == "Server" && s.Attrs["url.path"] == "/demo/v1/notes" {
			proxied = &spans[i]
		}
		if s.Kind == "Server" && strings.HasPrefix(s.Attrs["url.path"], "/accounts/v1/users/") {
			accounts = &spans[i]
		}
	}
	if proxied == nil || accounts == nil || page == nil {
		t.Fatalf("server spans missing: %+v", spans)
	}
	if len(proxied.Events) < 5 || proxied.Attrs["http.response.status_code"] != "200" || proxied.Attrs["authgw.user.id"] != w.creds.UserID {
		t.Errorf("proxied request's span: %+v", *proxied)
	}
	var upstream, redisSpan, dbSpan bool
	for _, s := range spans {
		switch {
		case s.Kind == "Client" && s.Scope == "github.com/authgw/authgw/gateway" && s.ParentSpanID == proxied.SpanID:
			upstream = true
			w.mu.Lock()
			got := w.traceparents[0]
			w.mu.Unlock()
			if want := "00-" + s.TraceID + "-" + s.SpanID + "-01"; got != want {
				t.Errorf("backend got traceparent %q, want %q", got, want)
			}
		case strings.Contains(s.Scope, "redis") && under(s, page.SpanID):
			redisSpan = true
			for k, v := range s.Attrs {
				if strings.Contains(v, "ip:") || k == "db.statement" || k == "db.query.text" {
					t.Errorf("Redis span attribute %s = %q holds a command's argument", k, v)
				}
			}
		case s.Scope == "github.com/authgw/authgw/db" && under(s, accounts.SpanID):
			dbSpan = true
		}
	}
	if !upstream || !redisSpan || !dbSpan {
		t.Errorf("upstream span %v, Redis span %v, database span %v; want all", upstream, redisSpan, dbSpan)
	}
}

// TestServe_logSettings: --log-format json writes one JSON object a
// line; --log-level debug logs why a request was refused, info does not;
// either way a wrong client secret's access line names the client (never
// the secret). A bad value stops start-up naming the setting.
func TestServe_logSettings(t *testing.T) {
	w := newServedWorld(t)
	tests := []struct {
		name         string
		givenArgs    []string
		expectJSON   bool
		expectReason bool
	}{
		{"given the defaults, expect text and no reasons", nil, false, false},
		{"given json and debug, expect JSON lines with the refusal's reason", []string{"--log-format", "json", "--log-level", "debug"}, true, true},
		{"given info in the environment's spelling, expect no reasons", []string{"--log-level", "INFO"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gatewayURL, _, stop, exited, _, stderr := startServeLogged(t, w.dir, append([]string{"--demo-listen", "off"}, tt.givenArgs...)...)
			w.mint(t)
			if s := w.get(t, gatewayURL, "/demo/v1/notes", "wrong-secret"); s != 401 {
				t.Fatalf("wrong secret: %d, want 401", s)
			}
			stopServe(t, stop, exited)
			text := stderr.String()
			if strings.Contains(text, "wrong-secret") || strings.Contains(text, w.token) {
				t.Fatalf("the log holds the secret or the token:\n%s", text)
			}
			var access, reason bool
			sc := bufio.NewScanner(strings.NewReader(text))
			for sc.Scan() {
				line := sc.Text()
				fields := map[string]any{}
				if tt.expectJSON {
					if err := json.Unmarshal([]byte(line), &fields); err != nil {
						t.Fatalf("not a JSON line: %q", line)
					}
				} else if strings.HasPrefix(line, "{") {
					t.Fatalf("a JSON line in the text log: %q", line)
				}
				if strings.Contains(line, "msg=request") || fields["msg"] == "request" {
					access = strings.Contains(line, w.creds.ClientID)
				}
				if strings.Contains(line, "INVALID-CLIENT-SECRET") {
					reason = true
				}
			}
			if !access {
				t.Errorf("no access line naming the client %s:\n%s", w.creds.ClientID, text)
			}
			if reason != tt.expectReason {
				t.Errorf("refusal reason logged %v, want %v:\n%s", reason, tt.expectReason, text)
			}
		})
	}
	t.Run("given a bad value, expect a usage error naming the setting", func(t *testing.T) {
		for _, args := range [][]string{{"--log-level", "verbose"}, {"--log-format", "xml"}, {"--trace-sampling", "2"}, {"--otel-endpoint", "collector:4318"},
			{"--otel-endpoint", "http://user:pw@collector:4318"}} {
			r := runCLI(t, invocation{args: append([]string{"serve"}, args...), vars: map[string]string{envDataDir: t.TempDir()}})
			expectResult(t, r, exitUsage, nil, []string{args[0] + ":"})
			if strings.Contains(r.stderr, "pw@") {
				t.Errorf("the error repeats the URL's password: %q", r.stderr)
			}
		}
	})
}
