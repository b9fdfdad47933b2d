package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway/gatewaytest"
)

// The README's walk-throughs are run as written: every fenced sh block
// after a "<!-- tested: NAME -->" line, in README order, in one bash
// session (so later blocks see the variables of earlier ones), in a fresh
// directory holding the authgw binary, against an `authgw serve` started
// there with its defaults (only the listen addresses differ: the
// gateway's is given to the blocks as GW, and the demo backend listens on
// a free port, registered as demo v1 by serve). A block that fails, or a README without the blocks, fails
// the test.

// testedBlock is one walk-through block of the README.
type testedBlock struct {
	name, script string
}

// readmeBlocks returns the README's tested blocks in order.
func readmeBlocks(t *testing.T, path string) []testedBlock {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []testedBlock
	sc := bufio.NewScanner(bytes.NewReader(raw))
	name, inBlock := "", false
	var b strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "<!-- tested: ") && strings.HasSuffix(line, " -->"):
			name = strings.TrimSuffix(strings.TrimPrefix(line, "<!-- tested: "), " -->")
		case name != "" && !inBlock && line == "```sh":
			inBlock = true
			b.Reset()
		case inBlock && line == "```":
			blocks = append(blocks, testedBlock{name: name, script: b.String()})
			name, inBlock = "", false
		case inBlock:
			b.WriteString(line + "\n")
		}
	}
	return blocks
}

func TestREADMEWalkthroughs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the README")
	}
	for _, tool := range []string{"bash", "curl", "od", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	blocks := readmeBlocks(t, "../../../README.md")
	want := []string{"quickstart-bootstrap", "quickstart-login", "quickstart-demo", "quickstart-inspect",
		"quickstart-attenuate", "accounts-walkthrough", "login-walkthrough", "stepup-walkthrough"}
	var names []string
	for _, b := range blocks {
		names = append(names, b.name)
	}
	if !slices.Equal(names, want) {
		t.Fatalf("README's tested blocks are %v, want %v in that order", names, want)
	}

	dir := t.TempDir()
	if err := os.Symlink(authgwBinary(t), filepath.Join(dir, "authgw")); err != nil {
		t.Fatal(err)
	}
	listen, adminListen, demoListen := gatewaytest.FreeAddr(t), gatewaytest.FreeAddr(t), gatewaytest.FreeAddr(t)
	serveLog := &gatewaytest.LogBuffer{}
	serve := exec.Command("./authgw", "serve", "--listen", listen, "--admin-listen", adminListen, "--demo-listen", demoListen)
	serve.Dir = dir
	serve.Stdout, serve.Stderr = serveLog, serveLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		_ = serve.Wait()
	})
	waitListening(t, listen, serveLog)

	var script strings.Builder
	for _, b := range blocks {
		fmt.Fprintf(&script, "echo '== README block %s'\n%s", b.name, b.script)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script.String())
	run.Dir = dir
	run.Env = append(os.Environ(), "GW=http://"+listen)
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's walk-through failed: %v\n--- output\n%s\n--- serve\n%s", err, out, serveLog.String())
	}
	// What the blocks claim to have done, checked from their files.
	boot, err := os.ReadFile(filepath.Join(dir, "boot.json"))
	if err != nil {
		t.Fatal(err)
	}
	var creds struct{ UserID, ClientID string }
	if err := json.Unmarshal(boot, &creds); err != nil || creds.UserID == "" {
		t.Fatalf("boot.json = %s: %v", boot, err)
	}
	for file, wants := range map[string][]string{
		"headers.txt": {"__Host-authgw-get=", "__Host-authgw-post="},
		"login.json":  {`"t":"session"`, `"userId":"` + creds.UserID + `"`},
		"hello.json": {`"hello":"from the demo backend"`, `"path":"/hello"`, `"method":"GET"`,
			`"client":"` + creds.ClientID + `"`, `"user":"` + creds.UserID + `"`},
		"denied.json":       {`"status":403`, `"code":"TOKEN-NOT-GRANTED"`},
		"notes.json":        {`{"notes":[]}`},
		"hello2.json":       {`"user":"` + creds.UserID + `"`},
		"ann.json":          {`"t":"session"`},
		"ann-session.json":  {`"t":"session"`, `"macaroons"`},
		"ann-session2.json": {`"t":"session"`},
		"client.json":       {`"reqsPerSec":50`, `"secret"`},
	} {
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range wants {
			if !bytes.Contains(got, []byte(w)) {
				t.Errorf("%s lacks %s: %s", file, w, got)
			}
		}
	}
	// The quickstart's inspect: the token's caveats, and its signature
	// checked with the data directory's key ring.
	for _, w := range []string{"signature: valid", "routes ", "/demo/v1/**", "user " + creds.UserID, "client " + creds.ClientID} {
		if !bytes.Contains(out, []byte(w)) {
			t.Errorf("the quickstart's output lacks %q:\n%s", w, out)
		}
	}
	// serve's start-up lines name the next steps: bootstrap and the demo
	// through the gateway.
	for _, w := range []string{"authgw bootstrap --org", "http://" + listen + "/demo/v1/", "(a demo, not for production"} {
		if !strings.Contains(serveLog.String(), w) {
			t.Errorf("serve's start-up output lacks %q:\n%s", w, serveLog.String())
		}
	}
	if n := bytes.Count(out, []byte(`"type":"org-memberships"`)); n != 3 {
		t.Errorf("the walk-through shows %d memberships, want 3 (one created, two listed):\n%s", n, out)
	}
}

// waitListening waits until addr accepts connections.
func waitListening(t *testing.T, addr string, log *gatewaytest.LogBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("authgw serve did not listen on %s:\n%s", addr, log.String())
}
