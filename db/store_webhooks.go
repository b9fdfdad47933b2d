package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// Webhook delivery states (WebhookDelivery.Status).
const (
	// DeliveryPending is a delivery still to be sent: due when its
	// NextAttemptMs has passed and no lease holds it.
	DeliveryPending = "pending"
	// DeliveryDelivered is a delivery the receiver answered with a 2xx.
	DeliveryDelivered = "delivered"
	// DeliveryDead is a delivery given up on (too many attempts or too
	// old): the dead-letter state, kept for the operator to see and retry.
	DeliveryDead = "dead"
)

// Bounds of a webhook subscription's columns.
const (
	// MaxWebhookURL is the longest subscription URL, in bytes.
	MaxWebhookURL = 2048
	// maxWebhookEvents is the longest encoded events list.
	maxWebhookEvents = 2048
	// maxWebhookError is the longest WebhookDelivery.LastError kept.
	maxWebhookError = 255
	// maxWebhookBody is the longest delivery body.
	maxWebhookBody = 65535
)

// WebhookSubscription is one webhook endpoint (table
// webhook_subscriptions): the audit event types it receives, where, and
// the sealed secret its deliveries are signed with.
type WebhookSubscription struct {
	// ID is a UUIDv7. Required.
	ID string
	// URL is where deliveries are POSTed, checked by the caller. Required.
	URL string
	// Events are the event types delivered ("*" for all). Required.
	Events []string
	// SecretCiphertext is the signing secret, sealed by the caller (it
	// must be read back to sign, so it cannot be hashed). Required.
	SecretCiphertext []byte
	// Active is false for a paused subscription: nothing is queued for
	// it and its pending deliveries wait.
	Active bool
	// CreatedMs and UpdatedMs are Unix ms. Events older than CreatedMs
	// are never delivered to it.
	CreatedMs, UpdatedMs int64
}

// WebhookDelivery is one audit event to send to one subscription (table
// webhook_deliveries).
type WebhookDelivery struct {
	// ID is the webhook-id header: the same on every attempt.
	ID             string
	SubscriptionID string
	EventID        string
	EventType      string
	// Body is the JSON payload, built once when the event was fanned out.
	Body string
	// Status is DeliveryPending, DeliveryDelivered or DeliveryDead.
	Status string
	// Attempts counts the claims so far (a claim is an attempt, even one
	// whose dispatcher died before it could say how it went).
	Attempts int
	// NextAttemptMs is when a pending delivery is due.
	NextAttemptMs int64
	// LeaseOwner and LeasedUntilMs are the current claim: its token and
	// when it expires ("" and 0 when none).
	LeaseOwner    string
	LeasedUntilMs int64
	// LastStatus is the HTTP status of the last attempt, 0 for none (no
	// attempt yet, or no answer); LastError says why it failed.
	LastStatus int
	LastError  string
	// CreatedMs is when it was queued first, QueuedMs when its current
	// round of attempts began (CreatedMs, or when it was retried by
	// hand), UpdatedMs its last change.
	CreatedMs, QueuedMs, UpdatedMs int64
}

// ClaimedDelivery is a delivery a dispatcher holds the lease of, with
// what it needs to send it.
type ClaimedDelivery struct {
	WebhookDelivery
	// URL and SecretCiphertext are the subscription's.
	URL              string
	SecretCiphertext []byte
}

// DeliveryOutcome is how an attempt ended, for FinishWebhookDelivery.
type DeliveryOutcome struct {
	// ID and LeaseOwner name the delivery and the claim. Required.
	ID, LeaseOwner string
	// Status is the new state. Required.
	Status string
	// NextAttemptMs is when a DeliveryPending one is due again.
	NextAttemptMs int64
	// LastStatus and LastError describe the attempt (cut to 255 bytes).
	LastStatus int
	LastError  string
	// NowMs is the time of the change. Required.
	NowMs int64
}

// checkWebhookSubscription fails with ErrInvalid for a missing or
// over-wide field, and returns the encoded events.
func checkWebhookSubscription(sub WebhookSubscription) (string, error) {
	if err := requireID("webhook subscription ID", sub.ID); err != nil {
		return "", err
	}
	if err := requireMs("webhook subscription time", sub.CreatedMs); err != nil {
		return "", err
	}
	if len(sub.Events) == 0 {
		return "", fmt.Errorf("%w: webhook subscription without event types", ErrInvalid)
	}
	events, err := json.Marshal(sub.Events)
	if err != nil {
		return "", fmt.Errorf("%w: webhook events: %v", ErrInvalid, err)
	}
	switch {
	case sub.URL == "" || len(sub.URL) > MaxWebhookURL:
		return "", fmt.Errorf("%w: webhook URL must be 1 to %d bytes", ErrInvalid, MaxWebhookURL)
	case len(events) > maxWebhookEvents:
		return "", fmt.Errorf("%w: webhook events list is over %d bytes", ErrInvalid, maxWebhookEvents)
	case len(sub.SecretCiphertext) == 0 || len(sub.SecretCiphertext) > 255:
		return "", fmt.Errorf("%w: webhook secret ciphertext must be 1 to 255 bytes", ErrInvalid)
	}
	return string(events), nil
}

// CreateWebhookSubscription stores sub. It fails with ErrInvalid for a
// missing or over-wide field, ErrDuplicate for an ID stored before.
func (s *DB) CreateWebhookSubscription(ctx context.Context, sub WebhookSubscription) error {
	events, err := checkWebhookSubscription(sub)
	if err != nil {
		return err
	}
	_, err = s.sql.ExecContext(ctx,
		"INSERT INTO webhook_subscriptions (id, url, events, secret_ciphertext, active, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
		sub.ID, sub.URL, events, sub.SecretCiphertext, boolInt(sub.Active), sub.CreatedMs, max(sub.UpdatedMs, sub.CreatedMs))
	return classify(err)
}

const webhookSubscriptionColumns = "id, url, events, secret_ciphertext, active, created_ms, updated_ms"

func scanWebhookSubscription(row scanner) (WebhookSubscription, error) {
	var (
		sub    WebhookSubscription
		events string
		active int
	)
	if err := row.Scan(&sub.ID, &sub.URL, &events, &sub.SecretCiphertext, &active, &sub.CreatedMs, &sub.UpdatedMs); err != nil {
		return sub, classify(err)
	}
	sub.Active = active == 1
	if err := json.Unmarshal([]byte(events), &sub.Events); err != nil {
		return sub, fmt.Errorf("db: webhook subscription %s events: %w", sub.ID, err)
	}
	return sub, nil
}

// GetWebhookSubscription returns the subscription id. It fails with
// ErrNotFound when there is none.
func (s *DB) GetWebhookSubscription(ctx context.Context, id string) (WebhookSubscription, error) {
	return scanWebhookSubscription(s.sql.QueryRowContext(ctx,
		"SELECT "+webhookSubscriptionColumns+" FROM webhook_subscriptions WHERE id = ?", id))
}

// ListWebhookSubscriptions returns every subscription, oldest first
// (an operator keeps a handful; the fan-out reads them all each round).
func (s *DB) ListWebhookSubscriptions(ctx context.Context) ([]WebhookSubscription, error) {
	rows, err := s.sql.QueryContext(ctx, "SELECT "+webhookSubscriptionColumns+" FROM webhook_subscriptions ORDER BY id")
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []WebhookSubscription
	for rows.Next() {
		sub, err := scanWebhookSubscription(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, classify(rows.Err())
}

// UpdateWebhookSubscription replaces the URL, events and active flag of
// the subscription sub.ID, and sets its UpdatedMs (the secret and
// creation time stay). It fails with ErrNotFound when there is none,
// ErrInvalid as CreateWebhookSubscription does.
func (s *DB) UpdateWebhookSubscription(ctx context.Context, sub WebhookSubscription) error {
	check := sub
	check.SecretCiphertext, check.CreatedMs = []byte{0}, 1
	events, err := checkWebhookSubscription(check)
	if err != nil {
		return err
	}
	return affectedOne(s.sql.ExecContext(ctx,
		"UPDATE webhook_subscriptions SET url = ?, events = ?, active = ?, updated_ms = ? WHERE id = ?",
		sub.URL, events, boolInt(sub.Active), sub.UpdatedMs, sub.ID))
}

// DeleteWebhookSubscription removes the subscription id and its
// deliveries, sent or not. It fails with ErrNotFound when there is none.
func (s *DB) DeleteWebhookSubscription(ctx context.Context, id string) error {
	return affectedOne(s.sql.ExecContext(ctx, "DELETE FROM webhook_subscriptions WHERE id = ?", id))
}

// UnfannedAuditEvents returns up to limit audit events whose webhook
// deliveries are not queued yet (fanned_out 0), in ID order. Selecting
// by the flag, not from a cursor, finds an event committed after a later
// one too.
func (s *DB) UnfannedAuditEvents(ctx context.Context, limit int) ([]AuditEvent, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: limit %d", ErrInvalid, limit)
	}
	rows, err := s.sql.QueryContext(ctx,
		`SELECT id, time_ms, type, outcome, reason, actor_user_id, actor_client_id, subject_user_id, org_id, ip, data
		 FROM audit_events WHERE fanned_out = 0 ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var (
			e    AuditEvent
			data string
		)
		if err := rows.Scan(&e.ID, &e.TimeMs, &e.Type, &e.Outcome, &e.Reason, &e.ActorUserID, &e.ActorClientID,
			&e.SubjectUserID, &e.OrgID, &e.IP, &data); err != nil {
			return nil, classify(err)
		}
		if e.Data, err = scanAuditData(data); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, classify(rows.Err())
}

// FanOutAuditEvents queues deliveries and marks the events eventIDs
// fanned out, in one transaction. A delivery of a (subscription, event)
// queued before is skipped, not an error: two dispatchers fanning out
// the same events queue each delivery once. It fails with ErrInvalid for
// a delivery with a missing or over-wide field, ErrForeignKey when a
// delivery's subscription does not exist (deleted meanwhile: the caller
// tries again).
func (s *DB) FanOutAuditEvents(ctx context.Context, eventIDs []string, deliveries []WebhookDelivery) error {
	if len(eventIDs) == 0 {
		return nil
	}
	for _, d := range deliveries {
		switch {
		case d.ID == "" || d.SubscriptionID == "" || d.EventID == "" || d.EventType == "":
			return fmt.Errorf("%w: webhook delivery without an ID, subscription, event or type", ErrInvalid)
		case len(d.Body) > maxWebhookBody || len(d.EventType) > 64:
			return fmt.Errorf("%w: webhook delivery field over its width", ErrInvalid)
		}
	}
	insert := "INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, body, status, attempts, next_attempt_ms, created_ms, queued_ms, updated_ms) " +
		"VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)"
	if s.dialect == DialectMySQL {
		// Not INSERT IGNORE, which would hide other errors too.
		insert += " ON DUPLICATE KEY UPDATE id = id"
	} else {
		insert += " ON CONFLICT (subscription_id, event_id) DO NOTHING"
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, d := range deliveries {
			if _, err := tx.ExecContext(ctx, insert, d.ID, d.SubscriptionID, d.EventID, d.EventType, d.Body,
				d.NextAttemptMs, d.CreatedMs, d.CreatedMs, d.CreatedMs); err != nil {
				return err
			}
		}
		args := make([]any, len(eventIDs))
		for i, id := range eventIDs {
			args[i] = id
		}
		_, err := tx.ExecContext(ctx, "UPDATE audit_events SET fanned_out = 1 WHERE id IN ("+placeholders(len(args))+")", args...)
		return err
	})
}

// ClaimWebhookDeliveries leases up to limit due deliveries of active
// subscriptions to the claim owner until leaseUntilMs, and returns them
// with their subscription's URL and sealed secret. A delivery is due
// when pending, NextAttemptMs <= nowMs and no unexpired lease holds it;
// the claim is one conditional UPDATE, so of any number of dispatchers
// claiming at once each delivery goes to one. A lease that expired (its
// dispatcher died) is claimed again. Each claim counts an attempt. owner
// must be unique to this claim (FinishWebhookDelivery checks it).
func (s *DB) ClaimWebhookDeliveries(ctx context.Context, owner string, nowMs, leaseUntilMs int64, limit int) ([]ClaimedDelivery, error) {
	switch {
	case limit <= 0:
		return nil, fmt.Errorf("%w: limit %d", ErrInvalid, limit)
	case owner == "" || len(owner) > 64:
		return nil, fmt.Errorf("%w: lease owner must be 1 to 64 bytes", ErrInvalid)
	case leaseUntilMs <= nowMs:
		return nil, fmt.Errorf("%w: a lease must end after it starts", ErrInvalid)
	}
	rows, err := s.sql.QueryContext(ctx,
		`SELECT d.id FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
		 WHERE d.status = 'pending' AND d.next_attempt_ms <= ? AND d.leased_until_ms <= ? AND s.active = 1
		 ORDER BY d.next_attempt_ms LIMIT ?`, nowMs, nowMs, limit)
	if err != nil {
		return nil, classify(err)
	}
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, classify(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	args := append([]any{owner, leaseUntilMs, nowMs, nowMs, nowMs}, ids...)
	// The WHERE repeats the due test: a row another dispatcher leased
	// between the SELECT and here no longer matches.
	res, err := s.sql.ExecContext(ctx,
		`UPDATE webhook_deliveries SET lease_owner = ?, leased_until_ms = ?, attempts = attempts + 1, updated_ms = ?
		 WHERE status = 'pending' AND next_attempt_ms <= ? AND leased_until_ms <= ? AND id IN (`+placeholders(len(ids))+")", args...)
	if err != nil {
		return nil, classify(err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil, classify(err)
	}
	rows, err = s.sql.QueryContext(ctx,
		`SELECT d.id, d.subscription_id, d.event_id, d.event_type, d.body, d.status, d.attempts, d.next_attempt_ms,
		        d.lease_owner, d.leased_until_ms, d.last_status, d.last_error, d.created_ms, d.queued_ms, d.updated_ms,
		        s.url, s.secret_ciphertext
		 FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
		 WHERE d.lease_owner = ? AND d.leased_until_ms = ? AND d.status = 'pending' ORDER BY d.next_attempt_ms`, owner, leaseUntilMs)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []ClaimedDelivery
	for rows.Next() {
		var c ClaimedDelivery
		d := &c.WebhookDelivery
		if err := rows.Scan(&d.ID, &d.SubscriptionID, &d.EventID, &d.EventType, &d.Body, &d.Status, &d.Attempts, &d.NextAttemptMs,
			&d.LeaseOwner, &d.LeasedUntilMs, &d.LastStatus, &d.LastError, &d.CreatedMs, &d.QueuedMs, &d.UpdatedMs,
			&c.URL, &c.SecretCiphertext); err != nil {
			return nil, classify(err)
		}
		out = append(out, c)
	}
	return out, classify(rows.Err())
}

// FinishWebhookDelivery records how the attempt of the claim o.LeaseOwner
// ended and releases the lease. It reports false, changing nothing, when
// that claim no longer holds the delivery (its lease expired and another
// dispatcher claimed it, or the delivery was deleted): the other claim's
// outcome is the one kept. It fails with ErrInvalid for an unknown
// status.
func (s *DB) FinishWebhookDelivery(ctx context.Context, o DeliveryOutcome) (bool, error) {
	if o.Status != DeliveryPending && o.Status != DeliveryDelivered && o.Status != DeliveryDead {
		return false, fmt.Errorf("%w: webhook delivery status %q", ErrInvalid, o.Status)
	}
	if o.LeaseOwner == "" {
		return false, fmt.Errorf("%w: no lease owner", ErrInvalid)
	}
	err := affectedOne(s.sql.ExecContext(ctx,
		`UPDATE webhook_deliveries SET status = ?, next_attempt_ms = ?, last_status = ?, last_error = ?, lease_owner = '', leased_until_ms = 0, updated_ms = ?
		 WHERE id = ? AND lease_owner = ? AND status = 'pending'`,
		o.Status, o.NextAttemptMs, o.LastStatus, cutUTF8(o.LastError, maxWebhookError), o.NowMs, o.ID, o.LeaseOwner))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ListWebhookDeliveries returns the subscription's latest deliveries,
// newest first, at most limit of them, only those of the status when it
// is not "". It fails with ErrNotFound when the subscription does not
// exist.
func (s *DB) ListWebhookDeliveries(ctx context.Context, subscriptionID, status string, limit int) ([]WebhookDelivery, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: limit %d", ErrInvalid, limit)
	}
	if _, err := s.GetWebhookSubscription(ctx, subscriptionID); err != nil {
		return nil, err
	}
	query := `SELECT id, subscription_id, event_id, event_type, body, status, attempts, next_attempt_ms, lease_owner, leased_until_ms,
		 last_status, last_error, created_ms, queued_ms, updated_ms FROM webhook_deliveries WHERE subscription_id = ?`
	args := []any{subscriptionID}
	if status != "" {
		query += " AND status = ?"
		args = append(args, status)
	}
	rows, err := s.sql.QueryContext(ctx, query+" ORDER BY id DESC LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []WebhookDelivery
	for rows.Next() {
		var d WebhookDelivery
		if err := rows.Scan(&d.ID, &d.SubscriptionID, &d.EventID, &d.EventType, &d.Body, &d.Status, &d.Attempts, &d.NextAttemptMs,
			&d.LeaseOwner, &d.LeasedUntilMs, &d.LastStatus, &d.LastError, &d.CreatedMs, &d.QueuedMs, &d.UpdatedMs); err != nil {
			return nil, classify(err)
		}
		out = append(out, d)
	}
	return out, classify(rows.Err())
}

// RetryWebhookDelivery puts the dead delivery id of the subscription
// back in the queue, due at nowMs, with its attempts and age counted
// afresh (the same webhook-id and body). It fails with ErrNotFound when
// the subscription has no such delivery or it is not dead.
func (s *DB) RetryWebhookDelivery(ctx context.Context, subscriptionID, id string, nowMs int64) error {
	return affectedOne(s.sql.ExecContext(ctx,
		`UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_ms = ?, queued_ms = ?, updated_ms = ?
		 WHERE id = ? AND subscription_id = ? AND status = 'dead'`, nowMs, nowMs, nowMs, id, subscriptionID))
}

// WebhookQueueDepth counts the deliveries by status (every status is a
// key, 0 when none).
func (s *DB) WebhookQueueDepth(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{DeliveryPending: 0, DeliveryDelivered: 0, DeliveryDead: 0}
	rows, err := s.sql.QueryContext(ctx, "SELECT status, COUNT(*) FROM webhook_deliveries GROUP BY status")
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			status string
			n      int64
		)
		if err := rows.Scan(&status, &n); err != nil {
			return nil, classify(err)
		}
		out[status] = n
	}
	return out, classify(rows.Err())
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// ReplaceWebhookSecretCiphertext replaces the subscription's sealed
// secret old by resealed (the same secret sealed under another key),
// only if the row still holds old; it reports whether it did.
func (s *DB) ReplaceWebhookSecretCiphertext(ctx context.Context, id string, old, resealed []byte) (bool, error) {
	if len(resealed) == 0 || len(resealed) > 255 {
		return false, fmt.Errorf("%w: ciphertext must be 1 to 255 bytes", ErrInvalid)
	}
	err := affectedOne(s.sql.ExecContext(ctx,
		"UPDATE webhook_subscriptions SET secret_ciphertext = ? WHERE id = ? AND secret_ciphertext = ?", resealed, id, old))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// DeleteFinishedWebhookDeliveries deletes the delivered and dead
// deliveries last changed before beforeMs, and returns how many.
// Pending ones are never deleted here.
func (s *DB) DeleteFinishedWebhookDeliveries(ctx context.Context, beforeMs int64) (int64, error) {
	res, err := s.sql.ExecContext(ctx,
		"DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'dead') AND updated_ms < ?", beforeMs)
	if err != nil {
		return 0, classify(err)
	}
	n, err := res.RowsAffected()
	return n, classify(err)
}
