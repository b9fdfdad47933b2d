package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/accounts/webhooks"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/sharedmaterial"
)

// TestWebhooks_CLI: add prints the subscription with its secret once;
// list never shows it; remove removes; bad input is a usage error.
func TestWebhooks_CLI(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, totpKeyFile), []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, args("migrate", "up", "--data-dir", dir))
	out := mustRun(t, args("webhooks", "add", "--url", "https://Hooks.Example.com/in", "--event", "login.failed", "--event", "user.created", "--data-dir", dir))
	var added struct {
		ID, URL, Secret string
		Events          []string
		Active          bool
	}
	if err := json.Unmarshal([]byte(out), &added); err != nil {
		t.Fatalf("add printed %q: %v", out, err)
	}
	if added.URL != "https://hooks.example.com/in" || !added.Active || len(added.Events) != 2 || !strings.HasPrefix(added.Secret, webhooks.SecretPrefix) {
		t.Fatalf("add printed %+v", added)
	}
	secretB64 := strings.TrimPrefix(added.Secret, webhooks.SecretPrefix)
	for _, list := range []string{mustRun(t, args("webhooks", "list", "--data-dir", dir)), mustRun(t, args("webhooks", "list", "--json", "--data-dir", dir))} {
		if !strings.Contains(list, added.ID) || strings.Contains(list, secretB64) || strings.Contains(list, "secret") {
			t.Errorf("list = %q", list)
		}
	}
	mustRun(t, args("webhooks", "remove", "--id", added.ID, "--data-dir", dir))
	expectResult(t, runCLI(t, args("webhooks", "remove", "--id", added.ID, "--data-dir", dir)), exitFailure, nil, []string{"no webhook subscription"})

	for _, c := range []struct {
		name         string
		whenArgs     []string
		expectStderr string
	}{
		{"metadata service", []string{"add", "--url", "http://169.254.169.254/", "--event", "*"}, "--url: "},
		{"plain http elsewhere", []string{"add", "--url", "http://hooks.example.com/", "--event", "*"}, "--url: url must start with https://"},
		{"bad event", []string{"add", "--url", "https://h.example/", "--event", "Login"}, "--event: "},
		{"no event", []string{"add", "--url", "https://h.example/"}, "--event: "},
		{"json on add", []string{"add", "--url", "https://h.example/", "--event", "*", "--json"}, "--json: not a flag of webhooks add"},
		{"remove without id", []string{"remove"}, "--id is required"},
		{"unknown action", []string{"send"}, "unknown action"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, args(append(append([]string{"webhooks"}, c.whenArgs...), "--data-dir", dir)...))
			expectResult(t, r, exitUsage, nil, []string{c.expectStderr})
		})
	}
	// With --allow-http, plain http on any host is accepted.
	mustRun(t, args("webhooks", "add", "--url", "http://hooks.internal/", "--event", "*", "--allow-http", "--data-dir", dir))
}

// TestServe_webhookDelivery: serve's dispatcher delivers an audit event
// to a subscription made with the CLI, signed with its secret, in the
// background.
func TestServe_webhookDelivery(t *testing.T) {
	dir := t.TempDir()
	type delivery struct {
		id, timestamp, signature string
		body                     []byte
	}
	got := make(chan delivery, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), b}
	}))
	defer receiver.Close()
	startServe(t, dir, "--webhook-workers", "2")
	out := mustRun(t, args("webhooks", "add", "--url", receiver.URL+"/hook", "--event", "login.failed", "--data-dir", dir))
	var added struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(out), &added); err != nil {
		t.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(added.Secret, webhooks.SecretPrefix))
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	store, err := db.Open(ctx, "sqlite:"+filepath.Join(dir, "authgw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	eventID := db.NewID(now, rand.Reader)
	if err := store.InsertAuditEvent(ctx, db.AuditEvent{ID: eventID, TimeMs: now.UnixMilli(), Type: "login.failed", Outcome: db.AuditFailure}); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-got:
		ts, _ := strconv.ParseInt(d.timestamp, 10, 64)
		if d.signature != webhooks.Sign(key, d.id, ts, d.body) || !strings.Contains(string(d.body), eventID) {
			t.Errorf("delivery %+v (%s) does not verify", d, d.body)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no delivery within 15 s")
	}
}

// TestWebhooks_reseal: totp reseal moves the webhook secrets to the
// ring's newest key too, so that the old key can leave the ring.
func TestWebhooks_reseal(t *testing.T) {
	dir := t.TempDir()
	oldKey, newKey := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	if err := os.WriteFile(filepath.Join(dir, totpKeyFile), []byte(oldKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, args("migrate", "up", "--data-dir", dir))
	var added struct{ ID string }
	if err := json.Unmarshal([]byte(mustRun(t, args("webhooks", "add", "--url", "https://h.example/", "--event", "*", "--data-dir", dir))), &added); err != nil {
		t.Fatal(err)
	}
	ring := filepath.Join(dir, "ring.json")
	if err := os.WriteFile(ring, []byte(`{"keys":[{"id":"t2","secret":"`+newKey+`"},{"id":"0","secret":"`+oldKey+`"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := db.Open(ctx, "sqlite:"+filepath.Join(dir, "authgw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	newBytes, _ := hex.DecodeString(newKey)
	if _, err := store.RecordFingerprint(ctx, db.Fingerprint{Name: "totp-key:t2", Value: sharedmaterial.Fingerprint("totp-key:t2", newBytes), CreatedMs: 2}); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, args("totp", "reseal", "--totp-key", ring, "--data-dir", dir))
	if !strings.Contains(out, "resealed 1 webhook secrets; 0 already on it, 0 skipped, 0 failed") {
		t.Fatalf("reseal printed %q", out)
	}
	sub, err := store.GetWebhookSubscription(ctx, added.ID)
	if err != nil {
		t.Fatal(err)
	}
	onlyNew, err := totp.New(totp.Config{Issuer: "authgw", Keys: []totp.Key{{ID: "t2", Secret: newBytes}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, changed, err := webhooks.ResealSecret(onlyNew, sub.ID, sub.SecretCiphertext); err != nil || changed {
		t.Errorf("the resealed secret does not open with the new key alone: changed %v, %v", changed, err)
	}
}
