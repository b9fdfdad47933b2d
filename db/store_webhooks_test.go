package db_test

import (
	"errors"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestWebhookSubscriptions: a subscription is stored, read, listed,
// changed and deleted (its deliveries with it); bad fields are
// ErrInvalid, on both databases.
func TestWebhookSubscriptions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		sub := db.WebhookSubscription{ID: "0190a000-0000-7000-8000-0000000000a1", URL: "https://hooks.example/in", Events: []string{"login.failed", "user.created"},
			SecretCiphertext: []byte{1, 2, 3}, Active: true, CreatedMs: 1700000000000}
		if err := d.CreateWebhookSubscription(ctx, sub); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateWebhookSubscription(ctx, sub); !errors.Is(err, db.ErrDuplicate) {
			t.Errorf("again: %v, want ErrDuplicate", err)
		}
		got, err := d.GetWebhookSubscription(ctx, sub.ID)
		if err != nil || got.URL != sub.URL || len(got.Events) != 2 || !got.Active || string(got.SecretCiphertext) != "\x01\x02\x03" || got.UpdatedMs != sub.CreatedMs {
			t.Fatalf("get: %+v, %v", got, err)
		}
		got.Active, got.Events, got.UpdatedMs = false, []string{"*"}, 1700000000001
		if err := d.UpdateWebhookSubscription(ctx, got); err != nil {
			t.Fatal(err)
		}
		list, err := d.ListWebhookSubscriptions(ctx)
		if err != nil || len(list) != 1 || list[0].Active || list[0].Events[0] != "*" {
			t.Fatalf("list: %+v, %v", list, err)
		}
		for name, mod := range map[string]func(*db.WebhookSubscription){
			"no URL":    func(s *db.WebhookSubscription) { s.URL = "" },
			"no events": func(s *db.WebhookSubscription) { s.Events = nil },
			"no secret": func(s *db.WebhookSubscription) { s.SecretCiphertext = nil },
			"no time":   func(s *db.WebhookSubscription) { s.CreatedMs = 0 },
		} {
			bad := sub
			bad.ID = "0190a000-0000-7000-8000-0000000000a2"
			mod(&bad)
			if err := d.CreateWebhookSubscription(ctx, bad); !errors.Is(err, db.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		if err := d.DeleteWebhookSubscription(ctx, sub.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := d.GetWebhookSubscription(ctx, sub.ID); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("after delete: %v, want ErrNotFound", err)
		}
	})
}

// TestWebhookQueue: fan-out is idempotent and marks events; a due
// delivery goes to one claim at a time, to another once the lease
// expired; only the holder of the claim finishes it; a dead one is
// retried by hand, on both databases.
func TestWebhookQueue(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		const subID, eventID, deliveryID = "0190a000-0000-7000-8000-0000000000b1", "0190a000-0000-7000-8000-0000000000b2", "0190a000-0000-7000-8000-0000000000b3"
		if err := d.CreateWebhookSubscription(ctx, db.WebhookSubscription{ID: subID, URL: "https://h.example/", Events: []string{"*"},
			SecretCiphertext: []byte{1}, Active: true, CreatedMs: 1000}); err != nil {
			t.Fatal(err)
		}
		if err := d.InsertAuditEvent(ctx, db.AuditEvent{ID: eventID, TimeMs: 2000, Type: "login.failed", Outcome: db.AuditFailure}); err != nil {
			t.Fatal(err)
		}
		events, err := d.UnfannedAuditEvents(ctx, 10)
		if err != nil || len(events) != 1 || events[0].ID != eventID {
			t.Fatalf("unfanned: %+v, %v", events, err)
		}
		delivery := db.WebhookDelivery{ID: deliveryID, SubscriptionID: subID, EventID: eventID, EventType: "login.failed", Body: "{}", NextAttemptMs: 3000, CreatedMs: 3000}
		if err := d.FanOutAuditEvents(ctx, []string{eventID}, []db.WebhookDelivery{delivery}); err != nil {
			t.Fatal(err)
		}
		// A second dispatcher's fan-out of the same event, under another
		// delivery ID: skipped.
		delivery.ID = "0190a000-0000-7000-8000-0000000000b4"
		if err := d.FanOutAuditEvents(ctx, []string{eventID}, []db.WebhookDelivery{delivery}); err != nil {
			t.Fatalf("second fan-out: %v", err)
		}
		if events, _ := d.UnfannedAuditEvents(ctx, 10); len(events) != 0 {
			t.Errorf("still unfanned: %+v", events)
		}
		if list, _ := d.ListWebhookDeliveries(ctx, subID, "", 10); len(list) != 1 || list[0].ID != deliveryID {
			t.Fatalf("deliveries: %+v", list)
		}
		if got, _ := d.ClaimWebhookDeliveries(ctx, "early", 2999, 9000, 10); len(got) != 0 {
			t.Errorf("claimed before due: %+v", got)
		}
		first, err := d.ClaimWebhookDeliveries(ctx, "first", 3000, 5000, 10)
		if err != nil || len(first) != 1 || first[0].Attempts != 1 || first[0].URL != "https://h.example/" {
			t.Fatalf("first claim: %+v, %v", first, err)
		}
		if got, _ := d.ClaimWebhookDeliveries(ctx, "second", 4999, 9000, 10); len(got) != 0 {
			t.Errorf("claimed while leased: %+v", got)
		}
		second, err := d.ClaimWebhookDeliveries(ctx, "second", 5000, 9000, 10)
		if err != nil || len(second) != 1 || second[0].ID != deliveryID || second[0].Attempts != 2 {
			t.Fatalf("claim after the lease expired: %+v, %v", second, err)
		}
		if ok, err := d.FinishWebhookDelivery(ctx, db.DeliveryOutcome{ID: deliveryID, LeaseOwner: "first", Status: db.DeliveryDelivered, NowMs: 5001}); ok || err != nil {
			t.Errorf("finish by the expired claim: %v, %v; want false", ok, err)
		}
		if ok, err := d.FinishWebhookDelivery(ctx, db.DeliveryOutcome{ID: deliveryID, LeaseOwner: "second", Status: db.DeliveryDead, LastStatus: 500, LastError: "HTTP 500", NowMs: 5002}); !ok || err != nil {
			t.Fatalf("finish: %v, %v", ok, err)
		}
		dead, _ := d.ListWebhookDeliveries(ctx, subID, db.DeliveryDead, 10)
		if len(dead) != 1 || dead[0].LastStatus != 500 || dead[0].LeaseOwner != "" {
			t.Fatalf("dead: %+v", dead)
		}
		if depth, err := d.WebhookQueueDepth(ctx); err != nil || depth[db.DeliveryDead] != 1 || depth[db.DeliveryPending] != 0 {
			t.Errorf("depth: %v, %v", depth, err)
		}
		if err := d.RetryWebhookDelivery(ctx, subID, deliveryID, 6000); err != nil {
			t.Fatal(err)
		}
		if err := d.RetryWebhookDelivery(ctx, subID, deliveryID, 6000); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("retry of a pending one: %v, want ErrNotFound", err)
		}
		again, _ := d.ClaimWebhookDeliveries(ctx, "third", 6000, 9000, 10)
		if len(again) != 1 || again[0].Attempts != 1 || again[0].QueuedMs != 6000 {
			t.Fatalf("after retry: %+v", again)
		}
	})
}
