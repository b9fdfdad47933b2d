package e2e

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/notify/notifytest"
)

// TestBrowserFrontDoor is the README's "In the browser" walk-through,
// done by Debian's Chromium against a real authgw serve with its
// defaults (the example policies, the demo backend with loginRedirect
// on): sign up, verify from the mailed link, sign in with the password
// and land on the demo page through the redirect, set up TOTP from the
// QR page (codes from oathtool), sign out, sign in with password and
// TOTP, forgot password → reset from the mail, the old session refused
// at the gateway, sign in with the new password. Each page is saved as a
// screenshot (see updateScreenshots).
func TestBrowserFrontDoor(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no serve process")
	}
	oathtool := oathtoolPath(t)
	dir := t.TempDir()
	// serve with its defaults, as the README's first command runs it:
	// __Host- cookies marked Secure, which Chromium keeps for
	// http://127.0.0.1 (a potentially trustworthy origin).
	p := startServeProcess(t, "serve", []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--demo-listen", "127.0.0.1:0"},
		map[string]string{envDataDir: dir}, 20*time.Second)
	gatewayURL := p.gatewayURL
	f := &frontDoor{t: t, gw: gatewayURL, dir: dir, oathtool: oathtool}
	const (
		name     = "Grace Hopper"
		addr     = "grace@example.com"
		password = "a compiler is a friend"
		newPass  = "nanoseconds on a wire"
	)
	demo := gatewayURL + "/demo/v1/hello"
	b := newBrowserSession(t)

	// A browser without a session asking for the demo page is sent to
	// the sign-in page, with where it came from.
	b.open(demo)
	f.expectAt(b, "/accounts/v1/ui/login", "the redirect of a browser without a session")
	if loc := b.location(); !strings.Contains(loc, "return_to=%2Fdemo%2Fv1%2Fhello") {
		t.Errorf("sign-in page at %s: return_to is not the demo page", loc)
	}
	b.screenshot("signin")
	b.phone(true)
	b.screenshot("signin-phone")
	b.phone(false)

	// Sign up; the address is verified from the mailed link.
	b.open(gatewayURL + "/accounts/v1/ui/signup")
	b.screenshot("signup")
	b.submit("/accounts/v1/ui/signup", map[string]string{"name": name, "email": addr, "password": password})
	f.expectText(b, "verif", "after signing up")
	b.screenshot("signup-done")
	verifyLink := f.link(addr, "/accounts/v1/ui/verify?")
	b.open(verifyLink)
	b.screenshot("verify")
	b.submit("/accounts/v1/ui/verify", nil)
	f.expectText(b, "verified", "after verifying the address")

	// Sign in with the password: back on the demo page.
	b.open(demo)
	b.submit("/accounts/v1/ui/login", map[string]string{"email": addr, "password": password})
	f.expectText(b, "from the demo backend", "after signing in")
	b.screenshot("demo")

	// Account settings: set up TOTP from the QR page.
	b.open(gatewayURL + "/accounts/v1/ui/settings")
	f.expectAt(b, "/accounts/v1/ui/settings", "the settings page")
	b.screenshot("settings")
	// Setting up a second factor asks who you are first.
	b.submit("/accounts/v1/ui/settings/totp", nil)
	f.expectText(b, "password", "the confirmation before setting up TOTP")
	b.screenshot("confirm")
	b.submit("/accounts/v1/ui/settings/totp", map[string]string{"password": password})
	if html := b.html(); !strings.Contains(html, "<svg") {
		t.Fatalf("the TOTP page shows no QR code:\n%s", html)
	}
	b.screenshot("totp")
	secret := f.totpSecret(b)
	b.submit("/accounts/v1/ui/settings/totp/confirm", map[string]string{"code": f.totpCode(secret)})
	// Turning it on shows the recovery codes, this once.
	f.expectText(b, "recovery codes", "after confirming TOTP")
	if n := strings.Count(b.html(), "<code>"); n != 10 {
		t.Errorf("after confirming TOTP the page shows %d recovery codes, expected 10", n)
	}
	b.screenshot("recovery-codes")

	// Sign out, then sign in with the password and a TOTP code.
	b.submit("/accounts/v1/ui/logout", nil)
	b.screenshot("signed-out")
	b.open(demo)
	f.expectAt(b, "/accounts/v1/ui/login", "the demo page after signing out")
	b.submit("/accounts/v1/ui/login", map[string]string{"email": addr, "password": password})
	b.screenshot("signin-totp")
	b.submit("/accounts/v1/ui/login/totp", map[string]string{"totp": f.totpCode(secret)})
	f.expectText(b, "from the demo backend", "after signing in with TOTP")

	// Forgot password, in another browser: the reset signs the first out.
	other := newBrowserSession(t)
	other.open(gatewayURL + "/accounts/v1/ui/forgot")
	other.screenshot("forgot")
	other.submit("/accounts/v1/ui/forgot", map[string]string{"email": addr})
	f.expectText(other, "20 minutes", "after asking for a recovery link")
	recoverLink := f.link(addr, "/accounts/v1/ui/recover?")
	other.open(recoverLink)
	other.screenshot("recover")
	other.submit("/accounts/v1/ui/recover", map[string]string{"newPassword": newPass})
	f.expectText(other, "sign", "after setting the new password")

	// The first browser's session was revoked: the gateway refuses its
	// token (revocations reach the gateway within its poll interval) and
	// its refresh token, so it lands on the sign-in page.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.open(demo)
		if strings.Contains(b.location(), "/accounts/v1/ui/login") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the password reset, the old session still opens %s", b.location())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The old password no longer works; the new one does, with TOTP.
	other.open(demo)
	other.submit("/accounts/v1/ui/login", map[string]string{"email": addr, "password": password})
	f.expectAt(other, "/accounts/v1/ui/login", "signing in with the old password")
	other.submit("/accounts/v1/ui/login", map[string]string{"email": addr, "password": newPass})
	other.submit("/accounts/v1/ui/login/totp", map[string]string{"totp": f.totpCode(secret)})
	f.expectText(other, "from the demo backend", "after signing in with the new password")
}

// frontDoor holds what the walk-through needs between steps.
type frontDoor struct {
	t        *testing.T
	gw, dir  string
	oathtool string
	lastStep int64 // the last TOTP time step used
}

// oathtoolPath finds oathtool, the independent TOTP generator.
func oathtoolPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("oathtool is not installed; CI is set, so this test may not skip")
		}
		t.Skip("oathtool is not installed")
	}
	return p
}

// expectAt fails unless the tab is at path (query aside) on the gateway.
func (f *frontDoor) expectAt(b *browserSession, path, what string) {
	f.t.Helper()
	u, err := url.Parse(b.location())
	if err != nil || u.Path != path {
		f.t.Fatalf("%s: at %s, expected %s\npage: %s", what, b.location(), path, b.text())
	}
}

// expectText fails unless the page's text holds want (any case).
func (f *frontDoor) expectText(b *browserSession, want, what string) {
	f.t.Helper()
	if txt := b.text(); !strings.Contains(strings.ToLower(txt), strings.ToLower(want)) {
		f.t.Fatalf("%s: the page at %s does not say %q:\n%s", what, b.location(), want, txt)
	}
}

// link waits for the newest mail to addr that holds a link to the
// gateway path starting with prefix, and returns the link.
func (f *frontDoor) link(addr, prefix string) string {
	f.t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(f.gw+prefix) + `[^\s<>"]+`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(f.dir, "mail", "*.eml"))
		for i := len(files) - 1; i >= 0; i-- { // newest first
			h, body := notifytest.ReadEML(f.t, files[i])
			if h.Get("To") != addr {
				continue
			}
			if m := re.FindString(body); m != "" {
				return m
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("no mail to %s with a link to %s within 10 s", addr, prefix)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// totpSecretPattern is a TOTP secret as the enrol page shows it: base32,
// maybe in groups.
var totpSecretPattern = regexp.MustCompile(`\b((?:[A-Z2-7]{4}[ -]?){6,}[A-Z2-7]*)\b`)

// totpSecret reads the secret shown for manual entry on the TOTP page.
func (f *frontDoor) totpSecret(b *browserSession) string {
	f.t.Helper()
	m := totpSecretPattern.FindStringSubmatch(b.text())
	if m == nil {
		f.t.Fatalf("no TOTP secret on the page:\n%s", b.text())
	}
	return strings.NewReplacer(" ", "", "-", "").Replace(m[1])
}

// totpCode returns a code from oathtool for a time step never used
// before and within one step of now (the server accepts ±1 step and
// never the same step twice), waiting for the clock when needed.
func (f *frontDoor) totpCode(secret string) string {
	f.t.Helper()
	for {
		now := time.Now().Unix() / 30
		step := max(now, f.lastStep+1)
		if step <= now+1 {
			f.lastStep = step
			out, err := exec.Command(f.oathtool, "--totp", "-b", "-N", "@"+strconv.FormatInt(step*30, 10), secret).CombinedOutput()
			if err != nil {
				f.t.Fatalf("oathtool: %v: %s", err, out)
			}
			return strings.TrimSpace(string(out))
		}
		time.Sleep(time.Second)
	}
}
