// Package db is authgw's storage (the README's "Storage"): the SQL schema and its
// migrations for MySQL and SQLite, embedded in the binary, the migration
// runner behind "authgw migrate", and the store that the accounts service
// and the gateway use through small interfaces declared on their side
// (the gateway's in its own record types, converted by db/gatewaystore).
// It is the only package that imports SQL drivers: go-sql-driver/mysql
// for MySQL 8.0.16+ and MariaDB 10.2.2+ (tested on MariaDB 10.11), and
// the pure-Go modernc.org/sqlite (no cgo) for the embedded default.
//
// # Opening a database
//
// Open takes "sqlite:PATH" or "mysql:DSN" and checks that the database
// answers; it does not migrate (call MigrateUp, or run authgw migrate up).
//
// SQLite is opened with journal_mode WAL (readers never block the
// writer), synchronous NORMAL (a crash of the process loses nothing; a
// power cut may lose the last transactions but never corrupts the file),
// busy_timeout 5000 ms (another process holding the write lock is waited
// for, then the statement fails with ErrConflict), foreign_keys ON (off by
// default in SQLite, and nothing here works without it), and
// transactions that begin with BEGIN IMMEDIATE, so that a transaction
// that reads then writes cannot fail halfway on a lock upgrade.
//
// The SQLite pool holds one connection. SQLite has a single writer anyway;
// one connection turns this process's concurrent writers into a queue
// instead of SQLITE_BUSY errors, makes every transaction see the previous
// one, and keeps "sqlite::memory:" usable. The cost is that reads queue
// behind writes too, which is fine for the embedded default: the gateway
// answers from in-memory snapshots and never queries on the request path.
// Store code must respect one rule: never start a statement on the pool
// while a transaction or an unclosed *sql.Rows of the same goroutine holds
// the connection (use the *sql.Tx; close rows before the next query), or
// the two wait for each other until the context ends.
//
// For MySQL, Open forces, whatever the DSN says: parseTime=false (times
// are BIGINT milliseconds, never DATETIME); multiStatements=false (one
// statement per call, so an injected ";" cannot chain another);
// interpolateParams=true (one round trip per query instead of prepare,
// execute, close; safe with the utf8mb4 connection charset);
// clientFoundRows=true (RowsAffected counts the rows matched, as SQLite
// does, so "not found" and "unchanged" differ the same way in both); the
// utf8mb4 charset with the utf8mb4_bin collation; time_zone '+00:00'; and
// a strict sql_mode without ANSI_QUOTES, so that a too-long string or an
// out-of-range number is refused, not truncated. The pool holds up to 32
// connections, each recycled after 3 minutes; SQL() can tune that.
//
// # Schema
//
// One set of tables in two dialects (migrations/mysql and
// migrations/sqlite) that express the same constraints; a test compares
// the two catalogs (tables, columns, nullability, defaults, keys, indexes,
// foreign keys with their delete actions, CHECK names) and another runs
// every constraint in both.
//
//   - IDs are UUIDv7 strings, CHAR(36) / TEXT. Times are UTC Unix
//     milliseconds in BIGINT / INTEGER columns named *_ms; NULL means
//     "not yet" (verified_ms, consumed_ms, deleted_ms...). Booleans are
//     0/1 with a CHECK.
//   - Text compares byte for byte: utf8mb4_bin on MySQL, BINARY on SQLite.
//     Hashes, IDs and roles are case-sensitive; emails are stored
//     normalized (trimmed, domain lower-cased) so that the unique index on
//     emails.email is the duplicate check.
//   - MySQL's column widths (VARCHAR(n), CHAR(n), VARBINARY(n)) are
//     CHECKs named <table>_<column>_len on SQLite's STRICT tables, so a
//     value one character too long is ErrInvalid in both; lengths count
//     characters, not bytes, in both (bytes for BLOB).
//   - Names: <table>_<columns>_idx for indexes, _uq for unique indexes,
//     _fk for foreign keys, _ck for CHECKs. Every foreign-key column leads
//     an index (InnoDB would add one; SQLite would scan instead).
//
// The tables:
//
//	organizations               organizations; soft-deleted with deleted_ms
//	users                       users: name, password hash (PHC), banned_ms, deleted_ms
//	emails                      a user's addresses, unique, verified_ms
//	user_roles                  sysadmin | employee | user, per user
//	clients                     API clients of an organization: secret hash, reqs_per_sec (-1 unlimited)
//	client_roles                system | internal | external, per client
//	client_access_restrictions  ip | host | api values per client, unique per (client, type, value)
//	org_memberships             a user in an organization, unique per pair, with read/edit/manage/delete flags
//	apis                        backends by (name, version): url, allow_unidentified, active, login_redirect
//	sessions                    login sessions: user, client, expiry, invalidated_ms and reason
//	session_tokens              refresh tokens by SHA-256 hash: session, rotation family, consumed_ms, replaced_by
//	verification_codes          login, email-verification and totp-flow codes by hash: state, expiry, attempts
//	totp_secrets                a user's AES-GCM-sealed TOTP secret and last accepted step
//	factor_recovery_codes       a user's single-use second-factor recovery codes by SHA-256 hash, used_ms
//	regulation_failures         failed login steps per account or IP, for brute-force regulation
//	regulation_bans             banned accounts and IPs, until_ms
//	revocations                 the revocation feed: session or user (not-before), polled by id
//	schema_migrations           the runner's record of applied versions
//
// Deleting a user deletes its emails, roles, memberships, sessions (and
// their refresh tokens), codes and TOTP secret; deleting a client deletes
// its roles and restrictions and sets its sessions' client_id to NULL;
// deleting an organization deletes its clients and memberships. Users,
// clients and organizations also have deleted_ms for soft deletion, which
// triggers none of this. session_tokens.replaced_by and
// revocations.subject have no foreign key on purpose: the feed and the
// rotation chain must outlive the rows they name.
//
// Two differences between the dialects remain, both outside what the
// store writes: utf8mb4_bin pads with spaces when comparing (MySQL sees
// "a" and "a " as equal, SQLite does not: trim values before storing
// them), and MySQL refuses invalid UTF-8 (ErrInvalid) while SQLite stores
// it (check utf8.ValidString on input).
//
// # Migrations
//
// Files are NNNN_name.up.sql and NNNN_name.down.sql per dialect, embedded
// with go:embed. The runner (migrate.go says why it is not a library)
// splits a file into statements at each ";" that ends a line; lines
// holding only a "--" comment are dropped. It records versions in
// schema_migrations (version, name, started_ms, applied_ms) and applies
// them in order; MigrateUp is idempotent, MigrateDown reverts one step.
//
// On SQLite, where DDL is transactional, each file runs in one
// transaction together with its schema_migrations row: a failure rolls
// everything of that file back, and two processes migrating at once
// serialize on the write lock.
//
// MySQL commits each DDL statement at once, so a file that fails at
// statement k leaves statements 1..k-1 applied, and no transaction can
// undo that. The runner is honest about it rather than hiding it: it
// inserts the version's row with applied_ms NULL (dirty) before the first
// statement and sets applied_ms after the last, so a half-applied version
// is visible in schema_migrations and in authgw migrate status. MigrateUp
// then refuses to go on (ErrDirtyMigration), and MigrateDown runs the
// version's down file, which must therefore tolerate a partial up (DROP
// TABLE IF EXISTS, in reverse order). If the very first statement fails,
// nothing changed and the dirty row is removed again. Recording the
// version only once the file succeeded would leave a half-applied schema
// that neither up (CREATE TABLE fails: the table exists) nor down (the
// version is not recorded) could repair. A named lock (GET_LOCK) keeps two
// processes from migrating one MySQL database at once; MigrationError
// names the file, the statement and its line, and says what stayed
// applied.
//
// Writing a migration: give both dialects the same version and name;
// write a down file that undoes a partial up; on SQLite, changes that
// SQLite's ALTER TABLE cannot make need the usual rebuild (create the new
// table, copy, drop, rename) inside the file's transaction, with
// PRAGMA defer_foreign_keys = ON, since foreign_keys cannot be turned off
// inside a transaction.
//
// # Errors
//
// Driver errors are classified by error number (MySQL) or extended result
// code (SQLite), never by message, into ErrNotFound, ErrDuplicate,
// ErrForeignKey, ErrInvalid (CHECK, NOT NULL, length or range) and
// ErrConflict (deadlock, lock wait timeout, SQLITE_BUSY: retry), each
// wrapping the driver's error too. Callers test them with errors.Is.
//
// # Notes for store code
//
// Both drivers take "?" placeholders, so most statements are shared; the
// dialects differ in upserts (ON DUPLICATE KEY UPDATE vs ON CONFLICT ...
// DO UPDATE), INSERT IGNORE vs INSERT OR IGNORE, and RETURNING (MySQL 8
// has none): switch on s.dialect there. Pass ctx to every call. Read the
// clock from an injected func, not time.Now.
//
// The revocation feed is read by id above a cursor (and sessions by
// invalidated_ms). On MySQL an AUTO_INCREMENT id is taken when the row is
// inserted but visible only at commit, so a poller can see id 11 before a
// slower transaction commits id 10. Insert revocation rows in short
// transactions and have pollers re-read a small window before their
// cursor (revocations_created_idx serves "created_ms >= last poll minus a
// few seconds"); applying a revocation twice is harmless.
package db
