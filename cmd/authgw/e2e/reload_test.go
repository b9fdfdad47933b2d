package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReloadSIGHUP: the real binary, reading files only on SIGHUP
// (--reload-interval 0): a broken policy file written while serving is
// not read until the signal; after it the process still serves, logs one
// line naming --policies, and /readyz answers 200 degraded naming it; the
// file fixed and a second SIGHUP make it ready again. SIGHUP never stops
// the process.
func TestReloadSIGHUP(t *testing.T) {
	dir := t.TempDir()
	p := startServeProcess(t, "serve", []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--cookie-secure", "false", "--demo-listen", "off", "--reload-interval", "0"}, map[string]string{envDataDir: dir}, 20*time.Second)
	readyz := func() (string, []string) {
		t.Helper()
		resp, err := http.Get(p.adminURL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Status   string
			Degraded []string
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
			t.Fatalf("/readyz = %d, want 200 with JSON", resp.StatusCode)
		}
		return body.Status, body.Degraded
	}
	waitStatus := func(want string) []string {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			status, degraded := readyz()
			if status == want {
				return degraded
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz %s %q, want %s within 5 s", status, degraded, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	bad := filepath.Join(dir, "policies", "broken.json")
	if err := os.WriteFile(bad, []byte(`{"name":`), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if status, _ := readyz(); status != "ready" {
		t.Fatalf("/readyz %s before SIGHUP with --reload-interval 0, want ready (no poll)", status)
	}
	p.signal(syscall.SIGHUP)
	degraded := waitStatus("degraded")
	if !strings.Contains(strings.Join(degraded, " "), "--policies") {
		t.Errorf("/readyz degraded %q, want --policies named", degraded)
	}
	if log := p.stderr.String(); !strings.Contains(log, `msg="reload refused: the last good one stays in use" setting=--policies`) {
		t.Errorf("no log line naming --policies: %s", log)
	}
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
	p.signal(syscall.SIGHUP)
	waitStatus("ready")
	select {
	case code := <-p.exited:
		t.Fatalf("serve exited with %d after SIGHUP", code)
	default:
	}
}
