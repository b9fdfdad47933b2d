package e2e

import (
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// attackBreached is the password of the breached-password corpus that
// TestAttackPasswords hands serve.
const attackBreached = "attack suite breached passphrase"

// TestAttackPasswords tries weak new passwords on one running `authgw
// serve` started with --breached-passwords (issue 13 point 6): the
// common passwords the old list let through, a season and year, the
// user's name, the organization's name and the product's name with
// digits, and a password of the corpus; at registration and at
// change-password. Each is a 400 WEAK-PASSWORD that does not repeat the
// password; a passphrase outside the corpus still registers.
func TestAttackPasswords(t *testing.T) {
	if testing.Short() {
		t.Skip("starts authgw serve")
	}
	corpus := t.TempDir()
	sum := sha1.Sum([]byte(attackBreached))
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	if err := os.WriteFile(filepath.Join(corpus, h[:5]+".txt"), []byte(strings.Repeat("0", 35)+":2\r\n"+h[5:]+":52\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newAttackSuite(t, "--breached-passwords", corpus, "--demo-listen", "off")

	weak := func(t *testing.T, r attackReply, pw string) {
		t.Helper()
		attackExpectRefusal(t, "weak password", r, http.StatusBadRequest, "USER_DATA_INVALID")
		if !strings.Contains(string(r.Body), "WEAK-PASSWORD") || strings.Contains(string(r.Body), pw) {
			t.Fatalf("answer is not WEAK-PASSWORD, or repeats the password: %s", r.Body)
		}
	}
	register := func(t *testing.T, name, email, pw string) attackReply {
		return s.call(t, attackFromMain, "POST", "/accounts/v1/users", s.system, string(attackJSON(t, map[string]any{"data": map[string]string{
			"type": "users", "name": name, "email": email, "password": pw}})))
	}
	for i, tt := range []struct{ name, pw string }{
		{"common: michael1", "michael1"},
		{"common: charlie1", "charlie1"},
		{"common: mustang1", "mustang1"},
		{"season and year: winter2023", "winter2023"},
		{"own name and digits", "Mallory.Mallory.1999"},
		{"address local part and digits", "mal.lory-2024"},
		{"the client's organization (Acme) and digits", "ACME-2025-acme"},
		{"the product's name and digits", "AuthGW!2026"},
		{"breached", attackBreached},
	} {
		t.Run("register/"+tt.name, func(t *testing.T) {
			weak(t, register(t, "Mallory", "mal.lory"+strings.Repeat("x", i)+"@example.org", tt.pw), tt.pw)
		})
	}
	t.Run("register/a passphrase outside the corpus", func(t *testing.T) {
		r := register(t, "Mallory", "mallory@example.org", "mallory is fond of green tea")
		attackSessionFrom(t, r, http.StatusCreated)
	})
	// The plain user's token does not grant change-password under the
	// example policies; the sysadmin sets Pat's password.
	for _, pw := range []string{attackBreached, "Pat-Pat-2026!", "michael1"} {
		t.Run("change-password/"+pw[:4], func(t *testing.T) {
			r := s.call(t, attackFromMain, "POST", "/accounts/v1/users/"+s.pat.UserID+"/change-password", s.auth(s.admin, "POST"),
				string(attackJSON(t, map[string]any{"data": map[string]string{"newPassword": pw}})))
			weak(t, r, pw)
		})
	}
}
