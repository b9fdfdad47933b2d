package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/verifier"
)

// Revocations reach the gateways two ways (SPEC §7.6): every gateway
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
	// revocationPublishTimeout bounds a publish: logout waits for it.
	revocationPublishTimeout = 500 * time.Millisecond
	// subscribeTimeout bounds the wait for Redis to confirm a
	// subscription at start.
	subscribeTimeout = 5 * time.Second
	// maxRevocationMessage bounds a message's payload, in bytes.
	maxRevocationMessage = 1024
	// maxRevocationSubject bounds a session or user ID, in bytes.
	maxRevocationSubject = 128
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
// expiry; for a user, a positive not-before. It fails with an error
// wrapping errUnknownRevocationKind for a kind other than session or
// user, and wrapping errBadRevocation for anything else. Its errors
// never repeat the subject.
func decodeRevocation(payload []byte) (db.Revocation, error) {
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

// applyRevocation adds r to set, as the poller does.
func applyRevocation(set *verifier.RevocationSet, r db.Revocation) {
	expires := time.UnixMilli(r.ExpiresMs)
	switch r.Kind {
	case db.RevokeSession:
		set.RevokeSession(r.Subject, expires)
	case db.RevokeUser:
		set.RevokeUserBefore(r.Subject, time.UnixMilli(r.NotBeforeMs), expires)
	}
}

// revocationNotifier returns the accounts service's Revoked: it applies
// the revocation to this gateway's set at once and, when client is not
// nil, publishes it for the other gateways. A publish failure is logged:
// the others see the revocation at their next poll.
func revocationNotifier(set *verifier.RevocationSet, client *redis.Client, logger *slog.Logger) func(context.Context, db.Revocation) {
	return func(ctx context.Context, r db.Revocation) {
		applyRevocation(set, r)
		if client == nil {
			return
		}
		payload, err := encodeRevocation(r)
		if err != nil {
			logger.Error("could not encode a revocation for Redis", "kind", r.Kind, "err", err)
			return
		}
		// The revocation is written to the database already: publish it
		// even when the caller has gone.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revocationPublishTimeout)
		defer cancel()
		if err := client.Publish(ctx, revocationsChannel, payload).Err(); err != nil {
			logger.Warn("could not publish a revocation on Redis; other gateways apply it at their next poll", "kind", r.Kind, "err", err)
		}
	}
}

// subscribeRevocations subscribes to revocationsChannel and applies each
// message to set until ctx ends. It waits up to subscribeTimeout for
// Redis to confirm the subscription, so that revocations published after
// it returns are not missed; when Redis does not answer it logs that and
// goes on (the subscription is retried in the background; meanwhile the
// poller applies every revocation). Messages that do not decode are
// logged and ignored.
func subscribeRevocations(ctx context.Context, client *redis.Client, set *verifier.RevocationSet, logger *slog.Logger) {
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
				r, err := decodeRevocation([]byte(msg.Payload))
				switch {
				case errors.Is(err, errUnknownRevocationKind):
					// From a newer authgw: nothing this one can apply.
					logger.Info("ignored a revocation of a kind this version does not know", "err", err)
					continue
				case err != nil:
					logger.Warn("ignored a malformed revocation message from Redis", "err", err)
					continue
				}
				applyRevocation(set, r)
			}
		}
	}()
}
