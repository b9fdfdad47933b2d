package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/authgw/authgw/accounts/webhooks"
	"github.com/authgw/authgw/db"
)

// WebhookStore is what the webhook subscriptions' endpoints use
// (webhooksapi.go); the deliveries themselves are the dispatcher's
// (package webhooks).
type WebhookStore interface {
	CreateWebhookSubscription(ctx context.Context, sub db.WebhookSubscription) error
	GetWebhookSubscription(ctx context.Context, id string) (db.WebhookSubscription, error)
	ListWebhookSubscriptions(ctx context.Context) ([]db.WebhookSubscription, error)
	UpdateWebhookSubscription(ctx context.Context, sub db.WebhookSubscription) error
	DeleteWebhookSubscription(ctx context.Context, id string) error
	ReplaceWebhookSecretCiphertext(ctx context.Context, id string, old, resealed []byte) (bool, error)
	ListWebhookDeliveries(ctx context.Context, subscriptionID, status string, limit int) ([]db.WebhookDelivery, error)
	RetryWebhookDelivery(ctx context.Context, subscriptionID, id string, nowMs int64) error
}

var _ WebhookStore = (*db.DB)(nil)

// CodeWebhookNotDead refuses the retry of a delivery that is not dead.
const CodeWebhookNotDead = "WEBHOOK-DELIVERY-NOT-DEAD"

// maxDeliveriesListed bounds GET /webhooks/:id/deliveries: the latest
// ones.
const maxDeliveriesListed = 100

// webhookOut is a subscription as the API shows it. Secret is set only
// in the answer of its creation: it is shown once.
type webhookOut struct {
	Type      string   `json:"type"`
	ID        string   `json:"id"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Active    bool     `json:"active"`
	CreatedMs int64    `json:"createdMs"`
	UpdatedMs int64    `json:"updatedMs"`
	Secret    string   `json:"secret,omitempty"`
}

func webhookJSON(sub db.WebhookSubscription) webhookOut {
	return webhookOut{Type: "webhooks", ID: sub.ID, URL: sub.URL, Events: append([]string{}, sub.Events...), Active: sub.Active,
		CreatedMs: sub.CreatedMs, UpdatedMs: sub.UpdatedMs}
}

// deliveryOut is a delivery as the API shows it (not its body: the
// event's details are the audit log's to show).
type deliveryOut struct {
	Type          string `json:"type"`
	ID            string `json:"id"`
	EventID       string `json:"eventId"`
	EventType     string `json:"eventType"`
	Status        string `json:"status"`
	Attempts      int    `json:"attempts"`
	NextAttemptMs int64  `json:"nextAttemptMs,omitempty"`
	LastStatus    int    `json:"lastStatus,omitempty"`
	LastError     string `json:"lastError,omitempty"`
	CreatedMs     int64  `json:"createdMs"`
	UpdatedMs     int64  `json:"updatedMs"`
}

func deliveryJSON(d db.WebhookDelivery) deliveryOut {
	out := deliveryOut{Type: "webhook-deliveries", ID: d.ID, EventID: d.EventID, EventType: d.EventType, Status: d.Status, Attempts: d.Attempts,
		LastStatus: d.LastStatus, LastError: d.LastError, CreatedMs: d.CreatedMs, UpdatedMs: d.UpdatedMs}
	if d.Status == db.DeliveryPending {
		out.NextAttemptMs = max(d.NextAttemptMs, d.LeasedUntilMs)
	}
	return out
}

// webhookSealer is the sealer of the subscriptions' secrets: the TOTP
// key ring's. Without one the endpoints that make a secret answer 503.
func (s *Service) webhookSealer() (webhooks.Sealer, error) {
	if s.cfg.TOTP == nil {
		return nil, apiError(http.StatusServiceUnavailable, CodeUnavailable, "Webhooks need the TOTP key, which seals their secrets.")
	}
	return s.cfg.TOTP, nil
}

func (s *Service) listWebhooks(r *request) error {
	subs, err := s.webhookStore.ListWebhookSubscriptions(r.ctx())
	if err != nil {
		return err
	}
	out := make([]webhookOut, len(subs))
	for i, sub := range subs {
		out[i] = webhookJSON(sub)
	}
	return collection(r, out, len(out), db.PageInfo{})
}

// readWebhookFields reads url and events into sub, checked
// (webhooks.CheckURL, webhooks.CheckEvents), leaving what is absent as it
// is; required makes both required.
func (s *Service) readWebhookFields(b *body, sub *db.WebhookSubscription, required bool) {
	if raw, ok := b.rawString("url", required); ok {
		u, err := webhooks.CheckURL(raw, s.cfg.WebhookAllowHTTP)
		if err != nil {
			b.obstruct("url", ObstructionInvalid, webhookReason(err))
		} else {
			sub.URL = u
		}
	}
	raw := b.value("events")
	if raw == nil {
		if required {
			b.obstruct("events", ObstructionRequired, "events is required.")
		}
		return
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		b.obstruct("events", ObstructionWrongType, "events must be a list of event types.")
		return
	}
	events, err := webhooks.CheckEvents(list)
	if err != nil {
		b.obstruct("events", ObstructionInvalid, webhookReason(err))
		return
	}
	sub.Events = events
}

// webhookReason is a rule's error in words for an obstruction.
func webhookReason(err error) string {
	msg := err.Error()
	for _, prefix := range []string{webhooks.ErrForbiddenAddress.Error() + ": ", webhooks.ErrInvalidSubscription.Error() + ": "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return msg + "."
}

// createWebhook subscribes url to events: the answer holds the secret,
// the only time it is shown.
func (s *Service) createWebhook(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	b.typeIs("webhooks")
	var sub db.WebhookSubscription
	s.readWebhookFields(b, &sub, true)
	active, given := b.boolean("active", false)
	if err := b.done(); err != nil {
		return err
	}
	sealer, err := s.webhookSealer()
	if err != nil {
		return err
	}
	sub, shown, err := webhooks.NewSubscription(sealer, s.cfg.Rand, s.cfg.Now(), sub.URL, sub.Events, active || !given)
	if err != nil {
		return err
	}
	if err := s.webhookStore.CreateWebhookSubscription(r.ctx(), sub); err != nil {
		return err
	}
	out := webhookJSON(sub)
	out.Secret = shown
	return single(r, http.StatusCreated, out)
}

func (s *Service) getWebhook(r *request) error {
	sub, err := s.webhookStore.GetWebhookSubscription(r.ctx(), r.Param("id"))
	if err != nil {
		return err
	}
	return single(r, http.StatusOK, webhookJSON(sub))
}

// updateWebhook changes url, events or active; the secret stays.
func (s *Service) updateWebhook(r *request) error {
	sub, err := s.webhookStore.GetWebhookSubscription(r.ctx(), r.Param("id"))
	if err != nil {
		return err
	}
	b, err := readBody(r)
	if err != nil {
		return err
	}
	b.typeIs("webhooks")
	b.idIs(sub.ID)
	s.readWebhookFields(b, &sub, false)
	if active, ok := b.boolean("active", false); ok {
		sub.Active = active
	}
	if err := b.done(); err != nil {
		return err
	}
	sub.UpdatedMs = s.nowMs()
	if err := s.webhookStore.UpdateWebhookSubscription(r.ctx(), sub); err != nil {
		return err
	}
	return single(r, http.StatusOK, webhookJSON(sub))
}

// rotateWebhookSecret gives the subscription a new secret, shown in the
// answer, once. Every delivery from then on, retries included, is signed
// with it; the old one no longer verifies (for a leaked secret).
func (s *Service) rotateWebhookSecret(r *request) error {
	sub, err := s.webhookStore.GetWebhookSubscription(r.ctx(), r.Param("id"))
	if err != nil {
		return err
	}
	sealer, err := s.webhookSealer()
	if err != nil {
		return err
	}
	key, shown, err := webhooks.NewSecret(s.cfg.Rand)
	if err != nil {
		return err
	}
	defer clear(key)
	sealed, err := webhooks.SealSecret(sealer, sub.ID, key)
	if err != nil {
		return err
	}
	ok, err := s.webhookStore.ReplaceWebhookSecretCiphertext(r.ctx(), sub.ID, sub.SecretCiphertext, sealed)
	if err != nil {
		return err
	}
	if !ok {
		return db.ErrConflict // rotated or removed meanwhile
	}
	out := webhookJSON(sub)
	out.Secret = shown
	return single(r, http.StatusOK, out)
}

func (s *Service) deleteWebhook(r *request) error {
	if err := s.webhookStore.DeleteWebhookSubscription(r.ctx(), r.Param("id")); err != nil {
		return err
	}
	return null(r)
}

// listWebhookDeliveries lists the subscription's latest deliveries,
// newest first; ?status=pending|delivered|dead keeps those.
func (s *Service) listWebhookDeliveries(r *request) error {
	status := r.QueryParam("status")
	switch status {
	case "", db.DeliveryPending, db.DeliveryDelivered, db.DeliveryDead:
	default:
		return apiError(http.StatusBadRequest, CodeBadQuery, "status must be pending, delivered or dead.")
	}
	list, err := s.webhookStore.ListWebhookDeliveries(r.ctx(), r.Param("id"), status, maxDeliveriesListed)
	if err != nil {
		return err
	}
	out := make([]deliveryOut, len(list))
	for i, d := range list {
		out[i] = deliveryJSON(d)
	}
	return collection(r, out, len(out), db.PageInfo{})
}

// retryWebhookDelivery queues a dead delivery again, with the same
// webhook-id and body; one that is not dead is 409.
func (s *Service) retryWebhookDelivery(r *request) error {
	subID, id := r.Param("id"), r.Param("deliveryId")
	err := s.webhookStore.RetryWebhookDelivery(r.ctx(), subID, id, s.nowMs())
	if errors.Is(err, db.ErrNotFound) {
		if _, err := s.webhookStore.ListWebhookDeliveries(r.ctx(), subID, "", 1); err != nil {
			return err
		}
		return apiError(http.StatusConflict, CodeWebhookNotDead, "Only a dead delivery of this subscription can be retried.")
	}
	if err != nil {
		return err
	}
	return null(r)
}
