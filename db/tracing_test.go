package db_test

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestWithTracing: with WithTracing, the store's statements and
// transactions made under a span become its children, named for the
// statement, with the statement's text but no value; made outside any
// span (background work) they make none; the store works as without
// (the migrations, a transaction, a read), on both dialects.
func TestWithTracing(t *testing.T) {
	dsns := map[string]func(t *testing.T) string{
		db.DialectSQLite: func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "traced.db") },
		db.DialectMySQL:  func(t *testing.T) string { return dbtest.MariaDBDSN(t) },
	}
	for _, dialect := range []string{db.DialectSQLite, db.DialectMySQL} {
		t.Run(dialect, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			ctx := context.Background()
			d, err := db.Open(ctx, dsns[dialect](t), db.WithTracing(tp))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if _, err := d.MigrateUp(ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(rec.Ended()); n != 0 {
				t.Fatalf("%d spans outside any request, want none", n)
			}

			reqCtx, req := tp.Tracer("test").Start(ctx, "request")
			now := time.Now()
			const email = "secret-address@example.com"
			if _, err := d.CreateUser(reqCtx, db.NewUser{
				User:  db.User{ID: db.NewID(now, bytes.NewReader(make([]byte, 8))), Name: "Ann", CreatedMs: now.UnixMilli()},
				Email: db.Email{ID: db.NewID(now, bytes.NewReader(bytes.Repeat([]byte{1}, 8))), Email: email},
			}); err != nil {
				t.Fatal(err)
			}
			users, _, err := d.ListUsers(reqCtx, db.Page{Size: 10})
			if err != nil || len(users) != 1 {
				t.Fatalf("ListUsers = %d users, %v", len(users), err)
			}
			req.End()

			var names []string
			for _, s := range rec.Ended() {
				if s.Name() == "request" {
					continue
				}
				names = append(names, s.Name())
				if s.Parent().SpanID() != req.SpanContext().SpanID() {
					t.Errorf("span %q is not a child of the request", s.Name())
				}
				for _, a := range s.Attributes() {
					if strings.Contains(a.Value.Emit(), email) {
						t.Errorf("span %q attribute %s holds a value: %q", s.Name(), a.Key, a.Value.Emit())
					}
				}
			}
			for _, want := range []string{"BEGIN", "INSERT", "COMMIT", "SELECT"} {
				if !slices.Contains(names, want) {
					t.Errorf("spans %v lack %s", names, want)
				}
			}
		})
	}
}
