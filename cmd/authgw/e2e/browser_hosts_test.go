package e2e

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
)

// TestBrowserBoundHost is the README's "Host-based apps" in Chromium: the
// demo backend registered as demo v1 bound to demo.localhost (Chromium
// resolves every *.localhost name to the loopback address, and treats it
// as a secure origin, so serve runs with its default Secure __Host-
// cookies). A browser without a session asking for
// http://demo.localhost:PORT/hello is sent to the sign-in page on that
// same host, signs in there (the pages' CSRF check and the cookies are
// the host's own) and lands on /hello, which the backend receives as
// sent; a host neither bound nor the gateway's own is refused 421.
func TestBrowserBoundHost(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no serve process")
	}
	dir := t.TempDir()
	vars := map[string]string{envDataDir: dir}
	bootstrapFor(t, vars)
	// The demo backend's address, chosen here so that the registration
	// with the host can be made first (serve leaves an existing demo v1
	// at the demo's own address as it is).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	demoAddr := l.Addr().String()
	l.Close()
	mustRun(t, invocation{args: []string{"apis", "add", "--name", "demo", "--version", "1", "--url", "http://" + demoAddr,
		"--login-redirect", "--host", "demo.localhost"}, vars: vars})
	p := startServeProcess(t, "serve", []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--demo-listen", demoAddr},
		vars, 20*time.Second)
	u, err := url.Parse(p.gatewayURL)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	app := "http://demo.localhost:" + port
	b := newBrowserSession(t)
	f := &frontDoor{t: t, gw: app, dir: dir}

	b.open(app + "/hello")
	f.expectAt(b, "/accounts/v1/ui/login", "the redirect of a browser without a session on the bound host")
	if loc, _ := url.Parse(b.location()); loc == nil || loc.Host != "demo.localhost:"+port || loc.Query().Get("return_to") != "/hello" {
		t.Fatalf("sign-in page at %s, want it on demo.localhost:%s with return_to=/hello", b.location(), port)
	}
	b.submit("/accounts/v1/ui/login", map[string]string{"email": clitest.LoginEmail, "password": clitest.LoginPassword})
	f.expectText(b, "from the demo backend", "after signing in on the bound host")
	if loc := b.location(); loc != app+"/hello" {
		t.Errorf("after signing in at %s, want %s/hello", loc, app)
	}
	if txt := b.text(); !strings.Contains(txt, `"path":"/hello"`) {
		t.Errorf("the backend did not receive /hello as sent: %s", txt)
	}

	// Path routing stays on the gateway's own name; its cookies are its
	// own, so there the browser is not signed in.
	b.open(p.gatewayURL + "/demo/v1/hello")
	f.expectAt(b, "/accounts/v1/ui/login", "the gateway's own name, whose cookies the bound host's sign-in did not set")

	// A name that is neither bound nor the gateway's own.
	b.open("http://elsewhere.localhost:" + port + "/hello")
	if txt := b.text(); !strings.Contains(txt, "UNKNOWN-HOST") || !strings.Contains(txt, strconv.Itoa(421)) {
		t.Errorf("an unknown host answered %q, want 421 UNKNOWN-HOST", txt)
	}
}
