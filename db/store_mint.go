package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
)

// A user's tokens are minted from their roles and accepted memberships.
// A change that shrinks those (a membership removed or a flag cleared, an
// organization deleted) revokes the user's tokens issued before a
// not-before. For that to refuse exactly the tokens minted from the old
// inputs, mints and changes are ordered by one value per user,
// users.tokens_floor_ms, read and written under the user's row lock (the
// lock the membership writes take):
//
//   - a mint reads the inputs under the lock, stamps its tokens with
//     IssuedMs = max(now, floor), and stores floor = IssuedMs;
//   - a lowering change, under the lock, revokes the tokens issued before
//     NotBefore = max(now, floor) + 1 ms, and stores floor = NotBefore.
//
// So a token minted from inputs read before the change was stamped at or
// below the floor the change saw, and is refused; one minted from inputs
// read after it is stamped at or above the not-before, and passes (even
// in the same millisecond). Neither depends on the instances' clocks
// agreeing, since the floor carries the order.

// MintInputs are what a user's tokens are minted from, read in one
// transaction under the user's lock.
type MintInputs struct {
	// Roles are the user's roles, sorted.
	Roles []string
	// Memberships are the user's accepted memberships of organizations
	// that are not deleted, in ID order (pending invitations grant
	// nothing and are left out).
	Memberships []Membership
	// IssuedMs is the issue time the tokens must carry (Unix ms): the
	// user revocation of a later lowering change refuses them.
	IssuedMs int64
}

// lockUserFloor takes the user's row lock inside tx (FOR UPDATE on MySQL;
// SQLite's transactions hold the write lock) and returns the user's token
// floor. It fails with ErrNotFound for a missing or deleted user.
func (s *DB) lockUserFloor(ctx context.Context, tx *sql.Tx, userID string) (int64, error) {
	var (
		floor   int64
		deleted sql.NullInt64
	)
	err := tx.QueryRowContext(ctx, "SELECT tokens_floor_ms, deleted_ms FROM users WHERE id = ?"+s.forUpdate(), userID).Scan(&floor, &deleted)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && deleted.Valid):
		return 0, fmt.Errorf("%w: user %s", ErrNotFound, userID)
	case err != nil:
		return 0, err
	}
	return floor, nil
}

// readMintInputs reads, inside tx and under the user's lock (taken by
// lockUserFloor, which returned floor), the user's roles and accepted
// memberships, and stamps them. The reads are locking reads on MySQL, so
// they see the latest committed rows, not a snapshot older than the lock.
func (s *DB) readMintInputs(ctx context.Context, tx *sql.Tx, userID string, floor, nowMs int64) (MintInputs, error) {
	in := MintInputs{Roles: []string{}, IssuedMs: max(nowMs, floor)}
	rows, err := tx.QueryContext(ctx, "SELECT role FROM user_roles WHERE user_id = ? ORDER BY role"+s.forUpdate(), userID)
	if err != nil {
		return MintInputs{}, err
	}
	for rows.Next() {
		var role string
		if err := rows.Scan(&role); err != nil {
			rows.Close()
			return MintInputs{}, err
		}
		in.Roles = append(in.Roles, role)
	}
	if err := closeRows(rows); err != nil {
		return MintInputs{}, err
	}
	rows, err = tx.QueryContext(ctx, "SELECT "+membershipCols+" FROM org_memberships m WHERE m.user_id = ? AND m.pending = 0 AND "+
		"EXISTS (SELECT 1 FROM organizations lo WHERE lo.id = m.organization_id AND lo.deleted_ms IS NULL) ORDER BY m.id"+s.forUpdate(), userID)
	if err != nil {
		return MintInputs{}, err
	}
	for rows.Next() {
		m, err := scanMembership(rows)
		if err != nil {
			rows.Close()
			return MintInputs{}, err
		}
		in.Memberships = append(in.Memberships, m)
	}
	if err := closeRows(rows); err != nil {
		return MintInputs{}, err
	}
	if in.IssuedMs > floor {
		if _, err := tx.ExecContext(ctx, "UPDATE users SET tokens_floor_ms = ? WHERE id = ?", in.IssuedMs, userID); err != nil {
			return MintInputs{}, err
		}
	}
	return in, nil
}

func closeRows(rows *sql.Rows) error {
	if err := rows.Close(); err != nil {
		return err
	}
	return rows.Err()
}

// lowerTokens revokes, inside tx and under the user's lock (floor from
// lockUserFloor), every token of the user minted from inputs read before
// now, and returns the revocation it appended to the feed.
func (s *DB) lowerTokens(ctx context.Context, tx *sql.Tx, userID string, floor int64, at Revoking) (Revocation, error) {
	nowMs, revocationExpiresMs := at.AtMs, at.ExpiresMs
	nb := max(nowMs, floor) + 1
	if _, err := tx.ExecContext(ctx, "UPDATE users SET tokens_floor_ms = ? WHERE id = ?", nb, userID); err != nil {
		return Revocation{}, err
	}
	rev := Revocation{Kind: RevokeUser, Subject: userID, NotBeforeMs: nb, ExpiresMs: revocationExpiresMs, CreatedMs: nowMs}
	cursor, err := insertRevocation(ctx, tx, rev)
	rev.Cursor = cursor
	return rev, err
}

// StartSession is CreateSession for a login: in the same transaction it
// reads, under the user's lock, what the session's first tokens are
// minted from. The session is inserted before the roles are read, so a
// role removal either is seen here or, ending the user's sessions after,
// ends this one. It fails as CreateSession does, and with ErrNotFound for
// a missing or deleted user.
func (s *DB) StartSession(ctx context.Context, sess Session, first RefreshToken) (MintInputs, error) {
	if first.SessionID == "" {
		first.SessionID = sess.ID
	}
	if first.SessionID != sess.ID {
		return MintInputs{}, fmt.Errorf("%w: the first refresh token names session %q, not %q", ErrInvalid, first.SessionID, sess.ID)
	}
	if first.Family == "" {
		first.Family = sess.ID
	}
	if sess.RefreshedMs == 0 {
		sess.RefreshedMs = sess.CreatedMs
	}
	var in MintInputs
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		floor, err := s.lockUserFloor(ctx, tx, sess.UserID)
		if err != nil {
			return err
		}
		if err := insertSession(ctx, tx, sess); err != nil {
			return err
		}
		if err := insertToken(ctx, tx, first); err != nil {
			return err
		}
		in, err = s.readMintInputs(ctx, tx, sess.UserID, floor, sess.CreatedMs)
		return err
	})
	return in, err
}

// membershipUser returns the user of the membership id (which never
// changes), read before any lock so the user's lock can be taken first.
func (s *DB) membershipUser(ctx context.Context, id string) (string, error) {
	var userID string
	if err := s.sql.QueryRowContext(ctx, "SELECT user_id FROM org_memberships WHERE id = ?", id).Scan(&userID); err != nil {
		return "", classify(err)
	}
	return userID, nil
}

// lockedMembership reads the live membership id inside tx with a locking
// read: ErrNotFound when there is none.
func (s *DB) lockedMembership(ctx context.Context, tx *sql.Tx, id string) (Membership, error) {
	return scanMembership(tx.QueryRowContext(ctx,
		"SELECT "+membershipCols+" FROM org_memberships m WHERE m.id = ? AND "+liveMembership("m")+s.forUpdate(), id))
}

// RemoveMembership deletes the membership (or invitation) id. Removing
// an accepted membership also revokes the user's tokens minted before
// (see MintInputs), in the same transaction, under the user's lock; the
// revocation is returned (nil for an invitation) so the caller can tell
// the gateways at once. The invitations the user made in the
// organization are withdrawn, and all of its pending invitations when no
// accepted member with the manage flag is left (withdrawInvitations). It fails with ErrNotFound when
// there is no such membership or its organization or user is deleted.
func (s *DB) RemoveMembership(ctx context.Context, id string, at Revoking) (*Revocation, error) {
	userID, err := s.membershipUser(ctx, id)
	if err != nil {
		return nil, err
	}
	var out *Revocation
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		floor, err := s.lockUserFloor(ctx, tx, userID)
		if err != nil {
			return err
		}
		m, err := s.lockedMembership(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := affectedOne(tx.ExecContext(ctx, "DELETE FROM org_memberships WHERE id = ?", id)); err != nil {
			return err
		}
		if m.Pending {
			return nil
		}
		rev, err := s.lowerTokens(ctx, tx, userID, floor, at)
		if err != nil {
			return err
		}
		out = &rev
		return withdrawInvitations(ctx, tx, m.OrganizationID, userID, m.Manage)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetMembershipFlags sets the flags of the membership id and returns it
// as it was before. When that clears a flag of an accepted membership,
// the user's tokens minted before are revoked in the same transaction,
// under the user's lock, and the revocation is returned (nil otherwise).
// Clearing the manage flag withdraws the invitations the user made in
// the organization, and its last accepted manage flag all of its pending
// invitations. It fails with ErrNotFound when there is no
// such membership or its organization or user is deleted.
func (s *DB) SetMembershipFlags(ctx context.Context, id string, flags MembershipFlags, at Revoking) (Membership, *Revocation, error) {
	read, edit, manage, del := flags.Read, flags.Edit, flags.Manage, flags.Delete
	userID, err := s.membershipUser(ctx, id)
	if err != nil {
		return Membership{}, nil, err
	}
	var (
		before Membership
		out    *Revocation
	)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		floor, err := s.lockUserFloor(ctx, tx, userID)
		if err != nil {
			return err
		}
		if before, err = s.lockedMembership(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			"UPDATE org_memberships SET can_read = ?, can_edit = ?, can_manage = ?, can_delete = ? WHERE id = ?",
			boolInt(read), boolInt(edit), boolInt(manage), boolInt(del), id); err != nil {
			return err
		}
		if before.Pending {
			return nil
		}
		lowered := (before.Read && !read) || (before.Edit && !edit) || (before.Manage && !manage) || (before.Delete && !del)
		if !lowered {
			return nil
		}
		rev, err := s.lowerTokens(ctx, tx, userID, floor, at)
		if err != nil {
			return err
		}
		out = &rev
		if before.Manage && !manage {
			return withdrawInvitations(ctx, tx, before.OrganizationID, userID, true)
		}
		return nil
	})
	if err != nil {
		return Membership{}, nil, err
	}
	return before, out, nil
}

// withdrawInvitations deletes the pending invitations of the
// organization that inviter made (an invitation stands while its inviter
// is a member who manages the organization) and, when lostManager and no
// accepted member with the manage flag is left, every pending invitation
// of the organization (nobody is left to stand behind them, whoever made
// them, invitations from before the inviter was recorded included).
func withdrawInvitations(ctx context.Context, tx *sql.Tx, orgID, inviter string, lostManager bool) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM org_memberships WHERE organization_id = ? AND pending = 1 AND invited_by = ?",
		orgID, inviter); err != nil {
		return err
	}
	if !lostManager {
		return nil
	}
	var managers int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM org_memberships m WHERE m.organization_id = ? AND m.pending = 0 AND "+
		"m.can_manage = 1 AND "+liveUser("m"), orgID).Scan(&managers); err != nil {
		return err
	}
	if managers > 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, "DELETE FROM org_memberships WHERE organization_id = ? AND pending = 1", orgID)
	return err
}

// DeleteOrganizationRevoking is DeleteOrganization that also revokes, in
// the same transaction, the tokens of every accepted member (each under
// their lock, taken in user ID order), and returns those revocations. It
// fails as DeleteOrganization does.
func (s *DB) DeleteOrganizationRevoking(ctx context.Context, id string, at Revoking) ([]Revocation, error) {
	deletedMs := at.AtMs
	if err := requireMs("deletedMs", deletedMs); err != nil {
		return nil, err
	}
	// The members are read first without locks (a user's lock comes
	// before membership rows, as in the membership writes), then locked
	// in order; a member accepted in between is caught by the second
	// read, after the deletion, and locked then.
	members, err := s.acceptedMembers(ctx, s.sql, id, "")
	if err != nil {
		return nil, classify(err)
	}
	var revs []Revocation
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		revs = nil
		floors := map[string]int64{}
		for _, u := range members {
			f, err := s.lockUserFloor(ctx, tx, u)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			floors[u] = f
		}
		if err := affectedOne(tx.ExecContext(ctx,
			"UPDATE organizations SET deleted_ms = ? WHERE id = ? AND deleted_ms IS NULL", deletedMs, id)); err != nil {
			return err
		}
		again, err := s.acceptedMembers(ctx, tx, id, s.forUpdate())
		if err != nil {
			return err
		}
		for _, u := range again {
			if _, ok := floors[u]; ok {
				continue
			}
			f, err := s.lockUserFloor(ctx, tx, u)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			floors[u] = f
		}
		users := make([]string, 0, len(floors))
		for u := range floors {
			users = append(users, u)
		}
		sort.Strings(users)
		for _, u := range users {
			rev, err := s.lowerTokens(ctx, tx, u, floors[u], at)
			if err != nil {
				return err
			}
			revs = append(revs, rev)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return revs, nil
}

// acceptedMembers returns the users, not deleted, with an accepted
// membership of the organization, sorted.
func (s *DB) acceptedMembers(ctx context.Context, q querier, orgID, lock string) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT m.user_id FROM org_memberships m WHERE m.organization_id = ? AND m.pending = 0 AND "+
		liveUser("m")+" ORDER BY m.user_id"+lock, orgID)
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, u)
	}
	return out, closeRows(rows)
}
