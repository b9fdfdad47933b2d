package db_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/authgw/authgw/db"
)

// TestInvalidError: the values the store checks itself fail with an
// *InvalidError whose Field and Reason callers read with errors.As, even
// through further wrapping, and which still matches ErrInvalid.
func TestInvalidError(t *testing.T) {
	tests := []struct {
		name         string
		when         func() error
		expectField  string
		expectReason string
		expectText   string
	}{
		{"email without @", func() error { _, err := db.NormalizeEmail("ann.example.com"); return err },
			"email", "no @", "db: invalid value: email: no @"},
		{"email too long", func() error { _, err := db.NormalizeEmail(fmt.Sprintf("%0400d@example.com", 0)); return err },
			"email", "412 characters, more than 320", "db: invalid value: email: 412 characters, more than 320"},
		{"API name upper-case", func() error { return db.CheckAPIName("Echo") },
			"", `"Echo" is not 1 to 64 of a-z, 0-9 and -`, `db: invalid value: "Echo" is not 1 to 64 of a-z, 0-9 and -`},
		{"API name reserved", func() error { return db.CheckAPIName(db.ReservedAPIName) },
			"", `"accounts" is reserved for the accounts service`, `db: invalid value: "accounts" is reserved for the accounts service`},
		{"API URL with a query", func() error { _, err := db.CanonicalAPIURL("http://x/?a=1"); return err },
			"", "a query (?...) is not allowed", "db: invalid value: a query (?...) is not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.when()
			if !errors.Is(err, db.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if err.Error() != tt.expectText {
				t.Errorf("Error() = %q, want %q", err.Error(), tt.expectText)
			}
			wrapped := fmt.Errorf("checking the request: %w", err)
			inv, ok := errors.AsType[*db.InvalidError](wrapped)
			if !ok {
				t.Fatalf("errors.As(%v) found no *InvalidError", wrapped)
			}
			if inv.Field != tt.expectField || inv.Reason != tt.expectReason {
				t.Errorf("InvalidError = {%q, %q}, want {%q, %q}", inv.Field, inv.Reason, tt.expectField, tt.expectReason)
			}
		})
	}
}
