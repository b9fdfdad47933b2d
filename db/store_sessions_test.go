package db_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestCreateSession checks that a session and its first refresh token are
// written together or not at all.
func TestCreateSession(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		w.org("o1", 0)
		w.client("c1", "o1", 0)
		w.session("existing", "u1", authNow+1000, authHash("existing"))

		tests := []struct {
			name           string
			givenSession   db.Session
			givenToken     db.RefreshToken
			expectErr      error
			expectSession  bool // the session row exists afterwards
			expectFamily   string
			expectClientID string
		}{
			{
				name:          "session without client",
				givenSession:  db.Session{ID: "s1", UserID: "u1", IP: "2001:db8::1", UserAgent: "ua", CreatedMs: authNow, ExpiresMs: authNow + 1000},
				givenToken:    db.RefreshToken{Hash: authHash("t1"), CreatedMs: authNow, ExpiresMs: authNow + 1000},
				expectSession: true, expectFamily: "s1",
			},
			{
				name:          "session of a client, explicit family",
				givenSession:  db.Session{ID: "s2", UserID: "u1", ClientID: "c1", CreatedMs: authNow, ExpiresMs: authNow + 1000},
				givenToken:    db.RefreshToken{Hash: authHash("t2"), SessionID: "s2", Family: "fam-2", CreatedMs: authNow, ExpiresMs: authNow + 1000},
				expectSession: true, expectFamily: "fam-2", expectClientID: "c1",
			},
			{
				name:         "refresh token hash collides: nothing written",
				givenSession: db.Session{ID: "s3", UserID: "u1", CreatedMs: authNow, ExpiresMs: authNow + 1000},
				givenToken:   db.RefreshToken{Hash: authHash("existing"), CreatedMs: authNow, ExpiresMs: authNow + 1000},
				expectErr:    db.ErrDuplicate,
			},
			{
				name:         "token too long: nothing written",
				givenSession: db.Session{ID: "s4", UserID: "u1", CreatedMs: authNow, ExpiresMs: authNow + 1000},
				givenToken:   db.RefreshToken{Hash: authHash("t4") + "0", CreatedMs: authNow, ExpiresMs: authNow + 1000},
				expectErr:    db.ErrInvalid,
			},
			{
				name:         "duplicate session ID",
				givenSession: db.Session{ID: "existing", UserID: "u1", CreatedMs: authNow, ExpiresMs: authNow + 1000},
				givenToken:   db.RefreshToken{Hash: authHash("t5"), CreatedMs: authNow, ExpiresMs: authNow + 1000},
				expectErr:    db.ErrDuplicate, expectSession: true, // the existing one
			},
			{
				name:         "unknown user",
				givenSession: db.Session{ID: "s6", UserID: "nobody", CreatedMs: authNow, ExpiresMs: authNow + 1000},
				givenToken:   db.RefreshToken{Hash: authHash("t6"), CreatedMs: authNow, ExpiresMs: authNow + 1000},
				expectErr:    db.ErrForeignKey,
			},
			{
				name:         "unknown client",
				givenSession: db.Session{ID: "s7", UserID: "u1", ClientID: "nobody", CreatedMs: authNow, ExpiresMs: authNow + 1000},
				givenToken:   db.RefreshToken{Hash: authHash("t7"), CreatedMs: authNow, ExpiresMs: authNow + 1000},
				expectErr:    db.ErrForeignKey,
			},
			{
				name:         "user agent one character too long",
				givenSession: db.Session{ID: "s8", UserID: "u1", UserAgent: strings.Repeat("é", 513), CreatedMs: authNow, ExpiresMs: authNow + 1000},
				givenToken:   db.RefreshToken{Hash: authHash("t8"), CreatedMs: authNow, ExpiresMs: authNow + 1000},
				expectErr:    db.ErrInvalid,
			},
			{
				name:         "token of another session",
				givenSession: db.Session{ID: "s9", UserID: "u1", CreatedMs: authNow, ExpiresMs: authNow + 1000},
				givenToken:   db.RefreshToken{Hash: authHash("t9"), SessionID: "existing", CreatedMs: authNow, ExpiresMs: authNow + 1000},
				expectErr:    db.ErrInvalid,
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := d.CreateSession(w.ctx, tt.givenSession, tt.givenToken)
				expectAuthErr(t, err, tt.expectErr)
				got, err := d.GetSession(w.ctx, tt.givenSession.ID)
				if exists := err == nil; exists != tt.expectSession {
					t.Fatalf("session exists = %v (%v), want %v", exists, err, tt.expectSession)
				}
				if tt.expectErr != nil {
					// Nothing of this call was written.
					if tt.givenToken.Hash != authHash("existing") {
						if token, err := d.GetRefreshToken(w.ctx, tt.givenToken.Hash); !errors.Is(err, db.ErrNotFound) {
							t.Errorf("GetRefreshToken = %+v, %v; want ErrNotFound", token, err)
						}
					}
					if tt.givenSession.ID != "existing" {
						if n := w.count("SELECT COUNT(*) FROM session_tokens WHERE session_id = ?", tt.givenSession.ID); n != 0 {
							t.Errorf("%d tokens of the session, want 0", n)
						}
					}
					return
				}
				want := tt.givenSession
				want.RefreshedMs = want.CreatedMs
				if !reflect.DeepEqual(got, want) || got.ClientID != tt.expectClientID {
					t.Errorf("GetSession = %+v, want %+v", got, want)
				}
				wantToken := db.RefreshToken{Hash: tt.givenToken.Hash, SessionID: tt.givenSession.ID, Family: tt.expectFamily, CreatedMs: authNow, ExpiresMs: authNow + 1000}
				if token, err := d.GetRefreshToken(w.ctx, tt.givenToken.Hash); err != nil || token != wantToken {
					t.Errorf("GetRefreshToken = %+v, %v; want %+v", token, err, wantToken)
				}
			})
		}
	})
}

// TestSessions_readAndTouch checks the session reads, paging and
// TouchSession.
func TestSessions_readAndTouch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1", "u2")
		// IDs in an order unlike creation order, to tell the orderings apart.
		w.session("s-c", "u1", authNow+1000, authHash("c"))
		w.session("s-a", "u2", authNow+1000, authHash("a"))
		w.session("s-b", "u1", authNow+1000, authHash("b"))
		w.exec("UPDATE sessions SET created_ms = created_ms + 1 WHERE id = 's-b'")

		ids := func(ss []db.Session) []string {
			out := []string{}
			for _, s := range ss {
				out = append(out, s.ID)
			}
			return out
		}
		tests := []struct {
			name      string
			when      func() ([]db.Session, error)
			expectIDs []string
			expectErr error
		}{
			{name: "first page", when: func() ([]db.Session, error) { return d.ListSessions(w.ctx, "", 2) }, expectIDs: []string{"s-a", "s-b"}},
			{name: "next page", when: func() ([]db.Session, error) { return d.ListSessions(w.ctx, "s-b", 2) }, expectIDs: []string{"s-c"}},
			{name: "past the end", when: func() ([]db.Session, error) { return d.ListSessions(w.ctx, "s-c", 2) }, expectIDs: []string{}},
			{name: "default limit", when: func() ([]db.Session, error) { return d.ListSessions(w.ctx, "", 0) }, expectIDs: []string{"s-a", "s-b", "s-c"}},
			{name: "negative limit", when: func() ([]db.Session, error) { return d.ListSessions(w.ctx, "", -1) }, expectErr: db.ErrInvalid},
			{name: "limit too large", when: func() ([]db.Session, error) { return d.ListSessions(w.ctx, "", 1001) }, expectErr: db.ErrInvalid},
			{name: "a user's sessions, oldest first", when: func() ([]db.Session, error) { return d.ListUserSessions(w.ctx, "u1") }, expectIDs: []string{"s-c", "s-b"}},
			{name: "a user without sessions", when: func() ([]db.Session, error) { return d.ListUserSessions(w.ctx, "nobody") }, expectIDs: []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := tt.when()
				expectAuthErr(t, err, tt.expectErr)
				if tt.expectErr == nil && !reflect.DeepEqual(ids(got), tt.expectIDs) {
					t.Errorf("IDs = %v, want %v", ids(got), tt.expectIDs)
				}
			})
		}

		t.Run("touch", func(t *testing.T) {
			if err := d.TouchSession(w.ctx, "s-a", authNow+500); err != nil {
				t.Fatal(err)
			}
			if s, err := d.GetSession(w.ctx, "s-a"); err != nil || s.RefreshedMs != authNow+500 {
				t.Errorf("GetSession = %+v, %v; want RefreshedMs %d", s, err, authNow+500)
			}
			expectAuthErr(t, d.TouchSession(w.ctx, "nobody", authNow), db.ErrNotFound)
			_, err := d.GetSession(w.ctx, "nobody")
			expectAuthErr(t, err, db.ErrNotFound)
			_, err = d.GetRefreshToken(w.ctx, authHash("nobody"))
			expectAuthErr(t, err, db.ErrNotFound)
		})
	})
}

// TestRotateRefreshToken checks each outcome of a rotation, and that a
// failed one writes nothing.
func TestRotateRefreshToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		tests := []struct {
			name string
			// given prepares the session sid whose first token hash is
			// old; it returns the hash to present.
			given       func(sid, old string) string
			givenNext   func(sid string) db.RefreshToken
			expectErr   error
			expectReuse bool
		}{
			{name: "live token rotates", given: func(sid, old string) string { return old }},
			{
				name:      "unknown token",
				given:     func(sid, old string) string { return authHash("unknown " + sid) },
				expectErr: db.ErrNotFound,
			},
			{
				name: "consumed token is reuse",
				given: func(sid, old string) string {
					if _, err := d.RotateRefreshToken(w.ctx, old, db.RefreshToken{Hash: authHash("first " + sid), CreatedMs: authNow, ExpiresMs: authNow + 1000}, authNow-10); err != nil {
						t.Fatal(err)
					}
					return old
				},
				expectErr: db.ErrRefreshReused, expectReuse: true,
			},
			{
				name: "token expires exactly now",
				given: func(sid, old string) string {
					w.exec("UPDATE session_tokens SET expires_ms = ? WHERE token_hash = ?", authNow, old)
					return old
				},
				expectErr: db.ErrSessionInvalid,
			},
			{
				name: "session invalidated",
				given: func(sid, old string) string {
					if err := d.InvalidateSession(w.ctx, sid, "logout", db.Revoking{AtMs: authNow - 1, ExpiresMs: authNow + 1000}); err != nil {
						t.Fatal(err)
					}
					return old
				},
				expectErr: db.ErrSessionInvalid,
			},
			{
				name: "session expired",
				given: func(sid, old string) string {
					w.exec("UPDATE sessions SET expires_ms = ? WHERE id = ?", authNow, sid)
					return old
				},
				expectErr: db.ErrSessionInvalid,
			},
			{
				name:  "next hash already exists",
				given: func(sid, old string) string { return old },
				givenNext: func(sid string) db.RefreshToken {
					return db.RefreshToken{Hash: authHash("old " + sid), CreatedMs: authNow, ExpiresMs: authNow + 1000}
				},
				expectErr: db.ErrDuplicate,
			},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				sid := authSeq("rot", i)
				old := authHash("old " + sid)
				w.session(sid, "u1", authNow+5000, old)
				presented := tt.given(sid, old)
				before, _ := d.GetRefreshToken(w.ctx, presented)
				next := db.RefreshToken{Hash: authHash("next " + sid), CreatedMs: authNow, ExpiresMs: authNow + 2000}
				if tt.givenNext != nil {
					next = tt.givenNext(sid)
				}

				res, err := d.RotateRefreshToken(w.ctx, presented, next, authNow)

				expectAuthErr(t, err, tt.expectErr)
				var reused *db.RefreshReusedError
				if gotReuse := errors.As(err, &reused); gotReuse != tt.expectReuse {
					t.Fatalf("RefreshReusedError = %v, want %v (%v)", gotReuse, tt.expectReuse, err)
				}
				if tt.expectReuse {
					if !errors.Is(err, db.ErrConflict) || reused.SessionID != sid || reused.Family != sid ||
						reused.ConsumedMs != authNow-10 || reused.ReplacedBy != authHash("first "+sid) {
						t.Errorf("RefreshReusedError = %+v (Is ErrConflict: %v)", reused, errors.Is(err, db.ErrConflict))
					}
					if strings.Contains(err.Error(), presented) {
						t.Errorf("the error repeats the token hash: %v", err)
					}
				}
				after, _ := d.GetRefreshToken(w.ctx, presented)
				if tt.expectErr != nil {
					if res != nil {
						t.Errorf("result %+v with an error", res)
					}
					if after != before {
						t.Errorf("the presented token changed: %+v, was %+v", after, before)
					}
					if n := w.count("SELECT COUNT(*) FROM session_tokens WHERE token_hash = ?", next.Hash); tt.givenNext == nil && n != 0 {
						t.Errorf("the next token was stored")
					}
					return
				}
				wantOld := before
				wantOld.ConsumedMs, wantOld.ReplacedBy = authNow, next.Hash
				wantNext := db.RefreshToken{Hash: next.Hash, SessionID: sid, Family: sid, CreatedMs: authNow, ExpiresMs: authNow + 2000}
				if after != wantOld || res.Previous != wantOld {
					t.Errorf("old token = %+v, result Previous = %+v; want %+v", after, res.Previous, wantOld)
				}
				if got, err := d.GetRefreshToken(w.ctx, next.Hash); err != nil || got != wantNext || res.Next != wantNext {
					t.Errorf("next token = %+v, %v, result Next = %+v; want %+v", got, err, res.Next, wantNext)
				}
				s, err := d.GetSession(w.ctx, sid)
				if err != nil || s.RefreshedMs != authNow || !reflect.DeepEqual(res.Session, s) {
					t.Errorf("session = %+v, %v, result Session = %+v; want RefreshedMs %d", s, err, res.Session, authNow)
				}
			})
		}
	})
}

// TestRotateRefreshToken_concurrent checks that of 8 concurrent rotations
// of one token exactly one wins and the others see reuse, several times.
func TestRotateRefreshToken_concurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		const goroutines, rounds = 8, 3
		for round := range rounds {
			sid := authSeq("race", round)
			old := authHash(sid)
			w.session(sid, "u1", authNow+5000, old)
			errs := authRace(goroutines, func(i int) error {
				next := db.RefreshToken{Hash: authHash(authSeq(sid, i)), CreatedMs: authNow, ExpiresMs: authNow + 1000}
				_, err := d.RotateRefreshToken(w.ctx, old, next, authNow)
				return err
			})
			expectOneWinner(t, errs, db.ErrRefreshReused)
			if n := w.count("SELECT COUNT(*) FROM session_tokens WHERE session_id = ?", sid); n != 2 {
				t.Errorf("round %d: %d tokens in the session, want 2 (the first and one successor)", round, n)
			}
		}
	})
}

// TestInvalidateSession checks that invalidating a session also appends
// its revocation, once.
func TestInvalidateSession(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		w.session("live", "u1", authNow+1000, authHash("live"))
		w.session("done", "u1", authNow+1000, authHash("done"))
		if err := d.InvalidateSession(w.ctx, "done", "logout", db.Revoking{AtMs: authNow - 100, ExpiresMs: authNow + 900}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name              string
			givenID           string
			givenReason       string
			expectErr         error
			expectInvalidated int64 // 0: still live
			expectReason      string
			expectRevocations int // of the session, afterwards
		}{
			{name: "live session", givenID: "live", givenReason: "logout", expectInvalidated: authNow, expectReason: "logout", expectRevocations: 1},
			{name: "already invalidated: unchanged, no new revocation", givenID: "done", givenReason: "again", expectInvalidated: authNow - 100, expectReason: "logout", expectRevocations: 1},
			{name: "unknown session", givenID: "nobody", givenReason: "logout", expectErr: db.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := d.InvalidateSession(w.ctx, tt.givenID, tt.givenReason, db.Revoking{AtMs: authNow, ExpiresMs: authNow + 1000})
				expectAuthErr(t, err, tt.expectErr)
				if n := w.count("SELECT COUNT(*) FROM revocations WHERE kind = 'session' AND subject = ?", tt.givenID); n != tt.expectRevocations {
					t.Errorf("%d revocations, want %d", n, tt.expectRevocations)
				}
				if tt.expectErr != nil {
					return
				}
				s, err := d.GetSession(w.ctx, tt.givenID)
				if err != nil || s.InvalidatedMs != tt.expectInvalidated || s.InvalidatedReason != tt.expectReason || s.Live(authNow) {
					t.Errorf("session = %+v, %v; want invalidated at %d for %q", s, err, tt.expectInvalidated, tt.expectReason)
				}
			})
		}
		t.Run("the revocation row", func(t *testing.T) {
			revs, err := d.RevocationsCreatedSince(w.ctx, authNow)
			if err != nil {
				t.Fatal(err)
			}
			want := db.Revocation{Kind: db.RevokeSession, Subject: "live", NotBeforeMs: authNow, ExpiresMs: authNow + 1000, CreatedMs: authNow}
			if len(revs) != 1 {
				t.Fatalf("revocations = %+v, want one", revs)
			}
			revs[0].Cursor = 0
			if revs[0] != want {
				t.Errorf("revocation = %+v, want %+v", revs[0], want)
			}
		})
	})
}

// TestInvalidateUserSessions checks that every live session of the user,
// and only those, is invalidated, with one user revocation.
func TestInvalidateUserSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1", "u2")
		w.session("a", "u1", authNow+1000, authHash("a"))
		w.session("b", "u1", authNow+1000, authHash("b"))
		w.session("expired", "u1", authNow, authHash("expired"))
		w.session("earlier", "u1", authNow+1000, authHash("earlier"))
		w.session("other", "u2", authNow+1000, authHash("other"))
		if err := d.InvalidateSession(w.ctx, "earlier", "logout", db.Revoking{AtMs: authNow - 5, ExpiresMs: authNow + 1000}); err != nil {
			t.Fatal(err)
		}

		n, err := d.InvalidateUserSessions(w.ctx, "u1", "user-deleted", db.Revoking{AtMs: authNow, ExpiresMs: authNow + 2000})
		if err != nil || n != 2 {
			t.Fatalf("InvalidateUserSessions = %d, %v; want 2", n, err)
		}
		tests := []struct {
			name              string
			givenID           string
			expectInvalidated int64
			expectReason      string
		}{
			{name: "live session", givenID: "a", expectInvalidated: authNow, expectReason: "user-deleted"},
			{name: "another live session", givenID: "b", expectInvalidated: authNow, expectReason: "user-deleted"},
			{name: "expired session untouched", givenID: "expired"},
			{name: "earlier invalidation kept", givenID: "earlier", expectInvalidated: authNow - 5, expectReason: "logout"},
			{name: "other user's session untouched", givenID: "other"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, err := d.GetSession(w.ctx, tt.givenID)
				if err != nil || s.InvalidatedMs != tt.expectInvalidated || s.InvalidatedReason != tt.expectReason {
					t.Errorf("session = %+v, %v; want invalidated at %d for %q", s, err, tt.expectInvalidated, tt.expectReason)
				}
			})
		}
		revs, err := d.RevocationsCreatedSince(w.ctx, authNow)
		if err != nil {
			t.Fatal(err)
		}
		// One per session invalidated (so that a refresh racing the
		// invalidation cannot mint working tokens), then the user's.
		want := []db.Revocation{
			{Kind: db.RevokeSession, Subject: "a", NotBeforeMs: authNow, ExpiresMs: authNow + 2000, CreatedMs: authNow},
			{Kind: db.RevokeSession, Subject: "b", NotBeforeMs: authNow, ExpiresMs: authNow + 2000, CreatedMs: authNow},
			{Kind: db.RevokeUser, Subject: "u1", NotBeforeMs: authNow, ExpiresMs: authNow + 2000, CreatedMs: authNow},
		}
		if len(revs) != len(want) {
			t.Fatalf("revocations = %+v, want %+v", revs, want)
		}
		for i := range revs {
			revs[i].Cursor = 0
			if revs[i] != want[i] {
				t.Errorf("revocation %d = %+v, want %+v", i, revs[i], want[i])
			}
		}
		t.Run("user without sessions still gets a revocation", func(t *testing.T) {
			n, err := d.InvalidateUserSessions(w.ctx, "gone", "user-deleted", db.Revoking{AtMs: authNow + 1, ExpiresMs: authNow + 2000})
			if err != nil || n != 0 {
				t.Fatalf("InvalidateUserSessions = %d, %v; want 0", n, err)
			}
			if c := w.count("SELECT COUNT(*) FROM revocations WHERE kind = 'user' AND subject = 'gone'"); c != 1 {
				t.Errorf("%d revocations, want 1", c)
			}
		})
	})
}

// TestInvalidate_allOrNothing checks that an invalidation whose revocation
// cannot be written leaves the sessions live, and one whose session
// update fails writes no revocation.
func TestInvalidate_allOrNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		w.session("s1", "u1", authNow+1000, authHash("s1"))
		w.session("s2", "u1", authNow+1000, authHash("s2"))

		t.Run("reason too long: no revocation", func(t *testing.T) {
			err := d.InvalidateSession(w.ctx, "s1", strings.Repeat("x", 33), db.Revoking{AtMs: authNow, ExpiresMs: authNow + 1000})
			expectAuthErr(t, err, db.ErrInvalid)
			_, err = d.InvalidateUserSessions(w.ctx, "u1", strings.Repeat("x", 33), db.Revoking{AtMs: authNow, ExpiresMs: authNow + 1000})
			expectAuthErr(t, err, db.ErrInvalid)
			if n := w.count("SELECT COUNT(*) FROM revocations"); n != 0 {
				t.Errorf("%d revocations written", n)
			}
		})

		w.refuseInserts("revocations")
		tests := []struct {
			name string
			when func() error
		}{
			{name: "InvalidateSession", when: func() error {
				return d.InvalidateSession(w.ctx, "s1", "logout", db.Revoking{AtMs: authNow, ExpiresMs: authNow + 1000})
			}},
			{name: "InvalidateUserSessions", when: func() error {
				_, err := d.InvalidateUserSessions(w.ctx, "u1", "logout", db.Revoking{AtMs: authNow, ExpiresMs: authNow + 1000})
				return err
			}},
		}
		for _, tt := range tests {
			t.Run("revocation refused: "+tt.name, func(t *testing.T) {
				if err := tt.when(); err == nil {
					t.Fatal("no error, though the revocation insert fails")
				}
				for _, id := range []string{"s1", "s2"} {
					if s, err := d.GetSession(w.ctx, id); err != nil || !s.Live(authNow) {
						t.Errorf("session %s = %+v, %v; want still live", id, s, err)
					}
				}
			})
		}
	})
}

// TestSessions_contextEnded checks that the store gives up at once, with
// the context's error and nothing written, when the context has ended.
func TestSessions_contextEnded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		w.session("s1", "u1", authNow+1000, authHash("s1"))
		ended, cancel := context.WithCancel(w.ctx)
		cancel()
		tests := []struct {
			name string
			when func() error
		}{
			{name: "CreateSession", when: func() error {
				return d.CreateSession(ended, db.Session{ID: "s2", UserID: "u1", CreatedMs: authNow, ExpiresMs: authNow + 1000},
					db.RefreshToken{Hash: authHash("s2"), CreatedMs: authNow, ExpiresMs: authNow + 1000})
			}},
			{name: "RotateRefreshToken", when: func() error {
				_, err := d.RotateRefreshToken(ended, authHash("s1"), db.RefreshToken{Hash: authHash("next"), CreatedMs: authNow, ExpiresMs: authNow + 1000}, authNow)
				return err
			}},
			{name: "InvalidateSession", when: func() error {
				return d.InvalidateSession(ended, "s1", "logout", db.Revoking{AtMs: authNow, ExpiresMs: authNow + 1000})
			}},
			{name: "GetSession", when: func() error {
				_, err := d.GetSession(ended, "s1")
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				expectAuthErr(t, tt.when(), context.Canceled)
			})
		}
		if n := w.count("SELECT COUNT(*) FROM session_tokens"); n != 1 {
			t.Errorf("%d refresh tokens, want only the first", n)
		}
		if s, err := d.GetSession(w.ctx, "s1"); err != nil || !s.Live(authNow) {
			t.Errorf("session = %+v, %v; want still live", s, err)
		}
	})
}
