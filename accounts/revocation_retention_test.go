package accounts_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/verifier"
)

// TestRevocationOutlivesSkew (issue 12, point 8): a logout's revocation
// is kept for the longest token lifetime plus the verifier's clock skew
// (tokens are accepted up to the skew past their time-before) and a
// margin; counting the lifetime alone let a token revoked just after it
// was minted work again for the skew.
func TestRevocationOutlivesSkew(t *testing.T) {
	const lifetime = 15 * time.Minute
	s := newStack(t, dbtest.SQLite(t), func(c *accounts.Config) { c.MaxTokenLifetime = lifetime })
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
	s.do(as{client: app, withSecret: true, user: &ann, session: sess.SessionID}, "POST", "/sessions/logout", nil).expect(t, http.StatusOK)
	revs, err := s.d.RevocationsSince(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range revs {
		if r.Kind != db.RevokeSession || r.Subject != sess.SessionID {
			continue
		}
		found = true
		if kept := time.Duration(r.ExpiresMs-r.CreatedMs) * time.Millisecond; kept <= lifetime+verifier.DefaultSkew {
			t.Errorf("the logout's revocation is kept %v, want more than the lifetime and the skew (%v)", kept, lifetime+verifier.DefaultSkew)
		}
	}
	if !found {
		t.Fatalf("no revocation of the session in %+v", revs)
	}
}
