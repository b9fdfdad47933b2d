package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Dialects, as DB.Dialect reports them and as a DSN starts.
const (
	DialectSQLite = "sqlite"
	DialectMySQL  = "mysql"
)

// SQLite connection settings, applied to every connection Open makes.
const (
	// sqliteBusyTimeoutMS is how long a statement waits for another
	// process's write lock before failing with SQLITE_BUSY (ErrConflict).
	sqliteBusyTimeoutMS = 5000
)

// MySQL connection settings that Open forces, whatever the DSN says.
const (
	// mysqlSQLMode makes the server refuse what it would otherwise
	// silently truncate or coerce (too-long strings, out-of-range numbers,
	// NULL into NOT NULL), so that both dialects refuse the same values.
	// No ANSI_QUOTES: identifiers are never quoted with double quotes in
	// authgw's SQL, and strings use single quotes in both dialects.
	mysqlSQLMode = "STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION,ONLY_FULL_GROUP_BY"
	// mysqlCollation is the connection's collation; the tables use it too.
	mysqlCollation = "utf8mb4_bin"
	// mysqlDialTimeout bounds connecting when the DSN sets no timeout.
	mysqlDialTimeout = 10 * time.Second
	// mysqlMaxOpenConns bounds the pool; SQL() lets a caller change it.
	mysqlMaxOpenConns = 32
	// mysqlConnMaxLifetime recycles connections well before a server's
	// or a proxy's idle timeout closes them under the pool.
	mysqlConnMaxLifetime = 3 * time.Minute
)

// DB is an open authgw database: a connection pool, the dialect of its
// SQL, and the migrations that build its schema. It is safe for
// concurrent use. Store code in this package uses the fields directly.
type DB struct {
	// sql is the connection pool. For SQLite it holds one connection
	// (see Open): never start a statement on sql while a transaction or
	// an unfinished *sql.Rows holds that connection, or the two wait for
	// each other until the context ends.
	sql *sql.DB
	// dialect is DialectSQLite or DialectMySQL.
	dialect string
	// database is the MySQL database (schema) name; "" for SQLite.
	database string
	// migrations holds the dialect's NNNN_name.up.sql and .down.sql files
	// at its root. Tests replace it (export_test.go).
	migrations fs.FS
	// now is the clock for schema_migrations timestamps.
	now func() time.Time
}

// Open connects to the database that dsn names and checks that it
// answers. dsn is "sqlite:PATH" or "mysql:DSN":
//
//   - sqlite:PATH opens (or creates, with its parent directories) the
//     SQLite file at PATH with journal_mode WAL, synchronous NORMAL,
//     busy_timeout 5000 ms and foreign_keys ON, and transactions that
//     start with BEGIN IMMEDIATE. PATH may not contain "?" nor start
//     with "file:". The pool holds a single connection (see doc.go).
//   - mysql:DSN is a go-sql-driver/mysql DSN,
//     [user[:password]@][net[(addr)]]/dbname[?param=value&...], that must
//     name a database. Open forces parseTime=false, multiStatements=false,
//     interpolateParams=true, clientFoundRows=true, charset utf8mb4 with
//     collation utf8mb4_bin, time_zone '+00:00' and a strict sql_mode,
//     whatever the DSN says, and refuses servers older than MySQL 8.0.16
//     or MariaDB 10.2.2 (which do not enforce CHECK constraints).
//
// Open does not migrate; call MigrateUp. It fails with an error wrapping
// ErrBadDSN when dsn is malformed, and with the driver's error when the
// database cannot be opened or reached. Error messages never include the
// DSN, which may hold a password.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	scheme, rest, ok := strings.Cut(dsn, ":")
	if !ok {
		return nil, fmt.Errorf("%w: want sqlite:PATH or mysql:DSN", ErrBadDSN)
	}
	switch scheme {
	case DialectSQLite:
		return openSQLite(ctx, rest, o)
	case DialectMySQL:
		return openMySQL(ctx, rest, o)
	}
	return nil, fmt.Errorf("%w: unknown scheme %q (want sqlite:PATH or mysql:DSN)", ErrBadDSN, scheme)
}

// openSQLite opens the SQLite file at path.
func openSQLite(ctx context.Context, path string, o options) (*DB, error) {
	switch {
	case path == "":
		return nil, fmt.Errorf("%w: sqlite: empty path", ErrBadDSN)
	case strings.ContainsAny(path, "?#"):
		return nil, fmt.Errorf("%w: sqlite: path contains ? or #", ErrBadDSN)
	case strings.HasPrefix(path, "file:"):
		return nil, fmt.Errorf("%w: sqlite: give a file path, not a file: URI", ErrBadDSN)
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("db: sqlite: create the database directory: %w", err)
		}
	}
	// The pragmas are set on every new connection by the driver.
	dsn := path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(" + strconv.Itoa(sqliteBusyTimeoutMS) + ")" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(ON)"
	pool, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("db: sqlite: %w", err)
	}
	if o.tracer != nil {
		// The same driver, its connections wrapped (WithTracing).
		drv := pool.Driver()
		_ = pool.Close()
		pool = sql.OpenDB(traceConnector(dsnConnector{dsn: dsn, drv: drv}, o, semconv.DBSystemNameSQLite))
	}
	// One connection: SQLite has one writer at a time anyway, and a single
	// connection serializes this process's transactions instead of failing
	// them with SQLITE_BUSY. It is never closed for idleness, so that
	// ":memory:" keeps its data.
	pool.SetMaxOpenConns(1)
	pool.SetMaxIdleConns(1)
	pool.SetConnMaxLifetime(0)
	pool.SetConnMaxIdleTime(0)
	d := &DB{sql: pool, dialect: DialectSQLite, now: time.Now}
	if err := d.checkSQLite(ctx); err != nil {
		_ = pool.Close()
		return nil, err
	}
	d.migrations = dialectMigrations(DialectSQLite)
	return d, nil
}

// checkSQLite connects and checks that the pragmas took effect.
func (s *DB) checkSQLite(ctx context.Context) error {
	var fk int
	if err := s.sql.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return fmt.Errorf("db: sqlite: open: %w", err)
	}
	if fk != 1 {
		return errors.New("db: sqlite: foreign_keys could not be turned on")
	}
	var mode string
	if err := s.sql.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("db: sqlite: open: %w", err)
	}
	if !strings.EqualFold(mode, "wal") && !strings.EqualFold(mode, "memory") {
		return fmt.Errorf("db: sqlite: journal_mode is %s, want wal", mode)
	}
	return nil
}

// openMySQL opens the MySQL or MariaDB database that dsn names.
func openMySQL(ctx context.Context, dsn string, o options) (*DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		// The driver's DSN errors never repeat the DSN.
		return nil, fmt.Errorf("%w: mysql: %w", ErrBadDSN, err)
	}
	if cfg.DBName == "" {
		return nil, fmt.Errorf("%w: mysql: the DSN names no database (.../DBNAME)", ErrBadDSN)
	}
	cfg.ParseTime = false
	cfg.MultiStatements = false
	cfg.InterpolateParams = true
	// RowsAffected counts matched rows, as SQLite does, not changed ones.
	cfg.ClientFoundRows = true
	cfg.Loc = time.UTC
	if cfg.Timeout == 0 {
		cfg.Timeout = mysqlDialTimeout
	}
	if err := cfg.Apply(mysql.Charset("utf8mb4", mysqlCollation)); err != nil {
		return nil, fmt.Errorf("%w: mysql: %w", ErrBadDSN, err)
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["sql_mode"] = "'" + mysqlSQLMode + "'"
	cfg.Params["time_zone"] = "'+00:00'"
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: mysql: %w", ErrBadDSN, err)
	}
	pool := sql.OpenDB(traceConnector(connector, o, semconv.DBSystemNameMySQL))
	pool.SetMaxOpenConns(mysqlMaxOpenConns)
	pool.SetMaxIdleConns(mysqlMaxOpenConns)
	pool.SetConnMaxLifetime(mysqlConnMaxLifetime)
	d := &DB{sql: pool, dialect: DialectMySQL, database: cfg.DBName, now: time.Now}
	if err := d.checkMySQL(ctx); err != nil {
		_ = pool.Close()
		return nil, err
	}
	d.migrations = dialectMigrations(DialectMySQL)
	return d, nil
}

// mysqlVersion finds "major.minor.patch" at the start of VERSION().
var mysqlVersion = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`)

// checkMySQL connects and refuses servers that would ignore CHECK
// constraints or lack utf8mb4 keys of the schema's length.
func (s *DB) checkMySQL(ctx context.Context) error {
	var version string
	if err := s.sql.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return fmt.Errorf("db: mysql: open: %w", err)
	}
	m := mysqlVersion.FindStringSubmatch(version)
	if m == nil {
		return fmt.Errorf("db: mysql: cannot read the server version %q", version)
	}
	v := [3]int{}
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	atLeast := func(want [3]int) bool {
		for i := range v {
			if v[i] != want[i] {
				return v[i] > want[i]
			}
		}
		return true
	}
	if strings.Contains(version, "MariaDB") {
		if !atLeast([3]int{10, 2, 2}) {
			return fmt.Errorf("db: mysql: MariaDB %s is too old: authgw needs 10.2.2 or later (CHECK constraints, long utf8mb4 keys)", version)
		}
		return nil
	}
	if !atLeast([3]int{8, 0, 16}) {
		return fmt.Errorf("db: mysql: MySQL %s is too old: authgw needs 8.0.16 or later (CHECK constraints)", version)
	}
	return nil
}

// Dialect returns DialectSQLite or DialectMySQL.
func (s *DB) Dialect() string { return s.dialect }

// SQL returns the connection pool, for tests and tools that need plain
// SQL. Other packages should go through the store. With SQLite the pool
// has a single connection: finish each *sql.Rows and transaction before
// starting another statement.
func (s *DB) SQL() *sql.DB { return s.sql }

// Close closes the pool, waiting for queries in progress to finish. It
// returns the driver's error, if any.
func (s *DB) Close() error { return s.sql.Close() }
