package revocation_test

import (
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/db/gatewaystore"
	"github.com/authgw/authgw/gateway/revocation"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
)

// TestRevokedTokenStaysDead_realClock (issue 12, point 8): a token
// revoked just after it was minted must stay refused for as long as the
// verifier would accept it, that is up to its clock skew past its
// time-before, even when the revocation's writer counted only the token
// lifetime. Real clock: a 2 s token (policies allow no less than 10 s; the TTL shortens it), a 2 s skew, the set fed by the
// poller from a real database, checked every 100 ms until the token is
// dead of old age.
func TestRevokedTokenStaysDead_realClock(t *testing.T) {
	const (
		lifetime = 2 * time.Second
		skew     = 2 * time.Second
	)
	d := dbtest.SQLite(t)
	ring, err := mint.GenerateKeyRing("k1", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse("short.json", []byte(`{"name":"short","appliesTo":{"userRoles":["user"]},"expires":10,
		"scopes":[{"name":"all","routes":["/notes/v1/**"],"methods":["GET"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	minter, err := mint.New(mint.Config{Keys: ring, ServerID: "srv"})
	if err != nil {
		t.Fatal(err)
	}
	set := verifier.NewRevocationSet()
	v, err := verifier.New(verifier.Config{ServerID: "srv", Keys: ring, Revocations: set, Skew: skew, MemoSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	poller, err := revocation.New(revocation.Config{Feed: gatewaystore.New(d), Set: set, Keep: skew + time.Second})
	if err != nil {
		t.Fatal(err)
	}
	minted := time.Now()
	tokens, err := minter.Mint([]*policy.Policy{p}, mint.Subject{UserID: "u1", SessionID: "s1", TTL: lifetime})
	if err != nil {
		t.Fatal(err)
	}
	token := tokens.ByMethod["GET"]
	req := verifier.Request{Method: "GET", Path: "/notes/v1/x"}
	if _, err := v.Verify(token, req); err != nil {
		t.Fatalf("the fresh token: %v", err)
	}
	// Logged out at once; the writer keeps the revocation for the token
	// lifetime only, as the accounts service used to.
	now := time.Now()
	if _, err := d.AddRevocation(t.Context(), db.Revocation{Kind: db.RevokeSession, Subject: "s1",
		NotBeforeMs: now.UnixMilli(), ExpiresMs: now.Add(lifetime).UnixMilli(), CreatedMs: now.UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	for deadline := minted.Add(lifetime + skew + 500*time.Millisecond); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := poller.Poll(t.Context()); err != nil {
			t.Fatal(err)
		}
		_, err := v.Verify(token, req)
		if err == nil {
			t.Fatalf("the revoked token was accepted again %v after it was minted", time.Since(minted).Round(time.Millisecond))
		}
		if !errors.Is(err, verifier.ErrRevoked) && !errors.Is(err, verifier.ErrExpired) {
			t.Fatalf("the revoked token: %v, want revoked (or expired)", err)
		}
	}
}
