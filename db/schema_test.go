package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// Hashes of the fixture's refresh token and verification code.
var (
	fixtureTokenHash = strings.Repeat("a", 64)
	fixtureCodeHash  = strings.Repeat("b", 64)
)

// fixture is one row in each table, linked together.
var fixture = []struct {
	query string
	args  []any
}{
	{"INSERT INTO organizations (id, name, created_ms) VALUES ('org-1', 'Org', 1), ('org-2', 'Other', 1)", nil},
	{"INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('user-1', 'Ann', 1, 1), ('user-2', 'Bob', 1, 1)", nil},
	{"INSERT INTO emails (id, user_id, email, email_key, verified_key, verified_ms, created_ms) VALUES ('email-1', 'user-1', 'ann@example.com', 'ann@example.com', 'ann@example.com', 1, 1)", nil},
	{"INSERT INTO user_roles (user_id, role) VALUES ('user-1', 'user')", nil},
	{"INSERT INTO clients (id, organization_id, name, secret_hash, created_ms, updated_ms) VALUES ('client-1', 'org-1', 'app', 'h', 1, 1)", nil},
	{"INSERT INTO client_roles (client_id, role) VALUES ('client-1', 'external')", nil},
	{"INSERT INTO client_access_restrictions (id, client_id, type, value, created_ms) VALUES ('restr-1', 'client-1', 'ip', '10.0.0.0/8', 1)", nil},
	{"INSERT INTO org_memberships (id, organization_id, user_id, can_read, created_ms) VALUES ('memb-1', 'org-1', 'user-1', 1, 1)", nil},
	{"INSERT INTO apis (name, version, url, created_ms, updated_ms) VALUES ('notes', 1, 'http://127.0.0.1:9000', 1, 1)", nil},
	{"INSERT INTO sessions (id, user_id, client_id, created_ms, expires_ms, refreshed_ms) VALUES ('sess-1', 'user-1', 'client-1', 1, 2, 1)", nil},
	{"INSERT INTO session_tokens (token_hash, session_id, family, created_ms, expires_ms) VALUES (?, 'sess-1', 'sess-1', 1, 2)", []any{fixtureTokenHash}},
	{"INSERT INTO verification_codes (id, code_hash, kind, user_id, email_id, created_ms, expires_ms) VALUES ('code-1', ?, 'email-verification', 'user-1', 'email-1', 1, 2)", []any{fixtureCodeHash}},
	{"INSERT INTO totp_secrets (user_id, secret_ciphertext, created_ms) VALUES ('user-1', ?, 1)", []any{[]byte{0, 1, 2, 0xff}}},
	{"INSERT INTO regulation_failures (id, subject_kind, subject, step, failed_ms) VALUES ('fail-1', 'ip', '192.0.2.1', 'password', 1)", nil},
	{"INSERT INTO regulation_bans (subject_kind, subject, until_ms) VALUES ('ip', '192.0.2.1', 2)", nil},
	{"INSERT INTO revocations (kind, subject, not_before_ms, expires_ms, created_ms) VALUES ('session', 'sess-1', 1, 2, 1)", nil},
}

// inFixtureTx runs fn in a transaction holding the fixture, rolled back
// afterwards, so each case starts from the same rows.
func inFixtureTx(t *testing.T, d *db.DB, fn func(ctx context.Context, tx *sql.Tx)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	tx, err := d.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, f := range fixture {
		if _, err := tx.ExecContext(ctx, f.query, f.args...); err != nil {
			t.Fatalf("fixture %s: %v", f.query, err)
		}
	}
	fn(ctx, tx)
}

// TestSchema_constraints checks that each constraint refuses what it
// should with the right typed error, and accepts values at its limits,
// in both dialects.
func TestSchema_constraints(t *testing.T) {
	const insertUser = "INSERT INTO users (id, name, created_ms, updated_ms) VALUES (?, ?, 1, 1)"
	const insertEmail = "INSERT INTO emails (id, user_id, email, email_key, verified_key, created_ms) VALUES (?, ?, ?, ?, ?, 1)"
	const insertMembership = "INSERT INTO org_memberships (id, organization_id, user_id, can_edit, created_ms) VALUES (?, ?, ?, ?, 1)"
	const insertAPI = "INSERT INTO apis (name, version, url, created_ms, updated_ms) VALUES (?, ?, ?, 1, 1)"
	const insertCode = "INSERT INTO verification_codes (id, code_hash, kind, state, attempts, created_ms, expires_ms) VALUES ('code-2', ?, ?, ?, ?, 1, 2)"
	tests := []struct {
		name        string
		whenQuery   string
		whenArgs    []any
		expectError error // nil: accepted
	}{
		{"a second verified holder of an address", insertEmail, []any{"email-2", "user-2", "Ann@example.com", "ann@example.com", "ann@example.com"}, db.ErrDuplicate},
		{"an unverified hold of another's address", insertEmail, []any{"email-2", "user-2", "ann@example.com", "ann@example.com", nil}, nil},
		{"one account holds an address once", insertEmail, []any{"email-2", "user-1", "Ann@example.com", "ann@example.com", nil}, db.ErrDuplicate},
		{"email of an unknown user", insertEmail, []any{"email-2", "user-9", "cid@example.com", "cid@example.com", nil}, db.ErrForeignKey},
		{"email at 320 characters", insertEmail, []any{"email-2", "user-2", strings.Repeat("é", 308) + "@example.com", strings.Repeat("é", 308) + "@example.com", nil}, nil},
		{"email over 320 characters", insertEmail, []any{"email-2", "user-2", strings.Repeat("é", 309) + "@example.com", "x", nil}, db.ErrInvalid},
		{"duplicate user id", insertUser, []any{"user-1", "Ann again"}, db.ErrDuplicate},
		{"user without a name", insertUser, []any{"user-3", nil}, db.ErrInvalid},
		{"name of 255 four-byte characters", insertUser, []any{"user-3", strings.Repeat("🔑", 255)}, nil},
		{"name over 255 characters", insertUser, []any{"user-3", strings.Repeat("a", 256)}, db.ErrInvalid},
		{"id over 36 characters", insertUser, []any{strings.Repeat("u", 37), "Cid"}, db.ErrInvalid},
		{"unknown user role", "INSERT INTO user_roles (user_id, role) VALUES ('user-2', 'root')", nil, db.ErrInvalid},
		{"user role in another case", "INSERT INTO user_roles (user_id, role) VALUES ('user-2', 'Sysadmin')", nil, db.ErrInvalid},
		{"duplicate user role", "INSERT INTO user_roles (user_id, role) VALUES ('user-1', 'user')", nil, db.ErrDuplicate},
		{"unknown client role", "INSERT INTO client_roles (client_id, role) VALUES ('client-1', 'admin')", nil, db.ErrInvalid},
		{"role of an unknown client", "INSERT INTO client_roles (client_id, role) VALUES ('client-9', 'system')", nil, db.ErrForeignKey},
		{"unknown restriction type", "INSERT INTO client_access_restrictions (id, client_id, type, value, created_ms) VALUES ('restr-2', 'client-1', 'url', 'x', 1)", nil, db.ErrInvalid},
		{"duplicate restriction", "INSERT INTO client_access_restrictions (id, client_id, type, value, created_ms) VALUES ('restr-2', 'client-1', 'ip', '10.0.0.0/8', 1)", nil, db.ErrDuplicate},
		{"client of an unknown organization", "INSERT INTO clients (id, organization_id, name, secret_hash, created_ms, updated_ms) VALUES ('client-2', 'org-9', 'app', 'h', 1, 1)", nil, db.ErrForeignKey},
		{"unlimited requests per second", "INSERT INTO clients (id, organization_id, name, secret_hash, reqs_per_sec, created_ms, updated_ms) VALUES ('client-2', 'org-1', 'app', 'h', -1, 1, 1)", nil, nil},
		{"requests per second below -1", "INSERT INTO clients (id, organization_id, name, secret_hash, reqs_per_sec, created_ms, updated_ms) VALUES ('client-2', 'org-1', 'app', 'h', -2, 1, 1)", nil, db.ErrInvalid},
		{"duplicate membership", insertMembership, []any{"memb-2", "org-1", "user-1", 0}, db.ErrDuplicate},
		{"membership in another organization", insertMembership, []any{"memb-2", "org-2", "user-1", 1}, nil},
		{"membership in an unknown organization", insertMembership, []any{"memb-2", "org-9", "user-1", 0}, db.ErrForeignKey},
		{"membership flag out of range", insertMembership, []any{"memb-2", "org-2", "user-1", 2}, db.ErrInvalid},
		{"duplicate api version", insertAPI, []any{"notes", 1, "http://x"}, db.ErrDuplicate},
		{"api version over INT", insertAPI, []any{"notes", int64(1) << 31, "http://x"}, db.ErrInvalid},
		{"api url of 2048 characters", insertAPI, []any{"notes", 2, "http://x/" + strings.Repeat("p", 2039)}, nil},
		{"api url over 2048 characters", insertAPI, []any{"notes", 2, "http://x/" + strings.Repeat("p", 2040)}, db.ErrInvalid},
		{"session of an unknown user", "INSERT INTO sessions (id, user_id, created_ms, expires_ms, refreshed_ms) VALUES ('sess-2', 'user-9', 1, 2, 1)", nil, db.ErrForeignKey},
		{"session of an unknown client", "INSERT INTO sessions (id, user_id, client_id, created_ms, expires_ms, refreshed_ms) VALUES ('sess-2', 'user-1', 'client-9', 1, 2, 1)", nil, db.ErrForeignKey},
		{"duplicate refresh token hash", "INSERT INTO session_tokens (token_hash, session_id, family, created_ms, expires_ms) VALUES (?, 'sess-1', 'sess-1', 1, 2)", []any{fixtureTokenHash}, db.ErrDuplicate},
		{"refresh token of an unknown session", "INSERT INTO session_tokens (token_hash, session_id, family, created_ms, expires_ms) VALUES (?, 'sess-9', 'sess-9', 1, 2)", []any{strings.Repeat("c", 64)}, db.ErrForeignKey},
		{"refresh token hash over 64 characters", "INSERT INTO session_tokens (token_hash, session_id, family, created_ms, expires_ms) VALUES (?, 'sess-1', 'sess-1', 1, 2)", []any{strings.Repeat("c", 65)}, db.ErrInvalid},
		{"login code", insertCode, []any{strings.Repeat("c", 64), "login", strings.Repeat("f", 32), 0}, nil},
		{"duplicate code hash", insertCode, []any{fixtureCodeHash, "login", nil, 0}, db.ErrDuplicate},
		{"unknown code kind", insertCode, []any{strings.Repeat("c", 64), "magic-link", nil, 0}, db.ErrInvalid},
		{"negative attempts", insertCode, []any{strings.Repeat("c", 64), "login", nil, -1}, db.ErrInvalid},
		{"state over 32 characters", insertCode, []any{strings.Repeat("c", 64), "login", strings.Repeat("f", 33), 0}, db.ErrInvalid},
		{"second TOTP secret of a user", "INSERT INTO totp_secrets (user_id, secret_ciphertext, created_ms) VALUES ('user-1', ?, 1)", []any{[]byte{1}}, db.ErrDuplicate},
		{"TOTP ciphertext of 255 bytes", "INSERT INTO totp_secrets (user_id, secret_ciphertext, created_ms) VALUES ('user-2', ?, 1)", []any{make([]byte, 255)}, nil},
		{"TOTP ciphertext over 255 bytes", "INSERT INTO totp_secrets (user_id, secret_ciphertext, created_ms) VALUES ('user-2', ?, 1)", []any{make([]byte, 256)}, db.ErrInvalid},
		{"unknown regulation subject kind", "INSERT INTO regulation_failures (id, subject_kind, subject, step, failed_ms) VALUES ('fail-2', 'email', 'x', 'code', 1)", nil, db.ErrInvalid},
		{"second ban of a subject", "INSERT INTO regulation_bans (subject_kind, subject, until_ms) VALUES ('ip', '192.0.2.1', 3)", nil, db.ErrDuplicate},
		{"unknown revocation kind", "INSERT INTO revocations (kind, subject, not_before_ms, expires_ms, created_ms) VALUES ('client', 'x', 1, 2, 1)", nil, db.ErrInvalid},
		{"deleting a referenced row cascades", "DELETE FROM users WHERE id = 'user-1'", nil, nil},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				inFixtureTx(t, d, func(ctx context.Context, tx *sql.Tx) {
					_, err := tx.ExecContext(ctx, tt.whenQuery, tt.whenArgs...)
					err = db.Classify(err)
					if tt.expectError == nil {
						if err != nil {
							t.Errorf("error = %v, want none", err)
						}
						return
					}
					if !errors.Is(err, tt.expectError) {
						t.Fatalf("error = %v, want one wrapping %v", err, tt.expectError)
					}
					if msg := err.Error(); !strings.HasPrefix(msg, tt.expectError.Error()+": ") || len(msg) <= len(tt.expectError.Error())+2 {
						t.Errorf("error %q does not carry the driver's error after the sentinel", msg)
					}
				})
			})
		}
	})
}

// TestSchema_onDelete checks each foreign key's ON DELETE action.
func TestSchema_onDelete(t *testing.T) {
	tests := []struct {
		name        string
		whenDelete  string
		expectCount map[string]int // query → rows it must count afterwards
	}{
		{
			name:       "user",
			whenDelete: "DELETE FROM users WHERE id = 'user-1'",
			expectCount: map[string]int{
				"SELECT COUNT(*) FROM emails":             0,
				"SELECT COUNT(*) FROM user_roles":         0,
				"SELECT COUNT(*) FROM org_memberships":    0,
				"SELECT COUNT(*) FROM sessions":           0,
				"SELECT COUNT(*) FROM session_tokens":     0,
				"SELECT COUNT(*) FROM verification_codes": 0,
				"SELECT COUNT(*) FROM totp_secrets":       0,
				"SELECT COUNT(*) FROM clients":            1,
				"SELECT COUNT(*) FROM users":              1,
			},
		},
		{
			name:       "client",
			whenDelete: "DELETE FROM clients WHERE id = 'client-1'",
			expectCount: map[string]int{
				"SELECT COUNT(*) FROM client_roles":                         0,
				"SELECT COUNT(*) FROM client_access_restrictions":           0,
				"SELECT COUNT(*) FROM sessions WHERE client_id IS NULL":     1,
				"SELECT COUNT(*) FROM session_tokens":                       1,
				"SELECT COUNT(*) FROM organizations":                        2,
				"SELECT COUNT(*) FROM sessions WHERE client_id IS NOT NULL": 0,
			},
		},
		{
			name:       "organization",
			whenDelete: "DELETE FROM organizations WHERE id = 'org-1'",
			expectCount: map[string]int{
				"SELECT COUNT(*) FROM clients":                          0,
				"SELECT COUNT(*) FROM client_roles":                     0,
				"SELECT COUNT(*) FROM org_memberships":                  0,
				"SELECT COUNT(*) FROM sessions WHERE client_id IS NULL": 1,
				"SELECT COUNT(*) FROM users":                            2,
			},
		},
		{
			name:       "email",
			whenDelete: "DELETE FROM emails WHERE id = 'email-1'",
			expectCount: map[string]int{
				"SELECT COUNT(*) FROM verification_codes": 0,
				"SELECT COUNT(*) FROM users":              2,
			},
		},
		{
			name:       "session",
			whenDelete: "DELETE FROM sessions WHERE id = 'sess-1'",
			expectCount: map[string]int{
				"SELECT COUNT(*) FROM session_tokens": 0,
				"SELECT COUNT(*) FROM revocations":    1, // no foreign key: the feed outlives the row
			},
		},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				inFixtureTx(t, d, func(ctx context.Context, tx *sql.Tx) {
					if _, err := tx.ExecContext(ctx, tt.whenDelete); err != nil {
						t.Fatalf("%s: %v", tt.whenDelete, db.Classify(err))
					}
					for q, want := range tt.expectCount {
						var got int
						if err := tx.QueryRowContext(ctx, q).Scan(&got); err != nil {
							t.Fatal(err)
						}
						if got != want {
							t.Errorf("%s = %d, want %d", q, got, want)
						}
					}
				})
			})
		}
	})
}

// TestClassify checks the errors that are not constraint violations.
func TestClassify(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		var name string
		err := db.Classify(d.SQL().QueryRowContext(ctx, "SELECT name FROM users WHERE id = 'nobody'").Scan(&name))
		if !errors.Is(err, db.ErrNotFound) || !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("no rows: %v, want ErrNotFound wrapping sql.ErrNoRows", err)
		}
		if again := db.Classify(err); again != err {
			t.Errorf("classifying twice wrapped again: %v", again)
		}
		if db.Classify(nil) != nil {
			t.Error("Classify(nil) != nil")
		}
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		_, err = d.SQL().ExecContext(canceled, "DELETE FROM users")
		if got := db.Classify(err); got != err || !errors.Is(got, context.Canceled) {
			t.Errorf("canceled: %v, want the error unchanged", got)
		}
		_, err = d.SQL().ExecContext(ctx, "SELEC 1")
		if got := db.Classify(err); got != err {
			t.Errorf("syntax error classified as %v", got)
		}
	})
}

// TestClassify_concurrentWriter checks that a write blocked by another
// transaction's lock ends in ErrConflict: SQLITE_BUSY from a second
// connection to the file, MySQL's lock wait timeout.
func TestClassify_concurrentWriter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		holder, err := d.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = holder.Rollback() }()
		if _, err := holder.ExecContext(ctx, "INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('user-1', 'Ann', 1, 1)"); err != nil {
			t.Fatal(err)
		}

		var blocked error
		switch d.Dialect() {
		case db.DialectSQLite:
			var file string
			if err := holder.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
				t.Fatal(err)
			}
			other, err := db.Open(ctx, "sqlite:"+file)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if _, err := other.SQL().ExecContext(ctx, "PRAGMA busy_timeout = 50"); err != nil {
				t.Fatal(err)
			}
			_, blocked = other.SQL().ExecContext(ctx, "INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('user-2', 'Bob', 1, 1)")
		default:
			conn, err := d.SQL().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = 1"); err != nil {
				t.Fatal(err)
			}
			_, blocked = conn.ExecContext(ctx, "INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('user-1', 'Ann', 1, 1)")
		}
		if err := db.Classify(blocked); !errors.Is(err, db.ErrConflict) {
			t.Errorf("blocked write: %v, want ErrConflict", err)
		}
	})
}

// TestSchema_dialectsAgree checks that both dialects build the same
// tables, columns, nullability, defaults, primary keys, indexes, foreign
// keys with their ON DELETE actions, and named CHECK constraints.
func TestSchema_dialectsAgree(t *testing.T) {
	sqlite := describeSQLite(t, dbtest.SQLite(t))
	mysql := describeMySQL(t, dbtest.MariaDB(t))
	if len(sqlite) < 100 {
		t.Fatalf("SQLite schema description is too short to be real:\n%s", strings.Join(sqlite, "\n"))
	}
	if !slices.Equal(sqlite, mysql) {
		t.Errorf("dialects differ (- SQLite only, + MySQL only):\n%s", lineDiff(strings.Join(sqlite, "\n"), strings.Join(mysql, "\n")))
	}
}

// TestSchema_foreignKeysIndexed checks that every foreign key's columns
// lead an index (or the primary key) in SQLite, which, unlike InnoDB,
// does not add one by itself: without it, deleting a parent row scans
// the child table.
func TestSchema_foreignKeysIndexed(t *testing.T) {
	shape := describeSQLite(t, dbtest.SQLite(t))
	var leading []string // "table(col1,col2" prefixes of every index and primary key
	for _, line := range shape {
		if rest, ok := strings.CutPrefix(line, "index "); ok {
			f := strings.Fields(rest) // table name unique=N (cols)
			leading = append(leading, f[0]+strings.TrimSuffix(f[3], ")"))
		}
		if rest, ok := strings.CutPrefix(line, "pk "); ok {
			leading = append(leading, strings.TrimSuffix(rest, ")"))
		}
	}
	fks := 0
	for _, line := range shape {
		rest, ok := strings.CutPrefix(line, "fk ")
		if !ok {
			continue
		}
		fks++
		child := rest[:strings.Index(rest, ")")] // table(cols
		covered := slices.ContainsFunc(leading, func(idx string) bool {
			return idx == child || strings.HasPrefix(idx, child+",")
		})
		if !covered {
			t.Errorf("foreign key %s has no index leading with its columns", rest)
		}
	}
	if fks < 13 {
		t.Errorf("found %d foreign keys, want at least the 13 of version 1", fks)
	}
}

// checkName finds the named CHECK constraints of the SQL (not the _len
// ones that stand for MySQL's column widths).
var checkName = regexp.MustCompile(`CONSTRAINT (\w+_ck) CHECK`)

// describeSQLite describes the schema as sorted lines comparable with
// describeMySQL's.
func describeSQLite(t *testing.T, d *db.DB) []string {
	t.Helper()
	var out []string
	for _, row := range queryStrings(t, d, "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'") {
		table, ddl, _ := strings.Cut(row, " | ")
		out = append(out, "table "+table)
		var pk []string
		for _, c := range queryStrings(t, d, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?) ORDER BY pk, cid`, table) {
			f := strings.Split(c, " | ")
			out = append(out, fmt.Sprintf("column %s.%s %s notnull=%s default=%s", table, f[0], f[1], f[2], normalizeDefault(f[3])))
			if f[4] != "0" {
				pk = append(pk, f[0])
			}
		}
		out = append(out, fmt.Sprintf("pk %s(%s)", table, strings.Join(pk, ",")))
		for _, ix := range queryStrings(t, d, `SELECT name, "unique" FROM pragma_index_list(?) WHERE origin <> 'pk'`, table) {
			name, unique, _ := strings.Cut(ix, " | ")
			cols := queryStrings(t, d, "SELECT name FROM pragma_index_info(?) ORDER BY seqno", name)
			out = append(out, fmt.Sprintf("index %s %s unique=%s (%s)", table, name, unique, strings.Join(cols, ",")))
		}
		fks := map[string][]string{}
		for _, fk := range queryStrings(t, d, `SELECT id, "table", "from", "to", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq`, table) {
			f := strings.Split(fk, " | ")
			fks[f[0]] = append(fks[f[0]], f[1], f[2], f[3], f[4])
		}
		for _, f := range fks {
			var from, to []string
			for i := 0; i < len(f); i += 4 {
				from, to = append(from, f[i+1]), append(to, f[i+2])
			}
			out = append(out, fmt.Sprintf("fk %s(%s) -> %s(%s) on delete %s", table, strings.Join(from, ","), f[0], strings.Join(to, ","), f[3]))
		}
		for _, m := range checkName.FindAllStringSubmatch(ddl, -1) {
			out = append(out, "check "+m[1])
		}
	}
	slices.Sort(out)
	return out
}

// describeMySQL describes the schema as describeSQLite does.
func describeMySQL(t *testing.T, d *db.DB) []string {
	t.Helper()
	affinity := map[string]string{"char": "TEXT", "varchar": "TEXT", "tinyint": "INTEGER", "int": "INTEGER", "bigint": "INTEGER", "varbinary": "BLOB", "mediumtext": "TEXT"}
	var out []string
	for _, table := range queryStrings(t, d, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()") {
		out = append(out, "table "+table)
		for _, c := range queryStrings(t, d, "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?", table) {
			f := strings.Split(c, " | ")
			typ, ok := affinity[f[1]]
			if !ok {
				t.Errorf("column %s.%s: type %s has no SQLite counterpart here", table, f[0], f[1])
			}
			notnull := "1"
			if f[2] == "YES" {
				notnull = "0"
			}
			out = append(out, fmt.Sprintf("column %s.%s %s notnull=%s default=%s", table, f[0], typ, notnull, normalizeDefault(f[3])))
		}
		pk := queryStrings(t, d, "SELECT column_name FROM information_schema.key_column_usage WHERE table_schema = DATABASE() AND table_name = ? AND constraint_name = 'PRIMARY' ORDER BY ordinal_position", table)
		out = append(out, fmt.Sprintf("pk %s(%s)", table, strings.Join(pk, ",")))
		indexes := map[string][]string{}
		unique := map[string]string{}
		for _, ix := range queryStrings(t, d, "SELECT index_name, non_unique, column_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name <> 'PRIMARY' ORDER BY index_name, seq_in_index", table) {
			f := strings.Split(ix, " | ")
			indexes[f[0]] = append(indexes[f[0]], f[2])
			unique[f[0]] = map[string]string{"0": "1", "1": "0"}[f[1]]
		}
		for name, cols := range indexes {
			out = append(out, fmt.Sprintf("index %s %s unique=%s (%s)", table, name, unique[name], strings.Join(cols, ",")))
		}
		fks := map[string][]string{}
		for _, fk := range queryStrings(t, d, `SELECT k.constraint_name, k.column_name, k.referenced_table_name, k.referenced_column_name, r.delete_rule
			FROM information_schema.key_column_usage k
			JOIN information_schema.referential_constraints r
			  ON r.constraint_schema = k.constraint_schema AND r.table_name = k.table_name AND r.constraint_name = k.constraint_name
			WHERE k.table_schema = DATABASE() AND k.table_name = ? AND k.referenced_table_name IS NOT NULL
			ORDER BY k.constraint_name, k.ordinal_position`, table) {
			f := strings.Split(fk, " | ")
			fks[f[0]] = append(fks[f[0]], f[1], f[2], f[3], f[4])
		}
		for _, f := range fks {
			var from, to []string
			for i := 0; i < len(f); i += 4 {
				from, to = append(from, f[i]), append(to, f[i+2])
			}
			out = append(out, fmt.Sprintf("fk %s(%s) -> %s(%s) on delete %s", table, strings.Join(from, ","), f[1], strings.Join(to, ","), f[3]))
		}
	}
	for _, name := range queryStrings(t, d, "SELECT constraint_name FROM information_schema.check_constraints WHERE constraint_schema = DATABASE()") {
		out = append(out, "check "+name)
	}
	slices.Sort(out)
	return out
}

// normalizeDefault writes a column default the same way for both
// dialects: unquoted, and <none> for no default.
func normalizeDefault(v string) string {
	if v == "<null>" || v == "NULL" {
		return "<none>"
	}
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		v = v[1 : len(v)-1]
	}
	return v
}
