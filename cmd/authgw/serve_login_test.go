package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/notify/notifytest"
	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
)

// bootstrapFor runs authgw bootstrap with vars (the data directory and
// database) and returns what it printed.
func bootstrapFor(t *testing.T, vars map[string]string) clitest.Creds {
	t.Helper()
	out := mustRun(t, invocation{args: []string{"bootstrap", "--org", "Acme", "--email", clitest.LoginEmail, "--name", "Ada",
		"--password-stdin"}, stdin: clitest.LoginPassword + "\n", vars: vars, now: time.Now()})
	var creds clitest.Creds
	if err := json.Unmarshal([]byte(out), &creds); err != nil {
		t.Fatalf("bootstrap output %q: %v", out, err)
	}
	return creds
}

var loginCodeLine = regexp.MustCompile(`Your login code is: (\S+)`)

// waitLoginCode waits for the first .eml file in dir and returns the
// login code it carries and its recipient.
func waitLoginCode(t *testing.T, dir string) (code, to string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(files) > 0 {
			h, body := notifytest.ReadEML(t, files[0])
			m := loginCodeLine.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("%s has no login code: %q", files[0], body)
			}
			return m[1], h.Get("To")
		}
		if time.Now().After(deadline) {
			t.Fatalf("no .eml file appeared in %s within 5 s", dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServe_login runs the accounts service in authgw serve on the
// embedded defaults: a password login through the gateway, a call with
// the session's token, an email login with the code read from the file
// notifier's .eml, and a logout after which the ended session's token is
// refused while the other session's still works.
func TestServe_login(t *testing.T) {
	dir := t.TempDir()
	creds := bootstrapFor(t, map[string]string{envDataDir: dir})
	gatewayURL, _, _, _, stdout := startServe(t, dir)
	if !strings.Contains(stdout.String(), "/accounts/v1/sessions/login/password") {
		t.Errorf("the start lines give no login hint: %q", stdout.String())
	}
	info, err := os.Stat(filepath.Join(dir, totpKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 || info.Size() != 65 {
		t.Errorf("first start: totp-key = %v %v, want a 0600 file of 64 hex digits and a newline", info, err)
	}
	a := clitest.NewAccountsCaller(t, gatewayURL, creds)

	byPassword := a.LoginWithPassword()
	if byPassword.UserID != creds.UserID {
		t.Errorf("password login: user %q, want the bootstrapped %q", byPassword.UserID, creds.UserID)
	}
	if status, code := a.CurrentUser(byPassword.Macaroons["GET"]); status != http.StatusOK {
		t.Fatalf("GET /users/current with the session's GET token = %d %s, want 200", status, code)
	}
	if status, code := a.CurrentUser(""); status != http.StatusUnauthorized {
		t.Errorf("GET /users/current without a token = %d %s, want 401", status, code)
	}

	// The email step answers at once and mails the code in the background.
	state := clitest.NewState(t)
	r := a.Do("POST", "/accounts/v1/sessions/login/email", "", map[string]any{
		"data": map[string]string{"email": clitest.LoginEmail, "state": state}})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"step":"code"`) {
		t.Fatalf("email step = %d %s, want 200 step code", r.Status, r.Body)
	}
	code, to := waitLoginCode(t, filepath.Join(dir, mailDir))
	if to != clitest.LoginEmail {
		t.Errorf("the login code went to %q, want %q", to, clitest.LoginEmail)
	}
	byEmail := a.ExpectSession(a.Do("POST", "/accounts/v1/sessions/login/code", "", map[string]any{
		"data": map[string]string{"code": code, "state": state}}), "code")
	if byEmail.SessionID == byPassword.SessionID {
		t.Fatal("two logins share one session")
	}

	a.Logout(byPassword.Macaroons["POST"])
	// The gateway that served the logout refuses at once; the limit is
	// the poll interval (1 s) with room for a slow machine.
	took, refused := a.WaitRefused(byPassword.Macaroons["GET"], time.Now(), 3*time.Second)
	if !refused {
		t.Fatalf("the logged-out session's token still works %v after logout", took)
	}
	t.Logf("the logged-out token was refused %v after logout", took)
	if status, code := a.CurrentUser(byEmail.Macaroons["GET"]); status != http.StatusOK {
		t.Errorf("the other session's token after the logout = %d %s, want 200", status, code)
	}
}

// TestServe_newClientWorksAtOnce: a client created through the accounts
// service can be used at the same gateway in the very next request, and
// a deleted one is refused in the very next request; serve reloads its
// snapshot before answering the change (the README's walk-through does
// exactly this). Without Redis: the reload must not depend on it.
func TestServe_newClientWorksAtOnce(t *testing.T) {
	dir := t.TempDir()
	creds := bootstrapFor(t, map[string]string{envDataDir: dir})
	gatewayURL, _, _, _, _ := startServe(t, dir)
	admin := clitest.NewAccountsCaller(t, gatewayURL, creds)
	s := admin.LoginWithPassword()
	path := "/accounts/v1/organizations/" + creds.OrganizationID + "/clients"
	code := func(r clitest.Reply) string {
		var out struct{ Error struct{ Code string } }
		json.Unmarshal(r.Body, &out)
		return out.Error.Code
	}
	for i := range 10 {
		r := admin.Do("POST", path, s.Macaroons["POST"], map[string]any{"data": map[string]any{"type": "clients", "name": "app " + strconv.Itoa(i)}})
		var created struct{ Data struct{ ID, Secret string } }
		if err := json.Unmarshal(r.Body, &created); err != nil || r.Status != http.StatusCreated {
			t.Fatalf("create a client: %d %s", r.Status, r.Body)
		}
		app := clitest.NewAccountsCaller(t, gatewayURL, clitest.Creds{ClientID: created.Data.ID, ClientSecret: created.Data.Secret})
		// Known client, no token: 401 TOKEN-MISSING, not UNKNOWN-CLIENT.
		if r := app.Do("GET", "/accounts/v1/users/current", "", nil); code(r) == "UNKNOWN-CLIENT" || r.Status != http.StatusUnauthorized {
			t.Fatalf("client %d right after its creation: %d %s", i, r.Status, r.Body)
		}
		// Deleting a client is under a step-up in the example policies.
		if r := admin.Do("DELETE", path+"/"+created.Data.ID, admin.StepUp(s, "DELETE"), nil); r.Status != http.StatusOK {
			t.Fatalf("delete the client: %d %s", r.Status, r.Body)
		}
		if r := app.Do("GET", "/accounts/v1/users/current", "", nil); code(r) != "UNKNOWN-CLIENT" {
			t.Fatalf("client %d right after its deletion: %d %s, want 401 UNKNOWN-CLIENT", i, r.Status, r.Body)
		}
	}
}

// TestServe_productName: --product-name reaches the mails, which are
// multipart (plain text and HTML) with the code on its line and its
// lifetime in words; the config file takes the setting too.
func TestServe_productName(t *testing.T) {
	if !slices.Contains(configKeys, productNameSetting) {
		t.Errorf("the config file does not take %s", productNameSetting)
	}
	dir := t.TempDir()
	creds := bootstrapFor(t, map[string]string{envDataDir: dir})
	gatewayURL, _, _, _, _ := startServe(t, dir, "--product-name", "Example Cloud")
	a := clitest.NewAccountsCaller(t, gatewayURL, creds)

	r := a.Do("POST", "/accounts/v1/sessions/login/email", "", map[string]any{
		"data": map[string]string{"email": clitest.LoginEmail, "state": clitest.NewState(t)}})
	if r.Status != http.StatusOK {
		t.Fatalf("email step = %d %s, want 200", r.Status, r.Body)
	}
	code, _ := waitLoginCode(t, filepath.Join(dir, mailDir))
	files, _ := filepath.Glob(filepath.Join(dir, mailDir, "*.eml"))
	m := notifytest.ReadMail(t, files[0])
	for _, want := range []string{"Your login code is: " + code, "It expires in 10 minutes.", "Example Cloud"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("plain part lacks %q:\n%s", want, m.Text)
		}
	}
	if !strings.Contains(m.HTML, code) || !strings.Contains(m.HTML, "Example Cloud") {
		t.Errorf("HTML part lacks the code or the product name:\n%s", m.HTML)
	}
}
