package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/elf"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/gateway/gatewaytest"
	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// The production guide (README "Production") and the files it ships in
// testdata/production, run for real: two `authgw serve` instances on one
// MariaDB database and one Redis, behind nginx with the shipped
// configuration (TestProductionLayout); key rotation and server-ID
// rotation as the guide describes them (TestKeyRotation,
// TestServerIDRotation); the systemd unit, the container file and the
// environment file checked as far as this machine can.

// productionDir holds the files the guide ships.
const productionDir = "../../../testdata/production"

// TestProductionLayout runs the layout of the guide: a database user with
// the grants the guide lists, the shared secrets made with the guide's
// commands, migrate and bootstrap, two instances configured from
// env.example's variables, an API added with --redis, and nginx with
// nginx-lb.conf.tmpl in front. Through nginx it checks: a login's six
// Set-Cookie headers arrive intact (and nginx's defaults would break
// them), the token cookies are accepted back, the client IP is the real
// client's and cannot be forged with X-Forwarded-For, uploads stream,
// WebSockets pass, requests reach both instances, a logout is refused at
// both, and with one instance stopped requests keep succeeding. Then a
// backup is restored into a new database and served, and the guide's SQL
// that ends every session is run.
func TestProductionLayout(t *testing.T) {
	redis := dbtest.RedisURL(t)
	adminDSN := dbtest.MariaDBDSN(t)
	gatewaytest.NginxBinary(t) // skips (fails under CI) before any set-up
	ctx := context.Background()

	appDSN := databaseUserWithGuideGrants(t, adminDSN)
	secrets := makeSharedSecrets(t, "authgw-prod-test")

	// Before any instance: the schema, then the first sysadmin.
	dbVars := map[string]string{envDatabase: appDSN}
	out := mustRun(t, invocation{args: []string{"migrate", "up"}, vars: dbVars})
	if !strings.Contains(out, "applied 0001") {
		t.Errorf("migrate up: %q, want the first migration applied", out)
	}
	out = mustRun(t, invocation{args: []string{"migrate", "status"}, vars: dbVars})
	if !strings.Contains(out, "schema at version") || strings.Contains(out, "pending") {
		t.Errorf("migrate status after up: %q", out)
	}
	creds := bootstrapFor(t, dbVars)

	backend := newRecordingBackend(t, secrets.publicKey)

	env := envExample(t)
	instanceVars := func(dataDir string) map[string]string {
		return env.with(t, map[string]string{
			"AUTHGW_LISTEN":          "127.0.0.1:0",
			"AUTHGW_ADMIN_LISTEN":    "127.0.0.1:0",
			"AUTHGW_DATABASE":        appDSN,
			"AUTHGW_REDIS":           redis,
			"AUTHGW_SERVER_ID":       secrets.serverID,
			"AUTHGW_KEYS":            secrets.keys,
			"AUTHGW_TOTP_KEY":        secrets.totpKey,
			"AUTHGW_INFO_KEY":        secrets.infoKey,
			"AUTHGW_POLICIES":        secrets.policies,
			"AUTHGW_DATA_DIR":        dataDir,
			"AUTHGW_TRUSTED_PROXIES": "127.0.0.1/32",
			"AUTHGW_ALLOWED_ORIGINS": "",
			"AUTHGW_SMTP":            "",
			"AUTHGW_COOKIE_SECURE":   "true",
			"AUTHGW_DEMO_LISTEN":     "off",
		})
	}
	a := startProdInstance(t, "A", instanceVars(t.TempDir()))
	b := startProdInstance(t, "B", instanceVars(t.TempDir()))

	cert := newTestCert(t)
	lb := startLB(t, lbSettings{ServerName: "127.0.0.1", Cert: cert.certFile, Key: cert.keyFile,
		Instances: []string{a.addr, b.addr}}, nil)
	h1, h2, from2 := lbClients(t, cert.pool)
	basic := "Basic " + prodB64(creds.ClientID+":"+creds.ClientSecret)

	// Log in through nginx: a Set-Cookie header per token, step-up
	// tokens included, and the refresh token's, all intact.
	loginReply, s1 := lbLogin(t, h2, lb.base, basic)
	if loginReply.proto != 2 {
		t.Errorf("the login came back over HTTP/%d, want HTTP/2 from nginx", loginReply.proto)
	}
	cookieBytes := expectLoginCookies(t, loginReply, s1)
	t.Logf("login through nginx: %d bytes of Set-Cookie for %d tokens, %d step-up tokens and the refresh token (nginx's default header buffer: 4 KiB)",
		cookieBytes, len(s1.Macaroons), len(s1.StepUpMacaroons))
	if cookieBytes < 16<<10 {
		t.Errorf("the login's Set-Cookie headers are %d bytes; the test policies should make them over 16 KiB", cookieBytes)
	}

	// The API, added with --redis: both instances serve it at once.
	mustRun(t, invocation{args: []string{"apis", "add", "--name", "demo", "--version", "1", "--url", backend.url(),
		"--redis", redis}, vars: dbVars})
	auth := func(method string) string { return basic + ", Macaroon " + s1.Macaroons[method] }
	for _, in := range []*prodInstance{a, b} {
		prodWaitFor(t, in.name+" serves the new API", 3*time.Second, func() bool {
			return prodSend(t, http.DefaultClient, "GET", in.url+"/demo/v1/ready", prodHeader("Authorization", auth("GET")), nil).status == http.StatusOK
		})
	}

	t.Run("the token cookies come back through nginx", func(t *testing.T) {
		cookie := tokenCookieHeader(s1) + "; theme=dark"
		for name, c := range map[string]*http.Client{"HTTP/1.1": h1, "HTTP/2": h2} {
			r := prodSend(t, c, "GET", lb.base+"/demo/v1/reports/section-07/q3", prodHeader("Authorization", basic, "Cookie", cookie), nil)
			rec := expectRecord(t, r)
			if rec.Cookie != "theme=dark" {
				t.Errorf("%s: the backend got the cookies %q, want only theme=dark (token cookies stripped)", name, rec.Cookie)
			}
			if rec.User != creds.UserID {
				t.Errorf("%s: the backend's request info names user %q, want %q", name, rec.User, creds.UserID)
			}
		}
		t.Logf("a browser's Cookie header with the 5 token cookies: %d bytes (nginx's default limit per header line: 8 KiB)", len(cookie))
	})

	t.Run("nginx's default buffers would break logins and cookies", func(t *testing.T) {
		defaults := startLB(t, lbSettings{ServerName: "127.0.0.1", Cert: cert.certFile, Key: cert.keyFile,
			Instances: []string{a.addr, b.addr}}, func(conf string) string {
			return removeLines(t, conf, "proxy_buffer_size ", "large_client_header_buffers ")
		})
		r, _ := lbLoginRaw(t, h1, defaults.base, basic)
		if r.status != http.StatusBadGateway {
			t.Errorf("login without proxy_buffer_size: %d, want 502 (upstream sent too big header)", r.status)
		}
		r = prodSend(t, h1, "GET", defaults.base+"/demo/v1/reports/section-07/q3", prodHeader("Authorization", basic, "Cookie", tokenCookieHeader(s1)), nil)
		if r.status != http.StatusBadRequest {
			t.Errorf("token cookies without large_client_header_buffers: %d, want 400", r.status)
		}
	})

	t.Run("the client IP is the real client's", func(t *testing.T) {
		// X-Forwarded-For from the client is replaced by nginx.
		r := prodSend(t, h2, "GET", lb.base+"/demo/v1/whoami", prodHeader("Authorization", auth("GET"), "X-Forwarded-For", "6.6.6.6"), nil)
		rec := expectRecord(t, r)
		if rec.XFF != "127.0.0.1" || rec.IP != "127.0.0.1" {
			t.Errorf("with a forged X-Forwarded-For: the backend got X-Forwarded-For %q and request-info ip %q, want 127.0.0.1 for both", rec.XFF, rec.IP)
		}
		if rec.Proto != "https" {
			t.Errorf("the backend got X-Forwarded-Proto %q, want https (TLS ends at nginx)", rec.Proto)
		}

		// Restrictions, added through nginx with the sysadmin's tokens:
		// partner may call only from 6.6.6.6, the system client only
		// from 127.0.0.1.
		org := creds.OrganizationID
		partner := createClient(t, h2, lb.base, auth("POST"), org, "partner")
		addIPRestriction(t, h2, lb.base, auth("POST"), org, partner.id, "6.6.6.6/32")
		addIPRestriction(t, h2, lb.base, auth("POST"), org, creds.ClientID, "127.0.0.1/32")
		partnerBasic := "Basic " + prodB64(partner.id+":"+partner.secret)
		for _, in := range []*prodInstance{a, b} {
			prodWaitFor(t, in.name+" enforces the new restrictions", 3*time.Second, func() bool {
				p := prodSend(t, http.DefaultClient, "GET", in.url+"/demo/v1/x", prodHeader("Authorization", partnerBasic), nil)
				s := prodSend(t, http.DefaultClient, "GET", in.url+"/demo/v1/x", prodHeader("Authorization", basic, "X-Forwarded-For", "127.0.0.2"), nil)
				return p.code() == "ACCESS-RESTRICTION-IP" && s.code() == "ACCESS-RESTRICTION-IP"
			})
		}
		for i := range 4 { // round robin: both instances answer
			r := prodSend(t, h2, "GET", lb.base+"/demo/v1/whoami", prodHeader("Authorization", auth("GET"), "X-Forwarded-For", "6.6.6.6"), nil)
			if rec := expectRecord(t, r); rec.IP != "127.0.0.1" {
				t.Errorf("request %d: request-info ip %q, want 127.0.0.1", i, rec.IP)
			}
			r = prodSend(t, h2, "GET", lb.base+"/demo/v1/whoami", prodHeader("Authorization", partnerBasic, "X-Forwarded-For", "6.6.6.6"), nil)
			if r.status != http.StatusUnauthorized || r.code() != "ACCESS-RESTRICTION-IP" {
				t.Errorf("request %d: the 6.6.6.6-only client with a forged X-Forwarded-For: 6.6.6.6 = %d %s, want 401 ACCESS-RESTRICTION-IP", i, r.status, r.code())
			}
			if from2 != nil {
				// From 127.0.0.2, nginx's peer is still 127.0.0.1: authgw
				// must judge the client, not nginx.
				r = prodSend(t, from2, "GET", lb.base+"/demo/v1/whoami", prodHeader("Authorization", auth("GET")), nil)
				if r.status != http.StatusUnauthorized || r.code() != "ACCESS-RESTRICTION-IP" {
					t.Errorf("request %d: the 127.0.0.1-only client calling from 127.0.0.2 = %d %s, want 401 ACCESS-RESTRICTION-IP", i, r.status, r.code())
				}
			}
		}
		// Why instances must not be reachable directly: they trust
		// X-Forwarded-For from 127.0.0.1, and here the test is there.
		r = prodSend(t, http.DefaultClient, "GET", a.url+"/demo/v1/whoami", prodHeader("Authorization", partnerBasic, "X-Forwarded-For", "6.6.6.6"), nil)
		if r.code() == "ACCESS-RESTRICTION-IP" {
			t.Errorf("direct request from a trusted address with X-Forwarded-For 6.6.6.6: %d %s, want the restriction passed (the forged address believed)", r.status, r.code())
		}
	})

	t.Run("bodies stream; authgw keeps its own limit", func(t *testing.T) {
		const size = 8 << 20
		r := prodSend(t, h1, "POST", lb.base+"/demo/v1/upload", prodHeader("Authorization", auth("POST"), "Content-Type", "application/octet-stream"),
			bytes.Repeat([]byte("x"), size))
		if rec := expectRecord(t, r); rec.BodyBytes != size {
			t.Errorf("the backend read %d bytes of an 8 MiB upload, want all", rec.BodyBytes)
		}
		body := `{"data":{"type":"organizations","name":"` + strings.Repeat("x", 2<<20) + `"}}`
		r = prodSend(t, h1, "POST", lb.base+"/accounts/v1/organizations", prodHeader("Authorization", auth("POST"), "Content-Type", "application/json"), []byte(body))
		if r.status != http.StatusRequestEntityTooLarge || !bytes.Contains(r.body, []byte(`"t":"error"`)) {
			t.Errorf("a 2 MiB accounts body = %d %.100s, want authgw's 413 envelope", r.status, r.body)
		}
	})

	t.Run("WebSocket upgrade", func(t *testing.T) {
		expectWebSocketEcho(t, lb.addr, cert.pool, auth("GET"))
	})

	t.Run("requests reach both instances", func(t *testing.T) {
		for range 10 {
			expectRecord(t, prodSend(t, h2, "GET", lb.base+"/demo/v1/whoami", prodHeader("Authorization", auth("GET")), nil))
		}
		for _, in := range []*prodInstance{a, b} {
			if n := demoRequests(t, in); n == 0 {
				t.Errorf("instance %s counted no demo request in /metrics", in.name)
			}
		}
		log, _ := os.ReadFile(lb.accessLog)
		for _, in := range []*prodInstance{a, b} {
			if !bytes.Contains(log, []byte("upstream="+in.addr)) {
				t.Errorf("nginx's access log names no request answered by %s (%s)", in.name, in.addr)
			}
		}
		t.Logf("demo requests counted: A %d, B %d", demoRequests(t, a), demoRequests(t, b))
	})

	t.Run("logout through nginx is refused at both instances", func(t *testing.T) {
		r, s2 := lbLogin(t, h2, lb.base, basic)
		expectLoginCookies(t, r, s2)
		// A browser's logout: the cookies (the refresh cookie too: its
		// path is /accounts/v1/sessions) and its Origin, which must
		// match the Host nginx passes on.
		cookie := tokenCookieHeader(s2) + "; __Secure-authgw-refresh=" + s2.Refresh
		r = prodSend(t, h2, "POST", lb.base+"/accounts/v1/sessions/logout", prodHeader("Authorization", basic, "Cookie", cookie, "Origin", lb.base), nil)
		if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"null"`)) {
			t.Fatalf("logout with cookies through nginx = %d %s, want 200 null", r.status, r.body)
		}
		if n := len(r.header.Values("Set-Cookie")); n < 6 {
			t.Errorf("logout cleared %d cookies, want the 5 token cookies and the refresh cookie", n)
		}
		start := time.Now()
		for _, in := range []*prodInstance{a, b} {
			took, refused := clitest.NewAccountsCaller(t, in.url, creds).WaitRefused(s2.Macaroons["GET"], start, 2*time.Second)
			if !refused {
				t.Errorf("instance %s still accepts the logged-out token %v after the logout", in.name, took)
			}
		}
		if status, code := clitest.NewAccountsCaller(t, a.url, creds).CurrentUser(s1.Macaroons["GET"]); status != http.StatusOK {
			t.Errorf("the other session after the logout = %d %s, want 200", status, code)
		}
	})

	t.Run("one instance stops, requests keep succeeding", func(t *testing.T) {
		var ok, failed atomic.Int64
		var firstFailure atomic.Value
		done := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := h2
				if w%2 == 1 {
					c = h1
				}
				for {
					select {
					case <-done:
						return
					default:
					}
					r, err := prodSendErr(c, "GET", lb.base+"/demo/v1/whoami", prodHeader("Authorization", auth("GET")), nil)
					if err == nil && r.status == http.StatusOK {
						ok.Add(1)
						continue
					}
					failed.Add(1)
					if err == nil {
						err = fmt.Errorf("%d %s", r.status, r.body)
					}
					firstFailure.CompareAndSwap(nil, err.Error())
				}
			}()
		}
		time.Sleep(300 * time.Millisecond)
		a.stop()
		select {
		case code := <-a.exited:
			if code != exitOK {
				t.Errorf("instance A exited with %d", code)
			}
		case <-time.After(35 * time.Second):
			t.Fatal("instance A did not stop")
		}
		time.Sleep(700 * time.Millisecond)
		close(done)
		wg.Wait()
		t.Logf("while A stopped: %d requests succeeded, %d failed", ok.Load(), failed.Load())
		if failed.Load() != 0 {
			t.Errorf("%d requests failed while A stopped (first: %v)", failed.Load(), firstFailure.Load())
		}
		before := demoRequests(t, b)
		for i := range 10 {
			r := prodSend(t, h2, "POST", lb.base+"/demo/v1/notes", prodHeader("Authorization", auth("POST"), "Content-Type", "text/plain"), []byte("note"))
			if r.status != http.StatusOK {
				t.Errorf("POST %d with A down = %d %s, want 200 from B", i, r.status, r.body)
			}
		}
		if got := demoRequests(t, b) - before; got < 10 {
			t.Errorf("B counted %d of the 10 requests sent with A down", got)
		}
	})

	t.Run("backup restored into a new database", func(t *testing.T) {
		restoreBackup(t, adminDSN, creds, s1, instanceVars)
	})

	t.Run("ending every session with the guide's SQL", func(t *testing.T) {
		store, err := db.Open(ctx, appDSN)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		res, err := store.SQL().ExecContext(ctx, endAllSessionsMySQL)
		if err != nil {
			t.Fatalf("the guide's statement: %v", err)
		}
		n, _ := res.RowsAffected()
		t.Logf("%d sessions ended", n)
		r := prodSend(t, h2, "POST", lb.base+"/accounts/v1/sessions/refresh", prodHeader("Authorization", basic, "Content-Type", "application/json"),
			[]byte(`{"data":{"token":"`+s1.Refresh+`"}}`))
		if r.status != http.StatusUnauthorized || r.code() != "SESSION-EXPIRED" {
			t.Errorf("refresh after the sessions were ended = %d %s, want 401 SESSION-EXPIRED", r.status, r.body)
		}
	})
}

// endAllSessionsMySQL is the guide's statement that ends every session
// (their refresh tokens stop working); run it on MySQL/MariaDB.
const endAllSessionsMySQL = "UPDATE sessions SET invalidated_ms = FLOOR(UNIX_TIMESTAMP(NOW(3)) * 1000), invalidated_reason = 'operator' WHERE invalidated_ms IS NULL"

// guideGrants are the privileges the guide gives authgw's database user:
// serve migrates up at every start, so it needs the DDL ones too.
const guideGrants = "SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES"

// databaseUserWithGuideGrants creates a user with guideGrants on the test
// database and returns its DSN. When the server refuses to create users
// (or to let the new one in), it logs why and returns adminDSN.
func databaseUserWithGuideGrants(t *testing.T, adminDSN string) string {
	t.Helper()
	ctx := context.Background()
	m := regexp.MustCompile(`^mysql:([^@]*)@(tcp\([^)]*\))/([A-Za-z0-9_]+)(\?.*)?$`).FindStringSubmatch(adminDSN)
	if m == nil {
		t.Logf("the test DSN is not user@tcp(host)/db: running as the admin user, grants unchecked")
		return adminDSN
	}
	admin, err := db.Open(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var random [6]byte
	_, _ = rand.Read(random[:])
	user, password := "authgw_"+hex.EncodeToString(random[:]), hex.EncodeToString(random[:])+"pw"
	if _, err := admin.SQL().ExecContext(ctx, "CREATE USER '"+user+"'@'%' IDENTIFIED BY '"+password+"'"); err != nil {
		t.Logf("cannot create a database user (%v): running as the admin user, grants unchecked", err)
		return adminDSN
	}
	t.Cleanup(func() {
		if admin, err := db.Open(context.Background(), adminDSN); err == nil {
			_, _ = admin.SQL().ExecContext(context.Background(), "DROP USER IF EXISTS '"+user+"'@'%'")
			admin.Close()
		}
	})
	if _, err := admin.SQL().ExecContext(ctx, "GRANT "+guideGrants+" ON `"+m[3]+"`.* TO '"+user+"'@'%'"); err != nil {
		t.Fatalf("grant: %v", err)
	}
	dsn := "mysql:" + user + ":" + password + "@" + m[2] + "/" + m[3] + m[4]
	probe, err := db.Open(ctx, dsn)
	if err != nil {
		t.Logf("cannot connect as the new user (%v): running as the admin user, grants unchecked", err)
		return adminDSN
	}
	probe.Close()
	return dsn
}

// sharedSecrets are the files every instance shares.
type sharedSecrets struct {
	dir                              string
	serverID                         string
	keys, totpKey, infoKey, policies string
	publicKey                        *ecdsa.PublicKey
}

// makeSharedSecrets makes the shared files with the guide's commands:
// authgw keygen for the key ring, and openssl (when installed) for the
// TOTP key, the request-info key and its public half for backends. The
// policies are the examples plus "wide", which makes a sysadmin's tokens
// about 3.2 KB each, near the mint's 3,800-byte limit, as real policies
// with many routes do.
func makeSharedSecrets(t *testing.T, serverID string) sharedSecrets {
	t.Helper()
	dir := t.TempDir()
	s := sharedSecrets{dir: dir, serverID: serverID, keys: filepath.Join(dir, keysFile), totpKey: filepath.Join(dir, totpKeyFile),
		infoKey: filepath.Join(dir, infoKeyFile), policies: filepath.Join(dir, "policies")}
	mustRun(t, args("keygen", "--id", "k1", "--out", s.keys))
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Logf("no openssl: the TOTP and request-info keys are made in Go")
		var key [32]byte
		_, _ = rand.Read(key[:])
		prodWriteFile(t, s.totpKey, hex.EncodeToString(key[:])+"\n", 0o600)
		k, err := infosign.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := infosign.MarshalPrivateKeyPEM(k)
		prodWriteFile(t, s.infoKey, string(b), 0o600)
		s.publicKey = &k.PublicKey
	} else {
		// As the guide has them.
		run := func(args ...string) []byte {
			out, err := exec.Command(openssl, args...).Output()
			if err != nil {
				t.Fatalf("openssl %v: %v", args, err)
			}
			return out
		}
		prodWriteFile(t, s.totpKey, string(run("rand", "-hex", "32")), 0o600)
		run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", s.infoKey)
		if err := os.Chmod(s.infoKey, 0o600); err != nil {
			t.Fatal(err)
		}
		pub, err := requestinfo.ParsePublicKeyPEM(run("pkey", "-in", s.infoKey, "-pubout"))
		if err != nil {
			t.Fatalf("the public key openssl derives: %v", err)
		}
		s.publicKey = pub
	}
	if err := os.MkdirAll(s.policies, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"admin.json", "member.json", "staff.json"} {
		b, err := os.ReadFile(filepath.Join(policiesDir, name))
		if err != nil {
			t.Fatal(err)
		}
		prodWriteFile(t, filepath.Join(s.policies, name), string(b), 0o644)
	}
	prodWriteFile(t, filepath.Join(s.policies, "wide.json"), widePolicy(), 0o644)
	return s
}

// widePolicy grants a sysadmin many literal report routes per method, so
// that each of their five tokens is about 3.2 KB.
func widePolicy() string {
	type scope struct {
		Name    string   `json:"name"`
		Routes  []string `json:"routes"`
		Methods []string `json:"methods"`
	}
	counts := []struct {
		method string
		routes int
	}{{"GET", 60}, {"POST", 30}, {"PUT", 65}, {"PATCH", 50}, {"DELETE", 25}}
	var scopes []scope
	for _, c := range counts {
		s := scope{Name: "reports " + c.method, Methods: []string{c.method}}
		for i := range c.routes {
			s.Routes = append(s.Routes, fmt.Sprintf("/demo/v1/reports/section-%02d/**", i))
		}
		scopes = append(scopes, s)
	}
	b, _ := json.MarshalIndent(map[string]any{
		"name":        "wide",
		"description": "Sysadmins: many report routes, so that tokens are near the size limit (production test).",
		"appliesTo":   map[string]any{"userRoles": []string{"sysadmin"}},
		"expires":     600,
		"bindClient":  true,
		"scopes":      scopes,
	}, "", "  ")
	return string(b)
}

func prodWriteFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// envFile is env.example: its variables in order.
type envFile struct {
	names  []string
	values map[string]string
}

// envExample reads testdata/production/env.example and checks that every
// variable it sets is a setting of authgw serve.
func envExample(t *testing.T) envFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(productionDir, "env.example"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, k := range serveSettings(t) {
		known[settingEnv(k)] = true
	}
	f := envFile{values: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || !known[name] {
			t.Fatalf("env.example: %q is not a setting of authgw serve", line)
		}
		if _, dup := f.values[name]; dup {
			t.Fatalf("env.example sets %s twice", name)
		}
		f.names = append(f.names, name)
		f.values[name] = value
	}
	return f
}

// with returns the example's variables with test values: every variable
// of the example must be given one (a new line in the example must be
// thought about here), and no other may be ("" unsets one).
func (f envFile) with(t *testing.T, values map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range f.names {
		v, ok := values[name]
		if !ok {
			t.Fatalf("env.example sets %s, which the test gives no value", name)
		}
		out[name] = v
	}
	for name := range values {
		if _, ok := f.values[name]; !ok {
			t.Fatalf("the test sets %s, which env.example lacks", name)
		}
	}
	return out
}

// prodInstance is one authgw serve process run from environment
// variables, as systemd runs it from its EnvironmentFile.
type prodInstance struct {
	name          string
	addr          string // the gateway listener, host:port
	url, adminURL string
	stop          func()
	exited        <-chan int
	log           *gatewaytest.LogBuffer
}

// startProdInstance runs `authgw serve` with no flag and vars as its
// environment, until the test ends or stop is called.
func startProdInstance(t *testing.T, name string, vars map[string]string) *prodInstance {
	t.Helper()
	p := startServeProcess(t, "instance "+name, []string{"serve"}, copyVars(vars), 30*time.Second)
	return &prodInstance{name: name, addr: strings.TrimPrefix(p.gatewayURL, "http://"), url: p.gatewayURL, adminURL: p.adminURL,
		stop: p.stop, exited: p.exited, log: p.stderr}
}

func copyVars(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// demoRequests is the sum of the instance's authgw_requests_total for
// the demo API.
func demoRequests(t *testing.T, in *prodInstance) int {
	t.Helper()
	r := prodSend(t, http.DefaultClient, "GET", in.adminURL+"/metrics", nil, nil)
	total := 0
	for _, line := range strings.Split(string(r.body), "\n") {
		if strings.HasPrefix(line, `authgw_requests_total{api="demo",`) {
			n, err := strconv.Atoi(line[strings.LastIndexByte(line, ' ')+1:])
			if err != nil {
				t.Fatalf("metrics line %q", line)
			}
			total += n
		}
	}
	return total
}

// lbSettings are the placeholders of nginx-lb.conf.tmpl.
type lbSettings struct {
	Listen, ServerName, Cert, Key, AccessLog string
	Instances                                []string
}

// runningLB is one nginx started by startLB.
type runningLB struct {
	addr, base, accessLog string
}

// startLB renders nginx-lb.conf.tmpl (through edit, when given) into a
// temporary directory, includes it in a minimal nginx.conf there as a
// distribution's nginx.conf includes conf.d, and runs nginx in the
// foreground until the test ends.
func startLB(t *testing.T, s lbSettings, edit func(string) string) runningLB {
	t.Helper()
	tmpl, err := template.ParseFiles(filepath.Join(productionDir, "nginx-lb.conf.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	listen := gatewaytest.StartNginx(t, func(_ testing.TB, dir, listen string) string {
		s.Listen, s.AccessLog = listen, filepath.Join(dir, "access.log")
		var b bytes.Buffer
		if err := tmpl.Execute(&b, s); err != nil {
			t.Fatal(err)
		}
		conf := b.String()
		if edit != nil {
			conf = edit(conf)
		}
		prodWriteFile(t, filepath.Join(dir, "authgw.conf"), conf, 0o600)
		return fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 512; }
http {
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/authgw.conf;
}
`, dir)
	})
	return runningLB{addr: listen, base: "https://" + listen, accessLog: s.AccessLog}
}

// removeLines drops the lines of conf that start (after indentation)
// with each prefix, failing when a prefix matches no line.
func removeLines(t *testing.T, conf string, prefixes ...string) string {
	t.Helper()
	lines := strings.Split(conf, "\n")
	for _, p := range prefixes {
		n := len(lines)
		lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), p) })
		if len(lines) == n {
			t.Fatalf("the nginx template has no %q line", p)
		}
	}
	return strings.Join(lines, "\n")
}

// testCert is a self-signed certificate for 127.0.0.1.
type testCert struct {
	certFile, keyFile string
	pool              *x509.CertPool
}

func newTestCert(t *testing.T) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := testCert{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), pool: x509.NewCertPool()}
	prodWriteFile(t, c.certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644)
	prodWriteFile(t, c.keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})), 0o600)
	cert, _ := x509.ParseCertificate(der)
	c.pool.AddCert(cert)
	return c
}

// lbClients returns HTTPS clients for nginx: HTTP/1.1 only, HTTP/2, and
// HTTP/1.1 from the source address 127.0.0.2 (nil when it cannot be
// bound).
func lbClients(t *testing.T, pool *x509.CertPool) (h1, h2, from2 *http.Client) {
	t.Helper()
	tlsConfig := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	t1 := &http.Transport{TLSClientConfig: tlsConfig.Clone(), TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
	t2 := &http.Transport{TLSClientConfig: tlsConfig.Clone(), ForceAttemptHTTP2: true}
	transports := []*http.Transport{t1, t2}
	if l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}); err == nil {
		l.Close()
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
		t3 := &http.Transport{TLSClientConfig: tlsConfig.Clone(), DialContext: dialer.DialContext,
			TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
		transports = append(transports, t3)
		from2 = &http.Client{Transport: t3, Timeout: 30 * time.Second}
	} else {
		t.Logf("cannot use 127.0.0.2 as a source address (%v): that check is skipped", err)
	}
	t.Cleanup(func() {
		for _, tr := range transports {
			tr.CloseIdleConnections()
		}
	})
	return &http.Client{Transport: t1, Timeout: 30 * time.Second}, &http.Client{Transport: t2, Timeout: 30 * time.Second}, from2
}

// prodReply is one HTTP answer.
type prodReply struct {
	status int
	proto  int
	header http.Header
	body   []byte
}

// code is the error code of an error envelope, "" otherwise.
func (r prodReply) code() string {
	var e struct {
		Error struct{ Code string }
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// prodHeader builds a header from name, value pairs.
func prodHeader(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func prodB64(s string) string {
	return base64.StdEncoding.EncodeToString([]byte(s))
}

// prodSend makes one request and reads the whole answer; a transport error
// fails the test.
func prodSend(t *testing.T, c *http.Client, method, url string, h http.Header, body []byte) prodReply {
	t.Helper()
	r, err := prodSendErr(c, method, url, h, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

func prodSendErr(c *http.Client, method, url string, h http.Header, body []byte) (prodReply, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return prodReply{}, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return prodReply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return prodReply{}, err
	}
	return prodReply{status: resp.StatusCode, proto: resp.ProtoMajor, header: resp.Header, body: b}, nil
}

// prodWaitFor polls cond every 20 ms until it holds, failing after limit.
func prodWaitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lbLoginRaw sends the password step of the bootstrapped user.
func lbLoginRaw(t *testing.T, c *http.Client, base, basic string) (prodReply, clitest.Session) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"data": map[string]string{"email": clitest.LoginEmail, "password": clitest.LoginPassword, "state": clitest.NewState(t)}})
	r := prodSend(t, c, "POST", base+"/accounts/v1/sessions/login/password", prodHeader("Authorization", basic, "Content-Type", "application/json"), body)
	var out struct {
		T    string
		Data clitest.Session
	}
	_ = json.Unmarshal(r.body, &out)
	return r, out.Data
}

// lbLogin is lbLoginRaw that must end in a session with five tokens.
func lbLogin(t *testing.T, c *http.Client, base, basic string) (prodReply, clitest.Session) {
	t.Helper()
	r, s := lbLoginRaw(t, c, base, basic)
	if r.status != http.StatusOK || s.Refresh == "" {
		t.Fatalf("login through nginx = %d %.300s, want 200 and a session", r.status, r.body)
	}
	if len(s.Macaroons) != len(mint.Methods()) {
		t.Fatalf("the session has tokens for %d methods, want %d", len(s.Macaroons), len(mint.Methods()))
	}
	return r, s
}

// expectLoginCookies checks that the answer has exactly the five token
// cookies and the refresh cookie, each equal to the session's JSON and
// with its attributes, and returns the bytes the Set-Cookie lines take.
func expectLoginCookies(t *testing.T, r prodReply, s clitest.Session) int {
	t.Helper()
	want := map[string]string{"__Secure-authgw-refresh": s.Refresh}
	for m, tok := range s.Macaroons {
		want["__Host-authgw-"+strings.ToLower(m)] = tok
	}
	// The step-up tokens (the example policies keep some DELETE and POST
	// routes under a step-up) have cookies of their own.
	for m, tok := range s.StepUpMacaroons {
		want["__Host-authgw-"+strings.ToLower(m)+"-stepup"] = tok
	}
	lines := r.header.Values("Set-Cookie")
	if len(lines) != len(want) {
		t.Errorf("%d Set-Cookie headers, want %d", len(lines), len(want))
	}
	total := 0
	for _, line := range lines {
		total += len("Set-Cookie: ") + len(line) + 2
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Errorf("Set-Cookie %.80q: %v", line, err)
			continue
		}
		v, ok := want[c.Name]
		if !ok {
			t.Errorf("unexpected cookie %s", c.Name)
			continue
		}
		delete(want, c.Name)
		if c.Value != v {
			t.Errorf("cookie %s: %d bytes differing from the session's JSON (%d bytes)", c.Name, len(c.Value), len(v))
		}
		if !c.Secure || !c.HttpOnly {
			t.Errorf("cookie %s: Secure %v, HttpOnly %v, want both", c.Name, c.Secure, c.HttpOnly)
		}
		if c.Name == "__Secure-authgw-refresh" {
			if c.Path != "/accounts/v1" || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("refresh cookie: path %q, SameSite %v", c.Path, c.SameSite)
			}
			continue
		}
		if c.Path != "/" || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %s: path %q, SameSite %v, want / and Lax", c.Name, c.Path, c.SameSite)
		}
		if d := c.Expires.Sub(time.UnixMilli(s.MacaroonsExpireAt)); d < -time.Second || d > time.Second {
			t.Errorf("cookie %s expires %v, the tokens at %v", c.Name, c.Expires, time.UnixMilli(s.MacaroonsExpireAt).UTC())
		}
	}
	for name := range want {
		t.Errorf("no %s cookie came through", name)
	}
	return total
}

// tokenCookieHeader is the Cookie header a browser sends with the
// session's five token cookies.
func tokenCookieHeader(s clitest.Session) string {
	var parts []string
	for _, m := range mint.Methods() {
		parts = append(parts, "__Host-authgw-"+strings.ToLower(m)+"="+s.Macaroons[m])
	}
	return strings.Join(parts, "; ")
}

// createdClient is a client made through the accounts API.
type createdClient struct{ id, secret string }

func createClient(t *testing.T, c *http.Client, base, auth, org, name string) createdClient {
	t.Helper()
	r := prodSend(t, c, "POST", base+"/accounts/v1/organizations/"+org+"/clients", prodHeader("Authorization", auth, "Content-Type", "application/json"),
		[]byte(`{"data":{"type":"clients","name":"`+name+`"}}`))
	var out struct {
		Data struct{ ID, Secret string }
	}
	if err := json.Unmarshal(r.body, &out); err != nil || r.status/100 != 2 || out.Data.ID == "" || out.Data.Secret == "" {
		t.Fatalf("create client = %d %s", r.status, r.body)
	}
	return createdClient{id: out.Data.ID, secret: out.Data.Secret}
}

func addIPRestriction(t *testing.T, c *http.Client, base, auth, org, client, cidr string) {
	t.Helper()
	r := prodSend(t, c, "POST", base+"/accounts/v1/organizations/"+org+"/clients/"+client+"/access-restrictions",
		prodHeader("Authorization", auth, "Content-Type", "application/json"), []byte(`{"data":{"type":"ip-access-restrictions","value":"`+cidr+`"}}`))
	if r.status/100 != 2 {
		t.Fatalf("add restriction %s = %d %s", cidr, r.status, r.body)
	}
}

// recordingBackend answers every request with what it received: the
// X-Forwarded-* headers, the cookies, the body's length and the verified
// request info.
type recordingBackend struct {
	srv *httptest.Server
}

// backendRecord is the backend's answer.
type backendRecord struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	XFF       string `json:"xff"`
	Proto     string `json:"proto"`
	Cookie    string `json:"cookie"`
	BodyBytes int64  `json:"bodyBytes"`
	IP        string `json:"ip"`
	Client    string `json:"client"`
	User      string `json:"user"`
	InfoError string `json:"infoError"`
}

func newRecordingBackend(t *testing.T, pub *ecdsa.PublicKey) *recordingBackend {
	t.Helper()
	v, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{pub}, Audience: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" {
			serveEchoWebSocket(w, r)
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		rec := backendRecord{Method: r.Method, Path: r.URL.Path, XFF: strings.Join(r.Header.Values("X-Forwarded-For"), ", "),
			Proto: r.Header.Get("X-Forwarded-Proto"), Cookie: r.Header.Get("Cookie"), BodyBytes: n}
		if claims, err := requestinfo.FromRequest(r, v); err != nil {
			rec.InfoError = err.Error()
		} else {
			rec.IP, rec.Client = claims.IP, claims.Client
			if claims.User != nil {
				rec.User = claims.User.ID
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rec)
	}))
	t.Cleanup(srv.Close)
	return &recordingBackend{srv: srv}
}

func (b *recordingBackend) url() string { return b.srv.URL }

// expectRecord checks that the answer is the backend's, with verified
// request info, and returns it.
func expectRecord(t *testing.T, r prodReply) backendRecord {
	t.Helper()
	var rec backendRecord
	if r.status != http.StatusOK || json.Unmarshal(r.body, &rec) != nil || rec.Method == "" {
		t.Fatalf("want 200 from the backend, got %d %.300s", r.status, r.body)
	}
	if rec.InfoError != "" {
		t.Fatalf("the backend could not verify X-Auth-Info: %s", rec.InfoError)
	}
	return rec
}

// serveEchoWebSocket accepts an Upgrade: websocket request and echoes
// the raw bytes of the connection (no framing: the test only needs the
// tunnel).
func serveEchoWebSocket(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "want an upgrade", http.StatusBadRequest)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	_ = buf.Flush()
	_, _ = io.Copy(conn, buf)
}

// expectWebSocketEcho opens an upgraded connection through nginx and
// authgw to the backend and checks bytes go both ways.
func expectWebSocketEcho(t *testing.T, addr string, pool *x509.CertPool, auth string) {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /demo/v1/ws HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", addr, auth)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		t.Fatalf("upgrade through nginx = %d %s, want 101", resp.StatusCode, b)
	}
	for _, msg := range []string{"ping", "second message"} {
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != msg {
			t.Fatalf("echo through the tunnel = %q, %v; want %q", got, err, msg)
		}
	}
}

// restoreBackup dumps the database as the guide says (mariadb-dump
// --single-transaction), loads it into a new database, and serves that
// with the same secrets: the session's token and its refresh token work
// there.
func restoreBackup(t *testing.T, adminDSN string, creds clitest.Creds, s clitest.Session,
	instanceVars func(string) map[string]string) {
	t.Helper()
	dump, err := exec.LookPath("mariadb-dump")
	if err != nil {
		if dump, err = exec.LookPath("mysqldump"); err != nil {
			t.Skip("no mariadb-dump or mysqldump")
		}
	}
	client, err := exec.LookPath("mariadb")
	if err != nil {
		if client, err = exec.LookPath("mysql"); err != nil {
			t.Skip("no mariadb or mysql client")
		}
	}
	connArgs := func(dsn string) []string {
		m := regexp.MustCompile(`^mysql:([^:@]*)(?::([^@]*))?@tcp\(([^:)]*)(?::(\d+))?\)/([A-Za-z0-9_]+)`).FindStringSubmatch(dsn)
		if m == nil {
			t.Skipf("cannot turn the test DSN into client arguments")
		}
		a := []string{"--user=" + m[1], "--host=" + m[3], "--protocol=TCP"}
		if m[2] != "" {
			a = append(a, "--password="+m[2])
		}
		if m[4] != "" {
			a = append(a, "--port="+m[4])
		}
		return append(a, m[5])
	}
	dumped, err := exec.Command(dump, append([]string{"--single-transaction"}, connArgs(adminDSN)...)...).Output()
	if err != nil {
		t.Fatalf("%s: %v", dump, err)
	}
	restoredDSN := dbtest.MariaDBDSN(t)
	load := exec.Command(client, connArgs(restoredDSN)...)
	load.Stdin = bytes.NewReader(dumped)
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("restore: %v: %s", err, out)
	}
	out := mustRun(t, invocation{args: []string{"migrate", "status"}, vars: map[string]string{envDatabase: restoredDSN}})
	if strings.Contains(out, "pending") || strings.Contains(out, "dirty") {
		t.Errorf("migrate status of the restored database: %s", out)
	}
	vars := instanceVars(t.TempDir())
	vars["AUTHGW_DATABASE"] = restoredDSN
	c := startProdInstance(t, "C (restored)", vars)
	caller := clitest.NewAccountsCaller(t, c.url, creds)
	if status, code := caller.CurrentUser(s.Macaroons["GET"]); status != http.StatusOK {
		t.Errorf("the session's token at the restored instance = %d %s, want 200", status, code)
	}
	r := caller.Do("POST", "/accounts/v1/sessions/refresh", "", map[string]any{"data": map[string]string{"token": s.Refresh}})
	if r.Status != http.StatusOK {
		t.Errorf("refresh at the restored instance = %d %s, want 200", r.Status, r.Body)
	}
}

// TestKeyRotation runs the guide's key rotation on one instance restarted
// at each step: a new key first verifies only (it is second in the
// ring), then mints (first), then the old key is removed. Tokens minted
// before keep working until their key leaves the ring; sessions survive
// it through their refresh token.
func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	creds := bootstrapFor(t, map[string]string{envDataDir: dir})
	ring := filepath.Join(dir, keysFile)
	start := func(t *testing.T) (clitest.AccountsCaller, func()) {
		t.Helper()
		url, _, stop, exited, _ := startServe(t, dir)
		return clitest.NewAccountsCaller(t, url, creds), func() {
			stop()
			select {
			case <-exited:
			case <-time.After(35 * time.Second):
				t.Fatal("serve did not stop")
			}
		}
	}
	keyOf := func(token string) string {
		t.Helper()
		m := regexp.MustCompile(`(?m)^key:\s+(\S+)$`).FindStringSubmatch(mustRun(t, args("inspect", token)))
		if m == nil {
			t.Fatal("inspect shows no key")
		}
		return m[1]
	}
	expectStatus := func(a clitest.AccountsCaller, what, token string, want int) {
		t.Helper()
		if status, code := a.CurrentUser(token); status != want {
			t.Errorf("%s = %d %s, want %d", what, status, code, want)
		}
	}

	// Before: the ring serve made, k1.
	a, stop := start(t)
	s1 := a.LoginWithPassword()
	if got := keyOf(s1.Macaroons["GET"]); got != "k1" {
		t.Fatalf("first login minted with %q, want k1", got)
	}
	stop()

	// Step 1: k2 added second, on every instance: it verifies, k1 still
	// mints. (keygen --add puts the new key first; the guide moves it.)
	next := filepath.Join(dir, "keys.next.json")
	mustRun(t, args("keygen", "--id", "k2", "--add", ring, "--out", next))
	prodWriteFile(t, ring, verifyOnlyRing(t, next), 0o600)
	a, stop = start(t)
	if got := keyOf(a.LoginWithPassword().Macaroons["GET"]); got != "k1" {
		t.Errorf("step 1 minted with %q, want k1 (k2 verifies only)", got)
	}
	serverID := strings.TrimSpace(prodReadFile(t, filepath.Join(dir, serverIDFile)))
	var byK2 map[string]string // what an instance already at step 2 mints
	out := mustRun(t, invocation{args: []string{"mint", "--policy", filepath.Join(dir, "policies", "staff.json"), "--user", creds.UserID,
		"--client", creds.ClientID, "--keys", next, "--server-id", serverID}})
	if err := json.Unmarshal([]byte(out), &byK2); err != nil {
		t.Fatal(err)
	}
	expectStatus(a, "step 1: a token minted with k2", byK2["GET"], http.StatusOK)
	expectStatus(a, "step 1: the token minted before", s1.Macaroons["GET"], http.StatusOK)
	stop()

	// Step 2: k2 first: it mints; k1 tokens still verify.
	if err := os.Rename(next, ring); err != nil {
		t.Fatal(err)
	}
	a, stop = start(t)
	s2 := a.LoginWithPassword()
	if got := keyOf(s2.Macaroons["GET"]); got != "k2" {
		t.Errorf("step 2 minted with %q, want k2", got)
	}
	expectStatus(a, "step 2: the token minted with k1 before", s1.Macaroons["GET"], http.StatusOK)
	stop()

	// Step 3: k1 removed: its tokens are refused, k2's work, and the
	// session of a k1 token lives on through its refresh token.
	parsed, err := mint.LoadKeyRing(ring)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(parsed.IDs(), []string{"k2", "k1"}) {
		t.Fatalf("ring %v, want [k2 k1]", parsed.IDs())
	}
	prodWriteFile(t, ring, withoutKey(t, ring, "k1"), 0o600)
	a, stop = start(t)
	defer stop()
	if status, code := a.CurrentUser(s1.Macaroons["GET"]); status != http.StatusUnauthorized || code != "TOKEN-INVALID" {
		t.Errorf("step 3: a k1 token = %d %s, want 401 TOKEN-INVALID", status, code)
	}
	expectStatus(a, "step 3: a k2 token", s2.Macaroons["GET"], http.StatusOK)
	r := a.Do("POST", "/accounts/v1/sessions/refresh", "", map[string]any{"data": map[string]string{"token": s1.Refresh}})
	refreshed := a.ExpectSession(r, "refresh")
	if got := keyOf(refreshed.Macaroons["GET"]); got != "k2" {
		t.Errorf("refreshed with %q, want k2", got)
	}
	expectStatus(a, "step 3: the refreshed k1 session", refreshed.Macaroons["GET"], http.StatusOK)
}

// verifyOnlyRing returns the ring of path (as keygen --add writes it,
// the new key first) with its first key moved last: the guide's jq
// command when jq is installed, else the same in Go.
func verifyOnlyRing(t *testing.T, path string) string {
	t.Helper()
	var out string
	if jq, err := exec.LookPath("jq"); err == nil {
		b, err := exec.Command(jq, ".keys |= .[1:] + .[:1]", path).Output()
		if err != nil {
			t.Fatalf("jq: %v", err)
		}
		out = string(b)
	} else {
		var ring struct{ Keys []json.RawMessage }
		if err := json.Unmarshal([]byte(prodReadFile(t, path)), &ring); err != nil {
			t.Fatal(err)
		}
		ring.Keys = append(ring.Keys[1:], ring.Keys[0])
		b, _ := json.Marshal(map[string]any{"keys": ring.Keys})
		out = string(b)
	}
	parsed, err := mint.ParseKeyRing([]byte(out))
	if err != nil {
		t.Fatalf("the reordered ring: %v", err)
	}
	if ids := parsed.IDs(); len(ids) != 2 || ids[1] != "k2" {
		t.Fatalf("reordered ring %v, want k2 second", ids)
	}
	return out
}

// withoutKey returns the ring of path without the key id.
func withoutKey(t *testing.T, path, id string) string {
	t.Helper()
	var ring struct {
		Keys []struct {
			ID     string `json:"id"`
			Secret string `json:"secret"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(prodReadFile(t, path)), &ring); err != nil {
		t.Fatal(err)
	}
	ring.Keys = slices.DeleteFunc(ring.Keys, func(k struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}) bool {
		return k.ID == id
	})
	b, _ := json.Marshal(ring)
	return string(b)
}

func prodReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestServerIDRotation: a new server ID refuses every token minted
// before, at once, and new logins work; sessions survive it through
// their refresh tokens unless they are ended in the database too, which
// the guide's emergency procedure does.
func TestServerIDRotation(t *testing.T) {
	dir := t.TempDir()
	creds := bootstrapFor(t, map[string]string{envDataDir: dir})
	start := func(t *testing.T, serverID string) (clitest.AccountsCaller, func()) {
		t.Helper()
		// A new server ID is a deliberate change of the shared material.
		url, _, stop, exited, _ := startServe(t, dir, "--server-id", serverID, "--replace-shared-material", "true")
		return clitest.NewAccountsCaller(t, url, creds), func() {
			stop()
			select {
			case <-exited:
			case <-time.After(35 * time.Second):
				t.Fatal("serve did not stop")
			}
		}
	}
	serverIDOf := func(token string) string {
		t.Helper()
		m := regexp.MustCompile(`(?m)^\s+server-id (\S+)$`).FindStringSubmatch(mustRun(t, args("inspect", token)))
		if m == nil {
			t.Fatal("inspect shows no server-id caveat")
		}
		return m[1]
	}

	a, stop := start(t, "prod-a")
	s1 := a.LoginWithPassword()
	if status, code := a.CurrentUser(s1.Macaroons["GET"]); status != http.StatusOK {
		t.Fatalf("before: %d %s", status, code)
	}
	stop()

	// A new server ID: every earlier token is refused.
	a, stop = start(t, "prod-b")
	for _, m := range mint.Methods() {
		r := a.Do(m, "/accounts/v1/users/current", s1.Macaroons[m], nil)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s token minted under prod-a = %d, want 401", m, r.Status)
		}
	}
	s2 := a.LoginWithPassword()
	if got := serverIDOf(s2.Macaroons["GET"]); got != "prod-b" {
		t.Errorf("new login's server-id caveat %q, want prod-b", got)
	}
	if status, code := a.CurrentUser(s2.Macaroons["GET"]); status != http.StatusOK {
		t.Errorf("a new login's token = %d %s, want 200", status, code)
	}
	// The session itself survives: its refresh token mints prod-b tokens.
	r := a.Do("POST", "/accounts/v1/sessions/refresh", "", map[string]any{"data": map[string]string{"token": s1.Refresh}})
	s1b := a.ExpectSession(r, "refresh")
	if status, code := a.CurrentUser(s1b.Macaroons["GET"]); status != http.StatusOK {
		t.Errorf("the refreshed prod-a session = %d %s, want 200", status, code)
	}
	stop()

	// The emergency: end every session in the database and change the
	// server ID again. Nothing issued before works.
	store, err := db.Open(context.Background(), "sqlite:"+filepath.Join(dir, databaseFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SQL().Exec(endAllSessionsSQLite); err != nil {
		t.Fatal(err)
	}
	store.Close()
	a, stop = start(t, "prod-c")
	defer stop()
	for name, token := range map[string]string{"s1 refreshed": s1b.Macaroons["GET"], "s2": s2.Macaroons["GET"]} {
		if status, _ := a.CurrentUser(token); status != http.StatusUnauthorized {
			t.Errorf("%s's token after the emergency = %d, want 401", name, status)
		}
	}
	for name, token := range map[string]string{"s1": s1b.Refresh, "s2": s2.Refresh} {
		r := a.Do("POST", "/accounts/v1/sessions/refresh", "", map[string]any{"data": map[string]string{"token": token}})
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s's refresh after the emergency = %d %s, want 401", name, r.Status, r.Body)
		}
	}
	if status, code := a.CurrentUser(a.LoginWithPassword().Macaroons["GET"]); status != http.StatusOK {
		t.Errorf("a login after the emergency = %d %s, want 200", status, code)
	}
}

// endAllSessionsSQLite is endAllSessionsMySQL for SQLite.
const endAllSessionsSQLite = "UPDATE sessions SET invalidated_ms = CAST(unixepoch('subsec') * 1000 AS INTEGER), invalidated_reason = 'operator' WHERE invalidated_ms IS NULL"

// TestProductionSystemdUnit checks authgw.service with systemd-analyze
// (skipped without it), and that it agrees with serve and env.example.
func TestProductionSystemdUnit(t *testing.T) {
	unit := prodReadFile(t, filepath.Join(productionDir, "authgw.service"))
	for _, line := range []string{
		"User=authgw", "EnvironmentFile=/etc/authgw/env", "ExecStart=/usr/local/bin/authgw serve", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/authgw", "PrivateTmp=yes", "CapabilityBoundingSet=",
	} {
		if !slices.Contains(strings.Split(unit, "\n"), line) {
			t.Errorf("authgw.service lacks the line %q", line)
		}
	}
	// systemd must wait for serve's drain before it kills.
	m := regexp.MustCompile(`(?m)^TimeoutStopSec=(\d+)s$`).FindStringSubmatch(unit)
	if m == nil {
		t.Error("authgw.service has no TimeoutStopSec=Ns")
	} else if n, _ := strconv.Atoi(m[1]); time.Duration(n)*time.Second <= drainTime(t) {
		t.Errorf("TimeoutStopSec=%ss is not above serve's drain time %v", m[1], drainTime(t))
	}
	if dir := envExample(t).values["AUTHGW_DATA_DIR"]; !strings.Contains(unit, "ReadWritePaths="+dir+"\n") {
		t.Errorf("env.example's data directory %q is not the unit's ReadWritePaths", dir)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	// verify wants ExecStart's binary to exist: point it at the one
	// under test.
	exe := authgwBinary(t)
	path := filepath.Join(t.TempDir(), "authgw.service")
	prodWriteFile(t, path, strings.Replace(unit, "ExecStart=/usr/local/bin/authgw ", "ExecStart="+exe+" ", 1), 0o644)
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The hardening, scored by systemd (0 best, 10 worst); --offline
	// needs systemd 250.
	out, err = exec.Command(analyze, "security", "--offline=yes", "--no-pager", path).CombinedOutput()
	if err != nil && bytes.Contains(out, []byte("offline")) {
		t.Skipf("systemd-analyze security --offline is not supported here: %s", out)
	}
	score := regexp.MustCompile(`Overall exposure level for authgw\.service: ([0-9.]+)`).FindSubmatch(out)
	if score == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	t.Logf("systemd-analyze security: exposure %s", score[1])
	if f, _ := strconv.ParseFloat(string(score[1]), 64); f > 2.0 {
		t.Errorf("exposure %s, want at most 2.0", score[1])
	}
}

// TestProductionContainerfile checks what can be checked without a
// container engine: the Go version is go.mod's, the runtime stage is
// non-root with the documented ports and volume, and the Containerfile's
// build command makes a static binary that runs.
func TestProductionContainerfile(t *testing.T) {
	cf := prodReadFile(t, filepath.Join(productionDir, "Containerfile"))
	gomod := prodReadFile(t, "../../../go.mod")
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	if !strings.Contains(cf, "FROM golang:"+m[1]+" AS build\n") {
		t.Errorf("the build stage is not FROM golang:%s (go.mod's version)", m[1])
	}
	_, listenPort, _ := net.SplitHostPort(serveDefault(t, "listen"))
	_, adminPort, _ := net.SplitHostPort(serveDefault(t, "admin-listen"))
	for _, want := range []string{
		"RUN CGO_ENABLED=0 go build -trimpath -ldflags=\"-s -w\" -o /out/authgw ./cmd/authgw",
		"FROM gcr.io/distroless/static-debian12:nonroot\n",
		"USER 65532:65532\n",
		"EXPOSE " + listenPort + " " + adminPort + "\n",
		`VOLUME ["/var/lib/authgw"]`,
		"AUTHGW_DATA_DIR=/var/lib/authgw",
		`ENTRYPOINT ["/usr/local/bin/authgw"]`,
	} {
		if !strings.Contains(cf, want) {
			t.Errorf("the Containerfile lacks %q", want)
		}
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	// No package outside the standard library may need cgo: with
	// CGO_ENABLED=0 it would be left out or stubbed (a cgo SQLite driver
	// compiles without cgo and fails at run time).
	list := exec.Command(gobin, "list", "-deps", "-f", "{{if .CgoFiles}}{{if not .Standard}}{{.ImportPath}}{{end}}{{end}}", "..")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("packages that need cgo, which the static image cannot have:\n%s", s)
	}
	// The static build itself: a cold CGO_ENABLED=0 build recompiles the
	// standard library, about two minutes on CI's machine, so it runs
	// only when asked.
	if os.Getenv("AUTHGW_TEST_STATIC_BUILD") == "" {
		t.Log("set AUTHGW_TEST_STATIC_BUILD=1 to build and run the static binary as the Containerfile does")
		return
	}
	bin := filepath.Join(t.TempDir(), "authgw")
	build := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is not static, and would not run on distroless/static")
		}
	}
	f.Close()
	// It runs, SQLite included, with an empty environment as in the image.
	dir := t.TempDir()
	for _, a := range [][]string{{"keygen", "--id", "k1", "--out", filepath.Join(dir, "keys.json")}, {"migrate", "up", "--data-dir", dir}} {
		cmd := exec.Command(bin, a...)
		cmd.Env = []string{}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("the static binary: authgw %v: %v\n%s", a, err, out)
		}
	}
}

// TestProductionNginxTemplate checks the template's rules that the
// running test cannot see fail: the client's X-Forwarded-For is replaced,
// never appended to, and POST is never retried.
func TestProductionNginxTemplate(t *testing.T) {
	conf := prodReadFile(t, filepath.Join(productionDir, "nginx-lb.conf.tmpl"))
	directives := map[string]bool{}
	for _, line := range strings.Split(conf, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			directives[line] = true
		}
	}
	for _, want := range []string{
		"proxy_set_header X-Forwarded-For $remote_addr;",
		"proxy_http_version 1.1;",
		"proxy_next_upstream error timeout;",
		"client_max_body_size 0;",
	} {
		if !directives[want] {
			t.Errorf("the nginx template lacks %q", want)
		}
	}
	for d := range directives {
		if strings.Contains(d, "proxy_add_x_forwarded_for") || strings.Contains(d, "non_idempotent") {
			t.Errorf("the nginx template has %q", d)
		}
	}
}
