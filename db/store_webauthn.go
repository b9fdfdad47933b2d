package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// WebAuthnCredential is a passkey of a user: what the relying party keeps
// of a WebAuthn credential after its registration.
type WebAuthnCredential struct {
	// ID is the store's ID of the passkey (the API's passkeyId).
	ID     string
	UserID string
	// CredentialID is the authenticator's ID of the credential, unique
	// across all users.
	CredentialID []byte
	// PublicKey is the credential's COSE public key.
	PublicKey []byte
	// SignCount is the last signature counter seen (0 for authenticators
	// that keep none).
	SignCount uint32
	AAGUID    []byte
	// Transports are the authenticator's transport hints, comma-separated.
	Transports     string
	BackupEligible bool
	BackupState    bool
	// CloneWarning is set when an assertion came with a counter that went
	// back: the credential was copied, and is refused from then on.
	CloneWarning bool
	Name         string
	CreatedMs    int64
	LastUsedMs   int64
}

// WebAuthnCeremony is a registration or login in progress: the library's
// session data (the challenge), bound by Key to a user ("reg:<user id>")
// or a login state ("login:<state>").
type WebAuthnCeremony struct {
	Key         string
	UserID      string // "" when not yet known (a passkey-only login)
	SessionData []byte
	CreatedMs   int64
	ExpiresMs   int64
}

// ErrWebAuthnLimit means the user has as many passkeys as allowed.
var ErrWebAuthnLimit = errors.New("db: the user has too many passkeys")

const webauthnColumns = "id, user_id, credential_id, public_key, sign_count, aaguid, transports, backup_eligible, backup_state, clone_warning, name, created_ms, last_used_ms"

func scanWebAuthnCredential(scan func(...any) error) (WebAuthnCredential, error) {
	var (
		c        WebAuthnCredential
		count    int64
		be, bs   int64
		clone    int64
		lastUsed sql.NullInt64
	)
	err := scan(&c.ID, &c.UserID, &c.CredentialID, &c.PublicKey, &count, &c.AAGUID, &c.Transports, &be, &bs, &clone, &c.Name, &c.CreatedMs, &lastUsed)
	if err != nil {
		return WebAuthnCredential{}, classify(err)
	}
	c.SignCount = uint32(count)
	c.BackupEligible, c.BackupState, c.CloneWarning = be != 0, bs != 0, clone != 0
	c.LastUsedMs = lastUsed.Int64
	return c, nil
}

// CreateWebAuthnCredential stores a new passkey, unless the user already
// has max of them (ErrWebAuthnLimit). It fails with ErrDuplicate when the
// credential ID is registered already (to this user or another),
// ErrForeignKey when the user does not exist, ErrInvalid for a missing ID,
// time or credential ID, a name that is not UTF-8, or a value over its
// column's size.
func (s *DB) CreateWebAuthnCredential(ctx context.Context, c WebAuthnCredential, max int) error {
	if err := errors.Join(requireID("passkey ID", c.ID), requireID("user ID", c.UserID), requireMs("created", c.CreatedMs),
		checkText("passkey name", c.Name), checkText("transports", c.Transports)); err != nil {
		return err
	}
	if len(c.CredentialID) == 0 || len(c.PublicKey) == 0 {
		return fmt.Errorf("%w: an empty credential ID or public key", ErrInvalid)
	}
	if c.AAGUID == nil {
		c.AAGUID = []byte{}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// Lock the user row so that concurrent registrations count each other.
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1 FROM users WHERE id = ?"+s.forUpdate(), c.UserID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrForeignKey
			}
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = ?", c.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return ErrWebAuthnLimit
		}
		_, err := tx.ExecContext(ctx,
			"INSERT INTO webauthn_credentials ("+webauthnColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			c.ID, c.UserID, c.CredentialID, c.PublicKey, int64(c.SignCount), c.AAGUID, c.Transports,
			boolInt(c.BackupEligible), boolInt(c.BackupState), boolInt(c.CloneWarning), c.Name, c.CreatedMs, nullMs(c.LastUsedMs))
		return err
	})
}

// ListWebAuthnCredentials returns the user's passkeys, oldest first.
func (s *DB) ListWebAuthnCredentials(ctx context.Context, userID string) ([]WebAuthnCredential, error) {
	rows, err := s.sql.QueryContext(ctx, "SELECT "+webauthnColumns+" FROM webauthn_credentials WHERE user_id = ? ORDER BY created_ms, id", userID)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []WebAuthnCredential
	for rows.Next() {
		c, err := scanWebAuthnCredential(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, classify(rows.Err())
}

// GetWebAuthnCredential returns the passkey with the credential ID
// credentialID, whichever user holds it; ErrNotFound when none does.
func (s *DB) GetWebAuthnCredential(ctx context.Context, credentialID []byte) (WebAuthnCredential, error) {
	return scanWebAuthnCredential(s.sql.QueryRowContext(ctx,
		"SELECT "+webauthnColumns+" FROM webauthn_credentials WHERE credential_id = ?", credentialID).Scan)
}

// UseWebAuthnCredential records a successful assertion of the passkey id:
// the new counter and backup state, and the time of use. It changes the
// row only while its counter is still prevCount and no clone warning is
// set, so two assertions racing with one counter cannot both pass: the
// loser gets ErrNotFound.
func (s *DB) UseWebAuthnCredential(ctx context.Context, id string, prevCount, newCount uint32, backupState bool, nowMs int64) error {
	if err := requireMs("nowMs", nowMs); err != nil {
		return err
	}
	return affectedOne(s.sql.ExecContext(ctx,
		"UPDATE webauthn_credentials SET sign_count = ?, backup_state = ?, last_used_ms = ? WHERE id = ? AND sign_count = ? AND clone_warning = 0",
		int64(newCount), boolInt(backupState), nowMs, id, int64(prevCount)))
}

// FlagWebAuthnClone sets the clone warning of the passkey id: it is
// refused from then on, until the user removes it. ErrNotFound when there
// is no such passkey.
func (s *DB) FlagWebAuthnClone(ctx context.Context, id string) error {
	_, err := s.sql.ExecContext(ctx, "UPDATE webauthn_credentials SET clone_warning = 1 WHERE id = ?", id)
	return classify(err)
}

// DeleteWebAuthnCredential removes the passkey id of the user userID;
// ErrNotFound when the user has no such passkey (another user's passkey
// is not found either).
func (s *DB) DeleteWebAuthnCredential(ctx context.Context, userID, id string) error {
	return affectedOne(s.sql.ExecContext(ctx, "DELETE FROM webauthn_credentials WHERE id = ? AND user_id = ?", id, userID))
}

// DeleteWebAuthnCredentials deletes every passkey of the user (a
// sysadmin's reset of the user's factors) and returns how many there were.
func (s *DB) DeleteWebAuthnCredentials(ctx context.Context, userID string) (int64, error) {
	res, err := s.sql.ExecContext(ctx, "DELETE FROM webauthn_credentials WHERE user_id = ?", userID)
	if err != nil {
		return 0, classify(err)
	}
	n, err := res.RowsAffected()
	return n, classify(err)
}

// SaveWebAuthnCeremony stores a ceremony in progress, replacing an
// earlier one with the same key (only the latest challenge of a user's
// registration, or of a login state, is good), and deletes the expired
// ceremonies of everyone. It fails with ErrInvalid for an empty key,
// unset times or an over-long value, ErrForeignKey for an unknown user.
func (s *DB) SaveWebAuthnCeremony(ctx context.Context, c WebAuthnCeremony) error {
	if err := errors.Join(requireID("ceremony key", c.Key), requireMs("created", c.CreatedMs), requireMs("expires", c.ExpiresMs)); err != nil {
		return err
	}
	var user sql.NullString
	if c.UserID != "" {
		user = sql.NullString{String: c.UserID, Valid: true}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM webauthn_ceremonies WHERE ceremony_key = ? OR expires_ms <= ?", c.Key, c.CreatedMs); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			"INSERT INTO webauthn_ceremonies (ceremony_key, user_id, session_data, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?)",
			c.Key, user, c.SessionData, c.CreatedMs, c.ExpiresMs)
		return err
	})
}

// TakeWebAuthnCeremony returns the ceremony with the key and deletes it:
// a ceremony is used once, whether its answer then holds or not.
// ErrNotFound when there is none, or it expired at nowMs.
func (s *DB) TakeWebAuthnCeremony(ctx context.Context, key string, nowMs int64) (WebAuthnCeremony, error) {
	var c WebAuthnCeremony
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var user sql.NullString
		err := tx.QueryRowContext(ctx,
			"SELECT ceremony_key, user_id, session_data, created_ms, expires_ms FROM webauthn_ceremonies WHERE ceremony_key = ?"+s.forUpdate(), key,
		).Scan(&c.Key, &user, &c.SessionData, &c.CreatedMs, &c.ExpiresMs)
		if err != nil {
			return err
		}
		c.UserID = user.String
		// Only the transaction that deletes the row gets it.
		if err := affectedOne(tx.ExecContext(ctx, "DELETE FROM webauthn_ceremonies WHERE ceremony_key = ?", key)); err != nil {
			return err
		}
		if c.ExpiresMs <= nowMs {
			return errExpiredCeremony
		}
		return nil
	})
	if errors.Is(err, errExpiredCeremony) {
		// Delete the expired row all the same (the transaction rolled back).
		_, _ = s.sql.ExecContext(ctx, "DELETE FROM webauthn_ceremonies WHERE ceremony_key = ?", key)
		return WebAuthnCeremony{}, ErrNotFound
	}
	if err != nil {
		return WebAuthnCeremony{}, err
	}
	return c, nil
}

var errExpiredCeremony = errors.New("db: ceremony expired")
