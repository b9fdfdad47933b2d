package accounts_test

import (
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/minttest"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
)

// orgRoutes adds an organization route to allRoutes, so the tokens carry
// the user's memberships in an orgs caveat.
const orgRoutes = `{
  "name": "orgs",
  "appliesTo": {"userRoles": ["user"]},
  "expires": 900,
  "scopes": [{"name": "org notes", "routes": ["/reports/v1/orgs/:orgId/**"], "methods": ["GET"], "membership": "read"}]
}`

// pausingClock is the minter's clock: armed, the next mint signals
// reached and waits for release. The mint is the first thing after the
// service has read what the tokens carry (memberships, roles), so this is
// where a refresh or a login is held "between the read and the mint".
type pausingClock struct {
	c       *minttest.Clock
	armed   atomic.Bool
	reached chan struct{}
	release chan struct{}
}

func (p *pausingClock) Now() time.Time {
	if p.armed.CompareAndSwap(true, false) {
		p.reached <- struct{}{}
		<-p.release
	}
	return p.c.Now()
}

// TestMintRacesMembershipRemoval is review finding 1: a refresh (or a
// login) that has read the member's memberships is held just before it
// mints; meanwhile the owner removes the membership (200) and the clock
// moves 5 ms; then the refresh goes on. Its GET token lists the removed
// organization, so the gateway's revocation set must refuse it. Before
// the fix the token was issued at mint time, after the removal's
// not-before, and passed. A refresh after the removal, in the removal's
// own millisecond, must pass.
func TestMintRacesMembershipRemoval(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		pc := &pausingClock{reached: make(chan struct{}), release: make(chan struct{})}
		var ring *mint.KeyRing
		s := newStack(t, d, func(cfg *accounts.Config) {
			var err error
			ring = minttest.KeyRing(t, "k1", 7)
			if cfg.Minter, err = mint.New(mint.Config{Keys: ring, ServerID: serverID, Now: pc.Now}); err != nil {
				t.Fatal(err)
			}
			everything, err := policy.Parse("everything.json", []byte(allRoutes))
			if err != nil {
				t.Fatal(err)
			}
			orgs, err := policy.Parse("orgs.json", []byte(orgRoutes))
			if err != nil {
				t.Fatal(err)
			}
			set, err := policy.NewSet(everything, orgs)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Policies = func() *policy.Set { return set }
		})
		pc.c = s.clock
		v, err := verifier.New(verifier.Config{ServerID: serverID, Keys: ring, Revocations: s.revoked, Now: s.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		owner := s.user("Owner")
		org := s.org("Acme", owner)
		app := s.client(org)
		orgPath := "/reports/v1/orgs/" + org.ID + "/notes"
		// verify is the gateway's answer to the session's GET token on the
		// organization's route, with the feed polled first.
		verify := func(sess session) error {
			t.Helper()
			s.pollRevocations()
			_, err := v.Verify(sess.Macaroons["GET"], verifier.Request{Method: "GET", Path: orgPath, ClientID: app.ID})
			return err
		}
		// held runs call with the next mint held until remove has run
		// and the clock has moved 5 ms, and returns call's session.
		held := func(call func() response, remove func()) session {
			t.Helper()
			pc.armed.Store(true)
			done := make(chan response, 1)
			go func() { done <- call() }()
			select {
			case <-pc.reached:
			case res := <-done:
				t.Fatalf("the call answered %d without minting: %s", res.Status, res.Raw)
			}
			remove()
			s.clock.Advance(5 * time.Millisecond)
			pc.release <- struct{}{}
			return sessionOf(t, <-done)
		}

		t.Run("refresh", func(t *testing.T) {
			ann := s.user("Ann")
			m := s.member(org, ann, "read")
			sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
			if err := verify(sess); err != nil {
				t.Fatalf("the member's token on the organization: %v", err)
			}
			refresh := func() response {
				return s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": sess.Refresh}))
			}
			next := held(refresh, func() {
				s.do(by(app, owner), "DELETE", "/org-memberships/"+m.ID, nil).expect(t, http.StatusOK)
			})
			if err := verify(next); !errors.Is(err, verifier.ErrRevoked) {
				t.Errorf("the raced refresh's token on the removed organization: %v, want %v", err, verifier.ErrRevoked)
			}
			// A refresh after the removal, in its millisecond, passes
			// (and its token no longer lists the organization: 403).
			after := sessionOf(t, s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": next.Refresh})))
			if err := verify(after); !errors.Is(err, verifier.ErrForbidden) {
				t.Errorf("a refresh after the removal, on the organization: %v, want %v", err, verifier.ErrForbidden)
			}
			if _, err := v.Verify(after.Macaroons["GET"], verifier.Request{Method: "GET", Path: "/demo/v1/x", ClientID: app.ID}); err != nil {
				t.Errorf("a refresh after the removal, elsewhere: %v", err)
			}
		})

		t.Run("login", func(t *testing.T) {
			bob := s.user("Bob")
			m := s.member(org, bob, "read")
			login := func() response { return s.passwordLogin(app, "bob@example.com", testPassword) }
			sess := held(login, func() {
				s.do(by(app, owner), "PATCH", "/org-memberships/"+m.ID, map[string]any{"read": false}).expect(t, http.StatusOK)
			})
			if err := verify(sess); !errors.Is(err, verifier.ErrRevoked) {
				t.Errorf("the raced login's token on the organization: %v, want %v", err, verifier.ErrRevoked)
			}
		})

		t.Run("organization deleted", func(t *testing.T) {
			cy := s.user("Cy")
			doomed := s.org("Doomed", cy)
			sess := sessionOf(t, s.passwordLogin(app, "cy@example.com", testPassword))
			refresh := func() response {
				return s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": sess.Refresh}))
			}
			next := held(refresh, func() {
				s.do(by(app, cy), "DELETE", "/organizations/"+doomed.ID, nil).expect(t, http.StatusOK)
			})
			s.pollRevocations()
			_, err := v.Verify(next.Macaroons["GET"], verifier.Request{Method: "GET", Path: "/reports/v1/orgs/" + doomed.ID + "/notes", ClientID: app.ID})
			if !errors.Is(err, verifier.ErrRevoked) {
				t.Errorf("the raced refresh's token on the deleted organization: %v, want %v", err, verifier.ErrRevoked)
			}
		})
	})
}
