package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// OIDCIdentity is an identity at an external OpenID Connect provider
// linked to a user: whoever signs in there as (Issuer, Subject) signs in
// to the user's account (accounts/oidcrp).
type OIDCIdentity struct {
	ID     string
	UserID string
	// ProviderID is the operator's name of the provider (its slug in
	// the settings) at link time.
	ProviderID string
	// Issuer and Subject are the identity: the ID token's iss and sub.
	// Unique together.
	Issuer, Subject string
	// Email is the address the provider gave at link time ("" when none),
	// shown to the user; it never opens the account.
	Email     string
	CreatedMs int64
}

// OIDCFlow is a sign-in at an external provider in progress: what the
// callback needs to finish it. It is keyed by the SHA-256 of its state.
type OIDCFlow struct {
	// StateHash is the hex SHA-256 of the flow's state (the state itself
	// is never stored).
	StateHash  string
	ProviderID string
	// Nonce is the ID token's expected nonce; Verifier the PKCE code
	// verifier the code exchange sends.
	Nonce, Verifier string
	// ReturnTo is where the browser goes after the sign-in (already
	// resolved against the return policy).
	ReturnTo  string
	CreatedMs int64
	ExpiresMs int64
}

const oidcIdentityColumns = "id, user_id, provider_id, issuer, subject, email, created_ms"

func checkOIDCIdentity(i OIDCIdentity) error {
	err := errors.Join(requireID("identity ID", i.ID), requireID("identity UserID", i.UserID), requireID("identity ProviderID", i.ProviderID),
		checkKey("identity issuer", i.Issuer), checkKey("identity subject", i.Subject), checkText("identity email", i.Email),
		requireMs("identity CreatedMs", i.CreatedMs))
	if err != nil {
		return err
	}
	if len(i.ProviderID) > 64 || len(i.Issuer) > 255 || len(i.Subject) > 255 || len(i.Email) > MaxEmailLength {
		return fmt.Errorf("%w: identity value too long", ErrInvalid)
	}
	return nil
}

// insertOIDCIdentity inserts i for a live user: ErrForeignKey otherwise.
func insertOIDCIdentity(ctx context.Context, q querier, i OIDCIdentity) error {
	res, err := q.ExecContext(ctx,
		"INSERT INTO oidc_identities ("+oidcIdentityColumns+") SELECT ?, u.id, ?, ?, ?, ?, ? FROM users u WHERE u.id = ? AND u.deleted_ms IS NULL",
		i.ID, i.ProviderID, i.Issuer, i.Subject, i.Email, i.CreatedMs, i.UserID)
	return insertedOne(res, err, "user "+i.UserID)
}

// CreateOIDCIdentity links the identity i to its user. It fails with
// ErrDuplicate when (Issuer, Subject) is linked already (to anyone),
// ErrForeignKey for a missing or deleted user, ErrInvalid for a missing
// field, a time not set, a value too long or an issuer or subject with
// white space around it.
func (s *DB) CreateOIDCIdentity(ctx context.Context, i OIDCIdentity) error {
	if err := checkOIDCIdentity(i); err != nil {
		return err
	}
	return classify(insertOIDCIdentity(ctx, s.sql, i))
}

// CreateUserWithOIDCIdentity creates the user of nu (as CreateUser does)
// and links the identity i to it, in one transaction: a user created on
// a first sign-in with an external provider. i.UserID is set to the
// user's ID. Errors as CreateUser's and CreateOIDCIdentity's; nothing is
// written when either part fails.
func (s *DB) CreateUserWithOIDCIdentity(ctx context.Context, nu NewUser, i OIDCIdentity) (User, error) {
	u, email, m, err := nu.prepare()
	if err != nil {
		return User{}, err
	}
	i.UserID = u.ID
	if err := checkOIDCIdentity(i); err != nil {
		return User{}, err
	}
	if err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertUser(ctx, tx, u, email, m); err != nil {
			return err
		}
		return insertOIDCIdentity(ctx, tx, i)
	}); err != nil {
		return User{}, err
	}
	return u, nil
}

func scanOIDCIdentity(sc scanner) (OIDCIdentity, error) {
	var i OIDCIdentity
	err := sc.Scan(&i.ID, &i.UserID, &i.ProviderID, &i.Issuer, &i.Subject, &i.Email, &i.CreatedMs)
	return i, classify(err)
}

// GetOIDCIdentity returns the identity (issuer, subject) of a live user.
// ErrNotFound when it is linked to nobody (or its user was deleted).
func (s *DB) GetOIDCIdentity(ctx context.Context, issuer, subject string) (OIDCIdentity, error) {
	return scanOIDCIdentity(s.sql.QueryRowContext(ctx,
		"SELECT "+oidcIdentityColumns+" FROM oidc_identities WHERE issuer = ? AND subject = ? AND "+liveUser("oidc_identities"), issuer, subject))
}

// ListOIDCIdentities returns the identities linked to the user, oldest
// first (none for a deleted user).
func (s *DB) ListOIDCIdentities(ctx context.Context, userID string) ([]OIDCIdentity, error) {
	rows, err := s.sql.QueryContext(ctx,
		"SELECT "+oidcIdentityColumns+" FROM oidc_identities WHERE user_id = ? AND "+liveUser("oidc_identities")+" ORDER BY created_ms, id", userID)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := []OIDCIdentity{}
	for rows.Next() {
		i, err := scanOIDCIdentity(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, classify(rows.Err())
}

// DeleteOIDCIdentity unlinks the user's identity id. ErrNotFound when the
// user has no such identity (another user's is not found either).
func (s *DB) DeleteOIDCIdentity(ctx context.Context, userID, id string) error {
	return affectedOne(s.sql.ExecContext(ctx, "DELETE FROM oidc_identities WHERE id = ? AND user_id = ?", id, userID))
}

// SaveOIDCFlow stores a sign-in in progress and deletes everyone's
// expired ones. It fails with ErrInvalid for a missing field, unset times
// or a value too long, ErrDuplicate for a state hash stored already.
func (s *DB) SaveOIDCFlow(ctx context.Context, f OIDCFlow) error {
	if err := errors.Join(requireID("flow state hash", f.StateHash), requireID("flow provider", f.ProviderID), requireID("flow nonce", f.Nonce),
		requireID("flow verifier", f.Verifier), checkText("flow return_to", f.ReturnTo),
		requireMs("flow created", f.CreatedMs), requireMs("flow expires", f.ExpiresMs)); err != nil {
		return err
	}
	if len(f.StateHash) > 64 || len(f.ProviderID) > 64 || len(f.Nonce) > 128 || len(f.Verifier) > 128 || len(f.ReturnTo) > 2048 {
		return fmt.Errorf("%w: flow value too long", ErrInvalid)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM oidc_rp_flows WHERE expires_ms <= ?", f.CreatedMs); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			"INSERT INTO oidc_rp_flows (state_hash, provider_id, nonce, verifier, return_to, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
			f.StateHash, f.ProviderID, f.Nonce, f.Verifier, f.ReturnTo, f.CreatedMs, f.ExpiresMs)
		return err
	})
}

// TakeOIDCFlow returns the flow of the state hash and deletes it: a flow
// is used once, whether its callback then holds or not. Of two takes at
// once, one gets the flow. ErrNotFound when there is none, or it expired
// at nowMs.
func (s *DB) TakeOIDCFlow(ctx context.Context, stateHash string, nowMs int64) (OIDCFlow, error) {
	var f OIDCFlow
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx,
			"SELECT state_hash, provider_id, nonce, verifier, return_to, created_ms, expires_ms FROM oidc_rp_flows WHERE state_hash = ?"+s.forUpdate(), stateHash,
		).Scan(&f.StateHash, &f.ProviderID, &f.Nonce, &f.Verifier, &f.ReturnTo, &f.CreatedMs, &f.ExpiresMs)
		if err != nil {
			return err
		}
		// Only the transaction that deletes the row gets it.
		return affectedOne(tx.ExecContext(ctx, "DELETE FROM oidc_rp_flows WHERE state_hash = ?", stateHash))
	})
	if err != nil {
		return OIDCFlow{}, err
	}
	if f.ExpiresMs <= nowMs {
		return OIDCFlow{}, ErrNotFound
	}
	return f, nil
}
