package db_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// purgeCut is the cutoff every test policy uses: rows before it are past
// their retention, rows at or after it are within.
const purgeCut = int64(1_000_000_000_000)

// TestPurge checks, table by table, that Purge deletes the rows past
// their retention and keeps the rows within, with batches smaller than
// the rows to purge.
func TestPurge(t *testing.T) {
	policy := db.PurgePolicy{
		SessionsEndedBeforeMs:      purgeCut,
		CodesExpiredBeforeMs:       purgeCut,
		RegulationBeforeMs:         purgeCut,
		MailSendsBeforeMs:          purgeCut,
		RevocationsExpiredBeforeMs: purgeCut,
		PersonalDataBeforeMs:       purgeCut,
		Batch:                      2,
	}
	old, kept := purgeCut-1, purgeCut
	tests := []struct {
		name string
		// given inserts rows: those whose ID starts with "old" are past
		// their retention.
		given func(w *authWorld)
		// ids lists the IDs left in the table.
		ids         string
		expectLeft  []string
		expectCount func(db.PurgeResult) int64
		expectN     int64
	}{
		{
			name: "sessions ended (expired or invalidated) before the cutoff",
			given: func(w *authWorld) {
				for i := range 3 {
					w.purgeSession(fmt.Sprintf("old-expired-%d", i), 1, old, nil)
				}
				w.purgeSession("old-invalidated", 1, kept+100, &old)
				w.purgeSession("kept-running", 1, kept, nil)
				w.purgeSession("kept-invalidated-late", 1, kept+100, &kept)
			},
			ids:         "SELECT id FROM sessions ORDER BY id",
			expectLeft:  []string{"kept-invalidated-late", "kept-running"},
			expectCount: func(r db.PurgeResult) int64 { return r.Sessions },
			expectN:     4,
		},
		{
			name: "refresh tokens expired before the cutoff, and those of purged sessions",
			given: func(w *authWorld) {
				w.purgeSession("s-old", 1, old, nil)
				w.purgeSession("s-live", 1, kept+100, nil)
				w.exec("INSERT INTO session_tokens (token_hash, session_id, family, created_ms, expires_ms) VALUES ('old-expired', 's-live', 's-live', 1, ?)", old)
				w.exec("INSERT INTO session_tokens (token_hash, session_id, family, created_ms, expires_ms) VALUES ('kept', 's-live', 's-live', 1, ?)", kept)
			},
			ids: "SELECT token_hash FROM session_tokens ORDER BY token_hash",
			// The first tokens of both sessions (purgeSession) expire
			// with them: s-old's goes, s-live's stays.
			expectLeft:  []string{"kept", "tok-s-live"},
			expectCount: func(r db.PurgeResult) int64 { return r.SessionTokens },
			expectN:     2,
		},
		{
			name: "codes expired before the cutoff, consumed or not",
			given: func(w *authWorld) {
				w.exec("INSERT INTO verification_codes (id, code_hash, kind, created_ms, expires_ms) VALUES ('old-1', 'h1', 'login', 1, ?)", old)
				w.exec("INSERT INTO verification_codes (id, code_hash, kind, created_ms, expires_ms, consumed_ms) VALUES ('old-2', 'h2', 'email-verification', 1, ?, 1)", old)
				w.exec("INSERT INTO verification_codes (id, code_hash, kind, created_ms, expires_ms, invalidated_ms) VALUES ('old-3', 'h3', 'totp-flow', 1, ?, 1)", old)
				w.exec("INSERT INTO verification_codes (id, code_hash, kind, created_ms, expires_ms, consumed_ms) VALUES ('kept-consumed', 'h4', 'login', 1, ?, 1)", kept)
				w.exec("INSERT INTO verification_codes (id, code_hash, kind, created_ms, expires_ms) VALUES ('kept', 'h5', 'login', 1, ?)", kept)
			},
			ids:         "SELECT id FROM verification_codes ORDER BY id",
			expectLeft:  []string{"kept", "kept-consumed"},
			expectCount: func(r db.PurgeResult) int64 { return r.VerificationCodes },
			expectN:     3,
		},
		{
			name: "OpenID authorization requests expired before the cutoff, used or not",
			given: func(w *authWorld) {
				w.org("org-1", 0)
				w.client("client-1", "org-1", 0)
				for _, r := range []struct {
					id      string
					expires int64
					usedMs  int64
				}{{"old-1", old, 0}, {"old-2", old, 5}, {"kept", kept, 0}, {"kept-used", kept, 5}} {
					w.exec("INSERT INTO oidc_auth_requests (id, client_id, redirect_uri, scopes, response_type, created_ms, expires_ms, used_ms) VALUES (?, 'client-1', 'https://app.example/cb', 'openid', 'code', 1, ?, ?)",
						r.id, r.expires, r.usedMs)
				}
			},
			ids:         "SELECT id FROM oidc_auth_requests ORDER BY id",
			expectLeft:  []string{"kept", "kept-used"},
			expectCount: func(r db.PurgeResult) int64 { return r.OIDCAuthRequests },
			expectN:     2,
		},
		{
			name: "external sign-ins in progress expired before the cutoff",
			given: func(w *authWorld) {
				for _, r := range []struct {
					hash    string
					expires int64
				}{{"old", old}, {"kept", kept}} {
					w.exec("INSERT INTO oidc_rp_flows (state_hash, provider_id, nonce, verifier, created_ms, expires_ms) VALUES (?, 'corp', 'n', 'v', 1, ?)", r.hash, r.expires)
				}
			},
			ids:         "SELECT state_hash FROM oidc_rp_flows ORDER BY state_hash",
			expectLeft:  []string{"kept"},
			expectCount: func(r db.PurgeResult) int64 { return r.OIDCSignIns },
			expectN:     1,
		},
		{
			name: "regulation failures recorded before the cutoff",
			given: func(w *authWorld) {
				for i, ms := range []int64{old, old - 5, 1, kept, kept + 1} {
					w.exec("INSERT INTO regulation_failures (id, subject_kind, subject, step, failed_ms) VALUES (?, 'mail', 'someone@example.org', 'code', ?)",
						fmt.Sprintf("%s-%d", map[bool]string{true: "old", false: "kept"}[ms < purgeCut], i), ms)
				}
			},
			ids:         "SELECT id FROM regulation_failures ORDER BY id",
			expectLeft:  []string{"kept-3", "kept-4"},
			expectCount: func(r db.PurgeResult) int64 { return r.RegulationFailures },
			expectN:     3,
		},
		{
			name: "regulation bans ended before the cutoff",
			given: func(w *authWorld) {
				w.exec("INSERT INTO regulation_bans (subject_kind, subject, until_ms) VALUES ('account', 'old', ?)", old)
				w.exec("INSERT INTO regulation_bans (subject_kind, subject, until_ms) VALUES ('ip', 'kept', ?)", kept)
			},
			ids:         "SELECT subject FROM regulation_bans ORDER BY subject",
			expectLeft:  []string{"kept"},
			expectCount: func(r db.PurgeResult) int64 { return r.RegulationBans },
			expectN:     1,
		},
		{
			name: "mail counters of mails sent before the cutoff",
			given: func(w *authWorld) {
				w.exec("INSERT INTO mail_sends (id, subject, sent_ms) VALUES ('old-1', 'user:u1', ?)", old)
				w.exec("INSERT INTO mail_sends (id, subject, sent_ms) VALUES ('old-2', 'user:u1', 1)")
				w.exec("INSERT INTO mail_sends (id, subject, sent_ms) VALUES ('kept', 'user:u1', ?)", kept)
			},
			ids:         "SELECT id FROM mail_sends ORDER BY id",
			expectLeft:  []string{"kept"},
			expectCount: func(r db.PurgeResult) int64 { return r.MailSends },
			expectN:     2,
		},
		{
			name: "revocations whose expires_ms is before the cutoff",
			given: func(w *authWorld) {
				w.exec("INSERT INTO revocations (kind, subject, not_before_ms, expires_ms, created_ms) VALUES ('session', 'old', 1, ?, 1)", old)
				w.exec("INSERT INTO revocations (kind, subject, not_before_ms, expires_ms, created_ms) VALUES ('user', 'kept', 1, ?, 1)", kept)
			},
			ids:         "SELECT subject FROM revocations ORDER BY subject",
			expectLeft:  []string{"kept"},
			expectCount: func(r db.PurgeResult) int64 { return r.Revocations },
			expectN:     1,
		},
		{
			name: "IPs and user agents of sessions not used since the cutoff are cleared",
			given: func(w *authWorld) {
				// Running sessions (expiring after the cutoff) not
				// refreshed since it lose their IP but stay.
				w.exec("INSERT INTO sessions (id, user_id, ip, user_agent, created_ms, expires_ms, refreshed_ms) VALUES ('a-stale', 'u1', '192.0.2.1', 'UA', 1, ?, ?)", kept+100, old)
				w.exec("INSERT INTO sessions (id, user_id, ip, user_agent, created_ms, expires_ms, refreshed_ms) VALUES ('b-stale-ua', 'u1', '', 'UA', 1, ?, ?)", kept+100, old)
				w.exec("INSERT INTO sessions (id, user_id, ip, user_agent, created_ms, expires_ms, refreshed_ms) VALUES ('c-refreshed', 'u1', '192.0.2.3', 'UA', 1, ?, ?)", kept+100, kept)
			},
			ids:         "SELECT id || '=' || ip || '/' || user_agent FROM sessions ORDER BY id",
			expectLeft:  []string{"a-stale=/", "b-stale-ua=/", "c-refreshed=192.0.2.3/UA"},
			expectCount: func(r db.PurgeResult) int64 { return r.SessionIPsCleared },
			expectN:     2,
		},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w := newAuthWorld(t, d)
				for _, table := range []string{"session_tokens", "sessions", "verification_codes", "regulation_failures",
					"regulation_bans", "mail_sends", "revocations", "users"} {
					w.exec("DELETE FROM " + table)
				}
				w.users("u1")
				tt.given(w)

				got, err := d.Purge(w.ctx, policy)

				if err != nil {
					t.Fatalf("Purge: %v", err)
				}
				if n := tt.expectCount(got); n != tt.expectN {
					t.Errorf("count %d, expected %d (result %+v)", n, tt.expectN, got)
				}
				ids := tt.ids
				if d.Dialect() == db.DialectMySQL {
					ids = mysqlConcat(ids)
				}
				if left := w.strings(ids); !slices.Equal(left, tt.expectLeft) {
					t.Errorf("left %q, expected %q", left, tt.expectLeft)
				}
				again, err := d.Purge(w.ctx, policy)
				if err != nil || again.Total() != 0 {
					t.Errorf("second Purge: %+v, %v; expected nothing left to purge", again, err)
				}
			})
		}
	})
}

// TestPurge_zeroPolicyPurgesNothing: a zero cutoff leaves its tables
// alone, and a negative batch is refused.
func TestPurge_zeroPolicyPurgesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		w.purgeSession("s1", 1, 2, nil)
		w.exec("INSERT INTO mail_sends (id, subject, sent_ms) VALUES ('m', 'user:u1', 1)")
		got, err := d.Purge(w.ctx, db.PurgePolicy{})
		if err != nil || got.Total() != 0 {
			t.Fatalf("Purge(zero): %+v, %v; expected nothing", got, err)
		}
		if _, err := d.Purge(w.ctx, db.PurgePolicy{Batch: -1}); !errors.Is(err, db.ErrInvalid) {
			t.Fatalf("Purge(batch -1): %v, expected ErrInvalid", err)
		}
	})
}

// TestRecentLoginIPs_skipsClearedIPs: a session whose IP the purge
// cleared gives no known source.
func TestRecentLoginIPs_skipsClearedIPs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		w.exec("INSERT INTO emails (id, user_id, email, email_key, verified_key, verified_ms, created_ms) VALUES ('e1', 'u1', 'a@example.org', 'a@example.org', 'a@example.org', 1, 1)")
		w.exec("INSERT INTO sessions (id, user_id, ip, user_agent, created_ms, expires_ms, refreshed_ms) VALUES ('s1', 'u1', '', '', 10, 20, 10)")
		w.exec("INSERT INTO sessions (id, user_id, ip, user_agent, created_ms, expires_ms, refreshed_ms) VALUES ('s2', 'u1', '192.0.2.1', '', 10, 20, 10)")
		ips, err := d.RecentLoginIPs(w.ctx, "a@example.org", 1, 10)
		if err != nil || !slices.Equal(ips, []string{"192.0.2.1"}) {
			t.Fatalf("RecentLoginIPs: %q, %v; expected only 192.0.2.1", ips, err)
		}
	})
}

// purgeSession inserts a session of u1 with its first refresh token
// "tok-<id>", both expiring at expiresMs.
func (w *authWorld) purgeSession(id string, createdMs, expiresMs int64, invalidatedMs *int64) {
	w.t.Helper()
	w.exec("INSERT INTO sessions (id, user_id, ip, user_agent, created_ms, expires_ms, refreshed_ms, invalidated_ms) VALUES (?, 'u1', '192.0.2.9', 'UA', ?, ?, ?, ?)",
		id, createdMs, expiresMs, createdMs, invalidatedMs)
	w.exec("INSERT INTO session_tokens (token_hash, session_id, family, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?)",
		"tok-"+id, id, id, createdMs, expiresMs)
}

// strings runs a query of one text column.
func (w *authWorld) strings(query string) []string {
	w.t.Helper()
	rows, err := w.d.SQL().QueryContext(w.ctx, query)
	if err != nil {
		w.t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			w.t.Fatalf("%s: %v", query, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		w.t.Fatalf("%s: %v", query, err)
	}
	return out
}

// mysqlConcat rewrites the one || concatenation the purge test uses.
func mysqlConcat(query string) string {
	if query == "SELECT id || '=' || ip || '/' || user_agent FROM sessions ORDER BY id" {
		return "SELECT CONCAT(id, '=', ip, '/', user_agent) FROM sessions ORDER BY id"
	}
	return query
}
