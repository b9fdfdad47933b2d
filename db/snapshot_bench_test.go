package db_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// Size of the benchmark's gateway snapshot (issue 3: 10,000 clients with
// roles and restrictions, loaded in under 1 s from MariaDB).
const (
	benchClients   = 10_000
	benchOrgs      = 100
	benchAPIs      = 20
	benchBatchRows = 500
)

// BenchmarkLoadSnapshot10k loads a snapshot of 10,000 clients (each with
// 1 or 2 roles and 0 to 3 restrictions: 15,000 role and 15,000
// restriction rows) and 20 APIs, from SQLite and from MariaDB. The
// baseline in the same run reads only the client rows with one query,
// outside a transaction: the floor that the joins, the attaching and the
// transaction add to. rows/s counts every row of the four queries.
//
//	go test -run '^$' -bench BenchmarkLoadSnapshot10k -benchtime 20x ./db/
func BenchmarkLoadSnapshot10k(b *testing.B) {
	for _, dialect := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{
		{"sqlite", dbtest.SQLite},
		{"mariadb", dbtest.MariaDB},
	} {
		b.Run(dialect.name, func(b *testing.B) {
			d := dialect.open(b)
			ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute)
			defer cancel()
			rows := fillSnapshot(b, ctx, d)

			b.Run("LoadSnapshot", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					snap, err := d.LoadSnapshot(ctx, authNow)
					if err != nil {
						b.Fatal(err)
					}
					if len(snap.Clients) != benchClients || len(snap.APIs) != benchAPIs {
						b.Fatalf("snapshot has %d clients and %d APIs", len(snap.Clients), len(snap.APIs))
					}
				}
				b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			})
			b.Run("baseline_clientRows", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					n := scanClientRows(b, ctx, d)
					if n != benchClients {
						b.Fatalf("%d client rows", n)
					}
				}
				b.ReportMetric(float64(benchClients*b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		})
	}
}

// scanClientRows reads the columns of the snapshot's client query, in one
// query and without a transaction, and returns the number of rows.
func scanClientRows(b *testing.B, ctx context.Context, d *db.DB) int {
	rows, err := d.SQL().QueryContext(ctx, "SELECT id, organization_id, name, secret_hash, reqs_per_sec, created_ms, updated_ms FROM clients ORDER BY id")
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var c db.Client
		if err := rows.Scan(&c.ID, &c.OrganizationID, &c.Name, &c.SecretHash, &c.ReqsPerSec, &c.CreatedMs, &c.UpdatedMs); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}

// fillSnapshot inserts the benchmark's organizations, clients, roles,
// restrictions and APIs in one transaction of multi-row INSERTs, and
// returns how many rows one LoadSnapshot reads.
func fillSnapshot(b *testing.B, ctx context.Context, d *db.DB) int {
	b.Helper()
	tx, err := d.SQL().BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	insert := func(prefix string, columns int, rows [][]any) {
		for start := 0; start < len(rows); start += benchBatchRows {
			batch := rows[start:min(start+benchBatchRows, len(rows))]
			tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", columns), ", ") + ")"
			args := make([]any, 0, len(batch)*columns)
			for _, r := range batch {
				args = append(args, r...)
			}
			query := prefix + " VALUES " + strings.TrimSuffix(strings.Repeat(tuple+", ", len(batch)), ", ")
			if _, err := tx.ExecContext(ctx, query, args...); err != nil {
				b.Fatalf("%s: %v", prefix, err)
			}
		}
	}
	// IDs shaped like UUIDv7s, 36 characters, in creation order.
	uuid := func(kind, i int) string { return fmt.Sprintf("0190%04x-%04x-7000-8000-%012x", kind, i>>16, i) }

	var orgs, clients, roles, restrictions, apis [][]any
	for i := range benchOrgs {
		orgs = append(orgs, []any{uuid(1, i), fmt.Sprintf("Organization %d", i), authNow})
	}
	types := []string{"ip", "host", "api"}
	for i := range benchClients {
		id := uuid(2, i)
		clients = append(clients, []any{id, uuid(1, i%benchOrgs), fmt.Sprintf("client %d", i), authHash(id), 10 + i%50, authNow, authNow})
		roles = append(roles, []any{id, "external"})
		if i%2 == 0 {
			roles = append(roles, []any{id, "internal"})
		}
		for k := range i % 4 {
			value := fmt.Sprintf("10.%d.%d.0/24", i%256, k)
			switch types[k] {
			case "host":
				value = fmt.Sprintf("app%d.example.com", i)
			case "api":
				value = fmt.Sprintf("api%d", i%benchAPIs)
			}
			restrictions = append(restrictions, []any{uuid(3, i*4+k), id, types[k], value, authNow})
		}
	}
	for i := range benchAPIs {
		apis = append(apis, []any{fmt.Sprintf("api%d", i), 1, fmt.Sprintf("http://127.0.0.1:%d", 9000+i), i%5 == 0, true, authNow, authNow})
	}
	insert("INSERT INTO organizations (id, name, created_ms)", 3, orgs)
	insert("INSERT INTO clients (id, organization_id, name, secret_hash, reqs_per_sec, created_ms, updated_ms)", 7, clients)
	insert("INSERT INTO client_roles (client_id, role)", 2, roles)
	insert("INSERT INTO client_access_restrictions (id, client_id, type, value, created_ms)", 5, restrictions)
	insert("INSERT INTO apis (name, version, url, allow_unidentified, active, created_ms, updated_ms)", 7, apis)
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if d.Dialect() == db.DialectMySQL {
		// Fresh statistics, as a long-lived database would have.
		for _, table := range []string{"organizations", "clients", "client_roles", "client_access_restrictions", "apis"} {
			if _, err := d.SQL().ExecContext(ctx, "ANALYZE TABLE "+table); err != nil {
				b.Fatal(err)
			}
		}
	}
	return len(clients) + len(roles) + len(restrictions) + len(apis)
}
