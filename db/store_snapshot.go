package db

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Queries of LoadSnapshot. A client is live when neither it nor its
// organization is deleted. The clients query walks the clients' primary
// key, with the few deleted organizations materialized once (a join
// driven from organizations needs a temporary table and a sort on MySQL:
// measured 4 times slower at 10,000 clients). Roles and restrictions are
// read whole, without a join or an ORDER BY (a sort or a join per row
// cost 10 times a plain scan on MySQL), attached to the live clients in
// Go, which drops the rows of deleted ones, and sorted there.
const (
	snapshotClients = "SELECT c.id, c.organization_id, c.name, c.secret_hash, c.reqs_per_sec, c.created_ms, c.updated_ms" +
		" FROM clients c WHERE c.deleted_ms IS NULL" +
		" AND c.organization_id NOT IN (SELECT o.id FROM organizations o WHERE o.deleted_ms IS NOT NULL)" +
		" ORDER BY c.id"
	snapshotRoles        = "SELECT client_id, role FROM client_roles"
	snapshotRestrictions = "SELECT id, client_id, type, value, created_ms FROM client_access_restrictions"
	snapshotAPIs         = "SELECT name, version, url, allow_unidentified, active, login_redirect, created_ms, updated_ms, " + apiUpstreamCols + " FROM apis ORDER BY name, version"
)

// LoadSnapshot reads what the gateway keeps in memory (the README's "The gateway"): every
// client that is not deleted, of an organization that is not deleted,
// ordered by ID, with its Roles (sorted) and Restrictions (sorted by
// type, then value), each nil when there is none; and every API, active
// or not, ordered by name and version. LoadedMs is nowMs.
//
// It runs five queries (clients, roles, restrictions, APIs, API hosts), never one
// per client, in one read-only transaction, so the snapshot is
// consistent: on MySQL at REPEATABLE READ, where the four share the read
// view of the first; on SQLite in one deferred transaction, which reads
// one state of the WAL. It fails with the driver's error (or the
// context's) and returns no partial snapshot.
func (s *DB) LoadSnapshot(ctx context.Context, nowMs int64) (Snapshot, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == DialectMySQL {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.sql.BeginTx(ctx, opts)
	if err != nil {
		return Snapshot{}, classify(err)
	}
	snap, err := loadSnapshot(ctx, tx)
	if err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return Snapshot{}, fmt.Errorf("%w (rollback: %v)", classify(err), rbErr)
		}
		return Snapshot{}, classify(err)
	}
	if err := tx.Commit(); err != nil {
		return Snapshot{}, classify(err)
	}
	snap.LoadedMs = nowMs
	return snap, nil
}

// loadSnapshot runs the four queries of LoadSnapshot in tx.
func loadSnapshot(ctx context.Context, tx *sql.Tx) (Snapshot, error) {
	var snap Snapshot
	// byID indexes snap.Clients, to attach roles and restrictions.
	byID := make(map[string]int)
	err := snapshotRows(ctx, tx, snapshotClients, func(scan func(...any) error) error {
		var c Client
		if err := scan(&c.ID, &c.OrganizationID, &c.Name, &c.SecretHash, &c.ReqsPerSec, &c.CreatedMs, &c.UpdatedMs); err != nil {
			return err
		}
		byID[c.ID] = len(snap.Clients)
		snap.Clients = append(snap.Clients, c)
		return nil
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("db: snapshot clients: %w", err)
	}
	// Role, type and client ID columns are scanned as RawBytes: the IDs
	// are looked up without a copy and the client's own ID string is
	// reused, and the few distinct roles and types share one string each.
	var clientID, name sql.RawBytes
	err = snapshotRows(ctx, tx, snapshotRoles, func(scan func(...any) error) error {
		if err := scan(&clientID, &name); err != nil {
			return err
		}
		// A miss is a role of a deleted client.
		if i, ok := byID[string(clientID)]; ok {
			snap.Clients[i].Roles = append(snap.Clients[i].Roles, snapshotIntern(name, "external", "internal", "system"))
		}
		return nil
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("db: snapshot client roles: %w", err)
	}
	err = snapshotRows(ctx, tx, snapshotRestrictions, func(scan func(...any) error) error {
		var r Restriction
		if err := scan(&r.ID, &clientID, &name, &r.Value, &r.CreatedMs); err != nil {
			return err
		}
		if i, ok := byID[string(clientID)]; ok {
			c := &snap.Clients[i]
			r.ClientID, r.Type = c.ID, snapshotIntern(name, "ip", "host", "api")
			c.Restrictions = append(c.Restrictions, r)
		}
		return nil
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("db: snapshot client access restrictions: %w", err)
	}
	for i := range snap.Clients {
		c := &snap.Clients[i]
		slices.Sort(c.Roles)
		slices.SortFunc(c.Restrictions, func(a, b Restriction) int {
			return cmp.Or(strings.Compare(a.Type, b.Type), strings.Compare(a.Value, b.Value))
		})
	}
	err = snapshotRows(ctx, tx, snapshotAPIs, func(scan func(...any) error) error {
		var a API
		var ups string
		if err := scan(append([]any{&a.Name, &a.Version, &a.URL, &a.AllowUnidentified, &a.Active, &a.LoginRedirect, &a.CreatedMs, &a.UpdatedMs},
			apiUpstreamDest(&a, &ups)...)...); err != nil {
			return err
		}
		a.Upstreams = splitUpstreams(a.URL, ups)
		snap.APIs = append(snap.APIs, a)
		return nil
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("db: snapshot apis: %w", err)
	}
	if err := attachAPIHosts(ctx, tx, snap.APIs); err != nil {
		return Snapshot{}, fmt.Errorf("db: snapshot api hosts: %w", err)
	}
	return snap, nil
}

// snapshotIntern returns the string of known that equals b, or a copy of b.
func snapshotIntern(b []byte, known ...string) string {
	for _, k := range known {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

// snapshotRows runs query in tx and calls fn with each row's Scan, closing the
// rows before it returns.
func snapshotRows(ctx context.Context, tx *sql.Tx, query string, fn func(scan func(...any) error) error) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	scan := rows.Scan
	for rows.Next() {
		if err := fn(scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
