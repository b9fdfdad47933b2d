package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestServeLogsFollowLogFormat: with --log-format json every line serve
// writes on stderr is a JSON object, the lines of the libraries that log
// through the process's default logger included: zitadel/oidc's provider
// warns of a token request with an unknown grant_type, a value the
// client chose, and that warning too comes as JSON (before, it came as
// the standard library's text, whatever the setting).
func TestServeLogsFollowLogFormat(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no serve process")
	}
	dir := t.TempDir()
	vars := map[string]string{envDataDir: dir}
	creds := bootstrapFor(t, vars)
	p := startServeProcess(t, "serve", []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--demo-listen", "off", "--log-format", "json"}, vars, 20*time.Second)
	form := url.Values{"grant_type": {"urn:example:made-up\nlevel=ERROR msg=forged"}}
	req, err := http.NewRequest("POST", p.gatewayURL+"/accounts/v1/oidc/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(creds.ClientID, creds.ClientSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("a token request with a made-up grant_type answered %d, want 400", res.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.stderr.String(), "made-up") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	log := p.stderr.String()
	if !strings.Contains(log, "made-up") {
		t.Fatalf("the provider logged nothing of the request; the log:\n%s", log)
	}
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("a line of serve's log is not JSON (%v): %q", err, line)
		}
	}
}
