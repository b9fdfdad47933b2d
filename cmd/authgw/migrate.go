package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/authgw/authgw/db"
)

const migrateUsage = `Usage: authgw migrate up|down|status [--database DSN] [--data-dir DIR]

Manages the database schema: the SQL migrations built into authgw.

  up      applies every pending migration, in order, and prints each one;
          does nothing when the schema is up to date
  down    reverts the most recent migration, one step
  status  lists every migration: applied (and when), pending, dirty
          (half-applied), or applied by a newer authgw

The database is --database, else AUTHGW_DATABASE, else "database" in the
config file, else the SQLite file authgw.db in the data directory
(--data-dir, else AUTHGW_DATA_DIR, else "data-dir" in the config file,
else ./authgw-data), created when missing. A DSN is one of
  sqlite:PATH
  mysql:USER:PASSWORD@tcp(HOST:PORT)/DBNAME   (a go-sql-driver/mysql DSN)

On SQLite each migration runs in one transaction: one that fails leaves
nothing behind. MySQL commits each DDL statement at once: a migration
that fails halfway stays marked dirty, up refuses to go on, and
"authgw migrate down" reverts it once the cause is fixed.

Flags:
  --database DSN   sqlite:PATH or mysql:DSN
  --data-dir DIR   data directory, for the default SQLite file
  --config FILE    JSON config file (else AUTHGW_CONFIG) with the same keys
`

// migrateCommand is "authgw migrate".
type migrateCommand struct {
	db databaseSettings
}

// flagSet defines migrate's flags.
func (m *migrateCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("migrate")
	m.db.register(fs)
	return fs
}

// run applies, reverts or lists migrations. It fails when the action is
// missing or unknown (usage), the database cannot be opened, or a
// migration fails.
func (m *migrateCommand) run(c *cli, args []string) error {
	if len(args) == 0 {
		return usagef("missing action: up, down or status")
	}
	if len(args) > 1 {
		return usagef("unexpected argument %q", args[1])
	}
	action := args[0]
	if action != "up" && action != "down" && action != "status" {
		return usagef("unknown action %q (want up, down or status)", action)
	}
	ctx := context.Background()
	d, err := m.db.open(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	switch action {
	case "up":
		return migrateUp(ctx, c, d)
	case "down":
		return migrateDown(ctx, c, d)
	}
	return migrateStatus(ctx, c, d)
}

// emailCollisionWarning says what the IDs of db.EmailKeyCollisions are;
// the addresses themselves are never printed.
const emailCollisionWarning = "email addresses that differ only in case from an older one were kept apart: " +
	"they no longer log in or count as taken; delete or change them (IDs of the addresses)"

// migrateUp applies the pending migrations and prints each one, then the
// schema version; the ones applied before a failure are printed too.
func migrateUp(ctx context.Context, c *cli, d *db.DB) error {
	applied, err := d.MigrateUp(ctx)
	status, serr := d.MigrationStatus(ctx)
	for _, v := range applied {
		fmt.Fprintf(c.stdout, "applied %s\n", migrationLabel(status, v))
	}
	if err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	if ids, err := d.EmailKeyCollisions(ctx); err != nil {
		return err
	} else if len(ids) > 0 {
		fmt.Fprintf(c.stderr, "warning: %s: %s\n", emailCollisionWarning, strings.Join(ids, ", "))
	}
	if len(applied) == 0 {
		fmt.Fprintf(c.stdout, "nothing to apply: schema at version %d\n", schemaVersion(status))
		return nil
	}
	fmt.Fprintf(c.stdout, "schema at version %d\n", schemaVersion(status))
	return nil
}

// migrateDown reverts the most recent migration and prints it.
func migrateDown(ctx context.Context, c *cli, d *db.DB) error {
	before, err := d.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	reverted, err := d.MigrateDown(ctx)
	if err != nil {
		return err
	}
	if reverted == 0 {
		fmt.Fprintln(c.stdout, "nothing to revert: no migration is applied")
		return nil
	}
	after, err := d.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "reverted %s\nschema at version %d\n", migrationLabel(before, reverted), schemaVersion(after))
	return nil
}

// migrateStatus prints one line per migration.
func migrateStatus(ctx context.Context, c *cli, d *db.DB) error {
	status, err := d.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	for _, s := range status {
		var state string
		switch {
		case s.Dirty:
			state = "dirty: half-applied, revert it with authgw migrate down"
		case s.Applied:
			state = "applied " + s.AppliedAt.Format("2006-01-02T15:04:05.000Z07:00")
		default:
			state = "pending"
		}
		if s.Missing {
			state += " (by a newer authgw: no file for it in this one)"
		}
		fmt.Fprintf(c.stdout, "%-24s %s\n", fmt.Sprintf("%04d %s", s.Version, s.Name), state)
	}
	fmt.Fprintf(c.stdout, "schema at version %d\n", schemaVersion(status))
	return nil
}

// migrationLabel returns "NNNN name" for a version.
func migrationLabel(status []db.MigrationState, version int) string {
	for _, s := range status {
		if s.Version == version {
			return fmt.Sprintf("%04d %s", version, s.Name)
		}
	}
	return fmt.Sprintf("%04d", version)
}

// schemaVersion is the highest version applied in full, 0 when none.
func schemaVersion(status []db.MigrationState) int {
	v := 0
	for _, s := range status {
		if s.Applied {
			v = max(v, s.Version)
		}
	}
	return v
}
