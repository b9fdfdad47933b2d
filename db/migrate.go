package db

// Why a small runner and not a migration library: the runner is about two
// hundred lines over files embedded in this package, and what authgw needs
// from it is specific: per-dialect behaviour (one transaction per file on
// SQLite, where DDL is transactional; a dirty marker and a named lock on
// MySQL, where it is not), errors that name the file, statement and line,
// and a status the CLI can print. golang-migrate and goose do this too,
// but bring their own driver registries, DSN syntax and state tables,
// and golang-migrate's "dirty" state is not cleared by its own down.
// Owning the few lines keeps db the only package that talks to drivers.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// embeddedMigrations holds migrations/<dialect>/NNNN_name.{up,down}.sql.
//
//go:embed migrations
var embeddedMigrations embed.FS

// dialectMigrations returns the embedded migrations of one dialect, with
// the files at the root.
func dialectMigrations(dialect string) fs.FS {
	// fs.Sub fails only for an invalid path, and this one is valid.
	sub, _ := fs.Sub(embeddedMigrations, "migrations/"+dialect)
	return sub
}

// migrationLockWait is how long MigrateUp and MigrateDown wait on MySQL
// for another process that is migrating the same database.
const migrationLockWait = 60 * time.Second

// ErrDirtyMigration means a migration started and did not finish (only
// on MySQL, which cannot roll back DDL): MigrateUp refuses to go on until
// MigrateDown has reverted it.
var ErrDirtyMigration = errors.New("db: a migration is half-applied")

// MigrationState is one migration as MigrationStatus reports it.
type MigrationState struct {
	// Version is the migration's number, the NNNN of its file names.
	Version int
	// Name is the rest of its file names, such as "init".
	Name string
	// Applied is true when the migration was recorded as complete.
	Applied bool
	// AppliedAt is when it completed, in UTC; zero unless Applied.
	AppliedAt time.Time
	// Dirty is true when the migration started, or started to be
	// reverted, and did not finish (MySQL only). MigrateDown reverts it.
	Dirty bool
	// Missing is true when the database records the migration but this
	// binary has no file for it: a newer binary applied it.
	Missing bool
}

// MigrationError is a statement of a migration file that failed. It
// says what stayed applied.
type MigrationError struct {
	// File is the migration file, such as "0001_init.up.sql".
	File string
	// Version is the migration's number.
	Version int
	// Statement is the failed statement's number in the file, from 1.
	Statement int
	// Line is the line of the file where that statement starts.
	Line int
	// Applied is how many statements of the file before it stayed
	// applied: always 0 on SQLite, where the file's transaction was
	// rolled back.
	Applied int
	// Dirty is true when the version is left marked half-applied, to be
	// reverted with MigrateDown (MySQL only).
	Dirty bool
	// Err is the database's error, classified.
	Err error
}

// Error says which statement failed, why, and what state it left.
func (e *MigrationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "db: migration %s: statement %d (line %d): %v", e.File, e.Statement, e.Line, e.Err)
	down := strings.HasSuffix(e.File, ".down.sql")
	switch {
	case e.Dirty && down:
		fmt.Fprintf(&b, "; version %d is marked dirty (MySQL cannot roll back DDL): fix the cause and migrate down again", e.Version)
	case e.Dirty && e.Applied == 0:
		fmt.Fprintf(&b, "; nothing of this file was applied, but version %d stayed marked dirty: migrate down to clear it", e.Version)
	case e.Dirty:
		applied := "statement 1 stayed"
		if e.Applied > 1 {
			applied = fmt.Sprintf("statements 1 to %d stayed", e.Applied)
		}
		fmt.Fprintf(&b, "; %s applied (MySQL cannot roll back DDL) and version %d is marked dirty: fix the cause, migrate down to revert it, then migrate up", applied, e.Version)
	case down:
		fmt.Fprintf(&b, "; rolled back: version %d is still applied", e.Version)
	default:
		b.WriteString("; rolled back: nothing of this file was applied")
	}
	return b.String()
}

// Unwrap returns the database's error.
func (e *MigrationError) Unwrap() error { return e.Err }

// migration is one version: its up and down files.
type migration struct {
	version  int
	name     string
	up, down migrationFile
}

// migrationFile is one file, split into statements.
type migrationFile struct {
	name       string
	statements []statement
}

// statement is one SQL statement of a migration file.
type statement struct {
	text string // without the final ";"
	line int    // where it starts, from 1
}

// migrationFileName is NNNN_name.up.sql or NNNN_name.down.sql.
var migrationFileName = regexp.MustCompile(`^(\d{4,9})_([a-z0-9_]+)\.(up|down)\.sql$`)

// loadMigrations reads every migration in the root of fsys, sorted by
// version. It fails, naming the file, on a .sql file with another name,
// a version without its up or down file, two names for one version, or a
// file that does not split into statements.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("db: migrations: %w", err)
	}
	byVersion := map[int]*migration{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		m := migrationFileName.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("db: migrations: %s: want a name like 0001_init.up.sql or 0001_init.down.sql", name)
		}
		version, _ := strconv.Atoi(m[1])
		if version == 0 {
			return nil, fmt.Errorf("db: migrations: %s: versions start at 1", name)
		}
		mg := byVersion[version]
		if mg == nil {
			mg = &migration{version: version, name: m[2]}
			byVersion[version] = mg
		} else if mg.name != m[2] {
			return nil, fmt.Errorf("db: migrations: %s: version %d is also named %q", name, version, mg.name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("db: migrations: %w", err)
		}
		stmts, err := splitStatements(string(b))
		if err != nil {
			return nil, fmt.Errorf("db: migrations: %s: %w", name, err)
		}
		file := migrationFile{name: name, statements: stmts}
		if m[3] == "up" {
			mg.up = file
		} else {
			mg.down = file
		}
	}
	out := make([]migration, 0, len(byVersion))
	for _, mg := range byVersion {
		base := fmt.Sprintf("%04d_%s", mg.version, mg.name)
		switch {
		case mg.up.name == "":
			return nil, fmt.Errorf("db: migrations: %s.down.sql has no %s.up.sql", base, base)
		case mg.down.name == "":
			return nil, fmt.Errorf("db: migrations: %s.up.sql has no %s.down.sql", base, base)
		}
		out = append(out, *mg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// splitStatements splits a migration file into statements. A statement
// ends with a ";" at the end of a line (trailing white space aside).
// Blank lines and lines holding only a "--" comment are dropped. It fails
// when text after the last statement is not ended so, or when there is no
// statement at all. A ";" that ends a line inside a string literal would
// end the statement there: migration files must not have one.
func splitStatements(text string) ([]statement, error) {
	var (
		out   []statement
		buf   []string
		start int
	)
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		if len(buf) == 0 {
			start = i + 1
		}
		line = strings.TrimRightFunc(line, unicode.IsSpace)
		if body, ok := strings.CutSuffix(line, ";"); ok {
			buf = append(buf, body)
			if stmt := strings.TrimSpace(strings.Join(buf, "\n")); stmt != "" {
				out = append(out, statement{text: stmt, line: start})
			}
			buf = buf[:0]
			continue
		}
		buf = append(buf, line)
	}
	if len(buf) > 0 {
		return nil, fmt.Errorf("line %d: statement does not end with \";\" at the end of a line", start)
	}
	if len(out) == 0 {
		return nil, errors.New("no statement")
	}
	return out, nil
}

// record is one row of schema_migrations.
type record struct {
	version   int
	name      string
	appliedMS sql.NullInt64 // NULL: dirty
}

// schemaMigrationsDDL creates the runner's own table, per dialect.
var schemaMigrationsDDL = map[string]string{
	DialectSQLite: `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER NOT NULL PRIMARY KEY,
  name       TEXT    NOT NULL,
  started_ms INTEGER NOT NULL,
  applied_ms INTEGER
) STRICT`,
	DialectMySQL: `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INT          NOT NULL,
  name       VARCHAR(255) NOT NULL,
  started_ms BIGINT       NOT NULL,
  applied_ms BIGINT       NULL,
  PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
}

// queryer is what reading schema_migrations needs: a *sql.Conn or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readRecords returns schema_migrations by version.
func readRecords(ctx context.Context, q queryer) (map[int]record, error) {
	rows, err := q.QueryContext(ctx, "SELECT version, name, applied_ms FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("db: read schema_migrations: %w", classify(err))
	}
	defer rows.Close()
	recs := map[int]record{}
	for rows.Next() {
		var r record
		if err := rows.Scan(&r.version, &r.name, &r.appliedMS); err != nil {
			return nil, fmt.Errorf("db: read schema_migrations: %w", err)
		}
		recs[r.version] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db: read schema_migrations: %w", classify(err))
	}
	return recs, nil
}

// highest returns the highest recorded version, 0 when none.
func highest(recs map[int]record) int {
	top := 0
	for v := range recs {
		top = max(top, v)
	}
	return top
}

// MigrateUp applies, in order, every migration not yet applied, and
// returns their versions (none when the schema is up to date: it is
// idempotent). On SQLite each file runs in one transaction, so a failure
// leaves nothing of that file behind. On MySQL, where DDL commits at
// once, the version is marked dirty while its file runs, and a named
// lock keeps two processes from migrating the same database at once.
//
// It fails with a *MigrationError naming the file, statement and line
// when a statement fails (the versions applied before it are returned
// too); with an error wrapping ErrDirtyMigration when a version is
// half-applied; and when a pending migration is older than one already
// applied, or the migration files are malformed.
func (s *DB) MigrateUp(ctx context.Context) (applied []int, err error) {
	ms, err := loadMigrations(s.migrations)
	if err != nil {
		return nil, err
	}
	err = s.withMigrationConn(ctx, func(conn *sql.Conn) error {
		recs, err := readRecords(ctx, conn)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if !r.appliedMS.Valid {
				return fmt.Errorf("%w: version %d (%s) started and did not finish: migrate down to revert it, then migrate up", ErrDirtyMigration, r.version, r.name)
			}
		}
		top := highest(recs)
		for _, m := range ms {
			if _, done := recs[m.version]; done {
				continue
			}
			if m.version < top {
				return fmt.Errorf("db: migration %s is not applied but version %d is: migrations must be applied in order", m.up.name, top)
			}
			ok, err := s.up(ctx, conn, m)
			if err != nil {
				return err
			}
			if ok {
				applied = append(applied, m.version)
			}
		}
		return nil
	})
	return applied, err
}

// up applies one migration and reports whether it did (false when
// another process applied it meanwhile).
func (s *DB) up(ctx context.Context, conn *sql.Conn, m migration) (bool, error) {
	if s.dialect == DialectSQLite {
		tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE: holds the write lock
		if err != nil {
			return false, fmt.Errorf("db: migration %s: %w", m.up.name, classify(err))
		}
		defer func() { _ = tx.Rollback() }()
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n); err != nil {
			return false, fmt.Errorf("db: migration %s: %w", m.up.name, classify(err))
		}
		if n > 0 {
			return false, nil
		}
		for i, st := range m.up.statements {
			if _, err := tx.ExecContext(ctx, st.text); err != nil {
				return false, &MigrationError{File: m.up.name, Version: m.version, Statement: i + 1, Line: st.line, Err: classify(err)}
			}
		}
		now := s.now().UnixMilli()
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, started_ms, applied_ms) VALUES (?, ?, ?, ?)",
			m.version, m.name, now, now); err != nil {
			return false, fmt.Errorf("db: migration %s: record: %w", m.up.name, classify(err))
		}
		if err := tx.Commit(); err != nil {
			return false, fmt.Errorf("db: migration %s: commit: %w", m.up.name, classify(err))
		}
		return true, nil
	}

	// MySQL: the named lock is held, so nobody else is migrating.
	if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, started_ms, applied_ms) VALUES (?, ?, ?, NULL)",
		m.version, m.name, s.now().UnixMilli()); err != nil {
		return false, fmt.Errorf("db: migration %s: mark as started: %w", m.up.name, classify(err))
	}
	for i, st := range m.up.statements {
		if _, err := conn.ExecContext(ctx, st.text); err != nil {
			merr := &MigrationError{File: m.up.name, Version: m.version, Statement: i + 1, Line: st.line, Applied: i, Dirty: i > 0, Err: classify(err)}
			if i == 0 {
				// Nothing changed: leave no dirty mark behind.
				if _, derr := conn.ExecContext(context.WithoutCancel(ctx), "DELETE FROM schema_migrations WHERE version = ?", m.version); derr != nil {
					merr.Dirty = true
				}
			}
			return false, merr
		}
	}
	if _, err := conn.ExecContext(ctx, "UPDATE schema_migrations SET applied_ms = ? WHERE version = ?", s.now().UnixMilli(), m.version); err != nil {
		return false, fmt.Errorf("db: migration %s: record: %w", m.up.name, classify(err))
	}
	return true, nil
}

// MigrateDown reverts the most recent migration, applied or dirty, and
// returns its version; 0 when none is applied. On SQLite the down file
// runs in one transaction. On MySQL the version is marked dirty while its
// down file runs (down files use DROP ... IF EXISTS and the like, so they
// also revert a half-applied up).
//
// It fails with a *MigrationError when a statement fails, and when the
// most recent version has no file in this binary (a newer binary applied
// it) or the migration files are malformed.
func (s *DB) MigrateDown(ctx context.Context) (reverted int, err error) {
	ms, err := loadMigrations(s.migrations)
	if err != nil {
		return 0, err
	}
	err = s.withMigrationConn(ctx, func(conn *sql.Conn) error {
		recs, err := readRecords(ctx, conn)
		if err != nil {
			return err
		}
		top := highest(recs)
		if top == 0 {
			return nil
		}
		var m *migration
		for i := range ms {
			if ms[i].version == top {
				m = &ms[i]
			}
		}
		if m == nil {
			return fmt.Errorf("db: version %d (%s) is applied but this binary has no migration file for it: revert it with the binary that applied it", top, recs[top].name)
		}
		if err := s.down(ctx, conn, *m); err != nil {
			return err
		}
		reverted = top
		return nil
	})
	return reverted, err
}

// down reverts one migration.
func (s *DB) down(ctx context.Context, conn *sql.Conn, m migration) error {
	if s.dialect == DialectSQLite {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("db: migration %s: %w", m.down.name, classify(err))
		}
		defer func() { _ = tx.Rollback() }()
		for i, st := range m.down.statements {
			if _, err := tx.ExecContext(ctx, st.text); err != nil {
				return &MigrationError{File: m.down.name, Version: m.version, Statement: i + 1, Line: st.line, Err: classify(err)}
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM schema_migrations WHERE version = ?", m.version); err != nil {
			return fmt.Errorf("db: migration %s: record: %w", m.down.name, classify(err))
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("db: migration %s: commit: %w", m.down.name, classify(err))
		}
		return nil
	}

	if _, err := conn.ExecContext(ctx, "UPDATE schema_migrations SET applied_ms = NULL WHERE version = ?", m.version); err != nil {
		return fmt.Errorf("db: migration %s: mark as started: %w", m.down.name, classify(err))
	}
	for i, st := range m.down.statements {
		if _, err := conn.ExecContext(ctx, st.text); err != nil {
			return &MigrationError{File: m.down.name, Version: m.version, Statement: i + 1, Line: st.line, Applied: i, Dirty: true, Err: classify(err)}
		}
	}
	if _, err := conn.ExecContext(ctx, "DELETE FROM schema_migrations WHERE version = ?", m.version); err != nil {
		return fmt.Errorf("db: migration %s: record: %w", m.down.name, classify(err))
	}
	return nil
}

// MigrationStatus lists every migration this binary has and every one
// the database records, by version. It changes nothing: on a database
// never migrated, every migration is listed as pending. It fails when the
// database cannot be read or the migration files are malformed.
func (s *DB) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	ms, err := loadMigrations(s.migrations)
	if err != nil {
		return nil, err
	}
	recs := map[int]record{}
	exists, err := s.tableExists(ctx, "schema_migrations")
	if err != nil {
		return nil, err
	}
	if exists {
		if recs, err = readRecords(ctx, s.sql); err != nil {
			return nil, err
		}
	}
	var out []MigrationState
	for _, m := range ms {
		st := MigrationState{Version: m.version, Name: m.name}
		if r, ok := recs[m.version]; ok {
			st.Dirty = !r.appliedMS.Valid
			st.Applied = r.appliedMS.Valid
			if st.Applied {
				st.AppliedAt = time.UnixMilli(r.appliedMS.Int64).UTC()
			}
			delete(recs, m.version)
		}
		out = append(out, st)
	}
	for _, r := range recs {
		st := MigrationState{Version: r.version, Name: r.name, Missing: true, Dirty: !r.appliedMS.Valid, Applied: r.appliedMS.Valid}
		if st.Applied {
			st.AppliedAt = time.UnixMilli(r.appliedMS.Int64).UTC()
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// tableExists reports whether the database has a table of that name.
func (s *DB) tableExists(ctx context.Context, name string) (bool, error) {
	return s.tableExistsOn(ctx, s.sql, name)
}

// tableExistsOn is tableExists on q: a connection already held must be
// used, since SQLite's pool has one.
func (s *DB) tableExistsOn(ctx context.Context, q querier, name string) (bool, error) {
	query := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	if s.dialect == DialectMySQL {
		query = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	}
	var n int
	if err := q.QueryRowContext(ctx, query, name).Scan(&n); err != nil {
		return false, fmt.Errorf("db: look for table %s: %w", name, classify(err))
	}
	return n > 0, nil
}

// withMigrationConn runs fn on one connection, after creating
// schema_migrations if needed and, on MySQL, taking the database's
// migration lock (released when fn returns).
func (s *DB) withMigrationConn(ctx context.Context, fn func(conn *sql.Conn) error) error {
	conn, err := s.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("db: migrate: %w", classify(err))
	}
	defer conn.Close()
	if s.dialect == DialectMySQL {
		lock := migrationLockName(s.database)
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", lock, int(migrationLockWait/time.Second)).Scan(&got); err != nil {
			return fmt.Errorf("db: migrate: take the migration lock: %w", classify(err))
		}
		if !got.Valid || got.Int64 != 1 {
			return fmt.Errorf("db: migrate: another process kept the migration lock of database %s for %s", s.database, migrationLockWait)
		}
		defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK(?)", lock) }()
	}
	// The CREATE runs only when the table is missing: MySQL refuses even
	// CREATE TABLE IF NOT EXISTS to a user without the CREATE grant, and a
	// production user that only reads and writes must still be able to
	// start (and find nothing to migrate).
	exists, err := s.tableExistsOn(ctx, conn, "schema_migrations")
	if err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	if !exists {
		if _, err := conn.ExecContext(ctx, schemaMigrationsDDL[s.dialect]); err != nil {
			return fmt.Errorf("db: migrate: create schema_migrations: %w", classify(err))
		}
	}
	return fn(conn)
}

// migrationLockName is the MySQL named lock for one database: lock names
// are server-wide and at most 64 characters, database names up to 64.
func migrationLockName(database string) string {
	sum := sha256.Sum256([]byte(database))
	return "authgw_migrate_" + hex.EncodeToString(sum[:16])
}
