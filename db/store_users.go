package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// User roles (the user_roles CHECK).
const (
	RoleSysadmin = "sysadmin"
	RoleEmployee = "employee"
	RoleUser     = "user"
)

// MaxEmailLength is the longest normalized address, in characters: the
// width of emails.email.
const MaxEmailLength = 320

// NewUser is what CreateUser writes in one transaction: the user, its
// first email address, its roles and, optionally, a membership.
type NewUser struct {
	// User is the user. Required: ID, Name, CreatedMs. Optional:
	// PasswordHash ("" for none), BannedMs, UpdatedMs (default
	// CreatedMs). User.Roles, TOTPEnabled and DeletedMs are ignored.
	User
	// Email is the user's address. Required: ID, and Email normalized by
	// NormalizeEmail. Optional: VerifiedMs, CreatedMs (default the
	// user's). UserID is set to the user's ID.
	Email Email
	// Roles are the user's roles. Optional. Default: RoleUser alone.
	// Repeats are dropped.
	Roles []string
	// Membership, when not nil, makes the user a member of an
	// organization. Required: ID, OrganizationID. Optional: the flags,
	// CreatedMs (default the user's). UserID is set to the user's ID.
	Membership *Membership
}

// NormalizeEmail returns the stored form of an email address: s trimmed
// of surrounding white space, with its domain lower-cased (the local part
// is kept as given: it may be case-sensitive). It fails with an
// *InvalidError (ErrInvalid, Field "email") saying why when the address
// is not valid UTF-8, does not hold exactly one "@" with text on both
// sides, contains white space or a control character, or is longer than
// MaxEmailLength characters once normalized. It does not check that the
// domain exists.
func NormalizeEmail(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalid("email", "not valid UTF-8")
	}
	s = strings.TrimFunc(s, unicode.IsSpace)
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "", invalid("email", "contains white space or a control character")
	}
	local, domain, ok := strings.Cut(s, "@")
	switch {
	case !ok:
		return "", invalid("email", "no @")
	case strings.Contains(domain, "@"):
		return "", invalid("email", "more than one @")
	case local == "":
		return "", invalid("email", "nothing before the @")
	case domain == "":
		return "", invalid("email", "nothing after the @")
	}
	s = local + "@" + strings.ToLower(domain)
	if n := utf8.RuneCountInString(s); n > MaxEmailLength {
		return "", invalid("email", "%d characters, more than %d", n, MaxEmailLength)
	}
	return s, nil
}

// EmailKey is the key an address is looked up and compared by: the
// normalized address with its ASCII letters lower-cased, so
// "User@example.com" and "user@example.com" are one identity while each
// row keeps what the user typed for display. (The service takes only
// ASCII addresses; other letters are compared as stored.) The schema's
// migration computes the same key for the rows it finds.
func EmailKey(normalizedEmail string) string {
	b := []byte(normalizedEmail)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// checkEmail checks that e.Email is already normalized.
func checkEmail(address string) error {
	n, err := NormalizeEmail(address)
	if err != nil {
		return err
	}
	if n != address {
		return invalid("email", "not normalized (want %q)", n)
	}
	return nil
}

// userCols are the columns scanUser reads, from users u.
const userCols = "u.id, u.name, u.password_hash, u.banned_ms, u.deleted_ms, u.created_ms, u.updated_ms, " +
	"EXISTS (SELECT 1 FROM totp_secrets t WHERE t.user_id = u.id AND t.confirmed_ms IS NOT NULL)"

// scanUser reads userCols, then extra.
func scanUser(sc scanner, extra ...any) (User, error) {
	var (
		u               User
		hash            sql.NullString
		banned, deleted sql.NullInt64
	)
	dest := append([]any{&u.ID, &u.Name, &hash, &banned, &deleted, &u.CreatedMs, &u.UpdatedMs, &u.TOTPEnabled}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return User{}, err
	}
	u.PasswordHash, u.BannedMs, u.DeletedMs = hash.String, banned.Int64, deleted.Int64
	return u, nil
}

// emailCols are the columns scanEmail reads, from emails e.
const emailCols = "e.id, e.user_id, e.email, e.verified_ms, e.created_ms"

// scanEmail reads emailCols.
func scanEmail(sc scanner) (Email, error) {
	var (
		e        Email
		verified sql.NullInt64
	)
	if err := sc.Scan(&e.ID, &e.UserID, &e.Email, &verified, &e.CreatedMs); err != nil {
		return Email{}, err
	}
	e.VerifiedMs = verified.Int64
	return e, nil
}

// liveUser is the condition "the user of the row in table is not
// deleted", for statements on emails, user_roles and org_memberships.
func liveUser(table string) string {
	return "EXISTS (SELECT 1 FROM users lu WHERE lu.id = " + table + ".user_id AND lu.deleted_ms IS NULL)"
}

// CreateUser writes nu's user, email address, roles and membership in one
// transaction, and returns the user as stored (with its roles). Nothing
// is written when any part fails: ErrDuplicate for an email address (or
// an ID) already taken, ErrInvalid for a missing ID or time, an address
// not normalized, an unknown role or a value too long, ErrForeignKey for
// a membership of a missing or deleted organization.
func (s *DB) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	u, email, m, err := nu.prepare()
	if err != nil {
		return User{}, err
	}
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return insertUser(ctx, tx, u, email, m) }); err != nil {
		return User{}, err
	}
	return u, nil
}

// prepare fills nu's defaults and checks it: the user, its email and its
// membership (nil when none) as CreateUser writes them.
func (nu NewUser) prepare() (User, Email, *Membership, error) {
	u := nu.User
	u.Roles = normalizeRoles(nu.Roles, RoleUser)
	u.TOTPEnabled, u.DeletedMs = false, 0
	if u.UpdatedMs == 0 {
		u.UpdatedMs = u.CreatedMs
	}
	email := nu.Email
	email.UserID = u.ID
	if email.CreatedMs == 0 {
		email.CreatedMs = u.CreatedMs
	}
	if err := errors.Join(requireID("user ID", u.ID), requireMs("user CreatedMs", u.CreatedMs),
		checkText("user name", u.Name), checkText("password hash", u.PasswordHash),
		requireID("email ID", email.ID), checkEmail(email.Email)); err != nil {
		return User{}, Email{}, nil, err
	}
	if nu.Membership == nil {
		return u, email, nil, nil
	}
	m := *nu.Membership
	m.UserID = u.ID
	if m.CreatedMs == 0 {
		m.CreatedMs = u.CreatedMs
	}
	if err := errors.Join(requireID("membership ID", m.ID), requireID("membership OrganizationID", m.OrganizationID)); err != nil {
		return User{}, Email{}, nil, err
	}
	return u, email, &m, nil
}

// insertUser writes a prepared user, its email, roles and membership.
func insertUser(ctx context.Context, tx *sql.Tx, u User, email Email, m *Membership) error {
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO users (id, name, password_hash, banned_ms, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?)",
		u.ID, u.Name, nullString(u.PasswordHash), nullMs(u.BannedMs), u.CreatedMs, u.UpdatedMs); err != nil {
		return err
	}
	if err := insertEmail(ctx, tx, email); err != nil {
		return err
	}
	for _, role := range u.Roles {
		if _, err := tx.ExecContext(ctx, "INSERT INTO user_roles (user_id, role) VALUES (?, ?)", u.ID, role); err != nil {
			return err
		}
	}
	if m != nil {
		return insertMembership(ctx, tx, *m)
	}
	return nil
}

// insertEmail inserts e for a live user: ErrForeignKey otherwise. Its
// key may be held, unverified, by other users (until one proves the
// mailbox); it is ErrDuplicate when another user holds it verified, or
// the user holds it already.
func insertEmail(ctx context.Context, q querier, e Email) error {
	key := EmailKey(e.Email)
	var taken int
	switch err := q.QueryRowContext(ctx, "SELECT 1 FROM emails WHERE verified_key = ?", key).Scan(&taken); {
	case err == nil:
		return ErrDuplicate
	case !errors.Is(err, sql.ErrNoRows):
		return classify(err)
	}
	var verifiedKey any
	if e.VerifiedMs != 0 {
		verifiedKey = key
	}
	res, err := q.ExecContext(ctx,
		"INSERT INTO emails (id, user_id, email, email_key, verified_key, verified_ms, created_ms) "+
			"SELECT ?, u.id, ?, ?, ?, ?, ? FROM users u WHERE u.id = ? AND u.deleted_ms IS NULL",
		e.ID, e.Email, key, verifiedKey, nullMs(e.VerifiedMs), e.CreatedMs, e.UserID)
	return insertedOne(res, err, "user "+e.UserID)
}

// GetUser returns the user id with its roles and whether TOTP is enabled.
// It fails with ErrNotFound when there is no such user, and ErrDeleted
// when it was deleted.
func (s *DB) GetUser(ctx context.Context, id string) (User, error) {
	u, _, err := s.getUser(ctx, false, id)
	return u, err
}

// GetUserByEmail returns the user that owns the address (as NormalizeEmail
// returns it, in any case) and the address's record: the one user who
// holds it verified. An unverified address opens nothing: it fails with
// ErrNotFound when no live user holds the address verified.
func (s *DB) GetUserByEmail(ctx context.Context, normalizedEmail string) (User, Email, error) {
	return s.getUser(ctx, true, EmailKey(normalizedEmail))
}

// GetUserByUnprovenEmail returns, for an address nobody verified, the
// account a first proof of its mailbox (a login code) may open: the
// oldest live user holding it unverified who has no verified address at
// all (a registration whose address was never verified). A user with a
// verified address proved another mailbox; an unverified address added
// to their account never opens it. It fails with ErrNotFound when there
// is none, or when a user holds the address verified.
func (s *DB) GetUserByUnprovenEmail(ctx context.Context, normalizedEmail string) (User, Email, error) {
	key := EmailKey(normalizedEmail)
	var id string
	err := s.sql.QueryRowContext(ctx,
		"SELECT u.id FROM emails e JOIN users u ON u.id = e.user_id "+
			"WHERE e.email_key = ? AND e.verified_ms IS NULL AND u.deleted_ms IS NULL "+
			"AND NOT EXISTS (SELECT 1 FROM emails v WHERE v.verified_key = ?) "+
			"AND NOT EXISTS (SELECT 1 FROM emails o WHERE o.user_id = u.id AND o.verified_ms IS NOT NULL) "+
			"ORDER BY u.created_ms, u.id LIMIT 1", key, key).Scan(&id)
	if err != nil {
		return User{}, Email{}, classify(err)
	}
	u, err := s.GetUser(ctx, id)
	if err != nil {
		return User{}, Email{}, err
	}
	e, err := scanEmail(s.sql.QueryRowContext(ctx, "SELECT "+emailCols+" FROM emails e WHERE e.user_id = ? AND e.email_key = ?", id, key))
	if err != nil {
		return User{}, Email{}, classify(err)
	}
	return u, e, nil
}

// getUser reads one user, with its roles, by ID or by email address.
// UnprovenHolder is an account a first proof of an address's mailbox
// may open, with its row of the address.
type UnprovenHolder struct {
	User  User
	Email Email
}

// MaxUnprovenHolders bounds the accounts ListUnprovenHolders returns.
const MaxUnprovenHolders = 50

// ListUnprovenHolders returns, for an address nobody verified, every
// account GetUserByUnprovenEmail chooses from (live, holding it
// unverified, with no verified address at all), newest first, at most
// MaxUnprovenHolders of them. It is empty when a user holds the address
// verified.
func (s *DB) ListUnprovenHolders(ctx context.Context, normalizedEmail string) ([]UnprovenHolder, error) {
	key := EmailKey(normalizedEmail)
	rows, err := s.sql.QueryContext(ctx,
		"SELECT u.id, e.id FROM emails e JOIN users u ON u.id = e.user_id "+
			"WHERE e.email_key = ? AND e.verified_ms IS NULL AND u.deleted_ms IS NULL "+
			"AND NOT EXISTS (SELECT 1 FROM emails v WHERE v.verified_key = ?) "+
			"AND NOT EXISTS (SELECT 1 FROM emails o WHERE o.user_id = u.id AND o.verified_ms IS NOT NULL) "+
			"ORDER BY u.created_ms DESC, u.id DESC LIMIT ?", key, key, MaxUnprovenHolders)
	if err != nil {
		return nil, classify(err)
	}
	var ids [][2]string
	for rows.Next() {
		var id [2]string
		if err := rows.Scan(&id[0], &id[1]); err != nil {
			rows.Close()
			return nil, classify(err)
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, classify(err)
	}
	out := make([]UnprovenHolder, 0, len(ids))
	for _, id := range ids {
		u, err := s.GetUser(ctx, id[0])
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				continue // deleted meanwhile
			}
			return nil, err
		}
		e, err := s.GetEmail(ctx, id[0], id[1])
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				continue
			}
			return nil, err
		}
		out = append(out, UnprovenHolder{User: u, Email: e})
	}
	return out, nil
}

func (s *DB) getUser(ctx context.Context, byEmail bool, key string) (User, Email, error) {
	query := "SELECT " + userCols + ", r.role FROM users u LEFT JOIN user_roles r ON r.user_id = u.id WHERE u.id = ? ORDER BY r.role"
	if byEmail {
		query = "SELECT " + userCols + ", " + emailCols + ", r.role FROM emails e JOIN users u ON u.id = e.user_id " +
			"LEFT JOIN user_roles r ON r.user_id = u.id WHERE e.verified_key = ? ORDER BY r.role"
	}
	rows, err := s.sql.QueryContext(ctx, query, key)
	if err != nil {
		return User{}, Email{}, classify(err)
	}
	defer rows.Close()
	var (
		u     User
		e     Email
		found bool
	)
	for rows.Next() {
		var (
			role     sql.NullString
			verified sql.NullInt64
			row      User
			err      error
		)
		if byEmail {
			row, err = scanUser(rows, &e.ID, &e.UserID, &e.Email, &verified, &e.CreatedMs, &role)
			e.VerifiedMs = verified.Int64
		} else {
			row, err = scanUser(rows, &role)
		}
		if err != nil {
			return User{}, Email{}, classify(err)
		}
		if !found {
			u, found = row, true
			u.Roles = []string{}
		}
		if role.Valid {
			u.Roles = append(u.Roles, role.String)
		}
	}
	if err := rows.Err(); err != nil {
		return User{}, Email{}, classify(err)
	}
	switch {
	case !found:
		return User{}, Email{}, ErrNotFound
	case u.DeletedMs != 0:
		return User{}, Email{}, ErrDeleted
	}
	return u, e, nil
}

// ListUsers returns a page of the users that are not deleted, in creation
// (ID) order, with their roles and TOTP state. It fails with ErrInvalid
// for a bad page size or cursor.
func (s *DB) ListUsers(ctx context.Context, p Page) ([]User, PageInfo, error) {
	users, info, err := listPage(ctx, s.sql, p, keyset{
		cols:  userCols,
		from:  "users u",
		where: "u.deleted_ms IS NULL",
		id:    "u.id",
	}, func(rows *sql.Rows) (User, string, error) {
		u, err := scanUser(rows)
		return u, u.ID, err
	})
	if err != nil {
		return nil, PageInfo{}, err
	}
	if err := attachRoles(ctx, s.sql, "user_roles", "user_id", users,
		func(x *User) string { return x.ID }, func(x *User) *[]string { return &x.Roles }); err != nil {
		return nil, PageInfo{}, err
	}
	return users, info, nil
}

// updateUser runs "UPDATE users SET set WHERE id = ?" on a user that is
// not deleted: ErrNotFound otherwise.
func (s *DB) updateUser(ctx context.Context, id, set string, args ...any) error {
	return affectedOne(s.sql.ExecContext(ctx,
		"UPDATE users SET "+set+" WHERE id = ? AND deleted_ms IS NULL", append(args, id)...))
}

// UpdateUserName renames the user id. It fails with ErrNotFound for a
// missing or deleted user, and ErrInvalid for a name that is too long or
// not UTF-8, or an unset time.
func (s *DB) UpdateUserName(ctx context.Context, id, name string, updatedMs int64) error {
	if err := errors.Join(checkText("user name", name), requireMs("updatedMs", updatedMs)); err != nil {
		return err
	}
	return s.updateUser(ctx, id, "name = ?, updated_ms = ?", name, updatedMs)
}

// SetPasswordHash stores the user's password hash (a PHC string); ""
// removes the password. It fails with ErrNotFound for a missing or
// deleted user, and ErrInvalid for a hash that is too long or an unset
// time.
func (s *DB) SetPasswordHash(ctx context.Context, userID, hash string, updatedMs int64) error {
	if err := errors.Join(checkText("password hash", hash), requireMs("updatedMs", updatedMs)); err != nil {
		return err
	}
	return s.updateUser(ctx, userID, "password_hash = ?, updated_ms = ?", nullString(hash), updatedMs)
}

// BanUser marks the user banned since bannedMs (login refuses it). It
// fails with ErrNotFound for a missing or deleted user, and ErrInvalid
// for an unset time.
func (s *DB) BanUser(ctx context.Context, id string, bannedMs int64) error {
	if err := requireMs("bannedMs", bannedMs); err != nil {
		return err
	}
	return s.updateUser(ctx, id, "banned_ms = ?, updated_ms = ?", bannedMs, bannedMs)
}

// UnbanUser lifts a ban. It fails with ErrNotFound for a missing or
// deleted user, and ErrInvalid for an unset time.
func (s *DB) UnbanUser(ctx context.Context, id string, updatedMs int64) error {
	if err := requireMs("updatedMs", updatedMs); err != nil {
		return err
	}
	return s.updateUser(ctx, id, "banned_ms = NULL, updated_ms = ?", updatedMs)
}

// DeleteUser soft-deletes the user id: it sets deleted_ms, after which
// the user is hidden (GetUser returns ErrDeleted), and, in the same
// transaction, deletes the user's email addresses so that they can be
// registered again, and the external identities linked to the user.
// Roles, memberships and the TOTP secret stay, hidden.
// In the same transaction it invalidates the user's live sessions and
// appends a user revocation (not before at.AtMs, kept until
// at.ExpiresMs, which should be at least the longest token
// lifetime away), so the gateways refuse the user's tokens (the README's "The accounts service").
// It fails with ErrNotFound for a missing or already deleted user.
func (s *DB) DeleteUser(ctx context.Context, id string, at Revoking) error {
	deletedMs, revocationExpiresMs := at.AtMs, at.ExpiresMs
	if err := requireMs("deletedMs", deletedMs); err != nil {
		return err
	}
	if err := requireMs("revocationExpiresMs", revocationExpiresMs); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := affectedOne(tx.ExecContext(ctx,
			"UPDATE users SET deleted_ms = ?, updated_ms = ? WHERE id = ? AND deleted_ms IS NULL",
			deletedMs, deletedMs, id)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM emails WHERE user_id = ?", id); err != nil {
			return err
		}
		// Linked external identities go too: they may sign in again
		// (and link or sign up) as anyone else's.
		if _, err := tx.ExecContext(ctx, "DELETE FROM oidc_identities WHERE user_id = ?", id); err != nil {
			return err
		}
		// So do the apps the user let sign them in (their sessions end
		// below with the others).
		if _, err := tx.ExecContext(ctx, "DELETE FROM oidc_consents WHERE user_id = ?", id); err != nil {
			return err
		}
		_, err := s.invalidateUserSessions(ctx, tx, id, "user-deleted", at)
		return err
	})
}

// AddUserRole gives the user a role. It fails with ErrDuplicate when the
// user has it already, ErrInvalid for a role other than RoleSysadmin,
// RoleEmployee and RoleUser, and ErrForeignKey for a missing or deleted
// user.
func (s *DB) AddUserRole(ctx context.Context, userID, role string) error {
	res, err := s.sql.ExecContext(ctx,
		"INSERT INTO user_roles (user_id, role) SELECT u.id, ? FROM users u WHERE u.id = ? AND u.deleted_ms IS NULL",
		role, userID)
	return insertedOne(res, err, "user "+userID)
}

// RemoveUserRole takes a role from the user. It fails with ErrNotFound
// when the user (live) does not have it.
func (s *DB) RemoveUserRole(ctx context.Context, userID, role string) error {
	return affectedOne(s.sql.ExecContext(ctx,
		"DELETE FROM user_roles WHERE user_id = ? AND role = ? AND "+liveUser("user_roles"), userID, role))
}

// UserRoles returns the user's roles, sorted. It fails with ErrNotFound
// for a missing or deleted user.
func (s *DB) UserRoles(ctx context.Context, userID string) ([]string, error) {
	return listOwned(ctx, s.sql,
		"SELECT r.role FROM users u LEFT JOIN user_roles r ON r.user_id = u.id WHERE u.id = ? AND u.deleted_ms IS NULL ORDER BY r.role",
		[]any{userID}, scanRole)
}

// AddEmail adds an address to a user. e needs its ID, UserID, CreatedMs
// and Email as NormalizeEmail returns it. It fails with ErrDuplicate when
// the address (or the ID) is taken, ErrInvalid for an address that is not
// normalized or a missing ID or time, and ErrForeignKey for a missing or
// deleted user.
func (s *DB) AddEmail(ctx context.Context, e Email) error {
	if err := errors.Join(requireID("email ID", e.ID), requireMs("email CreatedMs", e.CreatedMs), checkEmail(e.Email)); err != nil {
		return err
	}
	return insertEmail(ctx, s.sql, e)
}

// GetEmail returns the address emailID of the user userID. It fails with
// ErrNotFound when there is none, when it belongs to another user, or
// when the user is deleted.
func (s *DB) GetEmail(ctx context.Context, userID, emailID string) (Email, error) {
	e, err := scanEmail(s.sql.QueryRowContext(ctx,
		"SELECT "+emailCols+" FROM emails e WHERE e.id = ? AND e.user_id = ? AND "+liveUser("e"), emailID, userID))
	if err != nil {
		return Email{}, classify(err)
	}
	return e, nil
}

// ListEmails returns the user's addresses in creation (ID) order. It
// fails with ErrNotFound for a missing or deleted user.
func (s *DB) ListEmails(ctx context.Context, userID string) ([]Email, error) {
	return listOwned(ctx, s.sql,
		"SELECT e.id, e.user_id, e.email, e.verified_ms, e.created_ms FROM users u LEFT JOIN emails e ON e.user_id = u.id "+
			"WHERE u.id = ? AND u.deleted_ms IS NULL ORDER BY e.id",
		[]any{userID}, func(rows *sql.Rows) (Email, bool, error) {
			var (
				id, user, email    sql.NullString
				verified, creation sql.NullInt64
			)
			if err := rows.Scan(&id, &user, &email, &verified, &creation); err != nil {
				return Email{}, false, err
			}
			return Email{ID: id.String, UserID: user.String, Email: email.String, VerifiedMs: verified.Int64, CreatedMs: creation.Int64}, id.Valid, nil
		})
}

// DeleteEmail deletes the address emailID of the user userID (and, by
// cascade, its verification codes), unless it is the user's only one. It
// fails with ErrNotFound when there is none, when it belongs to another
// user, or when the user is deleted, and ErrLastEmail when it is the
// user's only address. The check and the delete are one transaction that
// locks the user's addresses, so deletes run at once cannot remove the
// last two together.
func (s *DB) DeleteEmail(ctx context.Context, userID, emailID string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx,
			"SELECT id FROM emails WHERE user_id = ? AND "+liveUser("emails")+s.forUpdate(), userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		found, n := false, 0
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			found, n = found || id == emailID, n+1
		}
		if err := rows.Err(); err != nil {
			return err
		}
		switch {
		case !found:
			return ErrNotFound
		case n == 1:
			return ErrLastEmail
		}
		return affectedOne(tx.ExecContext(ctx, "DELETE FROM emails WHERE id = ? AND user_id = ?", emailID, userID))
	})
}

// MarkEmailVerified records that the address emailID was verified at
// verifiedMs: its owner proved the mailbox. An address verified before
// keeps its first time. In the same transaction the other users' holds
// on the address (unverified, so never proved) are deleted, with their
// codes: owning the mailbox wins over having typed the address first.
// It fails with ErrNotFound for a missing address or a deleted user,
// ErrDuplicate when another user verified the address first, and
// ErrInvalid for an unset time.
func (s *DB) MarkEmailVerified(ctx context.Context, emailID string, verifiedMs int64) error {
	if err := requireMs("verifiedMs", verifiedMs); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := markVerified(ctx, tx, emailID, verifiedMs)
		return err
	})
}

// markVerified is MarkEmailVerified inside the caller's transaction. It
// returns the address as it was before.
func markVerified(ctx context.Context, tx *sql.Tx, emailID string, verifiedMs int64) (Email, error) {
	var key string
	before, err := scanEmail(tx.QueryRowContext(ctx,
		"SELECT "+emailCols+" FROM emails e WHERE e.id = ? AND "+liveUser("e"), emailID))
	if err != nil {
		return Email{}, classify(err)
	}
	if err := tx.QueryRowContext(ctx, "SELECT email_key FROM emails WHERE id = ?", emailID).Scan(&key); err != nil {
		return Email{}, classify(err)
	}
	if err := affectedOne(tx.ExecContext(ctx,
		"UPDATE emails SET verified_ms = COALESCE(verified_ms, ?), verified_key = email_key WHERE id = ?", verifiedMs, emailID)); err != nil {
		return Email{}, err
	}
	if _, err := tx.ExecContext(ctx,
		"DELETE FROM emails WHERE email_key = ? AND user_id <> ? AND verified_ms IS NULL", key, before.UserID); err != nil {
		return Email{}, err
	}
	return before, nil
}

// ErrNotFirstProof means a login code would prove an unverified address
// of an account that has a verified one: see ProveEmailByLogin. It wraps
// ErrConflict.
var ErrNotFirstProof = fmt.Errorf("db: the account proved another mailbox already: %w", ErrConflict)

// ProveEmailByLogin records the first proof of an address's mailbox by a
// login code sent to it (see GetUserByUnprovenEmail), at at.AtMs, in one
// transaction: the address is verified as by MarkEmailVerified and
// whatever was set up on the account before anyone proved a mailbox of
// it ends: the password is
// removed, the TOTP secret (and its recovery codes) and the passkeys
// deleted, the external identities (OIDCIdentity) unlinked, and every
// live session invalidated
// ("mailbox-proved") with a user revocation kept until
// at.ExpiresMs. Whoever registered the address without owning it
// (account pre-hijacking) is left with nothing. It reports whether the
// account was reset: not when the address was verified already (nothing
// changes then). It fails as MarkEmailVerified does, and with
// ErrNotFirstProof, changing nothing, when the address is unverified but
// its user has another address verified (the code was sent before that
// one was verified: an unverified address never joins an account that
// proved another mailbox this way).
func (s *DB) ProveEmailByLogin(ctx context.Context, emailID string, at Revoking) (reset bool, err error) {
	nowMs, revocationExpiresMs := at.AtMs, at.ExpiresMs
	if err := errors.Join(requireMs("nowMs", nowMs), requireMs("revocationExpiresMs", revocationExpiresMs)); err != nil {
		return false, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		before, err := scanEmail(tx.QueryRowContext(ctx,
			"SELECT "+emailCols+" FROM emails e WHERE e.id = ? AND "+liveUser("e")+s.forUpdate(), emailID))
		if err != nil {
			return err
		}
		if before.VerifiedMs != 0 {
			return nil
		}
		var other int
		switch err := tx.QueryRowContext(ctx,
			"SELECT 1 FROM emails WHERE user_id = ? AND id <> ? AND verified_ms IS NOT NULL", before.UserID, emailID).Scan(&other); {
		case err == nil:
			// The account proved another mailbox since the code was sent:
			// an unverified address must not be added to it this way.
			return ErrNotFirstProof
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := markVerified(ctx, tx, emailID, nowMs); err != nil {
			return err
		}
		reset = true
		if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = NULL, updated_ms = ? WHERE id = ?", nowMs, before.UserID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM totp_secrets WHERE user_id = ?", before.UserID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM factor_recovery_codes WHERE user_id = ?", before.UserID); err != nil {
			return err
		}
		// An external identity linked to a never-verified registration
		// (an account created on a first sign-in whose provider did not
		// vouch for the address) is whoever registered's, not the
		// mailbox's owner's: it is unlinked like the password.
		if _, err := tx.ExecContext(ctx, "DELETE FROM oidc_identities WHERE user_id = ?", before.UserID); err != nil {
			return err
		}
		// So are the apps whoever registered let sign in: the owner is
		// asked again.
		if _, err := tx.ExecContext(ctx, "DELETE FROM oidc_consents WHERE user_id = ?", before.UserID); err != nil {
			return err
		}
		// A passkey signs in alone: whoever registered added it, as the
		// password.
		if _, err := tx.ExecContext(ctx, "DELETE FROM webauthn_credentials WHERE user_id = ?", before.UserID); err != nil {
			return err
		}
		_, err = s.invalidateUserSessions(ctx, tx, before.UserID, "mailbox-proved", at)
		return err
	})
	if err != nil {
		return false, err
	}
	return reset, nil
}

// EmailKeyCollisions returns the IDs of the addresses the email-key
// migration kept apart because they differ only in case from an older
// address (see EmailKey): they no longer log in or count until an
// operator deletes or changes them. Empty when there are none.
func (s *DB) EmailKeyCollisions(ctx context.Context) ([]string, error) {
	rows, err := s.sql.QueryContext(ctx, "SELECT id FROM emails WHERE email_key LIKE ? ORDER BY id", "%#%")
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, classify(err)
		}
		ids = append(ids, id)
	}
	return ids, classify(rows.Err())
}
