package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/nodetest"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// joseDir is verifier/requestinfo's Node.js side: the pinned npm jose
// package and jose.mjs.
const joseDir = "../../verifier/requestinfo/testdata/jose"

// joseRemote is a "verify" request of jose.mjs with the keys at a JWKS URL,
// and its result.
type (
	joseRemote struct {
		Op       string `json:"op"`
		Token    string `json:"token"`
		URL      string `json:"url"`
		Audience string `json:"audience"`
	}
	joseRemoteResult struct {
		OK      bool           `json:"ok"`
		Code    string         `json:"code"`
		Error   string         `json:"error"`
		Payload map[string]any `json:"payload"`
		Header  map[string]any `json:"header"`
		Compact bool           `json:"compact"`
	}
)

// joseVerifyRemote has the npm jose package verify tokens with
// createRemoteJWKSet(url), jwtVerify and compactVerify, in one run of
// jose.mjs.
func joseVerifyRemote(t *testing.T, node, url string, tokens ...string) []joseRemoteResult {
	t.Helper()
	reqs := make([]joseRemote, len(tokens))
	for i, tok := range tokens {
		reqs[i] = joseRemote{Op: "verify", Token: tok, URL: url, Audience: "demo"}
	}
	var res []joseRemoteResult
	nodetest.Run(t, node, joseDir, "jose.mjs", reqs, &res, 60*time.Second)
	if len(res) != len(reqs) {
		t.Fatalf("jose.mjs answered %d of %d", len(res), len(reqs))
	}
	return res
}

// TestKeysRotateInfo: the command rotates the data directory's file
// (or --info-key's), refuses a second rotation while a previous key is
// published, drops it, and never creates a file.
func TestKeysRotateInfo(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{envDataDir: dir}
	path := filepath.Join(dir, infoKeyFile)
	if r := runCLI(t, invocation{args: []string{"keys", "rotate-info"}, vars: vars}); r.code != exitFailure || !strings.Contains(r.stderr, "--info-key") {
		t.Fatalf("no file: %d %q", r.code, r.stderr)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("rotate-info created a key file")
	}
	first, _, err := infosign.LoadOrCreateKeySet(path)
	if err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, invocation{args: []string{"keys", "rotate-info"}, vars: vars})
	ks, err := infosign.LoadKeySet(path)
	if err != nil || ks.Previous == nil || !ks.Previous.Equal(first.Signing) || ks.Signing.Equal(first.Signing) {
		t.Fatalf("after rotate-info: %v", err)
	}
	if !strings.Contains(out, kidOf(&ks.Signing.PublicKey)) || !strings.Contains(out, kidOf(&first.Signing.PublicKey)) {
		t.Errorf("output does not name both key IDs: %q", out)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if r := runCLI(t, invocation{args: []string{"keys", "rotate-info"}, vars: vars}); r.code != exitUsage || !strings.Contains(r.stderr, "--drop-previous") {
		t.Fatalf("second rotation: %d %q", r.code, r.stderr)
	}
	mustRun(t, invocation{args: []string{"keys", "rotate-info", "--drop-previous"}, vars: vars})
	dropped, err := infosign.LoadKeySet(path)
	if err != nil || dropped.Previous != nil || !dropped.Signing.Equal(ks.Signing) {
		t.Fatalf("after --drop-previous: %v", err)
	}
	if r := runCLI(t, invocation{args: []string{"keys", "rotate-info", "--drop-previous"}, vars: vars}); r.code != exitUsage {
		t.Fatalf("dropping nothing: %d %q", r.code, r.stderr)
	}
	// --info-key (and AUTHGW_INFO_KEY) name another file.
	other := filepath.Join(t.TempDir(), "k.pem")
	if _, _, err := infosign.LoadOrCreateKeySet(other); err != nil {
		t.Fatal(err)
	}
	mustRun(t, invocation{args: []string{"keys", "rotate-info"}, vars: map[string]string{envDataDir: dir, "AUTHGW_INFO_KEY": other}})
	if ks, _ := infosign.LoadKeySet(other); ks.Previous == nil {
		t.Fatal("AUTHGW_INFO_KEY's file was not rotated")
	}
	if r := runCLI(t, invocation{args: []string{"keys", "rotate-info", "extra"}, vars: vars}); r.code != exitUsage {
		t.Fatalf("extra argument: %d", r.code)
	}
}

// TestServeInfoKeyRotation runs serve end to end through a rotation: the
// JWKS on the gateway's and the admin listener, a backend verifying
// X-Auth-Info by URL (RemoteKeys) before and after, the rotation recorded
// in the database by the first start, an instance still on the old key
// refused, and the drop of the previous key. The npm jose package, with
// nothing but the gateway's JWKS URL (createRemoteJWKSet), verifies the
// same headers at each step.
func TestServeInfoKeyRotation(t *testing.T) {
	node, _ := nodetest.Setup(t, joseDir, "jose", "jose.mjs", "package-lock.json")
	dir := t.TempDir()
	vars := map[string]string{envDataDir: dir}
	var mu sync.Mutex
	var lastInfo string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lastInfo = r.Header.Get(requestinfo.HeaderInfo)
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	defer backend.Close()
	boot := mustRun(t, invocation{args: []string{"bootstrap", "--org", "Acme", "--email", "admin@example.com", "--name", "Ada",
		"--password-stdin"}, stdin: "correct horse battery staple\n", vars: vars})
	var creds struct{ UserID, ClientID, ClientSecret string }
	if err := json.Unmarshal([]byte(boot), &creds); err != nil {
		t.Fatal(err)
	}
	mustRun(t, invocation{args: []string{"apis", "add", "--name", "demo", "--version", "1", "--url", backend.URL}, vars: vars})

	// info fetches a fresh X-Auth-Info through the gateway at gw.
	info := func(t *testing.T, gw string) string {
		t.Helper()
		var tokens map[string]string
		out := mustRun(t, invocation{args: []string{"mint", "--policy", filepath.Join(dir, "policies", "member.json"),
			"--user", creds.UserID, "--client", creds.ClientID}, vars: vars, now: time.Now()})
		if err := json.Unmarshal([]byte(out), &tokens); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", gw+"/demo/v1/x", nil)
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(creds.ClientID+":"+creds.ClientSecret))+", Macaroon "+tokens["GET"])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("through the gateway: %d", res.StatusCode)
		}
		mu.Lock()
		defer mu.Unlock()
		return lastInfo
	}
	// published returns the key IDs the JWKS lists on both listeners.
	published := func(t *testing.T, gw, admin string) []string {
		t.Helper()
		var kids []string
		for i, base := range []string{gw, admin} {
			res, err := http.Get(base + gateway.InfoKeysPath)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || res.Header.Get("Cache-Control") == "" {
				t.Fatalf("%s: %d %q", base, res.StatusCode, res.Header.Get("Cache-Control"))
			}
			keys, err := requestinfo.ParseJWKS(body)
			if err != nil {
				t.Fatal(err)
			}
			var these []string
			for _, k := range keys {
				these = append(these, kidOf(k))
			}
			if i == 1 && strings.Join(these, ",") != strings.Join(kids, ",") {
				t.Fatalf("admin lists %v, gateway %v", these, kids)
			}
			kids = these
		}
		return kids
	}
	kidIn := func(t *testing.T, token string) string {
		t.Helper()
		h, _, _ := strings.Cut(token, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(h)
		var hdr struct{ Kid string }
		json.Unmarshal(raw, &hdr)
		return hdr.Kid
	}

	gw, admin, stop, exited, _ := startServe(t, dir)
	remote, err := requestinfo.NewRemoteKeys(requestinfo.RemoteKeysConfig{URL: gw + gateway.InfoKeysPath, MinRefetchInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	v, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Remote: remote, Audience: "demo", CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	oldInfo := info(t, gw)
	if _, err := v.Verify(oldInfo); err != nil {
		t.Fatalf("by URL, before the rotation: %v", err)
	}
	before := published(t, gw, admin)
	if len(before) != 1 || kidIn(t, oldInfo) != before[0] {
		t.Fatalf("published %v, header's kid %s", before, kidIn(t, oldInfo))
	}
	if res := joseVerifyRemote(t, node, gw+gateway.InfoKeysPath, oldInfo); !res[0].OK || !res[0].Compact || res[0].Header["kid"] != before[0] {
		t.Fatalf("jose, before the rotation: %+v", res[0])
	}
	oldFile, err := os.ReadFile(filepath.Join(dir, infoKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	stop()
	<-exited

	// Rotate and start again: the rotation is recorded, both keys published.
	mustRun(t, invocation{args: []string{"keys", "rotate-info"}, vars: vars})
	gw, admin, stop, exited, out := startServe(t, dir)
	// The backend's RemoteKeys now points at the new listener.
	remote, _ = requestinfo.NewRemoteKeys(requestinfo.RemoteKeysConfig{URL: gw + gateway.InfoKeysPath, MinRefetchInterval: time.Millisecond})
	v, _ = requestinfo.NewVerifier(requestinfo.VerifierConfig{Remote: remote, Audience: "demo", CacheSize: -1})
	during := published(t, gw, admin)
	if len(during) != 2 || during[1] != before[0] {
		t.Fatalf("during the rotation: published %v, want the new key then %s", during, before[0])
	}
	newInfo := info(t, gw)
	if kidIn(t, newInfo) != during[0] {
		t.Fatalf("new header signed by %s, want %s", kidIn(t, newInfo), during[0])
	}
	for name, tok := range map[string]string{"new": newInfo, "old": oldInfo} {
		if _, err := v.Verify(tok); err != nil {
			t.Errorf("%s key's header during the rotation: %v", name, err)
		}
	}
	for i, res := range joseVerifyRemote(t, node, gw+gateway.InfoKeysPath, newInfo, oldInfo) {
		if !res.OK || !res.Compact || res.Header["kid"] != []string{during[0], before[0]}[i] {
			t.Errorf("jose, during the rotation, header %d: %+v", i, res)
		}
	}
	if !strings.Contains(out.String(), "serving on") {
		t.Fatal("serve did not say it serves")
	}

	// An instance still on the old file is refused.
	oldPath := filepath.Join(t.TempDir(), "old-info-key.pem")
	if err := os.WriteFile(oldPath, oldFile, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, invocation{args: []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--info-key", oldPath}, vars: vars})
	if r.code != exitUsage || !strings.Contains(r.stderr, "--info-key") || !strings.Contains(r.stderr, "rotate-info") {
		t.Fatalf("instance on the old key: %d %q", r.code, r.stderr)
	}
	stop()
	<-exited

	// Drop the previous key; an instance still publishing it is refused.
	rotated, _ := os.ReadFile(filepath.Join(dir, infoKeyFile))
	mustRun(t, invocation{args: []string{"keys", "rotate-info", "--drop-previous"}, vars: vars})
	gw, admin, stop, exited, _ = startServe(t, dir)
	if after := published(t, gw, admin); len(after) != 1 || after[0] != during[0] {
		t.Fatalf("after the drop: %v", after)
	}
	res := joseVerifyRemote(t, node, gw+gateway.InfoKeysPath, newInfo, oldInfo)
	if !res[0].OK || res[1].OK || res[1].Code != "ERR_JWKS_NO_MATCHING_KEY" {
		t.Errorf("jose, after the drop: new %+v, old %+v (want ERR_JWKS_NO_MATCHING_KEY)", res[0], res[1])
	}
	if err := os.WriteFile(oldPath, rotated, 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, invocation{args: []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--info-key", oldPath}, vars: vars})
	if r.code != exitUsage || !strings.Contains(r.stderr, "info-key-previous") {
		t.Fatalf("instance still publishing the dropped key: %d %q", r.code, r.stderr)
	}
	stop()
	<-exited
}

// freePort returns a port of 127.0.0.1 free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// TestNodeBackendVerifiesByURL runs the README's Node.js backend
// (backend.mjs: npm jose, createRemoteJWKSet with the gateway's URL and
// nothing else) behind a running gateway: a request through the gateway
// reaches it with a header it accepts; a request around the gateway, with
// no header or a forged one, is refused.
func TestNodeBackendVerifiesByURL(t *testing.T) {
	node, _ := nodetest.Setup(t, joseDir, "jose", "jose.mjs", "backend.mjs", "package-lock.json")
	dir := t.TempDir()
	vars := map[string]string{envDataDir: dir}
	port := freePort(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "backend.mjs")
	cmd.Dir = joseDir
	cmd.Env = append(os.Environ(), "AUTHGW_JWKS_URL=http://127.0.0.1:"+port+gateway.InfoKeysPath, "AUTHGW_AUDIENCE=demo", "PORT=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("backend.mjs stderr: %s", stderr.String())
		}
	}()
	var listening struct{ Port int }
	if err := json.NewDecoder(stdout).Decode(&listening); err != nil || listening.Port == 0 {
		t.Fatalf("backend.mjs did not say its port: %v", err)
	}
	backendURL := "http://127.0.0.1:" + strconv.Itoa(listening.Port)

	boot := mustRun(t, invocation{args: []string{"bootstrap", "--org", "Acme", "--email", "admin@example.com", "--name", "Ada",
		"--password-stdin"}, stdin: "correct horse battery staple\n", vars: vars})
	var creds struct{ UserID, ClientID, ClientSecret string }
	if err := json.Unmarshal([]byte(boot), &creds); err != nil {
		t.Fatal(err)
	}
	mustRun(t, invocation{args: []string{"apis", "add", "--name", "demo", "--version", "1", "--url", backendURL}, vars: vars})
	gw, _, stop, exited, _ := startServe(t, dir, "--listen", "127.0.0.1:"+port)
	defer func() { stop(); <-exited }()

	var tokens map[string]string
	out := mustRun(t, invocation{args: []string{"mint", "--policy", filepath.Join(dir, "policies", "member.json"),
		"--user", creds.UserID, "--client", creds.ClientID}, vars: vars, now: time.Now()})
	if err := json.Unmarshal([]byte(out), &tokens); err != nil {
		t.Fatal(err)
	}
	basic := base64.StdEncoding.EncodeToString([]byte(creds.ClientID + ":" + creds.ClientSecret))
	do := func(url string, h http.Header) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		for k, v := range h {
			req.Header[k] = v
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	status, body := do(gw+"/demo/v1/x", http.Header{"Authorization": {"Basic " + basic + ", Macaroon " + tokens["GET"]}})
	if status != 200 || !strings.Contains(body, `"client":"`+creds.ClientID+`"`) || !strings.Contains(body, `"user":"`+creds.UserID+`"`) {
		t.Fatalf("through the gateway: %d %s", status, body)
	}

	forger, err := infosign.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := infosign.NewSigner(infosign.SignerConfig{Key: forger, Issuer: "authgw:x"})
	if err != nil {
		t.Fatal(err)
	}
	forged, err := s.Sign(requestinfo.Claims{Client: creds.ClientID, Audience: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]http.Header{
		"no header":     {},
		"forged header": {"X-Auth-Info": {forged}, "X-Auth-Info-Signed": {"1"}},
		"unsigned":      {"X-Auth-Info": {forged}, "X-Auth-Info-Signed": {"0"}},
		"garbage":       {"X-Auth-Info": {"a.b.c"}, "X-Auth-Info-Signed": {"1"}},
	} {
		if status, body := do(backendURL+"/x", h); status != 401 {
			t.Errorf("around the gateway, %s: %d %s", name, status, body)
		}
	}
}
