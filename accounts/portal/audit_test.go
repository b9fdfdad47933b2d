package portal_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/db"
)

// TestFormRefusedIsAudited: a sign-in form posted with a forged CSRF
// token is refused (403) and recorded in the accounts service's audit log
// as form.refused, with the IP of the page request (a browser sends no
// client) and the form's path; neither the password nor the address
// typed is stored.
func TestFormRefusedIsAudited(t *testing.T) {
	s := newStack(t, stackOptions{})
	b := s.browser()
	f := b.get(loginPath).form(loginPath)
	if f == nil {
		t.Fatal("no sign-in form")
	}
	f.Set("csrf_token", "forged")
	f.Set("email", "ann@example.com")
	f.Set("password", "a typed password")
	if p := b.do(http.MethodPost, loginPath, f); p.Status != http.StatusForbidden {
		t.Fatalf("forged CSRF token: %d", p.Status)
	}
	events, err := s.d.TailAuditEvents(s.ctx, db.AuditFilter{Types: []string{audit.FormRefused}}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("%d form.refused events, want 1", len(events))
	}
	e := events[0]
	if e.Outcome != db.AuditFailure || e.Reason != "CSRF-REFUSED" || e.Data["path"] != loginPath || e.IP != "127.0.0.1" {
		t.Fatalf("event %+v", e)
	}
	for _, v := range []string{e.Data["path"], e.Reason, e.ActorClientID, e.IP} {
		if strings.Contains(v, "@") || strings.Contains(v, "typed") {
			t.Fatalf("event %+v holds what was typed", e)
		}
	}
}
