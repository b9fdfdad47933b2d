package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Client roles (the client_roles CHECK).
const (
	ClientRoleSystem   = "system"
	ClientRoleInternal = "internal"
	ClientRoleExternal = "external"
)

// Access restriction types (the client_access_restrictions CHECK).
const (
	RestrictionIP   = "ip"
	RestrictionHost = "host"
	RestrictionAPI  = "api"
)

// UnlimitedReqsPerSec is the Client.ReqsPerSec of a client without a rate
// limit.
const UnlimitedReqsPerSec = -1

// clientCols are the columns scanClient reads, from clients c.
const clientCols = "c.id, c.organization_id, c.name, c.secret_hash, c.reqs_per_sec, c.created_ms, c.updated_ms, c.deleted_ms, " +
	"c.redirect_uris, c.post_logout_redirect_uris, c.oidc_scopes, c.public"

// scanClient reads clientCols, then extra.
func scanClient(sc scanner, extra ...any) (Client, error) {
	var (
		c                        Client
		deleted                  sql.NullInt64
		redirects, logouts, oidc string
	)
	dest := append([]any{&c.ID, &c.OrganizationID, &c.Name, &c.SecretHash, &c.ReqsPerSec, &c.CreatedMs, &c.UpdatedMs, &deleted,
		&redirects, &logouts, &oidc, &c.Public}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return Client{}, err
	}
	c.DeletedMs = deleted.Int64
	c.RedirectURIs, c.PostLogoutRedirectURIs, c.OIDCScopes = splitList(redirects), splitList(logouts), splitList(oidc)
	return c, nil
}

// liveClient is the condition "the client of the row in table and its
// organization are not deleted", for statements on client_roles and
// client_access_restrictions.
func liveClient(table string) string {
	return "EXISTS (SELECT 1 FROM clients lc JOIN organizations lo ON lo.id = lc.organization_id " +
		"WHERE lc.id = " + table + ".client_id AND lc.deleted_ms IS NULL AND lo.deleted_ms IS NULL)"
}

// liveClientFrom is the FROM ... WHERE of an INSERT ... SELECT that
// inserts a row only for a live client (argument: the client ID).
const liveClientFrom = " FROM clients c JOIN organizations o ON o.id = c.organization_id " +
	"WHERE c.id = ? AND c.deleted_ms IS NULL AND o.deleted_ms IS NULL"

// CreateClient writes the client and its roles in one transaction, and
// returns it as stored. c needs its ID, OrganizationID, Name,
// SecretHash and CreatedMs; UpdatedMs defaults to CreatedMs; ReqsPerSec
// is stored as given (UnlimitedReqsPerSec or a rate; 0 blocks every
// request, so callers fill their default); Roles default to
// ClientRoleExternal alone, repeats are dropped; DeletedMs and
// Restrictions are ignored. Nothing is written when any part fails:
// ErrDuplicate for an ID already taken, ErrInvalid for a missing field,
// an unknown role, a rate below -1 or a value too long, ErrForeignKey for
// a missing or deleted organization.
func (s *DB) CreateClient(ctx context.Context, c Client) (Client, error) {
	c, err := prepareClient(c)
	if err != nil {
		return Client{}, err
	}
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return insertClient(ctx, tx, c) }); err != nil {
		return Client{}, err
	}
	return c, nil
}

// ErrClientLimit means the organization already has as many live
// clients as allowed.
var ErrClientLimit = errors.New("db: the organization has too many clients")

// CreateClientWithin is CreateClient when the organization has fewer
// than limit live clients (0: no limit): ErrClientLimit otherwise. The
// count and the insert are one transaction holding the organization's
// row lock (SQLite has one writer at a time), so concurrent creations
// cannot pass the limit.
func (s *DB) CreateClientWithin(ctx context.Context, c Client, limit int) (Client, error) {
	c, err := prepareClient(c)
	if err != nil {
		return Client{}, err
	}
	if limit < 0 {
		return Client{}, fmt.Errorf("%w: negative client limit %d", ErrInvalid, limit)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if limit > 0 {
			var deleted sql.NullInt64
			err := tx.QueryRowContext(ctx, "SELECT deleted_ms FROM organizations WHERE id = ?"+s.forUpdate(), c.OrganizationID).Scan(&deleted)
			switch {
			case errors.Is(err, sql.ErrNoRows) || (err == nil && deleted.Valid):
				return fmt.Errorf("%w: organization %s", ErrForeignKey, c.OrganizationID)
			case err != nil:
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM clients WHERE organization_id = ? AND deleted_ms IS NULL",
				c.OrganizationID).Scan(&n); err != nil {
				return err
			}
			if n >= limit {
				return fmt.Errorf("%w: %d of %d", ErrClientLimit, n, limit)
			}
		}
		return insertClient(ctx, tx, c)
	})
	if err != nil {
		return Client{}, err
	}
	return c, nil
}

// prepareClient fills c's defaults and checks it.
func prepareClient(c Client) (Client, error) {
	c.Roles = normalizeRoles(c.Roles, ClientRoleExternal)
	c.DeletedMs, c.Restrictions = 0, nil
	if c.UpdatedMs == 0 {
		c.UpdatedMs = c.CreatedMs
	}
	return c, errors.Join(requireID("client ID", c.ID), requireID("client OrganizationID", c.OrganizationID),
		requireMs("client CreatedMs", c.CreatedMs), checkText("client name", c.Name),
		requireID("client SecretHash", c.SecretHash), checkText("client secret hash", c.SecretHash))
}

// insertClient writes a prepared client of a live organization and its
// roles.
func insertClient(ctx context.Context, tx *sql.Tx, c Client) error {
	res, err := tx.ExecContext(ctx,
		"INSERT INTO clients (id, organization_id, name, secret_hash, reqs_per_sec, created_ms, updated_ms, "+
			"redirect_uris, post_logout_redirect_uris, oidc_scopes, public) "+
			"SELECT ?, o.id, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM organizations o WHERE o.id = ? AND o.deleted_ms IS NULL",
		c.ID, c.Name, c.SecretHash, c.ReqsPerSec, c.CreatedMs, c.UpdatedMs,
		joinList(c.RedirectURIs), joinList(c.PostLogoutRedirectURIs), joinList(c.OIDCScopes), c.Public, c.OrganizationID)
	if err := insertedOne(res, err, "organization "+c.OrganizationID); err != nil {
		return err
	}
	for _, role := range c.Roles {
		if _, err := tx.ExecContext(ctx, "INSERT INTO client_roles (client_id, role) VALUES (?, ?)", c.ID, role); err != nil {
			return err
		}
	}
	return nil
}

// Bootstrap writes a first user (with its email and roles), an
// organization of which the user is a full member, and a client of that
// organization, in one transaction: all of it or nothing. It fails with
// ErrBootstrapped when the database already holds a live user, with
// ErrConflict on MySQL when a concurrent bootstrap won, and otherwise as
// CreateUser, CreateOrganization and CreateClient do.
func (s *DB) Bootstrap(ctx context.Context, nu NewUser, org Organization, creator Membership, c Client) error {
	nu.Membership = nil
	u, email, _, err := nu.prepare()
	if err != nil {
		return err
	}
	creator.UserID = u.ID
	if creator, err = prepareOrganization(org, creator); err != nil {
		return err
	}
	c.OrganizationID = org.ID
	if c, err = prepareClient(c); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// On MySQL a plain SELECT takes no lock: concurrent bootstraps
		// would all find no user and all insert one. The locking read
		// also locks the gap where users would go, so their inserts wait
		// on each other and MySQL lets one through (the others fail as a
		// deadlock: ErrConflict). SQLite has one writer at a time.
		var any int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM users WHERE deleted_ms IS NULL LIMIT 1"+s.forUpdate()).Scan(&any)
		switch {
		case err == nil:
			return ErrBootstrapped
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if err := insertUser(ctx, tx, u, email, nil); err != nil {
			return err
		}
		if err := insertOrganization(ctx, tx, org, creator); err != nil {
			return err
		}
		return insertClient(ctx, tx, c)
	})
}

// GetClient returns the client id with its roles (not its restrictions:
// ListRestrictions). It fails with ErrNotFound when there is none, and
// ErrDeleted when it or its organization was deleted.
func (s *DB) GetClient(ctx context.Context, id string) (Client, error) {
	rows, err := s.sql.QueryContext(ctx,
		"SELECT "+clientCols+", o.deleted_ms, r.role FROM clients c JOIN organizations o ON o.id = c.organization_id "+
			"LEFT JOIN client_roles r ON r.client_id = c.id WHERE c.id = ? ORDER BY r.role", id)
	if err != nil {
		return Client{}, classify(err)
	}
	defer rows.Close()
	var (
		c                 Client
		found, orgDeleted bool
	)
	for rows.Next() {
		var (
			role sql.NullString
			org  sql.NullInt64
		)
		row, err := scanClient(rows, &org, &role)
		if err != nil {
			return Client{}, classify(err)
		}
		if !found {
			c, found, orgDeleted = row, true, org.Valid
			c.Roles = []string{}
		}
		if role.Valid {
			c.Roles = append(c.Roles, role.String)
		}
	}
	if err := rows.Err(); err != nil {
		return Client{}, classify(err)
	}
	switch {
	case !found:
		return Client{}, ErrNotFound
	case c.DeletedMs != 0 || orgDeleted:
		return Client{}, ErrDeleted
	}
	return c, nil
}

// ListClients returns a page of the organization's clients that are not
// deleted, in creation (ID) order, with their roles. It fails with
// ErrNotFound for a missing organization, ErrDeleted for a deleted one,
// and ErrInvalid for a bad page size or cursor.
func (s *DB) ListClients(ctx context.Context, orgID string, p Page) ([]Client, PageInfo, error) {
	if err := p.validate(); err != nil {
		return nil, PageInfo{}, err
	}
	if err := s.requireLive(ctx, "organizations", orgID); err != nil {
		return nil, PageInfo{}, err
	}
	clients, info, err := listPage(ctx, s.sql, p, keyset{
		cols:  clientCols,
		from:  "clients c",
		where: "c.organization_id = ? AND c.deleted_ms IS NULL",
		args:  []any{orgID},
		id:    "c.id",
	}, func(rows *sql.Rows) (Client, string, error) {
		c, err := scanClient(rows)
		return c, c.ID, err
	})
	if err != nil {
		return nil, PageInfo{}, err
	}
	if err := attachRoles(ctx, s.sql, "client_roles", "client_id", clients,
		func(x *Client) string { return x.ID }, func(x *Client) *[]string { return &x.Roles }); err != nil {
		return nil, PageInfo{}, err
	}
	return clients, info, nil
}

// updateClient runs "UPDATE clients SET set WHERE id = ?" on a live
// client of a live organization: ErrNotFound otherwise.
func (s *DB) updateClient(ctx context.Context, id, set string, args ...any) error {
	return affectedOne(s.sql.ExecContext(ctx,
		"UPDATE clients SET "+set+" WHERE id = ? AND deleted_ms IS NULL AND "+
			"EXISTS (SELECT 1 FROM organizations lo WHERE lo.id = clients.organization_id AND lo.deleted_ms IS NULL)",
		append(args, id)...))
}

// UpdateClient sets the client's name and rate limit, stored as given
// (UnlimitedReqsPerSec or a rate). It fails with ErrNotFound for a
// missing or deleted client, and ErrInvalid for a rate below -1 or above
// 2147483647, a name too long or not UTF-8, or an unset time.
func (s *DB) UpdateClient(ctx context.Context, id, name string, reqsPerSec int, updatedMs int64) error {
	if err := errors.Join(checkText("client name", name), requireMs("updatedMs", updatedMs)); err != nil {
		return err
	}
	return s.updateClient(ctx, id, "name = ?, reqs_per_sec = ?, updated_ms = ?", name, reqsPerSec, updatedMs)
}

// SetClientSecretHash replaces the client's secret hash (refresh-secret).
// It fails with ErrNotFound for a missing or deleted client, and
// ErrInvalid for an empty or too long hash or an unset time.
func (s *DB) SetClientSecretHash(ctx context.Context, id, hash string, updatedMs int64) error {
	if err := errors.Join(requireID("client secret hash", hash), checkText("client secret hash", hash),
		requireMs("updatedMs", updatedMs)); err != nil {
		return err
	}
	return s.updateClient(ctx, id, "secret_hash = ?, updated_ms = ?", hash, updatedMs)
}

// DeleteClient soft-deletes the client id: it sets deleted_ms, after
// which the client, its roles and restrictions are hidden. In the same
// transaction it invalidates every live session made with the client and
// appends a session revocation for each (kept until at.ExpiresMs),
// so the gateways refuse their tokens (the README's "The accounts service"). It fails with
// ErrNotFound for a missing or already deleted client, and ErrInvalid
// for an unset time.
func (s *DB) DeleteClient(ctx context.Context, id string, at Revoking) error {
	deletedMs, revocationExpiresMs := at.AtMs, at.ExpiresMs
	if err := requireMs("deletedMs", deletedMs); err != nil {
		return err
	}
	if err := requireMs("revocationExpiresMs", revocationExpiresMs); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := affectedOne(tx.ExecContext(ctx,
			"UPDATE clients SET deleted_ms = ?, updated_ms = ? WHERE id = ? AND deleted_ms IS NULL AND "+
				"EXISTS (SELECT 1 FROM organizations lo WHERE lo.id = clients.organization_id AND lo.deleted_ms IS NULL)",
			deletedMs, deletedMs, id)); err != nil {
			return err
		}
		_, err := s.invalidateClientSessions(ctx, tx, id, "client-deleted", at)
		return err
	})
}

// AddClientRole gives the client a role. It fails with ErrDuplicate when
// the client has it already, ErrInvalid for a role other than
// ClientRoleSystem, ClientRoleInternal and ClientRoleExternal, and
// ErrForeignKey for a missing or deleted client.
func (s *DB) AddClientRole(ctx context.Context, clientID, role string) error {
	res, err := s.sql.ExecContext(ctx, "INSERT INTO client_roles (client_id, role) SELECT c.id, ?"+liveClientFrom, role, clientID)
	return insertedOne(res, err, "client "+clientID)
}

// RemoveClientRole takes a role from the client. It fails with
// ErrNotFound when the client (live) does not have it.
func (s *DB) RemoveClientRole(ctx context.Context, clientID, role string) error {
	return affectedOne(s.sql.ExecContext(ctx,
		"DELETE FROM client_roles WHERE client_id = ? AND role = ? AND "+liveClient("client_roles"), clientID, role))
}

// ClientRoles returns the client's roles, sorted. It fails with
// ErrNotFound for a missing or deleted client.
func (s *DB) ClientRoles(ctx context.Context, clientID string) ([]string, error) {
	return listOwned(ctx, s.sql,
		"SELECT r.role FROM clients c JOIN organizations o ON o.id = c.organization_id "+
			"LEFT JOIN client_roles r ON r.client_id = c.id "+
			"WHERE c.id = ? AND c.deleted_ms IS NULL AND o.deleted_ms IS NULL ORDER BY r.role",
		[]any{clientID}, scanRole)
}

// AddRestriction adds an access restriction to a client. r needs its ID,
// ClientID, Type (RestrictionIP, RestrictionHost or RestrictionAPI),
// Value and CreatedMs; the caller checks that Value parses for its type.
// It fails with ErrDuplicate when the client has the same (type, value)
// already, ErrInvalid for an unknown type, an empty value or one with
// surrounding white space or control characters, or a missing field, and
// ErrForeignKey for a missing or deleted client.
func (s *DB) AddRestriction(ctx context.Context, r Restriction) error {
	if err := errors.Join(requireID("restriction ID", r.ID), requireMs("restriction CreatedMs", r.CreatedMs),
		checkKey("restriction value", r.Value)); err != nil {
		return err
	}
	res, err := s.sql.ExecContext(ctx,
		"INSERT INTO client_access_restrictions (id, client_id, type, value, created_ms) SELECT ?, c.id, ?, ?, ?"+liveClientFrom,
		r.ID, r.Type, r.Value, r.CreatedMs, r.ClientID)
	return insertedOne(res, err, "client "+r.ClientID)
}

// ListRestrictions returns the client's access restrictions in creation
// (ID) order. It fails with ErrNotFound for a missing or deleted client.
func (s *DB) ListRestrictions(ctx context.Context, clientID string) ([]Restriction, error) {
	return listOwned(ctx, s.sql,
		"SELECT a.id, a.client_id, a.type, a.value, a.created_ms FROM clients c JOIN organizations o ON o.id = c.organization_id "+
			"LEFT JOIN client_access_restrictions a ON a.client_id = c.id "+
			"WHERE c.id = ? AND c.deleted_ms IS NULL AND o.deleted_ms IS NULL ORDER BY a.id",
		[]any{clientID}, func(rows *sql.Rows) (Restriction, bool, error) {
			var (
				id, client, typ, value sql.NullString
				created                sql.NullInt64
			)
			if err := rows.Scan(&id, &client, &typ, &value, &created); err != nil {
				return Restriction{}, false, err
			}
			return Restriction{ID: id.String, ClientID: client.String, Type: typ.String, Value: value.String, CreatedMs: created.Int64}, id.Valid, nil
		})
}

// DeleteRestriction deletes the restriction restrictionID of the client
// clientID. It fails with ErrNotFound when there is none, when it belongs
// to another client, or when the client is deleted.
func (s *DB) DeleteRestriction(ctx context.Context, clientID, restrictionID string) error {
	return affectedOne(s.sql.ExecContext(ctx,
		"DELETE FROM client_access_restrictions WHERE id = ? AND client_id = ? AND "+liveClient("client_access_restrictions"),
		restrictionID, clientID))
}
