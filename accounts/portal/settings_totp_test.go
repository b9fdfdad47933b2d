package portal_test

import (
	"encoding/base32"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/pquerna/otp"
	otptotp "github.com/pquerna/otp/totp"

	"github.com/authgw/authgw/accounts/totp"
)

var (
	acctSVGRE    = regexp.MustCompile(`<svg [^>]*role="img"[^>]*aria-label="[^"]+"[^>]*viewBox="0 0 (\d+) (\d+)"|<svg [^>]*viewBox="0 0 (\d+) (\d+)"[^>]*role="img"[^>]*aria-label="[^"]+"`)
	acctPathRE   = regexp.MustCompile(`<path [^>]*d="([^"]*)"`)
	acctRunRE    = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
	acctSecretRE = regexp.MustCompile(`<code>([A-Z2-7 ]+)</code>`)
)

// acctQRModules reads the dark modules of the page's QR SVG as a set of
// "x,y" (quiet zone included).
func acctQRModules(t *testing.T, body string) (map[string]bool, int) {
	t.Helper()
	m := acctSVGRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no <svg role=img aria-label viewBox> on the page:\n%s", body)
	}
	size, _ := strconv.Atoi(m[1] + m[3])
	paths := acctPathRE.FindAllStringSubmatch(body, -1)
	if len(paths) != 1 {
		t.Fatalf("%d <path> elements, want 1", len(paths))
	}
	dark := map[string]bool{}
	d := paths[0][1]
	runs := acctRunRE.FindAllStringSubmatch(d, -1)
	if strings.Join(func() []string {
		var out []string
		for _, r := range runs {
			out = append(out, r[0])
		}
		return out
	}(), "") != d {
		t.Fatalf("the path has more than runs of modules: %.200s", d)
	}
	for _, r := range runs {
		x, _ := strconv.Atoi(r[1])
		y, _ := strconv.Atoi(r[2])
		n, _ := strconv.Atoi(r[3])
		for i := range n {
			dark[strconv.Itoa(x+i)+","+strconv.Itoa(y)] = true
		}
	}
	return dark, size
}

// TestTOTP: set up from the QR page (the QR code encodes the key whose
// secret the page shows), confirm with a code, the next password login
// asks for TOTP; turn it off with the password.
func TestTOTP(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	b := s.browser()
	b.acctSignIn(ann)

	confirm := b.submit(b.acctSettingsPage(), acctPath("/settings/totp"), nil)
	if confirm.Status != http.StatusOK || confirm.form(acctPath("/settings/totp")) == nil {
		t.Fatalf("set up without proof: %d\n%s", confirm.Status, confirm.text())
	}
	enrol := b.submit(confirm, acctPath("/settings/totp"), map[string]string{"password": testPassword})
	if enrol.Status != http.StatusOK {
		t.Fatalf("set up: %d\n%s", enrol.Status, enrol.text())
	}
	if strings.Contains(enrol.Body, "data:") || strings.Contains(enrol.Body, "style=") || strings.Contains(strings.ToLower(enrol.Body), "<script") {
		t.Error("the QR page has a data: URL, a style attribute or a script")
	}
	if !strings.Contains(enrol.Body, `autocomplete="one-time-code"`) {
		t.Error("the code field has no one-time-code autocomplete")
	}
	sm := acctSecretRE.FindStringSubmatch(enrol.Body)
	if sm == nil {
		t.Fatalf("no secret on the page:\n%s", enrol.Body)
	}
	secret := strings.ReplaceAll(sm[1], " ", "")
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	must(t, err)

	// The QR code is the key URI of this secret.
	key, err := otptotp.Generate(otptotp.GenerateOpts{Issuer: "authgw-test", AccountName: "ann.smith@example.com", Period: totp.Period,
		Secret: raw, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	must(t, err)
	want, err := qr.Encode(key.String(), qr.M, qr.Auto)
	must(t, err)
	dark, size := acctQRModules(t, enrol.Body)
	n := want.Bounds().Dx()
	if size != n+8 {
		t.Fatalf("viewBox %d, want %d modules and the quiet zone", size, n+8)
	}
	for y := range n {
		for x := range n {
			r, _, _, _ := want.At(x, y).RGBA()
			if (r < 0x8000) != dark[strconv.Itoa(x+4)+","+strconv.Itoa(y+4)] {
				t.Fatalf("module %d,%d differs from the QR code of the key", x, y)
			}
		}
	}

	wrong := b.submit(enrol, acctPath("/settings/totp/confirm"), map[string]string{"code": "000000"})
	if c, _ := otptotp.GenerateCode(secret, s.clock.Now()); c == "000000" {
		t.Skip("the lucky code")
	}
	if wrong.Status != http.StatusUnprocessableEntity || !strings.Contains(wrong.text(), "The code is not right") || !acctSVGRE.MatchString(wrong.Body) {
		t.Fatalf("wrong code: %d\n%s", wrong.Status, wrong.text())
	}
	code, err := otptotp.GenerateCode(secret, s.clock.Now())
	must(t, err)
	on := b.submit(wrong, acctPath("/settings/totp/confirm"), map[string]string{"code": code})
	if on.Status != http.StatusOK || !strings.Contains(on.text(), "Two-step verification is on") {
		t.Fatalf("confirm: %d\n%s", on.Status, on.text())
	}
	// The recovery codes are shown this once, and each works once at
	// sign-in in place of an app's code.
	codes := regexp.MustCompile(`<code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code>`).FindAllStringSubmatch(on.Body, -1)
	if len(codes) != 10 {
		t.Fatalf("the confirmation shows %d recovery codes, expected 10:\n%s", len(codes), on.Body)
	}
	if st := b.get(acctPath("/settings")); strings.Contains(st.Body, codes[0][1]) {
		t.Errorf("the account page shows a recovery code again")
	}
	step, env := s.browser().acctAPI(http.MethodPost, "/sessions/login/password",
		map[string]any{"email": "ann.smith@example.com", "password": testPassword, "state": acctState()})
	data, _ := env["data"].(map[string]any)
	if step != http.StatusOK || data == nil {
		t.Fatalf("login for a recovery code: %d %v", step, env)
	}
	status, used := s.browser().acctAPI(http.MethodPost, "/sessions/login/totp",
		map[string]any{"code": data["code"], "state": data["state"], "recoveryCode": codes[0][1]})
	if status != http.StatusOK || used["t"] != "session" {
		t.Fatalf("a recovery code shown on the page does not sign in: %d %v", status, used)
	}

	// The next password login asks for TOTP.
	status, env = s.browser().acctAPI(http.MethodPost, "/sessions/login/password",
		map[string]any{"email": "ann.smith@example.com", "password": testPassword, "state": acctState()})
	if status != http.StatusOK || env["t"] != "step" {
		t.Fatalf("login after TOTP: %d %v", status, env)
	}

	// With TOTP on, a code of the app is a proof too.
	s.clock.Advance(totp.Period * time.Second)
	ask := b.submit(b.acctSettingsPage(), acctPath("/settings/emails"), map[string]string{"email": "ann.totp@example.org"})
	if ask.Status != http.StatusOK || !strings.Contains(ask.Body, `name="code"`) {
		t.Fatalf("confirm page with TOTP on: %d\n%s", ask.Status, ask.text())
	}
	code2, err := otptotp.GenerateCode(secret, s.clock.Now())
	must(t, err)
	if res := b.submit(ask, acctPath("/settings/emails"), map[string]string{"code": code2}); res.Status != http.StatusSeeOther {
		t.Fatalf("add an address with a TOTP code: %d\n%s", res.Status, res.text())
	}
	// The same code again (its step is used up) is refused on its field.
	ask = b.submit(b.acctSettingsPage(), acctPath("/settings/emails"), map[string]string{"email": "ann.again@example.org"})
	if res := b.submit(ask, acctPath("/settings/emails"), map[string]string{"code": code2}); res.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(res.Body, `href="#field-code"`) {
		t.Fatalf("a used TOTP code: %d\n%s", res.Status, res.text())
	}

	// Off, with the password.
	off := b.get(acctPath("/settings/totp/remove"))
	if off.Status != http.StatusOK || off.form(acctPath("/settings/totp/remove")) == nil || !strings.Contains(off.Body, `name="code"`) {
		t.Fatalf("remove page: %d\n%s", off.Status, off.text())
	}
	bad := b.submit(off, acctPath("/settings/totp/remove"), map[string]string{"password": "wrong password"})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, `aria-invalid="true"`) {
		t.Fatalf("remove with a wrong password: %d\n%s", bad.Status, bad.text())
	}
	gone := b.submit(bad, acctPath("/settings/totp/remove"), map[string]string{"password": testPassword})
	if gone.Status != http.StatusSeeOther || !strings.Contains(b.follow(gone).text(), "Two-step verification is off") {
		t.Fatalf("remove: %d\n%s", gone.Status, gone.text())
	}
	acctCheckLogs(t, s, testPassword, secret, code)
}
