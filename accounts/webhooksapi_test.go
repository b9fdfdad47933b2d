package accounts_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/webhooks"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// The webhook routes, as the authorization table names them.
const (
	listWebhooks      = "GET /webhooks"
	createWebhook     = "POST /webhooks"
	getWebhook        = "GET /webhooks/:id"
	patchWebhook      = "PATCH /webhooks/:id"
	deleteWebhook     = "DELETE /webhooks/:id"
	listDeliveries    = "GET /webhooks/:id/deliveries"
	retryDelivery     = "POST /webhooks/:id/deliveries/:deliveryId/retry"
	rotateSecret      = "POST /webhooks/:id/rotate-secret"
	testWebhookURL    = "https://hooks.example.com/in"
	testWebhookEvents = "login.failed"
)

// webhook stores a subscription directly, as the API would, and returns
// its ID.
func (f *authzFixture) webhook(t testing.TB) string {
	t.Helper()
	return f.s.webhookSubscription()
}

// deadDelivery queues a delivery of a new subscription and gives it up,
// and returns its path.
func (f *authzFixture) deadDelivery(t testing.TB) string {
	t.Helper()
	sub := f.webhook(t)
	now := f.s.clock.Now().UnixMilli()
	event, id := db.NewID(f.s.clock.Now(), rand.Reader), db.NewID(f.s.clock.Now(), rand.Reader)
	if err := f.d.InsertAuditEvent(f.s.ctx, db.AuditEvent{ID: event, TimeMs: now, Type: testWebhookEvents, Outcome: db.AuditFailure}); err != nil {
		t.Fatal(err)
	}
	if err := f.d.FanOutAuditEvents(f.s.ctx, []string{event}, []db.WebhookDelivery{{ID: id, SubscriptionID: sub, EventID: event,
		EventType: testWebhookEvents, Body: "{}", NextAttemptMs: now, CreatedMs: now}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.ClaimWebhookDeliveries(f.s.ctx, id, now, now+1000, db.MaxPageSize); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.d.FinishWebhookDelivery(f.s.ctx, db.DeliveryOutcome{ID: id, LeaseOwner: id, Status: db.DeliveryDead, LastStatus: 500, NowMs: now}); !ok || err != nil {
		t.Fatalf("finish: %v, %v", ok, err)
	}
	return "/webhooks/" + sub + "/deliveries/" + id
}

func newWebhookBody() map[string]any {
	return map[string]any{"type": "webhooks", "url": testWebhookURL, "events": []string{testWebhookEvents}}
}

// webhookAuthzCases: every webhook route is the sysadmin's alone.
func webhookAuthzCases() []authzCase {
	var cases []authzCase
	for _, c := range []struct {
		route  string
		status int
		setup  func(f *authzFixture) (string, any)
	}{
		{listWebhooks, 200, func(*authzFixture) (string, any) { return "/webhooks", nil }},
		{createWebhook, 201, func(*authzFixture) (string, any) { return "/webhooks", newWebhookBody() }},
		{getWebhook, 200, func(f *authzFixture) (string, any) { return "/webhooks/" + f.webhook(f.s.t), nil }},
		{patchWebhook, 200, func(f *authzFixture) (string, any) {
			return "/webhooks/" + f.webhook(f.s.t), map[string]any{"active": false}
		}},
		{deleteWebhook, 200, func(f *authzFixture) (string, any) { return "/webhooks/" + f.webhook(f.s.t), nil }},
		{rotateSecret, 200, func(f *authzFixture) (string, any) { return "/webhooks/" + f.webhook(f.s.t) + "/rotate-secret", nil }},
		{listDeliveries, 200, func(f *authzFixture) (string, any) { return "/webhooks/" + f.webhook(f.s.t) + "/deliveries", nil }},
		{retryDelivery, 200, func(f *authzFixture) (string, any) { return f.deadDelivery(f.s.t) + "/retry", nil }},
	} {
		cases = append(cases,
			authzAllowed(c.route, "sysadmin", c.status, func(f *authzFixture) (as, string, any) {
				path, body := c.setup(f)
				return by(f.app, f.admin), path, body
			}),
			authzForbidden(c.route, "employee", func(f *authzFixture) (as, string, any) {
				path, body := c.setup(f)
				return by(f.internal, f.emp), path, body
			}),
			authzForbidden(c.route, "ISC and a plain user", func(f *authzFixture) (as, string, any) {
				path, body := c.setup(f)
				return by(f.isc, f.plain), path, body
			}),
		)
	}
	return cases
}

// TestWebhooksAPI: a sysadmin subscribes, sees the secret once, changes
// and removes the subscription; bad URLs and event types are 400 with an
// obstruction naming the field; on both databases.
func TestWebhooksAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		org := s.org("Acme", s.user("Owner"))
		app := s.client(org, db.ClientRoleSystem)
		admin := s.user("Admin", db.RoleSysadmin)
		asAdmin := by(app, admin)

		created := s.do(asAdmin, "POST", "/webhooks", map[string]any{"url": "HTTPS://Hooks.Example.com/in",
			"events": []string{"user.created", "login.failed"}}).expect(t, 201).data()
		id, _ := created["id"].(string)
		secret, _ := created["secret"].(string)
		if !strings.HasPrefix(secret, webhooks.SecretPrefix) || created["url"] != "https://hooks.example.com/in" || created["active"] != true {
			t.Fatalf("created: %v", created)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, webhooks.SecretPrefix))
		if err != nil || len(key) != webhooks.SecretSize {
			t.Fatalf("secret %q: %v", secret, err)
		}
		// The stored secret is sealed, and opens to the one shown.
		row, err := d.GetWebhookSubscription(s.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if opened, err := s.totp.Open("webhook:"+id, row.SecretCiphertext); err != nil || string(opened) != string(key) {
			t.Fatalf("sealed secret: %v", err)
		}
		if strings.Contains(string(row.SecretCiphertext), string(key)) {
			t.Fatal("the secret is stored in clear")
		}

		got := s.do(asAdmin, "GET", "/webhooks/"+id, nil).expect(t, 200).data()
		if _, shown := got["secret"]; shown {
			t.Errorf("GET shows the secret: %v", got)
		}
		for _, w := range s.do(asAdmin, "GET", "/webhooks", nil).expect(t, 200).list() {
			if _, shown := w["secret"]; shown {
				t.Errorf("the list shows the secret: %v", w)
			}
		}
		patched := s.do(asAdmin, "PATCH", "/webhooks/"+id, map[string]any{"events": []string{"*"}, "active": false}).expect(t, 200).data()
		if patched["active"] != false || fmt.Sprint(patched["events"]) != "[*]" || patched["url"] != "https://hooks.example.com/in" {
			t.Errorf("patched: %v", patched)
		}
		if list := s.do(asAdmin, "GET", "/webhooks/"+id+"/deliveries?status=dead", nil).expect(t, 200).list(); len(list) != 0 {
			t.Errorf("deliveries: %v", list)
		}
		s.do(asAdmin, "GET", "/webhooks/"+id+"/deliveries?status=lost", nil).expect(t, 400, accounts.CodeBadQuery)
		s.do(asAdmin, "POST", "/webhooks/"+id+"/deliveries/0190a000-0000-7000-8000-000000000001/retry", nil).expect(t, 409, accounts.CodeWebhookNotDead)

		for _, c := range []struct {
			name        string
			givenData   map[string]any
			expectField string
		}{
			{"metadata service", map[string]any{"url": "http://169.254.169.254/latest/meta-data/", "events": []string{"*"}}, "url"},
			{"plain http elsewhere", map[string]any{"url": "http://hooks.example.com/", "events": []string{"*"}}, "url"},
			{"credentials in the URL", map[string]any{"url": "https://u:p@hooks.example.com/", "events": []string{"*"}}, "url"},
			{"no URL", map[string]any{"events": []string{"*"}}, "url"},
			{"URL not a string", map[string]any{"url": 7, "events": []string{"*"}}, "url"},
			{"no events", map[string]any{"url": testWebhookURL}, "events"},
			{"empty events", map[string]any{"url": testWebhookURL, "events": []string{}}, "events"},
			{"bad event type", map[string]any{"url": testWebhookURL, "events": []string{"Login Failed"}}, "events"},
			{"events not a list", map[string]any{"url": testWebhookURL, "events": "login.failed"}, "events"},
			{"unknown field", map[string]any{"url": testWebhookURL, "events": []string{"*"}, "secret": "whsec_mine"}, "secret"},
		} {
			t.Run(c.name, func(t *testing.T) {
				res := s.do(asAdmin, "POST", "/webhooks", c.givenData).expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
				if fields := res.obstructionFields(); !slices.Contains(fields, c.expectField) {
					t.Errorf("obstructions on %v, want %s", fields, c.expectField)
				}
			})
		}
		s.do(asAdmin, "PATCH", "/webhooks/"+id, map[string]any{"url": "https://[fe80::1]/"}).expect(t, 400, accounts.CodeInvalidData)

		rotated := s.do(asAdmin, "POST", "/webhooks/"+id+"/rotate-secret", nil).expect(t, 200).data()
		newSecret, _ := rotated["secret"].(string)
		if !strings.HasPrefix(newSecret, webhooks.SecretPrefix) || newSecret == secret || rotated["id"] != id {
			t.Fatalf("rotated: %v", rotated)
		}
		row, _ = d.GetWebhookSubscription(s.ctx, id)
		if opened, err := s.totp.Open("webhook:"+id, row.SecretCiphertext); err != nil || base64.StdEncoding.EncodeToString(opened) != strings.TrimPrefix(newSecret, webhooks.SecretPrefix) {
			t.Fatalf("after the rotation the stored secret is not the new one: %v", err)
		}

		s.do(asAdmin, "DELETE", "/webhooks/"+id, nil).expect(t, 200)
		s.do(asAdmin, "POST", "/webhooks/"+id+"/rotate-secret", nil).expect(t, 404, accounts.CodeNotFound)
		s.do(asAdmin, "GET", "/webhooks/"+id, nil).expect(t, 404, accounts.CodeNotFound)
		s.do(asAdmin, "GET", "/webhooks/"+id+"/deliveries", nil).expect(t, 404, accounts.CodeNotFound)
		s.do(asAdmin, "POST", "/webhooks/"+id+"/deliveries/x/retry", nil).expect(t, 404, accounts.CodeNotFound)
	})
}

// TestWebhooksAPIAllowHTTP: with WebhookAllowHTTP a plain http URL on
// any host is accepted, the metadata service still not.
func TestWebhooksAPIAllowHTTP(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), func(c *accounts.Config) { c.WebhookAllowHTTP = true })
	org := s.org("Acme", s.user("Owner"))
	asAdmin := by(s.client(org, db.ClientRoleSystem), s.user("Admin", db.RoleSysadmin))
	s.do(asAdmin, "POST", "/webhooks", map[string]any{"url": "http://hooks.internal/in", "events": []string{"*"}}).expect(t, 201)
	s.do(asAdmin, "POST", "/webhooks", map[string]any{"url": "http://169.254.169.254/", "events": []string{"*"}}).expect(t, 400)
}

// webhookSubscription stores a subscription directly and returns its ID.
func (s *stack) webhookSubscription() string {
	s.t.Helper()
	sub, _, err := webhooks.NewSubscription(s.totp, rand.Reader, s.clock.Now(), testWebhookURL, []string{testWebhookEvents}, true)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.d.CreateWebhookSubscription(s.ctx, sub); err != nil {
		s.t.Fatal(err)
	}
	return sub.ID
}
