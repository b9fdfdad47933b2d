package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
)

// TestServe_purgesOnItsInterval: a running serve purges on its own: a
// session ended long ago is deleted and the IP and user agent of a
// running session unused past --personal-data-retention are cleared,
// while a recent session keeps its IP. Before the purge existed nothing
// deleted them.
func TestServe_purgesOnItsInterval(t *testing.T) {
	dir := t.TempDir()
	_, _, stop, exited, _ := startServe(t, dir)
	stopServe(t, stop, exited)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := db.Open(ctx, "sqlite:"+filepath.Join(dir, "authgw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	ms := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
	day := 24 * time.Hour
	for _, q := range []struct {
		query string
		args  []any
	}{
		{"INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('u-purge', 'Ann', 1, 1)", nil},
		{"INSERT INTO sessions (id, user_id, ip, user_agent, created_ms, expires_ms, refreshed_ms) VALUES ('s-ended', 'u-purge', '198.51.100.1', 'UA', ?, ?, ?)",
			[]any{ms(-90 * day), ms(-80 * day), ms(-90 * day)}},
		{"INSERT INTO sessions (id, user_id, ip, user_agent, created_ms, expires_ms, refreshed_ms) VALUES ('s-stale', 'u-purge', '198.51.100.2', 'UA', ?, ?, ?)",
			[]any{ms(-10 * day), ms(day), ms(-10 * day)}},
		{"INSERT INTO sessions (id, user_id, ip, user_agent, created_ms, expires_ms, refreshed_ms) VALUES ('s-recent', 'u-purge', '198.51.100.3', 'UA', ?, ?, ?)",
			[]any{ms(-time.Hour), ms(day), ms(-time.Hour)}},
	} {
		if _, err := store.SQL().ExecContext(ctx, q.query, q.args...); err != nil {
			t.Fatalf("%s: %v", q.query, err)
		}
	}

	startServe(t, dir, "--purge-interval", "50ms", "--personal-data-retention", "7d")

	deadline := time.Now().Add(20 * time.Second)
	for {
		var ended int
		var staleIP, recentIP string
		err1 := store.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM sessions WHERE id = 's-ended'").Scan(&ended)
		err2 := store.SQL().QueryRowContext(ctx, "SELECT ip || user_agent FROM sessions WHERE id = 's-stale'").Scan(&staleIP)
		err3 := store.SQL().QueryRowContext(ctx, "SELECT ip FROM sessions WHERE id = 's-recent'").Scan(&recentIP)
		if err1 == nil && err2 == nil && err3 == nil && ended == 0 && staleIP == "" {
			if recentIP != "198.51.100.3" {
				t.Fatalf("the recent session's IP is %q, expected it kept", recentIP)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not purged: ended sessions %d, stale IP+UA %q (%v %v %v)", ended, staleIP, err1, err2, err3)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestParsePurgeSettings: the purge settings take Go durations or days;
// only the interval may be 0 (off), and the config file takes both.
func TestParsePurgeSettings(t *testing.T) {
	for _, tc := range []struct {
		in     string
		zeroOK bool
		want   time.Duration
		ok     bool
	}{
		{"1h", true, time.Hour, true},
		{"30d", false, 30 * 24 * time.Hour, true},
		{"0", true, 0, true},
		{"0", false, 0, false},
		{"-1h", true, 0, false},
		{"xd", false, 0, false},
		{"99999999d", false, 0, false},
		{"soon", true, 0, false},
	} {
		got, err := parseDays(tc.zeroOK)(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseDays(%v)(%q) = %v, %v", tc.zeroOK, tc.in, got, err)
		}
	}
	for _, name := range []string{purgeIntervalSetting, personalDataSetting} {
		found := false
		for _, k := range configKeys {
			found = found || k == name
		}
		if !found {
			t.Errorf("the config file does not take %s", name)
		}
	}
}
