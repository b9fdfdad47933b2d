package e2e

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/ui/uitest"
)

// reviewPortalClient is the sign-in pages' client: a fixed, public ID
// without a secret or a rate limit of its own.
const reviewPortalClient = "00000000-0000-7000-8000-000000000002"

// TestAttackReviewPortalClientBudget: anyone can send the sign-in pages'
// client ID in a Basic header. That must not buy an unlimited budget
// against the accounts API: such requests spend the per-IP budget of
// unidentified requests (10 a second by default), so a burst from one
// address is cut off.
func TestAttackReviewPortalClientBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no serve process")
	}
	s := newPlainServe(t)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(reviewPortalClient+":"))
	limited := false
	for i := 0; i < 40 && !limited; i++ {
		req, err := http.NewRequest(http.MethodGet, "http://"+s.addr+"/accounts/v1/openapi.json", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", basic)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		switch res.StatusCode {
		case http.StatusOK:
		case http.StatusTooManyRequests:
			limited = true
		default:
			t.Fatalf("request %d: status %d", i+1, res.StatusCode)
		}
	}
	if !limited {
		t.Fatal("40 requests in a burst with Basic <the pages' client> were never rate limited")
	}
}

// TestBrowserReviewReturnToAllowedOrigin: return_to may name a page on an
// --allowed-origins origin (the README's "return_to"), and a real browser
// must get there after signing in. The sign-in form is posted, and the
// page answers 303 to that origin: the pages' Content-Security-Policy
// (form-action) must let the browser follow that redirect.
func TestBrowserReviewReturnToAllowedOrigin(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no serve process")
	}
	uitest.Path(t)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>app</title><p>landed on the app</p>"))
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	p := startServeProcess(t, "serve", []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--demo-listen", "off",
		"--allowed-origins", app.URL}, map[string]string{envDataDir: dir}, 20*time.Second)
	f := &frontDoor{t: t, gw: p.gatewayURL, dir: dir}
	const addr, password = "ada@example.com", "an analytical engine"
	b := newBrowserSession(t)
	b.open(p.gatewayURL + "/accounts/v1/ui/signup")
	b.submit("/accounts/v1/ui/signup", map[string]string{"name": "Ada", "email": addr, "password": password})
	b.open(f.link(addr, "/accounts/v1/ui/verify?"))
	b.submit("/accounts/v1/ui/verify", nil)

	b.open(p.gatewayURL + "/accounts/v1/ui/login?return_to=" + url.QueryEscape(app.URL+"/landing"))
	b.submit("/accounts/v1/ui/login", map[string]string{"email": addr, "password": password})
	if loc := b.location(); !strings.HasPrefix(loc, app.URL+"/landing") || !strings.Contains(b.text(), "landed on the app") {
		t.Fatalf("after signing in with return_to on an allowed origin, the browser is at %s: %q", loc, b.text())
	}
}
