package accounts_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
)

// The authorization table's cases of the OpenID Connect routes (consent
// page, consents); authzCases appends them.

const (
	getOIDCRequest    = "GET /oidc-requests/:id"
	decideOIDCRequest = "POST /oidc-requests/:id/decision"
	listOIDCConsents  = "GET /users/:id/oidc-consents"
	deleteOIDCConsent = "DELETE /users/:id/oidc-consents/:clientId"
)

// testBrowser is the binding value of the fixture's requests, and
// browserHash its SHA-256 hex.
const (
	testBrowser = "the-browser"
	browserHash = "73ec266a942a0fed9e10f17116b309b2132b9b001ad9f06034d2cae1e50f0dab"
)

// oidcRequest stores a fresh authorization request of the app client and
// returns its ID.
func (f *authzFixture) oidcRequest(t testing.TB) string {
	now := f.s.clock.Now()
	id := db.NewID(now, rand.Reader)
	if err := f.d.CreateOIDCAuthRequest(f.s.ctx, db.OIDCAuthRequest{ID: id, ClientID: f.app.ID, RedirectURI: "https://rp.example/cb",
		Scopes: []string{"openid"}, ResponseType: "code", MaxAgeS: -1, CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(10 * time.Minute).UnixMilli(),
		BrowserHash: browserHash}); err != nil {
		t.Fatal(err)
	}
	return id
}

// oidcConsent stores a consent of u for the app client.
func (f *authzFixture) oidcConsent(t testing.TB, u db.User) {
	now := f.s.clock.Now().UnixMilli()
	if err := f.d.SaveOIDCConsent(f.s.ctx, db.OIDCConsent{UserID: u.ID, ClientID: f.app.ID, Scopes: []string{"openid"}, CreatedMs: now, UpdatedMs: now}); err != nil {
		t.Fatal(err)
	}
}

func oidcAuthzCases() []authzCase {
	return []authzCase{
		authzAllowed(getOIDCRequest, "a logged-in user", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), "/oidc-requests/" + f.oidcRequest(f.s.t), nil
		}),
		authzNoUser(getOIDCRequest, "no user", func(f *authzFixture) (as, string, any) {
			return anonymous(f.app), "/oidc-requests/" + f.oidcRequest(f.s.t), nil
		}),
		authzAllowed(decideOIDCRequest, "a logged-in user denying", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), "/oidc-requests/" + f.oidcRequest(f.s.t) + "/decision", map[string]any{"allow": false, "browser": testBrowser}
		}),
		authzNoUser(decideOIDCRequest, "no user", func(f *authzFixture) (as, string, any) {
			return anonymous(f.app), "/oidc-requests/" + f.oidcRequest(f.s.t) + "/decision", map[string]any{"allow": true, "browser": testBrowser}
		}),
		authzAllowed(listOIDCConsents, "self", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzUserURL(f.plain, "oidc-consents"), nil
		}),
		authzAllowed(listOIDCConsents, "sysadmin", 200, func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.admin), authzUserURL(f.plain, "oidc-consents"), nil
		}),
		authzHidden(listOIDCConsents, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.plain, "oidc-consents"), nil
		}),
		authzForbidden(listOIDCConsents, "employee", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzUserURL(f.plain, "oidc-consents"), nil
		}),
		authzAllowed(deleteOIDCConsent, "self", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Pat")
			f.oidcConsent(f.s.t, u)
			return by(f.app, u), authzUserURL(u, "oidc-consents", f.app.ID), nil
		}),
		authzHidden(deleteOIDCConsent, "another user", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Pat")
			f.oidcConsent(f.s.t, u)
			return by(f.app, f.other), authzUserURL(u, "oidc-consents", f.app.ID), nil
		}),
	}
}
