package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
)

// cdpCall is a chromedp action sending one DevTools protocol command.
func cdpCall[P, R any](c cdp.Command[P, R], params P) chromedp.Action[R] {
	return func(ctx context.Context, t *chromedp.Target) (R, error) {
		return cdp.Call(ctx, t, c, params)
	}
}

// addAuthenticator gives the tab a virtual authenticator (the DevTools
// protocol's WebAuthn domain): a platform authenticator that keeps
// discoverable passkeys and verifies its user (as a fingerprint or PIN
// would), answering without a person.
func (b *browserSession) addAuthenticator() cdpwebauthn.AuthenticatorID {
	b.t.Helper()
	get(b, "WebAuthn.enable", cdpCall(cdpwebauthn.Enable, cdpwebauthn.EnableParams{}))
	res := get(b, "WebAuthn.addVirtualAuthenticator", cdpCall(cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
		Options: &cdpwebauthn.VirtualAuthenticatorOptions{
			Protocol:                    cdpwebauthn.AuthenticatorProtocolCtap2,
			Transport:                   cdpwebauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	}))
	return res.AuthenticatorID
}

// TestBrowserPasskeys is the README's walk-through "Passkeys in the
// browser", run by Chromium against authgw serve with its defaults: the
// default public URL is http://127.0.0.1:PORT, so passkeys are on for
// localhost and the browser opens http://localhost:PORT. A user adds a
// passkey on the account page (after confirming it is them), signs out,
// signs in with the passkey alone (no address typed), then with the
// password, where the passkey is now the second step (and, once TOTP is
// on too, offered beside the TOTP code); removes the passkey; and a
// sign-in with it is then refused.
func TestBrowserPasskeys(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no serve process")
	}
	dir := t.TempDir()
	vars := map[string]string{envDataDir: dir}
	bootstrapFor(t, vars)
	p := startServeProcess(t, "serve", []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--demo-listen", "127.0.0.1:0"},
		vars, 20*time.Second)
	if !strings.Contains(p.stderr.String(), "passkeys are on") {
		t.Fatalf("serve with its defaults did not turn passkeys on:\n%s", p.stderr.String())
	}
	gw := strings.Replace(p.gatewayURL, "127.0.0.1", "localhost", 1)
	f := &frontDoor{t: t, gw: gw, dir: dir}
	const ui = "/accounts/v1/ui"
	b := newBrowserSession(t)
	b.open(gw + ui + "/login")
	b.addAuthenticator()

	// At http://127.0.0.1 (not the relying party's host) the browser
	// would refuse the ceremony: the pages do not offer passkeys there.
	b.open(p.gatewayURL + ui + "/login")
	if get(b, "is the passkey form hidden", chromedp.Evaluate[bool](`!document.querySelector('form[action="`+ui+`/login/passkey"]').closest("[hidden]")`)) {
		t.Fatal("the passkey form is shown at 127.0.0.1, where the browser refuses passkeys of localhost")
	}

	// Sign in with the password; the account page offers passkeys (the
	// script found navigator.credentials and showed the add form).
	b.open(gw + ui + "/login")
	b.submit(ui+"/login", map[string]string{"email": clitest.LoginEmail, "password": clitest.LoginPassword})
	f.expectAt(b, ui+"/settings", "after signing in with the password")
	f.expectText(b, "You have no passkeys", "the account page before a passkey")
	if !get(b, "is the add form shown", chromedp.Evaluate[bool](`!document.querySelector('form[action="`+ui+`/settings/passkeys"]').closest("[hidden]")`)) {
		t.Fatal("the add-a-passkey form is hidden although the browser can use passkeys")
	}

	// Add a passkey: its name, who you are, then the browser creates it.
	b.submit(ui+"/settings/passkeys", map[string]string{"passkeyName": "Laptop"})
	f.expectText(b, "Confirm it is you to add a passkey", "the confirmation before adding a passkey")
	if get(b, "is a passkey offered", chromedp.Evaluate[bool](`document.querySelector('form[data-passkey="get"]') !== null`)) {
		t.Fatal("the confirm page offers a passkey to a user who has none")
	}
	b.submit(ui+"/settings/passkeys", map[string]string{"password": clitest.LoginPassword})
	f.expectText(b, "Create your passkey", "the page that creates the passkey")
	b.screenshot("passkey-create")
	expectAccessibleNames(t, b, "the page that creates the passkey")
	b.submit(ui+"/settings/passkeys/finish", nil)
	f.expectText(b, "The passkey was added", "after creating the passkey")
	f.expectText(b, "Laptop", "the passkey in the list")
	b.screenshot("settings-passkeys")
	expectAccessibleNames(t, b, "the account page with a passkey")
	b.phone(true)
	if !get(b, "fits a phone", chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)) {
		t.Error("the account page with a passkey scrolls sideways on a phone")
	}
	b.phone(false)

	// Sign out; sign in with the passkey alone, no address typed.
	b.submit(ui+"/logout", nil)
	b.open(gw + ui + "/login")
	b.screenshot("signin-passkeys")
	expectAccessibleNames(t, b, "the sign-in page with passkeys")
	b.submit(ui+"/login/passkey", nil)
	f.expectAt(b, ui+"/settings", "after signing in with the passkey")
	f.expectText(b, "Laptop", "the account page after signing in with the passkey")

	// Sign out; the password alone is not enough now: the passkey is
	// the second step.
	b.submit(ui+"/logout", nil)
	b.open(gw + ui + "/login")
	b.submit(ui+"/login", map[string]string{"email": clitest.LoginEmail, "password": clitest.LoginPassword})
	f.expectText(b, "Use your passkey", "the second step after the password")
	f.expectAt(b, ui+"/login", "the second step after the password")
	b.screenshot("signin-passkey-step")
	expectAccessibleNames(t, b, "the passkey step")
	b.submit(ui+"/login/passkey", nil)
	f.expectAt(b, ui+"/settings", "after the password and the passkey")
	f.expectText(b, "Your passkey is your second step", "the account page of a user whose second step is a passkey")

	// With TOTP on too, the second step asks for the app's code and
	// offers the passkey beside it.
	f.oathtool = oathtoolPath(t)
	b.submit(ui+"/settings/totp", nil)
	b.submit(ui+"/settings/totp", map[string]string{"password": clitest.LoginPassword})
	secret := f.totpSecret(b)
	b.submit(ui+"/settings/totp/confirm", map[string]string{"code": f.totpCode(secret)})
	f.expectText(b, "recovery codes", "after turning TOTP on")
	b.submit(ui+"/logout", nil)
	b.open(gw + ui + "/login")
	b.submit(ui+"/login", map[string]string{"email": clitest.LoginEmail, "password": clitest.LoginPassword})
	f.expectText(b, "Enter the code from your authenticator app", "the second step of a user with TOTP and a passkey")
	f.expectText(b, "Or use a passkey", "the passkey offered beside the TOTP code")
	b.screenshot("signin-totp-or-passkey")
	b.submit(ui+"/login/passkey", nil)
	f.expectAt(b, ui+"/settings", "after the password and the passkey in place of the TOTP code")

	// The step-up page (serve's example policies put removing an address
	// under a step-up, so the sign-in left a DELETE step-up token): the
	// passkey is offered, and confirming with it discharges the step-up
	// and returns to the page.
	b.open(gw + ui + "/step-up?return_to=" + url.QueryEscape(ui+"/settings"))
	f.expectText(b, "Confirm it is you to continue", "the step-up page")
	f.expectText(b, "Use a passkey", "the passkey offered on the step-up page")
	b.screenshot("stepup-passkey")
	b.submitPasskey(ui + "/step-up")
	f.expectAt(b, ui+"/settings", "after the step-up with the passkey")

	// Remove the passkey (who you are first: the confirm page offers
	// the passkey itself beside the password, and it proves the user).
	remove := get(b, "find the remove form", chromedp.Evaluate[string](`document.querySelector('form[action^="`+ui+`/settings/passkeys/"][action$="/remove"]').getAttribute("action")`))
	b.submit(remove, nil)
	f.expectText(b, "Confirm it is you to remove the passkey", "the confirmation before removing the passkey")
	f.expectText(b, "Use a passkey", "the passkey offered on the confirm page")
	b.screenshot("confirm-passkey")
	expectAccessibleNames(t, b, "the confirm page with a passkey")
	b.submitPasskey(remove)
	f.expectText(b, "The passkey was removed", "after removing the passkey")
	f.expectText(b, "You have no passkeys", "the account page after removing the passkey")

	// Sign out; the removed passkey (still in the authenticator) is
	// refused, and the page says what to do.
	b.submit(ui+"/logout", nil)
	b.open(gw + ui + "/login")
	b.submit(ui+"/login/passkey", nil)
	f.expectAt(b, ui+"/login/passkey", "a sign-in with the removed passkey")
	f.expectText(b, "The passkey was not accepted", "a sign-in with the removed passkey")
	if got := get(b, "count alerts", chromedp.Evaluate[int](`document.querySelectorAll('[role=alert]').length`)); got != 1 {
		t.Errorf("the refused passkey shows %d alerts, expected one", got)
	}
	// The password and the TOTP code sign in, and no passkey is offered
	// beside the code any more.
	b.submit(ui+"/login", map[string]string{"email": clitest.LoginEmail, "password": clitest.LoginPassword})
	f.expectText(b, "Enter the code from your authenticator app", "the second step after the passkey was removed")
	if strings.Contains(b.text(), "Or use a passkey") {
		t.Fatal("a passkey is offered beside the TOTP code after the only passkey was removed")
	}
	b.submit(ui+"/login/totp", map[string]string{"totp": f.totpCode(secret)})
	f.expectAt(b, ui+"/settings", "the password and TOTP code after the passkey was removed")
}

// submitPasskey submits the passkey form of action (a confirm page has
// the password form first, of the same action): the script runs the
// ceremony with the virtual authenticator and posts the answer.
func (b *browserSession) submitPasskey(action string) {
	b.t.Helper()
	form := fmt.Sprintf(`form[data-passkey][action=%q]`, action)
	b.run("submit the passkey of "+action,
		chromedp.WaitReady(chromedp.CSS(form)),
		chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.leaving = "1"`),
		chromedp.Click(chromedp.CSS(form+` button[type=submit]`), chromedp.NodeVisible))
	b.waitNewPage("after the passkey of " + action)
}
