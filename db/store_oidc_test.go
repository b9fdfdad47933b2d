package db_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestOIDC_store: a client's OIDC settings round-trip; an authorization
// request is approved once, gets one code, is exchanged once (then
// ErrCodeUsed) and marked replayed; consents upsert, list and delete;
// grants list only the live sessions of the user and client.
func TestOIDC_store(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		ann := e.user("Ann", "ann@example.com")
		c := e.client(e.org("Org", ann).ID, "RP")

		redirects, scopes := []string{"https://rp.example/cb", "http://127.0.0.1:9/cb"}, []string{"email", "api:demo"}
		if err := d.SetClientOIDC(e.ctx, c.ID, redirects, nil, scopes, true, e.now()); err != nil {
			t.Fatal(err)
		}
		got, err := d.GetClient(e.ctx, c.ID)
		if err != nil || !slices.Equal(got.RedirectURIs, redirects) || got.PostLogoutRedirectURIs != nil || !slices.Equal(got.OIDCScopes, scopes) || !got.Public {
			t.Fatalf("GetClient = %+v, %v", got, err)
		}
		if err := d.SetClientOIDC(e.ctx, c.ID, []string{"a b"}, nil, nil, false, e.now()); !errors.Is(err, db.ErrInvalid) {
			t.Errorf("a URI with a space: %v, want ErrInvalid", err)
		}

		now := e.now()
		req := db.OIDCAuthRequest{ID: e.id(), ClientID: c.ID, RedirectURI: redirects[0], Scopes: []string{"openid", "email"}, State: "s",
			Nonce: "n", ResponseType: "code", MaxAgeS: -1, CreatedMs: now, ExpiresMs: now + 600_000, BrowserHash: "bh"}
		if err := d.CreateOIDCAuthRequest(e.ctx, req); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name      string
			do        func() error
			expectErr error
		}{
			{"code before approval", func() error { return d.SetOIDCAuthCode(e.ctx, req.ID, "h1", now+60_000, now) }, db.ErrNotFound},
			{"approve", func() error { return d.ApproveOIDCAuthRequest(e.ctx, req.ID, ann.ID, now, "pwd", now) }, nil},
			{"approve again", func() error { return d.ApproveOIDCAuthRequest(e.ctx, req.ID, ann.ID, now, "pwd", now) }, db.ErrNotFound},
			{"code", func() error { return d.SetOIDCAuthCode(e.ctx, req.ID, "h1", now+60_000, now) }, nil},
			{"second code", func() error { return d.SetOIDCAuthCode(e.ctx, req.ID, "h2", now+60_000, now) }, db.ErrNotFound},
			{"use", func() error { return d.UseOIDCAuthCode(e.ctx, req.ID, now) }, nil},
			{"use again", func() error { return d.UseOIDCAuthCode(e.ctx, req.ID, now) }, db.ErrCodeUsed},
			{"mark replayed", func() error { return d.MarkOIDCCodeReplayed(e.ctx, req.ID, now+1) }, nil},
			{"use a missing request", func() error { return d.UseOIDCAuthCode(e.ctx, "missing", now) }, db.ErrNotFound},
		}
		for _, st := range steps {
			if err := st.do(); !errors.Is(err, st.expectErr) {
				t.Errorf("%s: %v, want %v", st.name, err, st.expectErr)
			}
		}
		r, err := d.GetOIDCAuthRequestByCode(e.ctx, "h1")
		if err != nil || r.UserID != ann.ID || r.UsedMs != now || r.ReplayedMs != now+1 || r.BrowserHash != "bh" || !slices.Equal(r.Scopes, req.Scopes) || r.AMR != "pwd" {
			t.Errorf("by code: %+v, %v", r, err)
		}

		for _, sc := range [][]string{{"openid"}, {"openid", "email"}} {
			if err := d.SaveOIDCConsent(e.ctx, db.OIDCConsent{UserID: ann.ID, ClientID: c.ID, Scopes: sc, CreatedMs: now, UpdatedMs: now}); err != nil {
				t.Fatal(err)
			}
		}
		list, err := d.ListOIDCConsents(e.ctx, ann.ID)
		if err != nil || len(list) != 1 || !slices.Equal(list[0].Scopes, []string{"openid", "email"}) {
			t.Errorf("consents: %+v, %v", list, err)
		}
		if err := d.DeleteOIDCConsent(e.ctx, ann.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		if err := d.DeleteOIDCConsent(e.ctx, ann.ID, c.ID); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("deleting again: %v, want ErrNotFound", err)
		}

		sess := db.Session{ID: e.id(), UserID: ann.ID, ClientID: c.ID, CreatedMs: now, ExpiresMs: now + 3_600_000}
		if err := d.CreateSession(e.ctx, sess, db.RefreshToken{Hash: "rt-" + sess.ID, ExpiresMs: sess.ExpiresMs, CreatedMs: now}); err != nil {
			t.Fatal(err)
		}
		if err := d.CreateOIDCGrant(e.ctx, db.OIDCGrant{SessionID: sess.ID, ClientID: c.ID, Scopes: []string{"openid"}}); err != nil {
			t.Fatal(err)
		}
		if ids, err := d.ListOIDCGrantSessions(e.ctx, ann.ID, c.ID, now); err != nil || !slices.Equal(ids, []string{sess.ID}) {
			t.Errorf("grant sessions: %v, %v", ids, err)
		}
		if ids, _ := d.ListOIDCGrantSessions(e.ctx, ann.ID, c.ID, sess.ExpiresMs); len(ids) != 0 {
			t.Errorf("expired grant sessions listed: %v", ids)
		}
		if _, err := d.GetOIDCGrant(e.ctx, "no-session"); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("no grant: %v", err)
		}
	})
}
