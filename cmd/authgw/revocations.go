package main

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

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/gatewaystore"
	"github.com/authgw/authgw/gateway/revocation"
	"github.com/authgw/authgw/verifier"
)

// Revocations reach the gateways two ways (the README's "Revocation"): every gateway
// polls the database's revocation feed (gateway/revocation), and, when a
// Redis is configured, the accounts service that revoked a session or a
// user publishes it on revocationsChannel, to which every serve
// subscribes, so that the other gateways refuse its tokens at once
// instead of at their next poll. Pub/sub is only the fast path: a
// message lost (Redis down, a gateway reconnecting) is still applied by
// the next poll.

// revocationsChannel is the Redis channel of revocations.
const revocationsChannel = "authgw:revocations"

// Limits on the revocation messages.
const (
	// revocationPublishTimeout bounds a publish: logout waits for it
	// (at most once per revocationPublishCooldown when Redis fails).
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

// errBadRevocation is the root of the reasons a revocation message is
// refused; errUnknownRevocationKind is a well-formed message of a kind
// this version does not know (a newer writer's).
var (
	errBadRevocation         = errors.New("bad revocation message")
	errUnknownRevocationKind = fmt.Errorf("%w: unknown kind", errBadRevocation)
)

// revocationMessage is a revocation as published: the fields a gateway
// needs of a db.Revocation, times in Unix milliseconds.
type revocationMessage struct {
	Kind        string `json:"kind"`
	Subject     string `json:"subject"`
	NotBeforeMs int64  `json:"notBeforeMs"`
	ExpiresMs   int64  `json:"expiresMs"`
}

// encodeRevocation returns the message of r.
func encodeRevocation(r db.Revocation) ([]byte, error) {
	return json.Marshal(revocationMessage{Kind: r.Kind, Subject: r.Subject, NotBeforeMs: r.NotBeforeMs, ExpiresMs: r.ExpiresMs})
}

// decodeRevocation parses a message strictly: one JSON object with
// exactly the four fields, of their types, nothing after it; a subject of
// 1 to maxRevocationSubject printable ASCII characters; a positive
// expiry, clamped to now+maxRevocationHold; for a user, a positive
// not-before at most maxRevocationLead after now. It fails with an error
// wrapping errUnknownRevocationKind for a kind other than session or
// user, and wrapping errBadRevocation for anything else. Its errors
// never repeat the subject.
func decodeRevocation(payload []byte, now time.Time) (db.Revocation, error) {
	if len(payload) > maxRevocationMessage {
		return db.Revocation{}, fmt.Errorf("%w: longer than %d bytes", errBadRevocation, maxRevocationMessage)
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
		return db.Revocation{}, fmt.Errorf("%w: %v", errBadRevocation, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return db.Revocation{}, fmt.Errorf("%w: data after the JSON object", errBadRevocation)
	}
	if m.Kind == nil || m.Subject == nil || m.NotBeforeMs == nil || m.ExpiresMs == nil {
		return db.Revocation{}, fmt.Errorf("%w: want kind, subject, notBeforeMs and expiresMs", errBadRevocation)
	}
	r := db.Revocation{Kind: *m.Kind, Subject: *m.Subject, NotBeforeMs: *m.NotBeforeMs, ExpiresMs: *m.ExpiresMs}
	switch r.Kind {
	case db.RevokeSession:
	case db.RevokeUser:
		if r.NotBeforeMs <= 0 {
			return db.Revocation{}, fmt.Errorf("%w: a user revocation needs a positive notBeforeMs", errBadRevocation)
		}
	default:
		kind := r.Kind
		if len(kind) > 32 {
			kind = kind[:32] + "…"
		}
		return db.Revocation{}, fmt.Errorf("%w %q", errUnknownRevocationKind, kind)
	}
	if !validSubject(r.Subject) {
		return db.Revocation{}, fmt.Errorf("%w: subject must be 1 to %d printable ASCII characters", errBadRevocation, maxRevocationSubject)
	}
	if r.ExpiresMs <= 0 || r.NotBeforeMs < 0 {
		return db.Revocation{}, fmt.Errorf("%w: expiresMs must be positive and notBeforeMs not negative", errBadRevocation)
	}
	if r.NotBeforeMs > now.Add(maxRevocationLead).UnixMilli() {
		return db.Revocation{}, fmt.Errorf("%w: notBeforeMs is more than %v ahead", errBadRevocation, maxRevocationLead)
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

// revocationNotifier returns the accounts service's Revoked: it applies
// the revocation to this gateway's set at once and, when client is not
// nil, publishes it for the other gateways (see revoker).
func revocationNotifier(set *verifier.RevocationSet, client *redis.Client, logger *slog.Logger, now func() time.Time) func(context.Context, db.Revocation) {
	return newRevoker(set, client, logger, now).revoked
}

// revoker applies revocations to this gateway's set and publishes them
// on Redis for the others. The publish stays on the request path, after
// the local apply: a logout answered means this gateway refuses the
// tokens and, while Redis is up, the other gateways have been sent the
// revocation, so a client cannot replay a logged-out token elsewhere in
// the moment between the answer and a background publish. What bounds
// the cost when Redis is down is the cooldown: after a failed publish,
// publishes are skipped (Redis is not called) for
// revocationPublishCooldown, so logouts wait on a dead Redis at most
// once per cooldown. Skipping loses nothing: the revocation is in the
// database's feed already, which every gateway polls as often.
type revoker struct {
	set    *verifier.RevocationSet
	client *redis.Client // nil: publish nothing
	logger *slog.Logger
	now    func() time.Time

	skipUntil  atomic.Int64 // Unix ns before which publishes are skipped
	skipLogged atomic.Int64 // the skipUntil whose skips were logged
	failed     atomic.Bool  // the last publish tried failed
}

// revocationPublishCooldown is how long publishes are skipped after one
// failed: the revocation poll's interval, by which the other gateways
// see a skipped revocation anyway.
const revocationPublishCooldown = revocation.DefaultInterval

// newRevoker returns a revoker applying to set and publishing with
// client (nil for none), on the clock now.
func newRevoker(set *verifier.RevocationSet, client *redis.Client, logger *slog.Logger, now func() time.Time) *revoker {
	return &revoker{set: set, client: client, logger: logger, now: now}
}

// revoked applies r to the set, then publishes it unless no Redis is
// configured or a publish failed less than revocationPublishCooldown
// ago. A failed or skipped publish is logged, a skip at most once per
// cooldown: the others see the revocation at their next poll.
func (v *revoker) revoked(ctx context.Context, r db.Revocation) {
	revocation.Apply(v.set, gatewaystore.Entry(r))
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
	payload, err := encodeRevocation(r)
	if err != nil {
		v.logger.Error("could not encode a revocation for Redis", "kind", r.Kind, "err", err)
		return
	}
	// The revocation is written to the database already: publish it
	// even when the caller has gone.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revocationPublishTimeout)
	defer cancel()
	if err := v.client.Publish(ctx, revocationsChannel, payload).Err(); err != nil {
		// From the end of the failed call, which may have taken the
		// whole timeout.
		v.skipUntil.Store(v.now().Add(revocationPublishCooldown).UnixNano())
		v.failed.Store(true)
		v.logger.Warn("could not publish a revocation on Redis; other gateways apply it at their next poll",
			"kind", r.Kind, "err", err, "skipFor", revocationPublishCooldown)
		return
	}
	if v.failed.CompareAndSwap(true, false) {
		v.logger.Info("published a revocation on Redis again", "kind", r.Kind)
	}
}

// subscribeRevocations subscribes to revocationsChannel and applies each
// message to set until ctx ends. It waits up to subscribeTimeout for
// Redis to confirm the subscription, so that revocations published after
// it returns are not missed; when Redis does not answer it logs that and
// goes on (the subscription is retried in the background; meanwhile the
// poller applies every revocation). Messages that do not decode are
// logged and ignored.
func subscribeRevocations(ctx context.Context, client *redis.Client, set *verifier.RevocationSet, logger *slog.Logger, now func() time.Time) {
	sub := client.Subscribe(ctx, revocationsChannel)
	confirm, cancel := context.WithTimeout(ctx, subscribeTimeout)
	_, err := sub.Receive(confirm)
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
				r, err := decodeRevocation([]byte(msg.Payload), now())
				switch {
				case errors.Is(err, errUnknownRevocationKind):
					// From a newer authgw: nothing this one can apply.
					logger.Info("ignored a revocation of a kind this version does not know", "err", err)
					continue
				case err != nil:
					logger.Warn("ignored a malformed revocation message from Redis", "err", err)
					continue
				}
				revocation.Apply(set, gatewaystore.Entry(r))
			}
		}
	}()
}
