package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// The OpenID Connect provider's storage (issue 17): the OIDC settings of
// a client, authorization requests with their codes, the grants (the
// sessions the token endpoint made, with their scopes) and the consents
// users gave. Codes are stored as their SHA-256 hex, never themselves.

// splitList reads a space-separated list column; "" is none.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// joinList writes a list column: the values separated by single spaces.
func joinList(values []string) string { return strings.Join(values, " ") }

// SetClientOIDC sets the client's OpenID Connect settings (see Client).
// It fails with ErrNotFound for a missing or deleted client and
// ErrInvalid for a list too long or an unset time. The caller validates
// the values themselves (a URI or scope holds no space).
func (s *DB) SetClientOIDC(ctx context.Context, id string, redirectURIs, postLogoutURIs, scopes []string, public bool, updatedMs int64) error {
	if err := requireMs("updatedMs", updatedMs); err != nil {
		return err
	}
	for _, list := range [][]string{redirectURIs, postLogoutURIs, scopes} {
		for _, v := range list {
			if v == "" || strings.ContainsAny(v, " \t\r\n") {
				return fmt.Errorf("%w: an OIDC list value is empty or holds white space", ErrInvalid)
			}
		}
	}
	return s.updateClient(ctx, id, "redirect_uris = ?, post_logout_redirect_uris = ?, oidc_scopes = ?, public = ?, updated_ms = ?",
		joinList(redirectURIs), joinList(postLogoutURIs), joinList(scopes), public, updatedMs)
}

// OIDCAuthRequest is one authorization request of the OpenID Connect
// provider, from /authorize until its code is exchanged.
type OIDCAuthRequest struct {
	ID                  string
	ClientID            string
	RedirectURI         string
	Scopes              []string
	State               string
	Nonce               string
	ResponseType        string
	ResponseMode        string
	CodeChallenge       string
	CodeChallengeMethod string
	// Prompt holds the prompt values, space-separated.
	Prompt string
	// MaxAgeS is the max_age parameter in seconds; -1 when absent.
	MaxAgeS   int64
	CreatedMs int64
	ExpiresMs int64
	// UserID, AuthTimeMs and AMR are set when the user approved: those of
	// the browser session that did. UserID is "" before.
	UserID     string
	AuthTimeMs int64
	AMR        string
	// CodeHash is the SHA-256 hex of the code issued; "" before.
	CodeHash      string
	CodeExpiresMs int64
	// UsedMs is when the code was exchanged; 0 before.
	UsedMs int64
	// IssuedSessionID is the session the exchange made; "" before.
	IssuedSessionID string
	// ReplayedMs is when the code was presented again after its
	// exchange; 0 when it was not.
	ReplayedMs int64
	// BrowserHash is the SHA-256 hex of the value the browser that
	// started the request holds; only that browser may decide it.
	BrowserHash string
}

const oidcRequestCols = "id, client_id, redirect_uri, scopes, state, nonce, response_type, response_mode, code_challenge, " +
	"code_challenge_method, prompt, max_age_s, created_ms, expires_ms, user_id, auth_time_ms, amr, code_hash, code_expires_ms, used_ms, issued_session_id, replayed_ms, browser_hash"

func scanOIDCRequest(row *sql.Row) (OIDCAuthRequest, error) {
	var (
		r              OIDCAuthRequest
		scopes         string
		user, codeHash sql.NullString
	)
	err := row.Scan(&r.ID, &r.ClientID, &r.RedirectURI, &scopes, &r.State, &r.Nonce, &r.ResponseType, &r.ResponseMode, &r.CodeChallenge,
		&r.CodeChallengeMethod, &r.Prompt, &r.MaxAgeS, &r.CreatedMs, &r.ExpiresMs, &user, &r.AuthTimeMs, &r.AMR, &codeHash,
		&r.CodeExpiresMs, &r.UsedMs, &r.IssuedSessionID, &r.ReplayedMs, &r.BrowserHash)
	if err != nil {
		return OIDCAuthRequest{}, classify(err)
	}
	r.Scopes, r.UserID, r.CodeHash = splitList(scopes), user.String, codeHash.String
	return r, nil
}

// CreateOIDCAuthRequest stores a new authorization request (its ID,
// client, redirect URI, response type, CreatedMs and ExpiresMs are
// required). It fails with ErrForeignKey for a missing client and
// ErrInvalid for a value too long.
func (s *DB) CreateOIDCAuthRequest(ctx context.Context, r OIDCAuthRequest) error {
	if err := errors.Join(requireID("auth request ID", r.ID), requireID("auth request client", r.ClientID),
		requireMs("auth request CreatedMs", r.CreatedMs), requireMs("auth request ExpiresMs", r.ExpiresMs)); err != nil {
		return err
	}
	_, err := s.sql.ExecContext(ctx, "INSERT INTO oidc_auth_requests (id, client_id, redirect_uri, scopes, state, nonce, response_type, "+
		"response_mode, code_challenge, code_challenge_method, prompt, max_age_s, created_ms, expires_ms, browser_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		r.ID, r.ClientID, r.RedirectURI, joinList(r.Scopes), r.State, r.Nonce, r.ResponseType, r.ResponseMode, r.CodeChallenge,
		r.CodeChallengeMethod, r.Prompt, r.MaxAgeS, r.CreatedMs, r.ExpiresMs, r.BrowserHash)
	return classify(err)
}

// GetOIDCAuthRequest returns the authorization request id, expired or
// not. It fails with ErrNotFound when there is none.
func (s *DB) GetOIDCAuthRequest(ctx context.Context, id string) (OIDCAuthRequest, error) {
	return scanOIDCRequest(s.sql.QueryRowContext(ctx, "SELECT "+oidcRequestCols+" FROM oidc_auth_requests WHERE id = ?", id))
}

// GetOIDCAuthRequestByCode returns the authorization request whose code
// has the SHA-256 hex codeHash, used, expired or not. It fails with
// ErrNotFound when there is none.
func (s *DB) GetOIDCAuthRequestByCode(ctx context.Context, codeHash string) (OIDCAuthRequest, error) {
	return scanOIDCRequest(s.sql.QueryRowContext(ctx, "SELECT "+oidcRequestCols+" FROM oidc_auth_requests WHERE code_hash = ?", codeHash))
}

// ApproveOIDCAuthRequest records that the user approved the request, as
// the browser session that did authenticated (authTimeMs, amr). It fails
// with ErrNotFound when the request is missing, expired at nowMs, or
// already approved.
func (s *DB) ApproveOIDCAuthRequest(ctx context.Context, id, userID string, authTimeMs int64, amr string, nowMs int64) error {
	return affectedOne(s.sql.ExecContext(ctx, "UPDATE oidc_auth_requests SET user_id = ?, auth_time_ms = ?, amr = ? "+
		"WHERE id = ? AND user_id IS NULL AND expires_ms > ?", userID, authTimeMs, amr, id, nowMs))
}

// SetOIDCAuthCode records the code issued for an approved request (its
// SHA-256 hex) and when it expires. A request gets one code: it fails
// with ErrNotFound when the request is missing, not approved, expired at
// nowMs or already has a code.
func (s *DB) SetOIDCAuthCode(ctx context.Context, id, codeHash string, codeExpiresMs, nowMs int64) error {
	return affectedOne(s.sql.ExecContext(ctx, "UPDATE oidc_auth_requests SET code_hash = ?, code_expires_ms = ? "+
		"WHERE id = ? AND user_id IS NOT NULL AND code_hash IS NULL AND expires_ms > ?", codeHash, codeExpiresMs, id, nowMs))
}

// ErrCodeUsed means an authorization code was exchanged before.
var ErrCodeUsed = fmt.Errorf("db: authorization code already used: %w", ErrConflict)

// UseOIDCAuthCode marks the request's code exchanged at nowMs, once: a
// second call fails with ErrCodeUsed (whatever the first one did next).
// It fails with ErrNotFound for a missing request.
func (s *DB) UseOIDCAuthCode(ctx context.Context, id string, nowMs int64) error {
	err := affectedOne(s.sql.ExecContext(ctx, "UPDATE oidc_auth_requests SET used_ms = ? WHERE id = ? AND used_ms = 0", nowMs, id))
	if errors.Is(err, ErrNotFound) {
		if _, gerr := s.GetOIDCAuthRequest(ctx, id); gerr != nil {
			return gerr
		}
		return ErrCodeUsed
	}
	return err
}

// MarkOIDCCodeReplayed records that the request's code was presented
// again after its exchange (the first replay's time is kept). It fails
// with ErrNotFound for a missing request.
func (s *DB) MarkOIDCCodeReplayed(ctx context.Context, id string, nowMs int64) error {
	_, err := s.sql.ExecContext(ctx, "UPDATE oidc_auth_requests SET replayed_ms = ? WHERE id = ? AND replayed_ms = 0", nowMs, id)
	if err != nil {
		return classify(err)
	}
	_, err = s.GetOIDCAuthRequest(ctx, id)
	return err
}

// SetOIDCIssuedSession records the session an exchange of the request's
// code made. It fails with ErrNotFound for a missing request.
func (s *DB) SetOIDCIssuedSession(ctx context.Context, id, sessionID string) error {
	return affectedOne(s.sql.ExecContext(ctx, "UPDATE oidc_auth_requests SET issued_session_id = ? WHERE id = ?", sessionID, id))
}

// DeleteExpiredOIDCAuthRequests deletes the requests that expired before
// beforeMs and returns how many.
func (s *DB) DeleteExpiredOIDCAuthRequests(ctx context.Context, beforeMs int64) (int64, error) {
	res, err := s.sql.ExecContext(ctx, "DELETE FROM oidc_auth_requests WHERE expires_ms < ?", beforeMs)
	if err != nil {
		return 0, classify(err)
	}
	return res.RowsAffected()
}

// OIDCGrant is a session the token endpoint made: the client that holds
// it and the scopes granted.
type OIDCGrant struct {
	SessionID string
	ClientID  string
	Scopes    []string
	Nonce     string
}

// CreateOIDCGrant stores the grant of a session. It fails with
// ErrForeignKey for a missing session and ErrDuplicate when the session
// already has one.
func (s *DB) CreateOIDCGrant(ctx context.Context, g OIDCGrant) error {
	_, err := s.sql.ExecContext(ctx, "INSERT INTO oidc_grants (session_id, client_id, scopes, nonce) VALUES (?, ?, ?, ?)",
		g.SessionID, g.ClientID, joinList(g.Scopes), g.Nonce)
	return classify(err)
}

// GetOIDCGrant returns the grant of the session. It fails with
// ErrNotFound when the session is no OpenID Connect grant.
func (s *DB) GetOIDCGrant(ctx context.Context, sessionID string) (OIDCGrant, error) {
	var (
		g      OIDCGrant
		scopes string
	)
	err := s.sql.QueryRowContext(ctx, "SELECT session_id, client_id, scopes, nonce FROM oidc_grants WHERE session_id = ?", sessionID).
		Scan(&g.SessionID, &g.ClientID, &scopes, &g.Nonce)
	if err != nil {
		return OIDCGrant{}, classify(err)
	}
	g.Scopes = splitList(scopes)
	return g, nil
}

// ListOIDCGrantSessions returns the IDs of the live sessions (at nowMs)
// the client holds for the user through the token endpoint.
func (s *DB) ListOIDCGrantSessions(ctx context.Context, userID, clientID string, nowMs int64) ([]string, error) {
	rows, err := s.sql.QueryContext(ctx, "SELECT s.id FROM oidc_grants g JOIN sessions s ON s.id = g.session_id "+
		"WHERE s.user_id = ? AND g.client_id = ? AND s.invalidated_ms IS NULL AND s.expires_ms > ? ORDER BY s.id", userID, clientID, nowMs)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, classify(err)
		}
		ids = append(ids, id)
	}
	return ids, classify(rows.Err())
}

// OIDCConsent is what a user allowed a client: the scopes.
type OIDCConsent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedMs int64
	UpdatedMs int64
}

// SaveOIDCConsent stores (or replaces) the user's consent for the
// client. It fails with ErrForeignKey for a missing user or client.
func (s *DB) SaveOIDCConsent(ctx context.Context, c OIDCConsent) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE oidc_consents SET scopes = ?, updated_ms = ? WHERE user_id = ? AND client_id = ?",
			joinList(c.Scopes), c.UpdatedMs, c.UserID, c.ClientID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO oidc_consents (user_id, client_id, scopes, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?)",
			c.UserID, c.ClientID, joinList(c.Scopes), c.CreatedMs, c.UpdatedMs)
		return err
	})
}

// GetOIDCConsent returns the user's consent for the client. It fails
// with ErrNotFound when there is none.
func (s *DB) GetOIDCConsent(ctx context.Context, userID, clientID string) (OIDCConsent, error) {
	var (
		c      OIDCConsent
		scopes string
	)
	err := s.sql.QueryRowContext(ctx, "SELECT user_id, client_id, scopes, created_ms, updated_ms FROM oidc_consents WHERE user_id = ? AND client_id = ?",
		userID, clientID).Scan(&c.UserID, &c.ClientID, &scopes, &c.CreatedMs, &c.UpdatedMs)
	if err != nil {
		return OIDCConsent{}, classify(err)
	}
	c.Scopes = splitList(scopes)
	return c, nil
}

// ListOIDCConsents returns the user's consents, by client ID.
func (s *DB) ListOIDCConsents(ctx context.Context, userID string) ([]OIDCConsent, error) {
	rows, err := s.sql.QueryContext(ctx, "SELECT user_id, client_id, scopes, created_ms, updated_ms FROM oidc_consents WHERE user_id = ? ORDER BY client_id", userID)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := []OIDCConsent{}
	for rows.Next() {
		var (
			c      OIDCConsent
			scopes string
		)
		if err := rows.Scan(&c.UserID, &c.ClientID, &scopes, &c.CreatedMs, &c.UpdatedMs); err != nil {
			return nil, classify(err)
		}
		c.Scopes = splitList(scopes)
		out = append(out, c)
	}
	return out, classify(rows.Err())
}

// DeleteOIDCConsent forgets the user's consent for the client. It fails
// with ErrNotFound when there is none.
func (s *DB) DeleteOIDCConsent(ctx context.Context, userID, clientID string) error {
	return affectedOne(s.sql.ExecContext(ctx, "DELETE FROM oidc_consents WHERE user_id = ? AND client_id = ?", userID, clientID))
}
