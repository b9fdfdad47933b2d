package db

import (
	"context"
	"database/sql"
)

// SetOrganizationSecondFactor sets whether the organization id requires
// its members to sign in with a second factor. It fails with ErrNotFound
// for a missing or deleted organization.
// Setting the value it already has is no error.
func (s *DB) SetOrganizationSecondFactor(ctx context.Context, id string, required bool) error {
	var deleted sql.NullInt64
	if err := s.sql.QueryRowContext(ctx, "SELECT deleted_ms FROM organizations WHERE id = ?", id).Scan(&deleted); err != nil {
		return classify(err)
	}
	if deleted.Valid {
		return ErrNotFound
	}
	_, err := s.sql.ExecContext(ctx, "UPDATE organizations SET require_second_factor = ? WHERE id = ? AND deleted_ms IS NULL", required, id)
	return classify(err)
}

// UserInSecondFactorOrg reports whether the user is an accepted member
// of an organization, not deleted, that requires a second factor.
func (s *DB) UserInSecondFactorOrg(ctx context.Context, userID string) (bool, error) {
	var one int
	err := s.sql.QueryRowContext(ctx, "SELECT 1 FROM org_memberships m JOIN organizations o ON o.id = m.organization_id"+
		" WHERE m.user_id = ? AND m.pending = 0 AND o.deleted_ms IS NULL AND o.require_second_factor = 1 LIMIT 1", userID).Scan(&one)
	switch {
	case err == sql.ErrNoRows:
		return false, nil
	case err != nil:
		return false, classify(err)
	}
	return true, nil
}
