package oidcop

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
)

// storage is op's Storage on authgw's store. The grants' tokens are not
// made here: the provider's own token endpoint (server.go) mints them.
type storage struct{ p *Provider }

var _ op.Storage = (*storage)(nil)

// errNotUsed answers the storage methods op never calls on this provider
// (its token endpoint, introspection and JWT profile are authgw's or off).
var errNotUsed = oidc.ErrUnsupportedGrantType().WithDescription("not supported by this provider")

// Bounds of an authorization request's values.
const (
	maxState     = 1024
	maxNonce     = 1024
	maxChallenge = 128
	// maxScopes bounds the scopes of a request: openid and the client's
	// allowed ones (at most 20), with room for repeats.
	maxScopes = 32
)

// CreateAuthRequest stores a validated authorization request.
func (s *storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if len(r.State) > maxState || len(r.Nonce) > maxNonce || len(r.CodeChallenge) > maxChallenge {
		return nil, oidc.ErrInvalidRequest().WithDescription("state, nonce or code_challenge is too long")
	}
	now := s.p.cfg.Now()
	maxAge := int64(-1)
	if r.MaxAge != nil {
		maxAge = int64(*r.MaxAge)
	}
	req := db.OIDCAuthRequest{ID: db.NewID(now, s.p.cfg.Rand), ClientID: r.ClientID, RedirectURI: r.RedirectURI, Scopes: r.Scopes,
		State: r.State, Nonce: r.Nonce, ResponseType: string(r.ResponseType), ResponseMode: string(r.ResponseMode),
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: string(r.CodeChallengeMethod), Prompt: strings.Join(r.Prompt, " "),
		MaxAgeS: maxAge, CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(s.p.cfg.AuthRequestTTL).UnixMilli()}
	if v, _ := ctx.Value(browserKey{}).(string); v != "" {
		req.BrowserHash = codeHash(v)
	}
	if err := s.p.cfg.Store.CreateOIDCAuthRequest(ctx, req); err != nil {
		if errors.Is(err, db.ErrInvalid) {
			return nil, oidc.ErrInvalidRequest().WithDescription("a parameter is too long")
		}
		return nil, err
	}
	return authRequest{req}, nil
}

// AuthRequestByID returns a live request.
func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := s.p.cfg.Store.GetOIDCAuthRequest(ctx, id)
	if err != nil {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown or expired request")
	}
	if r.ExpiresMs <= s.p.cfg.Now().UnixMilli() || r.CodeHash != "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("unknown or expired request")
	}
	return authRequest{r}, nil
}

// AuthRequestByCode is not used: the token endpoint reads codes itself.
func (s *storage) AuthRequestByCode(context.Context, string) (op.AuthRequest, error) {
	return nil, oidc.ErrInvalidGrant()
}

// SaveAuthCode keeps the code's SHA-256, once per request.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	now := s.p.cfg.Now()
	if err := s.p.cfg.Store.SetOIDCAuthCode(ctx, id, codeHash(code), now.Add(s.p.cfg.CodeTTL).UnixMilli(), now.UnixMilli()); err != nil {
		return oidc.ErrInvalidRequest().WithDescription("the request was already answered or has expired")
	}
	return nil
}

// DeleteAuthRequest keeps the request: its row is what detects a code
// used twice. Expired rows are purged apart.
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// CreateAccessToken is not used (the token endpoint is authgw's).
func (s *storage) CreateAccessToken(context.Context, op.TokenRequest) (string, time.Time, error) {
	return "", time.Time{}, errNotUsed
}

// CreateAccessAndRefreshTokens is not used.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errNotUsed
}

// TokenRequestByRefreshToken is not used.
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errNotUsed
}

// TerminateSession ends the sessions the client holds for the user
// (end_session, once the ID token hint is verified).
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	if userID == "" || clientID == "" {
		return oidc.ErrInvalidRequest().WithDescription("id_token_hint is required")
	}
	return s.p.cfg.Accounts.EndOIDCSessions(ctx, userID, clientID, "oidc-logout")
}

// RevokeToken is not offered (no revocation endpoint).
func (s *storage) RevokeToken(context.Context, string, string, string) *oidc.Error {
	return oidc.ErrUnsupportedGrantType()
}

// GetRefreshTokenInfo is not used.
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// SigningKey is the first key of the ring.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.p.keys[0], nil }

// SignatureAlgorithms is RS256.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet is every key of the ring (rotation with overlap).
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	keys := make([]op.Key, len(s.p.keys))
	for i, k := range s.p.keys {
		keys[i] = publicKey{k}
	}
	return keys, nil
}

// errUnknownClient is the plain (not server) error of an unknown,
// deleted or non-OIDC client.
var errUnknownClient = errors.New("oidcop: no such OpenID Connect client")

// GetClientByClientID returns a live client with redirect URIs.
func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.p.client(ctx, id)
	if err != nil {
		return nil, err
	}
	return &client{c: c, idTokenTTL: s.p.cfg.IDTokenLifetime}, nil
}

// client reads a live OIDC client; errUnknownClient when there is none.
func (p *Provider) client(ctx context.Context, id string) (db.Client, error) {
	if id == "" || len(id) > 64 {
		return db.Client{}, errUnknownClient
	}
	c, err := p.cfg.Store.GetClient(ctx, id)
	switch {
	case errors.Is(err, db.ErrNotFound) || errors.Is(err, db.ErrDeleted) || errors.Is(err, db.ErrInvalid):
		return db.Client{}, errUnknownClient
	case err != nil:
		return db.Client{}, oidc.ErrServerError().WithParent(err)
	case len(c.RedirectURIs) == 0:
		return db.Client{}, errUnknownClient
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret as the
// gateway checks client secrets. A secret the gateway did not check
// itself (client_secret_post) is refused for a client with access
// restrictions, which only the gateway applies.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.p.client(ctx, id)
	if err != nil {
		return err
	}
	if c.Public || secret == "" || !s.p.secretMatches(c, secret) {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	if gatewayClient(ctx) != id {
		// client_secret_post: the gateway saw no client here, so the
		// client's access restrictions (IP ranges, hosts) were not
		// applied; a restricted client authenticates with Basic, which
		// the gateway judges.
		rs, err := s.p.cfg.Store.ListRestrictions(ctx, id)
		if err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		if len(rs) > 0 {
			return oidc.ErrInvalidClient().WithDescription("this client has access restrictions: authenticate with client_secret_basic")
		}
	}
	return nil
}

// SetUserinfoFromScopes fills the claims of the ID token.
func (s *storage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, _ string, scopes []string) error {
	return s.p.setUserinfo(ctx, info, userID, scopes)
}

// setUserinfo fills sub and the claims scopes grant: email and
// email_verified (the oldest verified address; none when there is
// none) for email, name for profile when the user has one.
func (p *Provider) setUserinfo(ctx context.Context, info *oidc.UserInfo, userID string, scopes []string) error {
	info.Subject = userID
	u, err := p.cfg.Store.GetUser(ctx, userID)
	if err != nil {
		return oidc.ErrInvalidGrant().WithDescription("the user no longer exists")
	}
	if slices.Contains(scopes, accounts.ScopeProfile) && u.Name != "" {
		info.Name = u.Name
	}
	if slices.Contains(scopes, accounts.ScopeEmail) {
		emails, err := p.cfg.Store.ListEmails(ctx, userID)
		if err != nil {
			return err
		}
		var best *db.Email
		for i, e := range emails {
			if e.VerifiedMs != 0 && (best == nil || e.CreatedMs < best.CreatedMs) {
				best = &emails[i]
			}
		}
		if best != nil {
			info.Email, info.EmailVerified = best.Email, true
		}
	}
	return nil
}

// SetUserinfoFromToken is not used (userinfo is server.go's).
func (s *storage) SetUserinfoFromToken(context.Context, *oidc.UserInfo, string, string, string) error {
	return errNotUsed
}

// SetIntrospectionFromToken is not used (no introspection).
func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errNotUsed
}

// GetPrivateClaimsFromScopes adds none.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID is not used (no private_key_jwt).
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotUsed
}

// ValidateJWTProfileScopes is not used (no JWT profile grant).
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errNotUsed
}

// Health is always fine: the store's own health is the admin listener's.
func (s *storage) Health(context.Context) error { return nil }
