package db

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors of the store, checked with errors.Is. Each error the store
// returns for one of these cases wraps the sentinel and the driver's own
// error, so errors.As still finds the latter.
var (
	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("db: not found")
	// ErrDuplicate means a row with the same primary key or unique key
	// (email address, membership, refresh token hash...) already exists.
	ErrDuplicate = errors.New("db: duplicate")
	// ErrConflict means a concurrent transaction won: a deadlock, a lock
	// wait timeout, or a busy SQLite database. Retrying the whole
	// transaction may succeed (after a deadlock MySQL has rolled it back).
	ErrConflict = errors.New("db: conflict with a concurrent write")
	// ErrBootstrapped means Bootstrap found a live user: the database has
	// been set up before.
	ErrBootstrapped = errors.New("db: the database already has users")
	// ErrLastEmail means DeleteEmail was asked to delete a user's only
	// address: a user without one could not receive login codes.
	ErrLastEmail = errors.New("db: the user's only email address")
	// ErrForeignKey means a row refers to a row that does not exist, or a
	// row still referred to was to be deleted.
	ErrForeignKey = errors.New("db: foreign key violation")
	// ErrInvalid means a value broke a CHECK constraint, a NOT NULL
	// column, a column's length or an integer's range.
	ErrInvalid = errors.New("db: invalid value")
	// ErrBadDSN is the root of the errors Open returns for a DSN it cannot
	// use: an unknown scheme, a malformed MySQL DSN, a MySQL DSN naming no
	// database, or an unsupported SQLite path.
	ErrBadDSN = errors.New("db: bad database DSN")
)

// InvalidError is the ErrInvalid of a value the store checks itself
// before writing it (an email address, an API name or URL): it says which
// field and why, in words a user can be shown. Callers read Field and
// Reason with errors.As; the message text is for logs and is never to be
// cut up.
type InvalidError struct {
	// Field names the value: "email", or "" when the caller names it
	// (CheckAPIName, CanonicalAPIURL).
	Field string
	// Reason says what is wrong, without the field's name: `no @`,
	// `"Echo" is not 1 to 64 of a-z, 0-9 and -`.
	Reason string
}

// invalid returns an *InvalidError for field with the formatted reason.
func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Error returns "db: invalid value: FIELD: REASON" (without "FIELD: "
// when Field is empty).
func (e *InvalidError) Error() string {
	if e.Field == "" {
		return ErrInvalid.Error() + ": " + e.Reason
	}
	return ErrInvalid.Error() + ": " + e.Field + ": " + e.Reason
}

// Unwrap returns ErrInvalid, so errors.Is(err, ErrInvalid) holds.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// MySQL and MariaDB server error numbers that classify maps.
const (
	mysqlErrDupEntry            = 1062 // ER_DUP_ENTRY
	mysqlErrDupEntryWithKeyName = 1586 // ER_DUP_ENTRY_WITH_KEY_NAME
	mysqlErrRowIsReferenced     = 1217 // ER_ROW_IS_REFERENCED
	mysqlErrNoReferencedRow     = 1216 // ER_NO_REFERENCED_ROW
	mysqlErrRowIsReferenced2    = 1451 // ER_ROW_IS_REFERENCED_2
	mysqlErrNoReferencedRow2    = 1452 // ER_NO_REFERENCED_ROW_2
	mysqlErrCheckViolated       = 3819 // MySQL ER_CHECK_CONSTRAINT_VIOLATED
	mysqlErrConstraintFailed    = 4025 // MariaDB ER_CONSTRAINT_FAILED
	mysqlErrBadNull             = 1048 // ER_BAD_NULL_ERROR
	mysqlErrDataTooLong         = 1406 // ER_DATA_TOO_LONG
	mysqlErrTruncatedWrongValue = 1366 // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
	mysqlErrWarnDataOutOfRange  = 1264 // ER_WARN_DATA_OUT_OF_RANGE
	mysqlErrLockDeadlock        = 1213 // ER_LOCK_DEADLOCK
	mysqlErrLockWaitTimeout     = 1205 // ER_LOCK_WAIT_TIMEOUT
	mysqlErrDupUnknownInIndex   = 1859 // ER_DUP_UNKNOWN_IN_INDEX
	mysqlErrNoDefaultForField   = 1364 // ER_NO_DEFAULT_FOR_FIELD
	mysqlErrTruncatedValue      = 1292 // ER_TRUNCATED_WRONG_VALUE
)

// classify turns a driver error into one that wraps ErrNotFound,
// ErrDuplicate, ErrConflict, ErrForeignKey or ErrInvalid, and still wraps
// the driver's error. It decides by the driver's error type and number
// (errors.As), never by the message. It returns nil for nil, and other
// errors (context cancellation, a lost connection, a syntax error)
// unchanged.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if sentinel := kindOf(err); sentinel != nil && !errors.Is(err, sentinel) {
		return fmt.Errorf("%w: %w", sentinel, err)
	}
	return err
}

// kindOf returns the sentinel that err belongs to, or nil.
func kindOf(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if me, ok := errors.AsType[*mysql.MySQLError](err); ok {
		switch me.Number {
		case mysqlErrDupEntry, mysqlErrDupEntryWithKeyName, mysqlErrDupUnknownInIndex:
			return ErrDuplicate
		case mysqlErrRowIsReferenced, mysqlErrNoReferencedRow, mysqlErrRowIsReferenced2, mysqlErrNoReferencedRow2:
			return ErrForeignKey
		case mysqlErrCheckViolated, mysqlErrConstraintFailed, mysqlErrBadNull, mysqlErrDataTooLong,
			mysqlErrTruncatedWrongValue, mysqlErrTruncatedValue, mysqlErrWarnDataOutOfRange, mysqlErrNoDefaultForField:
			return ErrInvalid
		case mysqlErrLockDeadlock, mysqlErrLockWaitTimeout:
			return ErrConflict
		}
		return nil
	}
	if se, ok := errors.AsType[*sqlite.Error](err); ok {
		switch code := se.Code(); code {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_ROWID:
			return ErrDuplicate
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return ErrForeignKey
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_DATATYPE, sqlite3.SQLITE_TOOBIG:
			return ErrInvalid
		default:
			// The primary code is the low byte of an extended code.
			switch code & 0xff {
			case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
				return ErrConflict
			}
		}
	}
	return nil
}
