package db

import (
	"io/fs"
	"time"
)

// Seams for the black-box tests in package db_test.

// Classify is classify.
var Classify = classify

// SplitStatements splits a migration file into statements, returning
// their text and starting lines.
func SplitStatements(text string) (texts []string, lines []int, err error) {
	stmts, err := splitStatements(text)
	for _, s := range stmts {
		texts = append(texts, s.text)
		lines = append(lines, s.line)
	}
	return texts, lines, err
}

// SetMigrations makes d migrate with the files at the root of fsys
// instead of the embedded ones.
func SetMigrations(d *DB, fsys fs.FS) { d.migrations = fsys }

// EmbeddedMigrations returns the embedded migration files of a dialect.
func EmbeddedMigrations(dialect string) fs.FS { return dialectMigrations(dialect) }

// SetClock makes d record migrations with the time now returns.
func SetClock(d *DB, now func() time.Time) { d.now = now }
