package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// wikiPolicy grants the bootstrapped sysadmin GET on the wiki API.
const wikiPolicy = `{"name":"wiki","appliesTo":{"userRoles":["sysadmin"]},"expires":300,
 "scopes":[{"name":"wiki: read","routes":["/wiki/v1/**"],"methods":["GET"]}]}`

// reloadServe is a serve on a fresh data directory with a wiki API
// registered (its backend keeps the last X-Auth-Info it got), polling its
// files every 100 ms (or only on SIGHUP with interval "0").
type reloadServe struct {
	t                 *testing.T
	dir               string
	gatewayURL, admin string
	a                 clitest.AccountsCaller

	mu       sync.Mutex
	lastInfo string
}

func startReloadServe(t *testing.T, interval string) *reloadServe {
	t.Helper()
	s := &reloadServe{t: t, dir: t.TempDir()}
	vars := map[string]string{envDataDir: s.dir}
	creds := bootstrapFor(t, vars)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.lastInfo = r.Header.Get(requestinfo.HeaderInfo)
		s.mu.Unlock()
		io.WriteString(w, "wiki")
	}))
	t.Cleanup(backend.Close)
	mustRun(t, invocation{args: []string{"apis", "add", "--name", "wiki", "--version", "1", "--url", backend.URL}, vars: vars})
	s.gatewayURL, s.admin, _, _, _ = startServe(t, s.dir, "--reload-interval", interval, "--demo-listen", "off")
	s.a = clitest.NewAccountsCaller(t, s.gatewayURL, creds)
	return s
}

// wiki is GET /wiki/v1/page with the token: the status.
func (s *reloadServe) wiki(token string) int {
	s.t.Helper()
	return s.a.Do("GET", "/wiki/v1/page", token, nil).Status
}

// readyz returns /readyz's body.
func (s *reloadServe) readyz() (status string, degraded []string, settings []gateway.SettingStatus) {
	s.t.Helper()
	resp, err := http.Get(s.admin + "/readyz")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status   string
		Degraded []string
		Settings []gateway.SettingStatus
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
		s.t.Fatalf("/readyz = %d, want 200 with JSON", resp.StatusCode)
	}
	return body.Status, body.Degraded, body.Settings
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// refresh is POST /sessions/refresh: the new GET token.
func (s *reloadServe) refresh(session clitest.Session) string {
	s.t.Helper()
	r := s.a.Do("POST", "/accounts/v1/sessions/refresh", "", map[string]any{"data": map[string]string{"t": "refresh-tokens", "token": session.Refresh}})
	var out struct{ Data clitest.Session }
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &out) != nil || out.Data.Macaroons["GET"] == "" {
		s.t.Fatalf("refresh = %d %s", r.Status, r.Body)
	}
	return out.Data.Macaroons["GET"]
}

func writeFile(t *testing.T, path, contents string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(contents), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReload_policies: a policy added while serving applies to the next
// login and the next refresh (tokens already minted keep their scopes);
// a broken policy file (bad JSON, then a schema error) does not take the
// gateway down: the last good policies keep applying and /readyz says
// degraded (200) naming --policies, until the file is fixed.
func TestReload_policies(t *testing.T) {
	s := startReloadServe(t, "100ms")
	before := s.a.LoginWithPassword()
	if got := s.wiki(before.Macaroons["GET"]); got != http.StatusForbidden {
		t.Fatalf("wiki before its policy = %d, want 403", got)
	}
	wiki := filepath.Join(s.dir, examplePoliciesDir, "wiki.json")
	writeFile(t, wiki, wikiPolicy)
	took := waitFor(t, "a login minting from the new policy", func() bool {
		return s.wiki(s.a.LoginWithPassword().Macaroons["GET"]) == http.StatusOK
	})
	t.Logf("the new policy applied %v after the file was written", took)
	if got := s.wiki(before.Macaroons["GET"]); got != http.StatusForbidden {
		t.Errorf("a token minted before the reload = %d on wiki, want 403 (its scopes are its own)", got)
	}
	if got := s.wiki(s.refresh(before)); got != http.StatusOK {
		t.Errorf("a token refreshed after the reload = %d on wiki, want 200", got)
	}
	if status, _, settings := s.readyz(); status != "ready" || len(settings) != 4 {
		t.Errorf("/readyz after a good reload = %s %+v, want ready with 4 settings", status, settings)
	}

	for _, broken := range []struct{ name, contents string }{
		{"bad JSON", `{"name":"wiki",`},
		{"schema error", `{"name":"wiki","appliesTo":{"userRoles":["sysadmin"]},"expires":300,"scopes":[{"name":"x","routes":["/wiki/v1/**"],"methods":["FETCH"]}]}`},
	} {
		t.Run(broken.name, func(t *testing.T) {
			writeFile(t, wiki, broken.contents)
			var degraded []string
			waitFor(t, "/readyz naming the broken policy", func() bool {
				var status string
				status, degraded, _ = s.readyz()
				return status == "degraded"
			})
			if !strings.Contains(strings.Join(degraded, " "), "--policies") {
				t.Errorf("/readyz degraded = %q, want it to name --policies", degraded)
			}
			_, _, settings := s.readyz()
			for _, st := range settings {
				if st.Setting == "--policies" && (st.Error == "" || st.FailedAt.IsZero()) {
					t.Errorf("/readyz --policies = %+v, want an error and when", st)
				}
			}
			if got := s.wiki(s.a.LoginWithPassword().Macaroons["GET"]); got != http.StatusOK {
				t.Errorf("a login with a broken policy file: wiki = %d, want 200 (the last good policies)", got)
			}
			writeFile(t, wiki, wikiPolicy)
			waitFor(t, "/readyz ready again once the file is fixed", func() bool {
				status, _, _ := s.readyz()
				return status == "ready"
			})
		})
	}
}

// TestReload_keyRing: a key added in front of the ring (authgw keygen
// --add) mints and verifies at once; a key removed from the ring revokes
// its tokens; a ring sharing no key with the recorded ones is refused
// (the last good ring keeps working, /readyz names --keys). The reload
// here comes from SIGHUP alone (--reload-interval 0).
func TestReload_keyRing(t *testing.T) {
	s := startReloadServe(t, "0")
	writeFile(t, filepath.Join(s.dir, examplePoliciesDir, "wiki.json"), wikiPolicy)
	hangup := func() {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	hangup()
	var old clitest.Session
	waitFor(t, "SIGHUP reloading the policies", func() bool {
		old = s.a.LoginWithPassword()
		return s.wiki(old.Macaroons["GET"]) == http.StatusOK
	})

	keys := filepath.Join(s.dir, keysFile)
	mustRun(t, invocation{args: []string{"keygen", "--id", "k2", "--add", keys, "--out", keys}})
	hangup()
	var fresh clitest.Session
	waitFor(t, "a token minted with the added key", func() bool {
		fresh = s.a.LoginWithPassword()
		return tokenKeyID(t, fresh.Macaroons["GET"]) == "k2"
	})
	for name, tok := range map[string]string{"k1's": old.Macaroons["GET"], "k2's": fresh.Macaroons["GET"]} {
		if got := s.wiki(tok); got != http.StatusOK {
			t.Errorf("%s token after adding k2 = %d, want 200", name, got)
		}
	}
	// The accounts service opens k2's step-up tokens too (StepUp fails
	// the test otherwise).
	s.a.StepUp(fresh, "DELETE")

	// Retire k1: only k2 left.
	b, err := os.ReadFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(b, &raw); err != nil || len(raw.Keys) != 2 || raw.Keys[1]["id"] != "k1" {
		t.Fatalf("the ring after keygen --add: %v, want k2 then k1", err)
	}
	raw.Keys = raw.Keys[:1]
	if b, err = json.Marshal(raw); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keys, b, 0o600); err != nil {
		t.Fatal(err)
	}
	hangup()
	waitFor(t, "k1's token refused", func() bool { return s.wiki(old.Macaroons["GET"]) == http.StatusUnauthorized })
	if got := s.wiki(fresh.Macaroons["GET"]); got != http.StatusOK {
		t.Errorf("k2's token after retiring k1 = %d, want 200", got)
	}

	// A ring of a stranger's key is not a rotation: refused.
	stranger, err := mint.GenerateKeyRing("x1", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	writeKeyRing(t, keys, stranger)
	hangup()
	var degraded []string
	waitFor(t, "/readyz naming --keys", func() bool {
		var status string
		status, degraded, _ = s.readyz()
		return status == "degraded"
	})
	if !strings.Contains(strings.Join(degraded, " "), "--keys") {
		t.Errorf("/readyz degraded = %q, want --keys named", degraded)
	}
	if got := s.wiki(s.a.LoginWithPassword().Macaroons["GET"]); got != http.StatusOK {
		t.Errorf("a login after a refused ring: wiki = %d, want 200 (k2 still mints)", got)
	}
}

// tokenKeyID is the ID of the key that minted token.
func tokenKeyID(t *testing.T, token string) string {
	t.Helper()
	m, err := mint.Decode(token)
	if err != nil {
		t.Fatal(err)
	}
	id, err := mint.ParseIdentifier(m.Id())
	if err != nil {
		t.Fatal(err)
	}
	return id.KeyID
}

func writeKeyRing(t *testing.T, path string, ring *mint.KeyRing) {
	t.Helper()
	b, err := ring.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReload_infoKey: authgw keys rotate-info while serving: within the
// poll the backends get X-Auth-Info signed with the new key (its kid) and
// the JWKS publishes both keys.
func TestReload_infoKey(t *testing.T) {
	s := startReloadServe(t, "100ms")
	writeFile(t, filepath.Join(s.dir, examplePoliciesDir, "wiki.json"), wikiPolicy)
	kid := func() string {
		s.mu.Lock()
		defer s.mu.Unlock()
		head, _, _ := strings.Cut(s.lastInfo, ".")
		b, _ := base64.RawURLEncoding.DecodeString(head)
		var h struct{ Kid string }
		_ = json.Unmarshal(b, &h)
		return h.Kid
	}
	var session clitest.Session
	waitFor(t, "the wiki policy", func() bool {
		session = s.a.LoginWithPassword()
		return s.wiki(session.Macaroons["GET"]) == http.StatusOK
	})
	before := kid()
	if before == "" {
		t.Fatal("the backend got no X-Auth-Info")
	}
	mustRun(t, invocation{args: []string{"keys", "rotate-info"}, vars: map[string]string{envDataDir: s.dir}})
	took := waitFor(t, "X-Auth-Info signed with the new key", func() bool {
		return s.wiki(session.Macaroons["GET"]) == http.StatusOK && kid() != before
	})
	t.Logf("the rotated request-info key signed %v after the rotation", took)
	resp, err := http.Get(s.admin + gateway.InfoKeysPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct{ Keys []struct{ Kid string } }
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 2 || jwks.Keys[0].Kid != kid() || jwks.Keys[1].Kid != before {
		t.Errorf("JWKS after the rotation = %+v, want the new key %s then the old %s", jwks.Keys, kid(), before)
	}
}

// TestReload_totpKey: a TOTP key ring adding a key to the one in use is
// read while serving (/readyz's --totp-key loadedAt moves, no error); a
// key unrelated to the recorded one is refused and named by /readyz.
func TestReload_totpKey(t *testing.T) {
	s := startReloadServe(t, "100ms")
	path := filepath.Join(s.dir, totpKeyFile)
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	totpStatus := func() gateway.SettingStatus {
		_, _, settings := s.readyz()
		for _, st := range settings {
			if st.Setting == "--totp-key" {
				return st
			}
		}
		t.Fatalf("/readyz lists no --totp-key: %+v", settings)
		return gateway.SettingStatus{}
	}
	start := totpStatus().LoadedAt
	fresh := strings.Repeat("ab", 32)
	writeFile(t, path, `{"keys":[{"id":"t2","secret":"`+fresh+`"},{"id":"0","secret":"`+strings.TrimSpace(string(old))+`"}]}`)
	waitFor(t, "the rotated TOTP ring loaded", func() bool {
		st := totpStatus()
		return st.Error == "" && st.LoadedAt.After(start)
	})
	writeFile(t, path, strings.Repeat("cd", 32)+"\n")
	waitFor(t, "a stranger's TOTP key refused", func() bool { return totpStatus().Error != "" })
	if _, degraded, _ := s.readyz(); !strings.Contains(strings.Join(degraded, " "), "--totp-key") {
		t.Errorf("/readyz degraded = %q, want --totp-key named", degraded)
	}
}
