package accounts_test

import (
	"net/http"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/policy"
)

// TestStepUpRouteAnswersWhatTheMintKeeps: StepUpRoute is how the account
// pages, which call the API in-process with the claims of the page, learn
// that a route they act on is under a step-up (a thief can drop the
// step-up cookie, so its absence proves nothing). It must say yes for
// every spelling of a step-up route of the user's policies (the user's
// own ID, "current", an organization route whatever the memberships),
// yes for a path that is not canonical, no for a route of another method
// or outside the scope (a policy without a step-up is the portal's
// TestAttackRemovalWithoutStepUpPolicy).
func TestStepUpRouteAnswersWhatTheMintKeeps(t *testing.T) {
	const withOrg = `{
  "name": "org-step-up",
  "appliesTo": {"userRoles": ["user"]},
  "expires": 900,
  "scopes": [
    {"name": "all", "routes": ["/accounts/v1/**"], "methods": ["GET", "POST", "DELETE"]},
    {"name": "own", "routes": ["/accounts/v1/users/:userId/emails/*", "/accounts/v1/users/current/emails/*"], "methods": ["DELETE"], "stepUp": 300},
    {"name": "org", "routes": ["/accounts/v1/organizations/:orgId/clients/*"], "methods": ["DELETE"], "membership": "manage", "stepUp": 120}
  ]
}`
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p, err := policy.Parse("org-step-up.json", []byte(withOrg))
		if err != nil {
			t.Fatal(err)
		}
		set, err := policy.NewSet(p)
		if err != nil {
			t.Fatal(err)
		}
		s := newStack(t, d, func(c *accounts.Config) { c.Policies = func() *policy.Set { return set } })
		ann := s.user("Ann")
		for _, tt := range []struct {
			method, path string
			want         bool
		}{
			{"DELETE", "/accounts/v1/users/" + ann.ID + "/emails/e1", true},
			{"DELETE", "/accounts/v1/users/current/emails/e1", true},
			{"DELETE", "/accounts/v1/organizations/any-org/clients/c1", true},
			{"DELETE", "/accounts/v1/organizations/%61ny-org/clients/c1", true},
			{"DELETE", "/accounts/v1/organizations/any-org/clients", false},
			{"DELETE", "/accounts/v1/users/" + ann.ID + "/emails/e1/", true}, // not canonical
			{"DELETE", "/accounts/v1/users/current/./emails/e1", true},
			{"POST", "/accounts/v1/users/current/emails/e1", false},
			{"DELETE", "/accounts/v1/users/" + ann.ID + "/totp", false},
			{"DELETE", "/accounts/v1/users/someone-else/emails/e1", false}, // :userId is Ann only
		} {
			got, err := s.svc.StepUpRoute(s.ctx, ann.ID, "sess-1", tt.method, tt.path)
			if err != nil || got != tt.want {
				t.Errorf("StepUpRoute(%s %s) = %v, %v; want %v", tt.method, tt.path, got, err, tt.want)
			}
		}

		// An unknown user is an error, not a "no".
		if _, err := s.svc.StepUpRoute(s.ctx, "no-such-user", "sess-1", "DELETE", "/accounts/v1/users/current/emails/e1"); err == nil {
			t.Error("StepUpRoute of an unknown user: no error")
		}
	})
}

// TestAttackManagerRequiresSecondFactor: an organization's manager
// decides how its members sign in, and nobody else's. A manager who
// invites a stranger into an organization that requires a second factor
// does not change how the stranger signs in until they accept (the
// invitation grants and requires nothing), cannot set the requirement on
// an organization they do not manage, and cannot end the members'
// sessions by setting it (the next sign-in enforces it).
func TestAttackManagerRequiresSecondFactor(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		mallory, vic, member := s.user("Mallory"), s.user("Vic"), s.user("Mem")
		evil := s.org("Evil", mallory)
		s.member(evil, mallory, "read", "edit", "manage", "delete")
		s.member(evil, member, "read")
		other := s.org("Other", vic)
		app := s.client(s.org("Home", mallory))
		memberSess := sessionOf(t, s.passwordLogin(app, "mem@example.com", testPassword))

		s.do(by(app, mallory), "POST", "/organizations/"+evil.ID+"/memberships",
			map[string]any{"type": "org-memberships", "user": map[string]any{"data": map[string]any{"type": "users", "id": vic.ID}}, "read": true}).
			expect(t, http.StatusCreated)
		s.do(by(app, mallory), "PATCH", "/organizations/"+evil.ID, map[string]any{"requireSecondFactor": true}).expect(t, http.StatusOK)
		// Another organization's flag: not Mallory's to set.
		if r := s.do(by(app, mallory), "PATCH", "/organizations/"+other.ID, map[string]any{"requireSecondFactor": true}); r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
			t.Fatalf("PATCH another organization's requireSecondFactor = %d %s", r.Status, r.Raw)
		}
		// The invited Vic still signs in with the password alone.
		r := s.passwordLogin(app, "vic@example.com", testPassword).expect(t, http.StatusOK)
		if r.Body["t"] != "session" {
			t.Fatalf("the invited user's sign-in = %s, want a session (an invitation requires nothing)", r.Raw)
		}
		// The member's session goes on.
		s.withMacaroon(app, memberSess, "GET", "/users/current", nil).expect(t, http.StatusOK)
	})
}
