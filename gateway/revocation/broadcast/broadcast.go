package broadcast

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authgw/authgw/gateway/revocation"
	"github.com/authgw/authgw/verifier"
)

// Channel is the Redis channel of revocations.
const Channel = "authgw:revocations"

// Limits on the revocation messages.
const (
	// revocationPublishTimeout bounds a publish: logout waits for it
	// (at most once per PublishCooldown when Redis fails).
	revocationPublishTimeout = 500 * time.Millisecond
	// subscribeTimeout bounds the wait for Redis to confirm a
	// subscription at start.
	subscribeTimeout = 5 * time.Second
	// maxRevocationMessage bounds a message's payload, in bytes.
	maxRevocationMessage = 1024
	// maxRevocationSubject bounds a session or user ID, in bytes.
	maxRevocationSubject = 128
	// maxRevocationLead bounds how far ahead of this gateway's clock a
	// user revocation's notBeforeMs may be (the publisher's clock may run
	// ahead): a far-future one would refuse the user's new tokens too.
	maxRevocationLead = 5 * time.Minute
	// maxRevocationHold bounds how long a revocation from Redis is kept
	// (expiresMs is clamped to it), so that messages cannot grow the set
	// without end. The database feed, which every gateway polls, carries
	// the revocation whole; the set keeps the later expiry of the two.
	maxRevocationHold = 31 * 24 * time.Hour
)

// ErrBadMessage is the root of the reasons a revocation message is
// refused; ErrUnknownKind is a well-formed message of a kind this version
// does not know (a newer writer's).
var (
	ErrBadMessage  = errors.New("bad revocation message")
	ErrUnknownKind = fmt.Errorf("%w: unknown kind", ErrBadMessage)
)

// revocationMessage is a revocation as published: the fields a gateway
// needs of a revocation.Entry, times in Unix milliseconds.
type revocationMessage struct {
	Kind        string `json:"kind"`
	Subject     string `json:"subject"`
	NotBeforeMs int64  `json:"notBeforeMs"`
	ExpiresMs   int64  `json:"expiresMs"`
}

// Encode returns the message of r. It errors only if JSON encoding does.
func Encode(r revocation.Entry) ([]byte, error) {
	return json.Marshal(revocationMessage{Kind: r.Kind, Subject: r.Subject, NotBeforeMs: r.NotBeforeMs, ExpiresMs: r.ExpiresMs})
}

// Publish publishes r on Channel, for a writer that has no revocation
// set of its own (the sessions command). It errors when r does not
// encode or Redis does not take it before ctx ends.
func Publish(ctx context.Context, client *redis.Client, r revocation.Entry) error {
	payload, err := Encode(r)
	if err != nil {
		return err
	}
	return client.Publish(ctx, Channel, payload).Err()
}

// Decode parses a message strictly: one JSON object with
// exactly the four fields, of their types, nothing after it; a subject of
// 1 to maxRevocationSubject printable ASCII characters; a positive
// expiry, clamped to now+maxRevocationHold; for a user, a positive
// not-before at most maxRevocationLead after now. It fails with an error
// wrapping ErrUnknownKind for a kind other than session or user, and
// wrapping ErrBadMessage for anything else. Its errors
// never repeat the subject.
func Decode(payload []byte, now time.Time) (revocation.Entry, error) {
	if len(payload) > maxRevocationMessage {
		return revocation.Entry{}, fmt.Errorf("%w: longer than %d bytes", ErrBadMessage, maxRevocationMessage)
	}
	var m struct {
		Kind        *string `json:"kind"`
		Subject     *string `json:"subject"`
		NotBeforeMs *int64  `json:"notBeforeMs"`
		ExpiresMs   *int64  `json:"expiresMs"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return revocation.Entry{}, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return revocation.Entry{}, fmt.Errorf("%w: data after the JSON object", ErrBadMessage)
	}
	if m.Kind == nil || m.Subject == nil || m.NotBeforeMs == nil || m.ExpiresMs == nil {
		return revocation.Entry{}, fmt.Errorf("%w: want kind, subject, notBeforeMs and expiresMs", ErrBadMessage)
	}
	r := revocation.Entry{Kind: *m.Kind, Subject: *m.Subject, NotBeforeMs: *m.NotBeforeMs, ExpiresMs: *m.ExpiresMs}
	switch r.Kind {
	case revocation.KindSession:
	case revocation.KindUser:
		if r.NotBeforeMs <= 0 {
			return revocation.Entry{}, fmt.Errorf("%w: a user revocation needs a positive notBeforeMs", ErrBadMessage)
		}
	default:
		kind := r.Kind
		if len(kind) > 32 {
			kind = kind[:32] + "…"
		}
		return revocation.Entry{}, fmt.Errorf("%w %q", ErrUnknownKind, kind)
	}
	if !validSubject(r.Subject) {
		return revocation.Entry{}, fmt.Errorf("%w: subject must be 1 to %d printable ASCII characters", ErrBadMessage, maxRevocationSubject)
	}
	if r.ExpiresMs <= 0 || r.NotBeforeMs < 0 {
		return revocation.Entry{}, fmt.Errorf("%w: expiresMs must be positive and notBeforeMs not negative", ErrBadMessage)
	}
	if r.NotBeforeMs > now.Add(maxRevocationLead).UnixMilli() {
		return revocation.Entry{}, fmt.Errorf("%w: notBeforeMs is more than %v ahead", ErrBadMessage, maxRevocationLead)
	}
	r.ExpiresMs = min(r.ExpiresMs, now.Add(maxRevocationHold).UnixMilli())
	return r, nil
}

// validSubject reports whether s is 1 to maxRevocationSubject printable
// ASCII characters without spaces, as session and user IDs are.
func validSubject(s string) bool {
	if s == "" || len(s) > maxRevocationSubject {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// Config configures a Publisher and a subscription.
type Config struct {
	// Set is this gateway's revocation set: a Publisher applies each
	// revocation to it at once, a subscription each message received.
	// Required.
	Set *verifier.RevocationSet
	// Client is the Redis to publish on or subscribe to, with context
	// deadlines honoured and no command retries, so that a publish to a
	// Redis that is down fails at once. Required to Subscribe; optional
	// for a Publisher, which publishes nothing without it.
	Client *redis.Client
	// Logger receives failed publishes and malformed messages. Optional.
	// Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
}

// errNoSet and errNoClient are the refusals of an incomplete Config.
var (
	errNoSet    = errors.New("broadcast: Config.Set is required")
	errNoClient = errors.New("broadcast: Config.Client is required to subscribe")
)

// withDefaults returns cfg with its defaults filled, or an error when
// Set is missing.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Set == nil {
		return cfg, errNoSet
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}

// Publisher applies revocations to this gateway's set and publishes them
// on Redis for the others. The publish stays on the request path, after
// the local apply: a logout answered means this gateway refuses the
// tokens and, while Redis is up, the other gateways have been sent the
// revocation, so a client cannot replay a logged-out token elsewhere in
// the moment between the answer and a background publish. What bounds
// the cost when Redis is down is the cooldown: after a failed publish,
// publishes are skipped (Redis is not called) for PublishCooldown, so
// logouts wait on a dead Redis at most
// once per cooldown. Skipping loses nothing: the revocation is in the
// database's feed already, which every gateway polls as often.
type Publisher struct {
	set    *verifier.RevocationSet
	client *redis.Client // nil: publish nothing
	logger *slog.Logger
	now    func() time.Time

	skipUntil  atomic.Int64 // Unix ns before which publishes are skipped
	skipLogged atomic.Int64 // the skipUntil whose skips were logged
	failed     atomic.Bool  // the last publish tried failed
}

// PublishCooldown is how long publishes are skipped after one failed:
// the revocation poll's interval, by which the other gateways see a
// skipped revocation anyway.
const PublishCooldown = revocation.DefaultInterval

// NewPublisher returns a Publisher applying to cfg.Set and publishing
// with cfg.Client (nil for none). It errors when cfg.Set is nil.
func NewPublisher(cfg Config) (*Publisher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Publisher{set: cfg.Set, client: cfg.Client, logger: cfg.Logger, now: cfg.Now}, nil
}

// Revoked applies r to the set, then publishes it unless no Redis is
// configured or a publish failed less than PublishCooldown ago. It is
// the accounts service's Config.Revoked. A failed or skipped publish is logged, a skip at most once per
// cooldown: the others see the revocation at their next poll.
func (v *Publisher) Revoked(ctx context.Context, r revocation.Entry) {
	revocation.Apply(v.set, r)
	if v.client == nil {
		return
	}
	if until := v.skipUntil.Load(); v.now().UnixNano() < until {
		if v.skipLogged.Swap(until) != until {
			v.logger.Warn("skipped publishing revocations on Redis after a failed publish; other gateways apply them at their next poll",
				"kind", r.Kind, "until", time.Unix(0, until).UTC())
		}
		return
	}
	payload, err := Encode(r)
	if err != nil {
		v.logger.Error("could not encode a revocation for Redis", "kind", r.Kind, "err", err)
		return
	}
	// The revocation is written to the database already: publish it
	// even when the caller has gone.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revocationPublishTimeout)
	defer cancel()
	if err := v.client.Publish(ctx, Channel, payload).Err(); err != nil {
		// From the end of the failed call, which may have taken the
		// whole timeout.
		v.skipUntil.Store(v.now().Add(PublishCooldown).UnixNano())
		v.failed.Store(true)
		v.logger.Warn("could not publish a revocation on Redis; other gateways apply it at their next poll",
			"kind", r.Kind, "err", err, "skipFor", PublishCooldown)
		return
	}
	if v.failed.CompareAndSwap(true, false) {
		v.logger.Info("published a revocation on Redis again", "kind", r.Kind)
	}
}

// Subscribe subscribes cfg.Client to Channel and applies each message
// to cfg.Set until ctx ends. It waits up to subscribeTimeout for
// Redis to confirm the subscription, so that revocations published after
// it returns are not missed; when Redis does not answer it logs that and
// goes on (the subscription is retried in the background; meanwhile the
// poller applies every revocation). Messages that do not decode are
// logged and ignored. It errors only when cfg lacks Set or Client.
func Subscribe(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if cfg.Client == nil {
		return errNoClient
	}
	set, logger, now := cfg.Set, cfg.Logger, cfg.Now
	sub := cfg.Client.Subscribe(ctx, Channel)
	confirm, cancel := context.WithTimeout(ctx, subscribeTimeout)
	_, err = sub.Receive(confirm)
	cancel()
	if err != nil {
		logger.Warn("could not subscribe to revocations on Redis; until it answers, revocations take effect at the next poll", "err", err)
	}
	msgs := sub.Channel()
	go func() {
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case msg, ok := <-msgs:
				if !ok {
					return
				}
				r, err := Decode([]byte(msg.Payload), now())
				switch {
				case errors.Is(err, ErrUnknownKind):
					// From a newer authgw: nothing this one can apply.
					logger.Info("ignored a revocation of a kind this version does not know", "err", err)
					continue
				case err != nil:
					logger.Warn("ignored a malformed revocation message from Redis", "err", err)
					continue
				}
				revocation.Apply(set, r)
			}
		}
	}()
	return nil
}
