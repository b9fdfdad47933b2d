package db_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
)

// Helpers shared by the tests of sessions, codes, TOTP, regulation,
// revocations and the snapshot. They insert the users, organizations,
// clients and emails those tests need with plain SQL, so that these
// tests do not depend on the account store.

// authNow is the fixed clock of the auth-store tests, in milliseconds.
const authNow int64 = 1_800_000_000_000

// authWorld inserts and inspects rows of one test database.
type authWorld struct {
	t   *testing.T
	d   *db.DB
	ctx context.Context
}

// newAuthWorld returns an authWorld on d whose statements end with the
// test or after a minute.
func newAuthWorld(t *testing.T, d *db.DB) *authWorld {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return &authWorld{t: t, d: d, ctx: ctx}
}

// exec runs a statement on the pool and fails the test if it fails.
func (w *authWorld) exec(query string, args ...any) {
	w.t.Helper()
	if _, err := w.d.SQL().ExecContext(w.ctx, query, args...); err != nil {
		w.t.Fatalf("%s: %v", query, err)
	}
}

// count runs a SELECT COUNT(*) query.
func (w *authWorld) count(query string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.d.SQL().QueryRowContext(w.ctx, query, args...).Scan(&n); err != nil {
		w.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// users inserts users with the given IDs.
func (w *authWorld) users(ids ...string) {
	w.t.Helper()
	for _, id := range ids {
		w.exec("INSERT INTO users (id, name, created_ms, updated_ms) VALUES (?, ?, 1, 1)", id, "user "+id)
	}
}

// org inserts an organization, deleted when deletedMs is not 0.
func (w *authWorld) org(id string, deletedMs int64) {
	w.t.Helper()
	w.exec("INSERT INTO organizations (id, name, created_ms, deleted_ms) VALUES (?, ?, 1, ?)", id, "org "+id, authNullable(deletedMs))
}

// client inserts a client of orgID, deleted when deletedMs is not 0.
func (w *authWorld) client(id, orgID string, deletedMs int64) {
	w.t.Helper()
	w.exec("INSERT INTO clients (id, organization_id, name, secret_hash, reqs_per_sec, created_ms, updated_ms, deleted_ms) VALUES (?, ?, ?, ?, 10, 2, 3, ?)",
		id, orgID, "client "+id, authHash("secret "+id), authNullable(deletedMs))
}

// email inserts an email address of a user.
func (w *authWorld) email(id, userID string) {
	w.t.Helper()
	w.exec("INSERT INTO emails (id, user_id, email, email_key, created_ms) VALUES (?, ?, ?, ?, 1)", id, userID, id+"@example.com", id+"@example.com")
}

// session creates a session of userID through the store, created at
// authNow and expiring at expiresMs, with a first refresh token of hash
// tokenHash expiring at the same time.
func (w *authWorld) session(id, userID string, expiresMs int64, tokenHash string) db.Session {
	w.t.Helper()
	s := db.Session{ID: id, UserID: userID, IP: "192.0.2.1", UserAgent: "test", CreatedMs: authNow, ExpiresMs: expiresMs}
	if err := w.d.CreateSession(w.ctx, s, db.RefreshToken{Hash: tokenHash, CreatedMs: authNow, ExpiresMs: expiresMs}); err != nil {
		w.t.Fatalf("CreateSession %s: %v", id, err)
	}
	s.RefreshedMs = s.CreatedMs
	return s
}

// refuseInserts makes every INSERT into table fail from now on, with a
// trigger, to test that a transaction that fails at that insert leaves
// nothing behind.
func (w *authWorld) refuseInserts(table string) {
	w.t.Helper()
	if w.d.Dialect() == db.DialectMySQL {
		w.exec("CREATE TRIGGER " + table + "_refused BEFORE INSERT ON " + table +
			" FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'")
		return
	}
	w.exec("CREATE TRIGGER " + table + "_refused BEFORE INSERT ON " + table +
		" BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
}

// authNullable maps 0 to NULL for raw inserts.
func authNullable(ms int64) any {
	if ms == 0 {
		return nil
	}
	return ms
}

// authHash returns the SHA-256 hex of s, the form tokens and codes are
// stored in.
func authHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// expectAuthErr fails the test unless err is nil when want is nil, or wraps
// want otherwise.
func expectAuthErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("error = %v, want none", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("error = %v, want %v", err, want)
	}
}

// authRace runs fn in n goroutines released at once and returns their errors.
func authRace(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// expectOneWinner fails the test unless exactly one of errs is nil and
// every other one wraps one of losers.
func expectOneWinner(t *testing.T, errs []error, losers ...error) {
	t.Helper()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !slices.ContainsFunc(losers, func(l error) bool { return errors.Is(err, l) }):
			t.Errorf("goroutine %d: error = %v, want one of %v", i, err, losers)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d goroutines won, want exactly 1", wins, len(errs))
	}
}

// authSeq returns a name made of prefix and i, for rows of table-driven cases.
func authSeq(prefix string, i int) string { return fmt.Sprintf("%s-%d", prefix, i) }
