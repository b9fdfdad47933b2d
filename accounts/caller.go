package accounts

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// Caller is who sends a request, as the gateway established it: the
// client, whether it presented its secret, the client IP and, when a
// verified token came with the request, the user (read from the store
// for every request, so a role change or a ban applies at once).
type Caller struct {
	ClientID       string
	ClientRoles    []string
	SecretVerified bool
	IP             string
	// SessionID is the token's session, "" without a token.
	SessionID string
	// User is the token's user, nil without a token.
	User *db.User
}

// callerFrom builds the Caller from the request-info claims in the
// request context. A request without claims has no client and no user.
// A token whose user no longer exists, or is banned, is refused: 401
// USER-DELETED or USER-BANNED.
func (s *Service) callerFrom(ctx context.Context) (*Caller, error) {
	claims, ok := requestinfo.ClaimsFrom(ctx)
	if !ok {
		return &Caller{}, nil
	}
	c := &Caller{ClientID: claims.Client, ClientRoles: claims.ClientRoles, SecretVerified: claims.SecretVerified, IP: claims.IP}
	if claims.User == nil || claims.User.ID == "" {
		return c, nil
	}
	u, err := s.logins.GetUser(ctx, claims.User.ID)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return nil, apiError(http.StatusUnauthorized, CodeUserDeleted, "The token's user no longer exists.")
	case err != nil:
		return nil, err
	case u.BannedMs != 0:
		return nil, apiError(http.StatusUnauthorized, CodeUserBanned, "The token's user is banned.")
	}
	c.User, c.SessionID = &u, claims.User.SessionID
	return c, nil
}

// The building blocks of the rules (the README's "Authorization").

// clientIs reports whether the client has the role. The system role
// counts only when the client presented its secret: a client ID alone is
// no proof (browser apps publish theirs), and a system client is trusted
// with any user's request.
func (c *Caller) clientIs(role string) bool {
	if role == db.ClientRoleSystem && !c.SecretVerified {
		return false
	}
	return slices.Contains(c.ClientRoles, role)
}

// userIs reports whether there is a user with the role.
func (c *Caller) userIs(role string) bool {
	return c.User != nil && slices.Contains(c.User.Roles, role)
}

// userID is the calling user's ID, "" without one.
func (c *Caller) userID() string {
	if c.User == nil {
		return ""
	}
	return c.User.ID
}

// staff is the STAFF rule: a system client with an authenticated user, or
// an internal client with a sysadmin or employee user.
func (c *Caller) staff() bool {
	return (c.clientIs(db.ClientRoleSystem) && c.User != nil) ||
		(c.clientIs(db.ClientRoleInternal) && (c.userIs(db.RoleSysadmin) || c.userIs(db.RoleEmployee)))
}

// sysint is the SYSINT rule (and SESSADM, its twin in the original): an
// internal client with a sysadmin user.
func (c *Caller) sysint() bool {
	return c.clientIs(db.ClientRoleInternal) && c.userIs(db.RoleSysadmin)
}

// isc is the ISC rule: a client with the roles system and internal that
// presented its secret.
func (c *Caller) isc() bool {
	return c.SecretVerified && c.clientIs(db.ClientRoleSystem) && c.clientIs(db.ClientRoleInternal)
}

// privileged is the part of orgRole(F) that holds in every organization:
// ISC, or a sysadmin or employee user.
func (c *Caller) privileged() bool {
	return c.isc() || c.userIs(db.RoleSysadmin) || c.userIs(db.RoleEmployee)
}

// self reports whether the caller is the user userID.
func (c *Caller) self(userID string) bool {
	return c.User != nil && userID != "" && c.User.ID == userID
}
