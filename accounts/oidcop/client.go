package oidcop

import (
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
)

// client is an authgw API client that has redirect URIs, as op sees it.
type client struct {
	c          db.Client
	idTokenTTL time.Duration
}

var _ op.Client = (*client)(nil)

// GetID is the client's ID.
func (c *client) GetID() string { return c.c.ID }

// RedirectURIs are matched exactly (op compares strings).
func (c *client) RedirectURIs() []string { return c.c.RedirectURIs }

// PostLogoutRedirectURIs are matched exactly.
func (c *client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

// ApplicationType is web: no custom schemes, no dynamic loopback ports.
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }

// AuthMethod is none for a public client, client_secret_basic otherwise
// (client_secret_post is accepted too: Config.AuthMethodPost).
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.c.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

// ResponseTypes: the authorization code flow only.
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

// GrantTypes: the code, and refresh tokens when the client may ask for
// offline_access.
func (c *client) GrantTypes() []oidc.GrantType {
	g := []oidc.GrantType{oidc.GrantTypeCode}
	if slices.Contains(c.c.OIDCScopes, accounts.ScopeOfflineAccess) {
		g = append(g, oidc.GrantTypeRefreshToken)
	}
	return g
}

// LoginURL is the portal's consent page for the request.
func (c *client) LoginURL(id string) string { return ConsentPath + "?id=" + id }

// AccessTokenType is bearer (the macaroon; op's own tokens are never
// made: the token endpoint is authgw's).
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }

// IDTokenLifetime is Config.IDTokenLifetime.
func (c *client) IDTokenLifetime() time.Duration { return c.idTokenTTL }

// DevMode is off: no http redirect URIs but loopback ones.
func (c *client) DevMode() bool { return false }

// RestrictAdditionalIdTokenScopes keeps the scopes.
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// RestrictAdditionalAccessTokenScopes keeps the scopes.
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed reports whether the client may ask for scope: openid
// and its oidcScopes, never api:accounts (a client stored with it before
// it was refused asks for it in vain).
func (c *client) IsScopeAllowed(scope string) bool {
	if scope == accounts.ScopeAPIPrefix+accounts.ReservedOIDCAPI {
		return false
	}
	return scope == accounts.ScopeOpenID || slices.Contains(c.c.OIDCScopes, scope)
}

// IDTokenUserinfoClaimsAssertion is true: the ID token carries the email
// and profile claims its scopes grant.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

// ClockSkew is none.
func (c *client) ClockSkew() time.Duration { return 0 }
