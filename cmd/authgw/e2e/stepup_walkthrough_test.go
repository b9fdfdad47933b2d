package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway/gatewaytest"
)

// stepUpWalkthrough is the step-up walk-through with curl, as the README
// shows it: log in, a step-up route refused 401 STEP-UP-REQUIRED, a
// discharge for the password, and the route with the bound discharge.
const stepUpWalkthrough = "testdata/stepup-walkthrough.sh"

// TestStepUpWalkthrough runs the step-up walk-through as written, in
// bash, against `authgw serve` started with its defaults (its example
// policies put removing an address under a step-up), and checks what
// each step answered. When the README carries the walk-through (a
// "<!-- tested: stepup-walkthrough -->" block), that block must be the
// script, word for word.
func TestStepUpWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the walk-through")
	}
	for _, tool := range []string{"bash", "curl", "od", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	script, err := os.ReadFile(stepUpWalkthrough)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range readmeBlocks(t, "../../../README.md") {
		if b.name == "stepup-walkthrough" && b.script != string(script) {
			t.Fatalf("the README's stepup-walkthrough block differs from %s", stepUpWalkthrough)
		}
	}

	dir := t.TempDir()
	if err := os.Symlink(authgwBinary(t), filepath.Join(dir, "authgw")); err != nil {
		t.Fatal(err)
	}
	listen, adminListen := gatewaytest.FreeAddr(t), gatewaytest.FreeAddr(t)
	serveLog := &gatewaytest.LogBuffer{}
	serve := exec.Command("./authgw", "serve", "--listen", listen, "--admin-listen", adminListen, "--demo-listen", "off")
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

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", string(script))
	run.Dir = dir
	run.Env = append(os.Environ(), "GW=http://"+listen)
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("the step-up walk-through failed: %v\n--- output\n%s\n--- serve\n%s", err, out, serveLog.String())
	}
	for file, wants := range map[string][]string{
		"stepup-session.json":  {`"t":"session"`, `"stepUpMacaroons":{"DELETE":"`},
		"stepup-required.json": {`"status":401`, `"code":"STEP-UP-REQUIRED"`, `"caveatId":"`, `"discharge":"http://` + listen + `/accounts/v1/discharge"`},
		"discharge.json":       {`"discharge":"`, `"boundDischarge":"`, `"expiresAt":`},
		"removed.json":         {`{"t":"null"}`},
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
	// The address is gone, and the service logged the grant without the
	// caveat or the password.
	logs := serveLog.String()
	if !strings.Contains(logs, "step-up granted") || strings.Contains(logs, "a long passphrase") {
		t.Errorf("serve's log lacks the grant, or holds the password:\n%s", logs)
	}
}
