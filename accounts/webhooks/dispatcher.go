package webhooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/authgw/authgw/db"
)

// Store is what the Dispatcher asks of the database; *db.DB is one.
type Store interface {
	UnfannedAuditEvents(ctx context.Context, limit int) ([]db.AuditEvent, error)
	ListWebhookSubscriptions(ctx context.Context) ([]db.WebhookSubscription, error)
	FanOutAuditEvents(ctx context.Context, eventIDs []string, deliveries []db.WebhookDelivery) error
	ClaimWebhookDeliveries(ctx context.Context, owner string, nowMs, leaseUntilMs int64, limit int) ([]db.ClaimedDelivery, error)
	FinishWebhookDelivery(ctx context.Context, o db.DeliveryOutcome) (bool, error)
	WebhookQueueDepth(ctx context.Context) (map[string]int64, error)
	DeleteFinishedWebhookDeliveries(ctx context.Context, beforeMs int64) (int64, error)
}

var _ Store = (*db.DB)(nil)

// Config configures a Dispatcher.
type Config struct {
	// Store is the database. Required.
	Store Store
	// Sealer opens the subscriptions' sealed secrets. Required.
	Sealer Sealer
	// Workers is how many deliveries are sent at once. Optional.
	// Default 4.
	Workers int
	// Timeout bounds one delivery's request, connecting to reading the
	// answer's headers. Optional. Default 10 s.
	Timeout time.Duration
	// Lease is how long a claimed delivery is held before another
	// dispatcher may take it: after a dispatcher dies mid-delivery, the
	// delivery waits that long. It must exceed Timeout. Optional.
	// Default 1 min.
	Lease time.Duration
	// Poll is how long the dispatcher waits when it found nothing to do.
	// Optional. Default 1 s.
	Poll time.Duration
	// Backoff is the wait after the first failed attempt; each further
	// failure multiplies it by 6 (5 s, 30 s, 3 min, 18 min, ...), up to
	// MaxBackoff, each with up to ±20% jitter. Optional. Default 5 s.
	Backoff time.Duration
	// MaxBackoff caps the wait between attempts. Optional. Default 1 h.
	MaxBackoff time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is
	// dead. Optional. Default 10.
	MaxAttempts int
	// MaxAge is how long after it was queued a delivery that keeps
	// failing is given up. Optional. Default 24 h.
	MaxAge time.Duration
	// Retention is how long delivered and dead deliveries are kept
	// (for GET .../deliveries and a retry by hand) before Run deletes
	// them, once an hour. Optional. Default 7 days.
	Retention time.Duration
	// BatchSize bounds the events fanned out in one transaction.
	// Optional. Default 100.
	BatchSize int
	// AllowHTTP lets deliveries go to plain http URLs on any host (the
	// rule is CheckURL's; the dispatcher only passes it on to it when it
	// checks a stored URL again). Optional. Default false.
	AllowHTTP bool
	// Client sends the requests. Optional. Default: a client that
	// follows no redirect, dials with Dialer and times out after
	// Timeout. Tests may pass their own.
	Client *http.Client
	// Registerer receives the metrics authgw_webhook_queue_depth{state}
	// and authgw_webhook_deliveries_total{outcome}. Optional. Default:
	// none registered.
	Registerer prometheus.Registerer
	// Logger logs failed deliveries (never a secret or a body).
	// Optional. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// Rand is the randomness of delivery IDs, lease tokens and jitter.
	// Optional. Default crypto/rand.Reader.
	Rand io.Reader
}

// Dispatcher fans audit events out to the subscriptions and delivers
// them in the background (Run). It is safe for concurrent use; any
// number of dispatchers, in one process or many, may share a database.
type Dispatcher struct {
	cfg        Config
	deliveries *prometheus.CounterVec
}

// Delivery outcomes, the label of authgw_webhook_deliveries_total.
const (
	outcomeDelivered = "delivered"
	outcomeRetry     = "retry"
	outcomeDead      = "dead"
)

// New returns a Dispatcher. It fails when Store or Sealer is missing, a
// setting is negative, Lease does not exceed Timeout, or the metrics
// cannot be registered.
func New(cfg Config) (*Dispatcher, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("webhooks: Config.Store is required")
	case cfg.Sealer == nil:
		return nil, errors.New("webhooks: Config.Sealer is required")
	case cfg.Workers < 0 || cfg.Timeout < 0 || cfg.Lease < 0 || cfg.Poll < 0 || cfg.Backoff < 0 || cfg.MaxBackoff < 0 ||
		cfg.MaxAttempts < 0 || cfg.MaxAge < 0 || cfg.BatchSize < 0 || cfg.Retention < 0:
		return nil, errors.New("webhooks: a Config setting is negative")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.Timeout, 10*time.Second)
	def(&cfg.Lease, time.Minute)
	def(&cfg.Poll, time.Second)
	def(&cfg.Backoff, 5*time.Second)
	def(&cfg.MaxBackoff, time.Hour)
	def(&cfg.MaxAge, 24*time.Hour)
	def(&cfg.Retention, 7*24*time.Hour)
	if cfg.Workers == 0 {
		cfg.Workers = 4
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 100
	}
	if cfg.Lease <= cfg.Timeout {
		return nil, fmt.Errorf("webhooks: the lease (%s) must exceed the delivery timeout (%s)", cfg.Lease, cfg.Timeout)
	}
	if cfg.Client == nil {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.Proxy = nil // a proxy would dial what Dialer is there to refuse
		transport.DialContext = Dialer(cfg.Timeout).DialContext
		cfg.Client = &http.Client{
			Transport: transport,
			Timeout:   cfg.Timeout,
			// A redirect is a failure: following it would send the
			// signed event to a URL nobody checked.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	d := &Dispatcher{cfg: cfg, deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authgw_webhook_deliveries_total",
		Help: "Webhook delivery attempts by outcome: delivered, retry (failed, to be tried again), dead (given up).",
	}, []string{"outcome"})}
	// Every outcome from the start, at 0, so that a rate over them and a
	// dashboard's query find a series before the first delivery.
	for _, outcome := range []string{"delivered", "retry", "dead"} {
		d.deliveries.WithLabelValues(outcome)
	}
	if cfg.Registerer != nil {
		depth := prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "authgw_webhook_queue_depth",
			Help: "Webhook deliveries by state: pending, delivered, dead.",
		}, []string{"state"})
		if err := cfg.Registerer.Register(d.deliveries); err != nil {
			return nil, fmt.Errorf("webhooks: registering metrics: %w", err)
		}
		if err := cfg.Registerer.Register(&depthCollector{store: cfg.Store, gauge: depth}); err != nil {
			return nil, fmt.Errorf("webhooks: registering metrics: %w", err)
		}
	}
	return d, nil
}

// pruneEvery is how often Run deletes the deliveries past Retention.
const pruneEvery = time.Hour

// Run fans out and delivers until ctx ends, then waits for the requests
// in flight to end (each within Timeout) and records their outcomes.
// Once an hour it deletes the
// finished deliveries older than Retention. Errors of the database are
// logged and retried at the next round.
func (d *Dispatcher) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var pruned time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if now := d.cfg.Now(); now.Sub(pruned) >= pruneEvery {
			pruned = now
			if _, err := d.cfg.Store.DeleteFinishedWebhookDeliveries(ctx, now.Add(-d.cfg.Retention).UnixMilli()); err != nil && ctx.Err() == nil {
				d.cfg.Logger.Warn("webhooks: deleting old deliveries failed", "err", err)
			}
		}
		if d.Round(ctx) {
			timer.Reset(0)
		} else {
			timer.Reset(d.cfg.Poll)
		}
	}
}

// Round fans out the pending events and sends one batch of due
// deliveries (up to Workers, in parallel), waiting for them. It reports
// whether it found work: when it did, more may be waiting.
func (d *Dispatcher) Round(ctx context.Context) bool {
	fanned, err := d.FanOut(ctx)
	if err != nil && ctx.Err() == nil {
		d.cfg.Logger.Warn("webhooks: fan-out failed; retrying", "err", err)
	}
	sent, err := d.deliverBatch(ctx)
	if err != nil && ctx.Err() == nil {
		d.cfg.Logger.Warn("webhooks: claiming deliveries failed; retrying", "err", err)
	}
	return fanned > 0 || sent > 0
}

// FanOut queues the deliveries of the events not fanned out yet, up to
// BatchSize events, and returns how many events it fanned out. An event
// goes to every active subscription that lists its type (or "*") and
// existed when the event happened.
func (d *Dispatcher) FanOut(ctx context.Context) (int, error) {
	events, err := d.cfg.Store.UnfannedAuditEvents(ctx, d.cfg.BatchSize)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	subs, err := d.cfg.Store.ListWebhookSubscriptions(ctx)
	if err != nil {
		return 0, err
	}
	now := d.cfg.Now()
	ids := make([]string, len(events))
	var deliveries []db.WebhookDelivery
	for i, e := range events {
		ids[i] = e.ID
		var body []byte
		for _, sub := range subs {
			if !sub.Active || e.TimeMs < sub.CreatedMs || !matches(sub.Events, e.Type) {
				continue
			}
			if body == nil {
				if body, err = Payload(e); err != nil {
					return 0, err
				}
			}
			deliveries = append(deliveries, db.WebhookDelivery{ID: db.NewID(now, d.cfg.Rand), SubscriptionID: sub.ID, EventID: e.ID,
				EventType: e.Type, Body: string(body), NextAttemptMs: now.UnixMilli(), CreatedMs: now.UnixMilli()})
		}
	}
	if err := d.cfg.Store.FanOutAuditEvents(ctx, ids, deliveries); err != nil {
		return 0, err
	}
	return len(events), nil
}

// deliverBatch claims up to Workers due deliveries and sends them in
// parallel.
func (d *Dispatcher) deliverBatch(ctx context.Context) (int, error) {
	var token [16]byte
	if _, err := io.ReadFull(d.cfg.Rand, token[:]); err != nil {
		return 0, err
	}
	now := d.cfg.Now()
	owner := hex.EncodeToString(token[:])
	claimed, err := d.cfg.Store.ClaimWebhookDeliveries(ctx, owner, now.UnixMilli(), now.Add(d.cfg.Lease).UnixMilli(), d.cfg.Workers)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, c := range claimed {
		// A stop does not cut a request in flight: it ends within
		// Timeout and its outcome is recorded, so that a restart does not
		// send again what the receiver has taken.
		wg.Go(func() { d.deliver(context.WithoutCancel(ctx), c) })
	}
	wg.Wait()
	return len(claimed), nil
}

// deliver sends one claimed delivery and records how it went. When the
// outcome cannot be recorded (the process dies, the database is gone)
// the lease expires and the delivery is sent again.
func (d *Dispatcher) deliver(ctx context.Context, c db.ClaimedDelivery) {
	status, problem := d.send(ctx, c)
	now := d.cfg.Now()
	o := db.DeliveryOutcome{ID: c.ID, LeaseOwner: c.LeaseOwner, Status: db.DeliveryDelivered, LastStatus: status, LastError: problem,
		NextAttemptMs: now.UnixMilli(), NowMs: now.UnixMilli()}
	outcome := outcomeDelivered
	if problem != "" {
		o.Status, outcome = db.DeliveryPending, outcomeRetry
		if c.Attempts >= d.cfg.MaxAttempts || now.Sub(time.UnixMilli(c.QueuedMs)) >= d.cfg.MaxAge {
			o.Status, outcome = db.DeliveryDead, outcomeDead
		} else {
			o.NextAttemptMs = now.Add(d.backoff(c.Attempts)).UnixMilli()
		}
		d.cfg.Logger.Warn("webhooks: delivery failed", "delivery", c.ID, "subscription", c.SubscriptionID,
			"attempt", c.Attempts, "status", status, "err", problem, "outcome", outcome)
	}
	d.deliveries.WithLabelValues(outcome).Inc()
	if _, err := d.cfg.Store.FinishWebhookDelivery(ctx, o); err != nil {
		d.cfg.Logger.Warn("webhooks: recording a delivery failed; it will be sent again", "delivery", c.ID, "err", err)
	}
}

// send POSTs the delivery, signed, and returns the answer's status and
// "" when it was a 2xx, else why it failed.
func (d *Dispatcher) send(ctx context.Context, c db.ClaimedDelivery) (status int, problem string) {
	key, err := d.cfg.Sealer.Open(sealContext(c.SubscriptionID), c.SecretCiphertext)
	if err != nil {
		return 0, "the secret does not open (was the key that sealed it removed from the TOTP key ring?)"
	}
	defer clear(key)
	// The stored URL is checked again: it may predate a stricter rule.
	if _, err := CheckURL(c.URL, d.cfg.AllowHTTP); err != nil {
		return 0, err.Error()
	}
	body := []byte(c.Body)
	ts := d.cfg.Now().Unix()
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "bad URL"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "authgw-webhooks")
	req.Header.Set("webhook-id", c.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(key, c.ID, ts, body))
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		// Not the url.Error's text: it repeats the URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, "timeout after " + d.cfg.Timeout.String()
		}
		return 0, err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return resp.StatusCode, ""
}

// backoff is the wait after the attempt-th failed attempt: Backoff ×
// 6^(attempt-1), at most MaxBackoff, times a random factor in [0.8, 1.2)
// so that deliveries failing together do not retry together.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	wait := d.cfg.Backoff
	for i := 1; i < attempt && wait < d.cfg.MaxBackoff; i++ {
		wait *= 6
	}
	wait = min(wait, d.cfg.MaxBackoff)
	n, err := rand.Int(d.cfg.Rand, big.NewInt(400))
	if err != nil {
		return wait
	}
	return wait * time.Duration(800+n.Int64()) / 1000
}

// depthCollector reads the queue's depth from the database at each
// scrape.
type depthCollector struct {
	store Store
	gauge *prometheus.GaugeVec
}

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { c.gauge.Describe(ch) }

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depth, err := c.store.WebhookQueueDepth(ctx)
	if err != nil {
		return
	}
	for state, n := range depth {
		c.gauge.WithLabelValues(state).Set(float64(n))
	}
	c.gauge.Collect(ch)
}
