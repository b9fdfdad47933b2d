package db

import (
	"context"
	"database/sql"
	"fmt"
)

// Fingerprint is one row of shared_material: the fingerprint of a piece
// of key material that every instance on this database must share.
type Fingerprint struct {
	// Name says which material: "server-id", "totp-key", "info-key",
	// "key:<ID>" for a key of the ring. At most 80 characters.
	Name string
	// Value is 64 lower-case hex digits (an HMAC-SHA256), never the
	// material itself.
	Value string
	// CreatedMs is when the first instance recorded it.
	CreatedMs int64
}

// SharedMaterial returns every recorded fingerprint by name.
func (s *DB) SharedMaterial(ctx context.Context) (map[string]Fingerprint, error) {
	rows, err := s.sql.QueryContext(ctx, "SELECT name, fingerprint, created_ms FROM shared_material")
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := map[string]Fingerprint{}
	for rows.Next() {
		var f Fingerprint
		if err := rows.Scan(&f.Name, &f.Value, &f.CreatedMs); err != nil {
			return nil, err
		}
		out[f.Name] = f
	}
	return out, classify(rows.Err())
}

// RecordFingerprint records f unless a fingerprint of that name exists,
// and returns the one recorded: f, or the existing one (of an instance
// that recorded it first, perhaps at the same moment). Compare its Value
// with f's. It fails with ErrInvalid for a name or value out of bounds.
func (s *DB) RecordFingerprint(ctx context.Context, f Fingerprint) (Fingerprint, error) {
	if f.Name == "" || len(f.Name) > 80 || len(f.Value) != 64 {
		return Fingerprint{}, fmt.Errorf("%w: fingerprint %q", ErrInvalid, f.Name)
	}
	query := "INSERT INTO shared_material (name, fingerprint, created_ms) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING"
	if s.dialect == DialectMySQL {
		// Not INSERT IGNORE, which would hide other errors too.
		query = "INSERT INTO shared_material (name, fingerprint, created_ms) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE name = name"
	}
	if _, err := s.sql.ExecContext(ctx, query, f.Name, f.Value, f.CreatedMs); err != nil {
		return Fingerprint{}, classify(err)
	}
	var got Fingerprint
	err := s.sql.QueryRowContext(ctx, "SELECT name, fingerprint, created_ms FROM shared_material WHERE name = ?", f.Name).
		Scan(&got.Name, &got.Value, &got.CreatedMs)
	return got, classify(err)
}

// ReplaceSharedMaterial replaces every recorded fingerprint with fps, in
// one transaction: after a deliberate change of the shared material (a
// new server ID revoking every token, a new TOTP or request-info key),
// the instance that carries it records it for the others to match.
func (s *DB) ReplaceSharedMaterial(ctx context.Context, fps []Fingerprint) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM shared_material"); err != nil {
			return err
		}
		for _, f := range fps {
			if f.Name == "" || len(f.Name) > 80 || len(f.Value) != 64 {
				return fmt.Errorf("%w: fingerprint %q", ErrInvalid, f.Name)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO shared_material (name, fingerprint, created_ms) VALUES (?, ?, ?)",
				f.Name, f.Value, f.CreatedMs); err != nil {
				return err
			}
		}
		return nil
	})
}
