package db

import (
	"context"
	"database/sql"
	"errors"
)

// CreateSystemClient writes an organization without members and a
// client of it, with its roles, in one transaction: for clients authgw
// itself owns and no user created, such as the client the sign-in pages
// log in through. c.OrganizationID is set to org.ID; otherwise c is
// checked as CreateClient checks it. Callers use fixed IDs, so that the
// store's primary keys make the creation happen once however many
// instances try at the same time: it fails with ErrDuplicate when the
// organization's or the client's ID is taken, ErrInvalid for a missing
// field, and nothing is written then.
func (s *DB) CreateSystemClient(ctx context.Context, org Organization, c Client) error {
	c.OrganizationID = org.ID
	c, err := prepareClient(c)
	if err != nil {
		return err
	}
	if err := errors.Join(requireID("organization ID", org.ID), requireMs("organization CreatedMs", org.CreatedMs),
		checkText("organization name", org.Name)); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO organizations (id, name, created_ms) VALUES (?, ?, ?)",
			org.ID, org.Name, org.CreatedMs); err != nil {
			return err
		}
		return insertClient(ctx, tx, c)
	})
}
