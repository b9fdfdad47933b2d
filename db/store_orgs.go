package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// orgCols are the columns scanOrg reads, from organizations o.
const orgCols = "o.id, o.name, o.created_ms, o.require_second_factor"

// scanOrg reads orgCols.
func scanOrg(sc scanner) (Organization, error) {
	var o Organization
	err := sc.Scan(&o.ID, &o.Name, &o.CreatedMs, &o.RequireSecondFactor)
	return o, err
}

// CreateOrganization writes the organization and its creator's
// membership, with all four flags, in one transaction. creator needs its
// ID and UserID; its OrganizationID and flags are set here, and its
// CreatedMs defaults to the organization's. Nothing is written when
// either insert fails: ErrDuplicate for an ID already taken, ErrInvalid
// for a missing ID or time or a name too long or not UTF-8, ErrForeignKey
// for a missing or deleted creator.
func (s *DB) CreateOrganization(ctx context.Context, org Organization, creator Membership) error {
	creator, err := prepareOrganization(org, creator)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return insertOrganization(ctx, tx, org, creator) })
}

// prepareOrganization checks the organization and returns its creator's
// membership as CreateOrganization writes it.
func prepareOrganization(org Organization, creator Membership) (Membership, error) {
	creator.OrganizationID = org.ID
	creator.Read, creator.Edit, creator.Manage, creator.Delete = true, true, true, true
	if creator.CreatedMs == 0 {
		creator.CreatedMs = org.CreatedMs
	}
	return creator, errors.Join(requireID("organization ID", org.ID), requireMs("organization CreatedMs", org.CreatedMs),
		checkText("organization name", org.Name), requireID("membership ID", creator.ID),
		requireID("membership UserID", creator.UserID))
}

// insertOrganization writes a prepared organization and its creator's
// membership.
func insertOrganization(ctx context.Context, tx *sql.Tx, org Organization, creator Membership) error {
	if _, err := tx.ExecContext(ctx, "INSERT INTO organizations (id, name, created_ms, created_by) VALUES (?, ?, ?, ?)",
		org.ID, org.Name, org.CreatedMs, creator.UserID); err != nil {
		return err
	}
	return insertMembership(ctx, tx, creator)
}

// GetOrganization returns the organization id. It fails with ErrNotFound
// when there is none, and ErrDeleted when it was deleted.
func (s *DB) GetOrganization(ctx context.Context, id string) (Organization, error) {
	var deleted sql.NullInt64
	var o Organization
	err := s.sql.QueryRowContext(ctx, "SELECT "+orgCols+", o.deleted_ms FROM organizations o WHERE o.id = ?", id).
		Scan(&o.ID, &o.Name, &o.CreatedMs, &o.RequireSecondFactor, &deleted)
	switch {
	case err != nil:
		return Organization{}, classify(err)
	case deleted.Valid:
		return Organization{}, ErrDeleted
	}
	return o, nil
}

// ListOrganizations returns a page of the organizations that are not
// deleted, in creation (ID) order. It fails with ErrInvalid for a bad
// page size or cursor.
func (s *DB) ListOrganizations(ctx context.Context, p Page) ([]Organization, PageInfo, error) {
	return listPage(ctx, s.sql, p, keyset{
		cols:  orgCols,
		from:  "organizations o",
		where: "o.deleted_ms IS NULL",
		id:    "o.id",
	}, scanOrgRow)
}

// ListUserOrganizations returns a page of the organizations, not
// deleted, that the user is a member of, in creation (ID) order. It fails
// with ErrNotFound for a missing or deleted user, and ErrInvalid for a
// bad page size or cursor. Pending invitations do not count: the user is
// not a member until they accept.
func (s *DB) ListUserOrganizations(ctx context.Context, userID string, p Page) ([]Organization, PageInfo, error) {
	if err := p.validate(); err != nil {
		return nil, PageInfo{}, err
	}
	if err := s.requireLive(ctx, "users", userID); err != nil {
		return nil, PageInfo{}, err
	}
	return listPage(ctx, s.sql, p, keyset{
		cols:  orgCols,
		from:  "organizations o JOIN org_memberships m ON m.organization_id = o.id",
		where: "m.user_id = ? AND m.pending = 0 AND o.deleted_ms IS NULL",
		args:  []any{userID},
		id:    "o.id",
	}, scanOrgRow)
}

// scanOrgRow is scanOrg for listPage.
func scanOrgRow(rows *sql.Rows) (Organization, string, error) {
	o, err := scanOrg(rows)
	return o, o.ID, err
}

// requireLive fails with ErrNotFound when table (users, organizations or
// clients) has no row id, and ErrDeleted when the row was deleted.
func (s *DB) requireLive(ctx context.Context, table, id string) error {
	var deleted sql.NullInt64
	if err := s.sql.QueryRowContext(ctx, "SELECT deleted_ms FROM "+table+" WHERE id = ?", id).Scan(&deleted); err != nil {
		return classify(err)
	}
	if deleted.Valid {
		return ErrDeleted
	}
	return nil
}

// UpdateOrganization renames the organization id. It fails with
// ErrNotFound for a missing or deleted organization, and ErrInvalid for a
// name too long or not UTF-8. (The organizations table has no updated_ms
// column.)
func (s *DB) UpdateOrganization(ctx context.Context, id, name string) error {
	if err := checkText("organization name", name); err != nil {
		return err
	}
	return affectedOne(s.sql.ExecContext(ctx,
		"UPDATE organizations SET name = ? WHERE id = ? AND deleted_ms IS NULL", name, id))
}

// DeleteOrganization soft-deletes the organization id: it sets
// deleted_ms, after which the organization, its clients and its
// memberships are hidden. It fails with ErrNotFound for a missing or
// already deleted organization, and ErrInvalid for an unset time.
func (s *DB) DeleteOrganization(ctx context.Context, id string, deletedMs int64) error {
	if err := requireMs("deletedMs", deletedMs); err != nil {
		return err
	}
	return affectedOne(s.sql.ExecContext(ctx,
		"UPDATE organizations SET deleted_ms = ? WHERE id = ? AND deleted_ms IS NULL", deletedMs, id))
}

// membershipCols are the columns scanMembership reads, from
// org_memberships m.
const membershipCols = "m.id, m.organization_id, m.user_id, m.can_read, m.can_edit, m.can_manage, m.can_delete, m.created_ms, m.pending"

// scanMembership reads membershipCols.
func scanMembership(sc scanner) (Membership, error) {
	var m Membership
	err := sc.Scan(&m.ID, &m.OrganizationID, &m.UserID, &m.Read, &m.Edit, &m.Manage, &m.Delete, &m.CreatedMs, &m.Pending)
	return m, err
}

// liveMembership is the condition "the organization and the user of the
// membership in table are not deleted".
func liveMembership(table string) string {
	return "EXISTS (SELECT 1 FROM organizations lo WHERE lo.id = " + table + ".organization_id AND lo.deleted_ms IS NULL) AND " +
		liveUser(table)
}

// insertMembership inserts m for a live organization and user:
// ErrForeignKey otherwise.
func insertMembership(ctx context.Context, q querier, m Membership) error {
	res, err := q.ExecContext(ctx,
		"INSERT INTO org_memberships (id, organization_id, user_id, can_read, can_edit, can_manage, can_delete, created_ms, pending, invited_by) "+
			"SELECT ?, o.id, u.id, ?, ?, ?, ?, ?, ?, ? FROM organizations o, users u "+
			"WHERE o.id = ? AND o.deleted_ms IS NULL AND u.id = ? AND u.deleted_ms IS NULL",
		m.ID, boolInt(m.Read), boolInt(m.Edit), boolInt(m.Manage), boolInt(m.Delete), m.CreatedMs, boolInt(m.Pending),
		nullString(m.InvitedBy), m.OrganizationID, m.UserID)
	return insertedOne(res, err, fmt.Sprintf("organization %s or user %s", m.OrganizationID, m.UserID))
}

// UpsertMembership makes the user m.UserID a member of the organization
// m.OrganizationID with m's flags: it inserts m when the user is not a
// member yet, and otherwise sets the flags of the existing membership,
// which keeps its ID and CreatedMs. It returns the membership as stored.
// m needs its ID, OrganizationID, UserID and CreatedMs. It fails with
// ErrForeignKey for a missing or deleted organization or user,
// ErrDuplicate when m.ID is the ID of another pair's membership, and
// ErrInvalid for a missing ID or time.
func (s *DB) UpsertMembership(ctx context.Context, m Membership) (Membership, error) {
	if err := errors.Join(requireID("membership ID", m.ID), requireID("membership OrganizationID", m.OrganizationID),
		requireID("membership UserID", m.UserID), requireMs("membership CreatedMs", m.CreatedMs)); err != nil {
		return Membership{}, err
	}
	upsert := " ON DUPLICATE KEY UPDATE can_read = VALUES(can_read), can_edit = VALUES(can_edit), " +
		"can_manage = VALUES(can_manage), can_delete = VALUES(can_delete)"
	if s.dialect == DialectSQLite {
		upsert = " ON CONFLICT (organization_id, user_id) DO UPDATE SET can_read = excluded.can_read, " +
			"can_edit = excluded.can_edit, can_manage = excluded.can_manage, can_delete = excluded.can_delete"
	}
	var stored Membership
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// MySQL's ON DUPLICATE KEY UPDATE fires on any unique key, the
		// primary key included: refuse an ID that names another pair's
		// membership rather than overwrite that one's flags.
		var org, user string
		err := tx.QueryRowContext(ctx, "SELECT organization_id, user_id FROM org_memberships WHERE id = ?", m.ID).Scan(&org, &user)
		switch {
		case err == nil && (org != m.OrganizationID || user != m.UserID):
			return fmt.Errorf("%w: membership ID %s belongs to another organization or user", ErrDuplicate, m.ID)
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		res, err := tx.ExecContext(ctx,
			"INSERT INTO org_memberships (id, organization_id, user_id, can_read, can_edit, can_manage, can_delete, created_ms) "+
				"SELECT ?, o.id, u.id, ?, ?, ?, ?, ? FROM organizations o, users u "+
				"WHERE o.id = ? AND o.deleted_ms IS NULL AND u.id = ? AND u.deleted_ms IS NULL"+upsert,
			m.ID, boolInt(m.Read), boolInt(m.Edit), boolInt(m.Manage), boolInt(m.Delete), m.CreatedMs, m.OrganizationID, m.UserID)
		if err := insertedOne(res, err, fmt.Sprintf("organization %s or user %s", m.OrganizationID, m.UserID)); err != nil {
			return err
		}
		// On MySQL a plain SELECT reads the transaction's snapshot, taken
		// by the SELECT above: when a concurrent upsert inserted the pair
		// since, and this one set the same flags (no change, so no new
		// row version of this transaction's own), the snapshot would not
		// show the row. A locking read sees the latest committed version.
		// SQLite has one writer at a time and no FOR UPDATE.
		lock := ""
		if s.dialect == DialectMySQL {
			lock = " FOR UPDATE"
		}
		stored, err = scanMembership(tx.QueryRowContext(ctx,
			"SELECT "+membershipCols+" FROM org_memberships m WHERE m.organization_id = ? AND m.user_id = ?"+lock,
			m.OrganizationID, m.UserID))
		return err
	})
	if err != nil {
		return Membership{}, err
	}
	return stored, nil
}

// GetMembership returns the membership id. It fails with ErrNotFound when
// there is none or when its organization or user is deleted.
func (s *DB) GetMembership(ctx context.Context, id string) (Membership, error) {
	m, err := scanMembership(s.sql.QueryRowContext(ctx,
		"SELECT "+membershipCols+" FROM org_memberships m WHERE m.id = ? AND "+liveMembership("m"), id))
	if err != nil {
		return Membership{}, classify(err)
	}
	return m, nil
}

// GetUserMembership returns the user's membership of the organization.
// It fails with ErrNotFound when the user is not a member, or when the
// organization or the user is deleted.
func (s *DB) GetUserMembership(ctx context.Context, orgID, userID string) (Membership, error) {
	m, err := scanMembership(s.sql.QueryRowContext(ctx,
		"SELECT "+membershipCols+" FROM org_memberships m WHERE m.organization_id = ? AND m.user_id = ? AND "+liveMembership("m"),
		orgID, userID))
	if err != nil {
		return Membership{}, classify(err)
	}
	return m, nil
}

// ListUserMemberships returns the user's memberships of organizations
// that are not deleted, in creation (ID) order, pending invitations
// included (Pending set). It fails with ErrNotFound for a missing or
// deleted user.
func (s *DB) ListUserMemberships(ctx context.Context, userID string) ([]Membership, error) {
	return listOwned(ctx, s.sql,
		"SELECT m.id, m.organization_id, m.user_id, m.can_read, m.can_edit, m.can_manage, m.can_delete, m.created_ms, m.pending "+
			"FROM users u LEFT JOIN org_memberships m ON m.user_id = u.id AND "+
			"EXISTS (SELECT 1 FROM organizations lo WHERE lo.id = m.organization_id AND lo.deleted_ms IS NULL) "+
			"WHERE u.id = ? AND u.deleted_ms IS NULL ORDER BY m.id",
		[]any{userID}, func(rows *sql.Rows) (Membership, bool, error) {
			var (
				id, org, user           sql.NullString
				read, edit, manage, del sql.NullBool
				pending                 sql.NullBool
				created                 sql.NullInt64
			)
			if err := rows.Scan(&id, &org, &user, &read, &edit, &manage, &del, &created, &pending); err != nil {
				return Membership{}, false, err
			}
			return Membership{
				ID: id.String, OrganizationID: org.String, UserID: user.String,
				Read: read.Bool, Edit: edit.Bool, Manage: manage.Bool, Delete: del.Bool, CreatedMs: created.Int64,
				Pending: pending.Bool,
			}, id.Valid, nil
		})
}

// ListOrgMemberships returns a page of the organization's memberships of
// users that are not deleted, in creation (ID) order. It fails with
// ErrNotFound for a missing organization, ErrDeleted for a deleted one,
// and ErrInvalid for a bad page size or cursor.
func (s *DB) ListOrgMemberships(ctx context.Context, orgID string, p Page) ([]Membership, PageInfo, error) {
	if err := p.validate(); err != nil {
		return nil, PageInfo{}, err
	}
	if err := s.requireLive(ctx, "organizations", orgID); err != nil {
		return nil, PageInfo{}, err
	}
	return listPage(ctx, s.sql, p, keyset{
		cols:  membershipCols,
		from:  "org_memberships m",
		where: "m.organization_id = ? AND " + liveUser("m"),
		args:  []any{orgID},
		id:    "m.id",
	}, func(rows *sql.Rows) (Membership, string, error) {
		m, err := scanMembership(rows)
		return m, m.ID, err
	})
}

// UpdateMembershipFlags sets the flags of the membership id. It fails
// with ErrNotFound when there is none or when its organization or user
// is deleted.
func (s *DB) UpdateMembershipFlags(ctx context.Context, id string, flags MembershipFlags) error {
	read, edit, manage, del := flags.Read, flags.Edit, flags.Manage, flags.Delete
	return affectedOne(s.sql.ExecContext(ctx,
		"UPDATE org_memberships SET can_read = ?, can_edit = ?, can_manage = ?, can_delete = ? WHERE id = ? AND "+
			liveMembership("org_memberships"),
		boolInt(read), boolInt(edit), boolInt(manage), boolInt(del), id))
}

// DeleteMembership deletes the membership id. It fails with ErrNotFound
// when there is none or when its organization or user is deleted.
func (s *DB) DeleteMembership(ctx context.Context, id string) error {
	return affectedOne(s.sql.ExecContext(ctx,
		"DELETE FROM org_memberships WHERE id = ? AND "+liveMembership("org_memberships"), id))
}

// MaxInvitationsPerInviter bounds the invitations one inviter
// (Membership.InvitedBy) may have pending for the same user, so that one
// account cannot fill a user's invitation bound alone.
const MaxInvitationsPerInviter = 3

// ErrInviterLimit means the inviter already has MaxInvitationsPerInviter
// invitations pending for the user.
var ErrInviterLimit = errors.New("db: the inviter has too many pending invitations for the user")

// ErrMembershipLimit means the user already has as many memberships (or
// pending invitations) as the limit allows: the new one is refused when
// it is made, so nothing later (a login) has to fail for it.
var ErrMembershipLimit = errors.New("db: the user has too many memberships")

// lockUserMemberships takes, inside tx, the lock that serializes the
// membership writes of one user (the user's row, FOR UPDATE on MySQL;
// SQLite has one writer at a time) and returns how many memberships
// with the given pending state the user has in organizations that are
// not deleted. It fails with ErrForeignKey for a missing or deleted
// user.
func (s *DB) lockUserMemberships(ctx context.Context, tx *sql.Tx, userID string, pending bool) (int, error) {
	var deleted sql.NullInt64
	err := tx.QueryRowContext(ctx, "SELECT deleted_ms FROM users WHERE id = ?"+s.forUpdate(), userID).Scan(&deleted)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && deleted.Valid):
		return 0, fmt.Errorf("%w: user %s", ErrForeignKey, userID)
	case err != nil:
		return 0, err
	}
	var n int
	err = tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM org_memberships m WHERE m.user_id = ? AND m.pending = ? AND "+
		"EXISTS (SELECT 1 FROM organizations lo WHERE lo.id = m.organization_id AND lo.deleted_ms IS NULL)",
		userID, boolInt(pending)).Scan(&n)
	return n, err
}

// AddMembership inserts m, a new membership (or, with m.Pending, an
// invitation), when the user has fewer than limit of that kind; limit 0
// means no limit. The count and the insert are one transaction holding
// the user's lock, so concurrent adds cannot pass the limit. An invitation
// with InvitedBy also counts against MaxInvitationsPerInviter. It fails
// with ErrMembershipLimit at the limit, ErrInviterLimit at the inviter's, ErrDuplicate when the user already has
// a membership or invitation of the organization, ErrForeignKey for a
// missing or deleted organization or user, and ErrInvalid for a missing
// ID or time or a negative limit.
func (s *DB) AddMembership(ctx context.Context, m Membership, limit int) error {
	if err := errors.Join(requireID("membership ID", m.ID), requireID("membership OrganizationID", m.OrganizationID),
		requireID("membership UserID", m.UserID), requireMs("membership CreatedMs", m.CreatedMs)); err != nil {
		return err
	}
	if limit < 0 {
		return fmt.Errorf("%w: negative membership limit %d", ErrInvalid, limit)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.lockUserMemberships(ctx, tx, m.UserID, m.Pending)
		if err != nil {
			return err
		}
		if limit > 0 && n >= limit {
			return fmt.Errorf("%w: %d of %d", ErrMembershipLimit, n, limit)
		}
		if m.Pending && m.InvitedBy != "" {
			var mine int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM org_memberships m WHERE m.user_id = ? AND m.pending = 1 AND "+
				"m.invited_by = ? AND EXISTS (SELECT 1 FROM organizations lo WHERE lo.id = m.organization_id AND lo.deleted_ms IS NULL)",
				m.UserID, m.InvitedBy).Scan(&mine); err != nil {
				return err
			}
			if mine >= MaxInvitationsPerInviter {
				return fmt.Errorf("%w: %d of %d from %s", ErrInviterLimit, mine, MaxInvitationsPerInviter, m.InvitedBy)
			}
		}
		return insertMembership(ctx, tx, m)
	})
}

// CreateOrganizationWithin is CreateOrganization when the creator has
// fewer than limit memberships (0: no limit), counted and written in one
// transaction: ErrMembershipLimit otherwise.
func (s *DB) CreateOrganizationWithin(ctx context.Context, org Organization, creator Membership, limit int) error {
	return s.CreateOrganizationBounded(ctx, org, creator, limit, 0)
}

// ErrOrganizationLimit means the user already created as many standing
// organizations as allowed.
var ErrOrganizationLimit = errors.New("db: the user created too many organizations")

// CreateOrganizationBounded is CreateOrganizationWithin when, also, the
// creator created fewer than created standing (not deleted)
// organizations (0: no limit), whether or not still a member of them:
// ErrOrganizationLimit otherwise. Both counts and the insert are one
// transaction holding the creator's lock, so concurrent creations cannot
// pass either bound.
func (s *DB) CreateOrganizationBounded(ctx context.Context, org Organization, creator Membership, memberships, created int) error {
	creator, err := prepareOrganization(org, creator)
	if err != nil {
		return err
	}
	if memberships < 0 || created < 0 {
		return fmt.Errorf("%w: negative limit (memberships %d, organizations %d)", ErrInvalid, memberships, created)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.lockUserMemberships(ctx, tx, creator.UserID, false)
		if err != nil {
			return err
		}
		if memberships > 0 && n >= memberships {
			return fmt.Errorf("%w: %d of %d", ErrMembershipLimit, n, memberships)
		}
		if created > 0 {
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM organizations WHERE created_by = ? AND deleted_ms IS NULL",
				creator.UserID).Scan(&n); err != nil {
				return err
			}
			if n >= created {
				return fmt.Errorf("%w: %d of %d", ErrOrganizationLimit, n, created)
			}
		}
		return insertOrganization(ctx, tx, org, creator)
	})
}

// AcceptMembership turns the pending invitation id into a membership
// when its user has fewer than limit memberships (0: no limit), in one
// transaction. Accepting a membership that is not pending changes
// nothing. It fails with ErrNotFound when there is no such membership or
// its organization or user is deleted, ErrMembershipLimit at the limit,
// and ErrInvalid for a negative limit.
func (s *DB) AcceptMembership(ctx context.Context, id string, limit int) error {
	if limit < 0 {
		return fmt.Errorf("%w: negative membership limit %d", ErrInvalid, limit)
	}
	// The user's lock first, as every membership write and every mint
	// takes it (user, then membership rows): the user of a membership
	// never changes, so it is read before the transaction.
	userID, err := s.membershipUser(ctx, id)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.lockUserMemberships(ctx, tx, userID, false)
		if errors.Is(err, ErrForeignKey) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		m, err := s.lockedMembership(ctx, tx, id)
		if err != nil {
			return err
		}
		if !m.Pending {
			return nil
		}
		if limit > 0 && n >= limit {
			return fmt.Errorf("%w: %d of %d", ErrMembershipLimit, n, limit)
		}
		return affectedOne(tx.ExecContext(ctx, "UPDATE org_memberships SET pending = 0 WHERE id = ? AND pending = 1", id))
	})
}
