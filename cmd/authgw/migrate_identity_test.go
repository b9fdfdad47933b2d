package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestMigrateReportsEmailCollisions: addresses the email-key migration
// kept apart (they differ only in case from an older one) are reported
// by migrate up by ID, never by address, until an operator removes them.
func TestMigrateReportsEmailCollisions(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "authgw.db")
	expectResult(t, runCLI(t, invocation{args: []string{"migrate", "up", "--database", dsn}}), exitOK, nil, nil)
	d := openDB(t, dsn)
	ctx := context.Background()
	// What the migration leaves for a collision: the key with "#<id>".
	for _, q := range []string{
		"INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('u1', 'Ann', 1, 1), ('u2', 'Other', 2, 2)",
		"INSERT INTO emails (id, user_id, email, email_key, verified_key, verified_ms, created_ms) VALUES ('e1', 'u1', 'ann@example.com', 'ann@example.com', 'ann@example.com', 1, 1)",
		"INSERT INTO emails (id, user_id, email, email_key, created_ms) VALUES ('e2', 'u2', 'ANN@example.com', 'ann@example.com#e2', 2)",
	} {
		if _, err := d.SQL().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	r := runCLI(t, invocation{args: []string{"migrate", "up", "--database", dsn}})
	expectResult(t, r, exitOK, []string{"nothing to apply"}, []string{"differ only in case", "e2"})
	if strings.Contains(r.stderr, "example.com") || strings.Contains(r.stdout, "example.com") {
		t.Errorf("the report shows an address: %q %q", r.stdout, r.stderr)
	}
}
