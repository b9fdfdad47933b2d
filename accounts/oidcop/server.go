package oidcop

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier"
)

// server is op's LegacyServer with authgw's policy where the library's
// own would not do: stricter authorization requests, the token endpoint
// (codes, refresh) minting macaroons, userinfo for macaroons, and
// end_session only with a verified ID token hint.
type server struct {
	*op.LegacyServer
	p *Provider
}

// VerifyAuthRequest adds authgw's rules to op's: state, nonce,
// code_challenge and scope of bounded size; response type code only; PKCE with S256 only (plain refused) and required for public
// clients; the scopes openid and only those the client may ask for
// (invalid_scope otherwise, where op would drop them silently). These
// refusals come before the redirect URI is checked, so they are shown,
// never redirected.
func (s *server) VerifyAuthRequest(ctx context.Context, r *op.Request[oidc.AuthRequest]) (*op.ClientRequest[oidc.AuthRequest], error) {
	cr, err := s.LegacyServer.VerifyAuthRequest(ctx, r)
	if err != nil {
		if errors.Is(err, errUnknownClient) {
			return nil, oidc.ErrInvalidClient().WithDescription("unknown client").WithParent(err)
		}
		return nil, err
	}
	a := r.Data
	if len(a.State) > maxState || len(a.Nonce) > maxNonce || len(a.CodeChallenge) > maxChallenge || len(a.Scopes) > maxScopes {
		// Shown, not sent back to the application with the oversized
		// state in its URL.
		return nil, oidc.ErrInvalidRequest().WithDescription("state, nonce, code_challenge or scope is too long")
	}
	if a.ResponseType != oidc.ResponseTypeCode {
		return nil, oidc.ErrInvalidRequest().WithDescription("only response_type=code is supported")
	}
	switch {
	case a.CodeChallenge != "" && a.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case a.CodeChallenge == "" && a.CodeChallengeMethod != "":
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method without code_challenge")
	case a.CodeChallenge == "" && cr.Client.AuthMethod() == oidc.AuthMethodNone:
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE (code_challenge with S256) is required for this client")
	}
	if !slices.Contains(a.Scopes, oidc.ScopeOpenID) {
		return nil, oidc.ErrInvalidScope().WithDescription("the openid scope is required")
	}
	for _, sc := range a.Scopes {
		if !cr.Client.IsScopeAllowed(sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("a scope is not allowed for this client")
		}
	}
	return cr, nil
}

// BrowserCookiePrefix starts the name of the cookie that binds an
// authorization request to the browser that started it:
// BrowserCookiePrefix + the request's ID. The consent page sends its
// value with the decision; the accounts API refuses a decision without
// it, so a request started by one browser cannot be approved by another
// (someone who got a victim to open the consent page of their request
// would otherwise fetch the code at the callback).
const BrowserCookiePrefix = "authgw-oidc-"

// browserKey carries the binding value of the request being created.
type browserKey struct{}

// browserValueBytes is the size of the binding value: 256 bits.
const browserValueBytes = 32

// Authorize stores the request as op does, bound to this browser: the
// redirect to the consent page sets the binding cookie.
func (s *server) Authorize(ctx context.Context, r *op.ClientRequest[oidc.AuthRequest]) (*op.Redirect, error) {
	b := make([]byte, browserValueBytes)
	if _, err := io.ReadFull(s.p.cfg.Rand, b); err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	value := base64.RawURLEncoding.EncodeToString(b)
	redirect, err := s.LegacyServer.Authorize(context.WithValue(ctx, browserKey{}, value), r)
	if err != nil || redirect == nil {
		return redirect, err
	}
	id, ok := strings.CutPrefix(redirect.URL, ConsentPath+"?id=")
	if !ok {
		return redirect, nil // an error sent to the client
	}
	c := &http.Cookie{Name: BrowserCookiePrefix + id, Value: value, Path: accounts.Prefix, MaxAge: int(s.p.cfg.AuthRequestTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(op.IssuerFromContext(ctx), "https://")}
	if redirect.Header == nil {
		redirect.Header = http.Header{}
	}
	redirect.Header.Add("Set-Cookie", c.String())
	return redirect, nil
}

// tokenResponse is the token endpoint's answer: the standard members,
// and "macaroons", every method's token (OAuth allows extra members).
type tokenResponse struct {
	oidc.AccessTokenResponse
	Macaroons map[string]string `json:"macaroons"`
}

// invalidGrant is the token endpoint's refusal of a code or refresh
// token.
func invalidGrant(description string) error {
	return oidc.ErrInvalidGrant().WithDescription("%s", description)
}

// CodeExchange answers grant_type=authorization_code. Unlike op's
// LegacyServer it checks the PKCE verifier whenever the request had a
// challenge, whatever the client's authentication; a code is good once,
// for 60 s, for its own client and redirect URI; a code presented again
// revokes the session its first exchange made.
func (s *server) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	if r.Data.Code == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("code is required")
	}
	store, now := s.p.cfg.Store, s.p.cfg.Now()
	req, err := store.GetOIDCAuthRequestByCode(ctx, codeHash(r.Data.Code))
	if errors.Is(err, db.ErrNotFound) {
		return nil, invalidGrant("the code is not valid")
	}
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	if req.ClientID != r.Client.GetID() {
		return nil, invalidGrant("the code is not valid")
	}
	if req.UsedMs != 0 {
		s.revokeIssued(ctx, req.ID)
		return nil, invalidGrant("the code was used before; what it issued is revoked")
	}
	if req.CodeExpiresMs <= now.UnixMilli() || req.UserID == "" {
		return nil, invalidGrant("the code has expired")
	}
	if r.Data.RedirectURI != req.RedirectURI {
		return nil, invalidGrant("redirect_uri does not match the authorization request")
	}
	areq := authRequest{req}
	if ch := areq.GetCodeChallenge(); ch != nil || r.Client.AuthMethod() == oidc.AuthMethodNone {
		if ch == nil || r.Data.CodeVerifier == "" || !oidc.VerifyCodeChallenge(ch, r.Data.CodeVerifier) {
			return nil, invalidGrant("the code_verifier does not match the code_challenge")
		}
	}
	if err := store.UseOIDCAuthCode(ctx, req.ID, now.UnixMilli()); err != nil {
		if errors.Is(err, db.ErrCodeUsed) {
			s.revokeIssued(ctx, req.ID)
			return nil, invalidGrant("the code was used before; what it issued is revoked")
		}
		return nil, oidc.ErrServerError().WithParent(err)
	}
	toks, err := s.p.cfg.Accounts.StartOIDCGrant(ctx, accounts.OIDCGrantRequest{UserID: req.UserID, ClientID: req.ClientID,
		Scopes: req.Scopes, Nonce: req.Nonce, AMR: req.AMR, AuthTimeMs: req.AuthTimeMs,
		SecretVerified: r.Client.AuthMethod() != oidc.AuthMethodNone, IP: clientIP(ctx), UserAgent: userAgent(ctx)})
	if err != nil {
		return nil, s.grantError(err)
	}
	if err := store.SetOIDCIssuedSession(ctx, req.ID, toks.SessionID); err != nil {
		s.p.cfg.Logger.Error("oidcop: recording the session of a code failed", "request", req.ID, "err", err)
	}
	// A replay that came while the session was being made found no
	// session to revoke, but marked the request: this exchange revokes
	// its own. (A replay after the record above revokes it itself.)
	if again, err := store.GetOIDCAuthRequest(ctx, req.ID); err != nil || again.ReplayedMs != 0 {
		if err := s.p.cfg.Accounts.RevokeOIDCSession(ctx, toks.SessionID, "oidc-code-reuse"); err != nil {
			s.p.cfg.Logger.Error("oidcop: revoking the session of a reused code failed", "session", toks.SessionID, "err", err)
		}
		return nil, invalidGrant("the code was used twice; what it issued is revoked")
	}
	return s.answer(ctx, areq, r.Client, toks, req.Scopes, r.Data.Code)
}

// revokeIssued marks the request's code replayed and revokes the
// session its first exchange made (or that exchange will, seeing the
// mark, when it has not recorded its session yet).
func (s *server) revokeIssued(ctx context.Context, id string) {
	if err := s.p.cfg.Store.MarkOIDCCodeReplayed(ctx, id, s.p.cfg.Now().UnixMilli()); err != nil {
		s.p.cfg.Logger.Error("oidcop: marking a reused code failed", "request", id, "err", err)
	}
	req, err := s.p.cfg.Store.GetOIDCAuthRequest(ctx, id)
	if err != nil || req.IssuedSessionID == "" {
		return
	}
	if err := s.p.cfg.Accounts.RevokeOIDCSession(ctx, req.IssuedSessionID, "oidc-code-reuse"); err != nil {
		s.p.cfg.Logger.Error("oidcop: revoking the session of a reused code failed", "session", req.IssuedSessionID, "err", err)
	}
}

// grantError maps accounts' refusals to invalid_grant, other failures
// to a server error (logged by op, never with a token).
func (s *server) grantError(err error) error {
	if errors.Is(err, accounts.ErrOIDCGrant) {
		return invalidGrant(strings.TrimPrefix(err.Error(), accounts.ErrOIDCGrant.Error()+": "))
	}
	return oidc.ErrServerError().WithParent(err)
}

// answer writes the token response: the GET macaroon as access_token,
// every method's macaroon, the refresh token when granted, and the ID
// token (with at_hash of the access token, and c_hash for a code).
func (s *server) answer(ctx context.Context, idReq op.IDTokenRequest, c op.Client, toks accounts.OIDCTokens, scopes []string, code string) (*op.Response, error) {
	access := toks.Macaroons["GET"]
	if access == "" {
		return nil, oidc.ErrServerError().WithDescription("no access token could be minted")
	}
	idToken, err := op.CreateIDToken(ctx, op.IssuerFromContext(ctx), idReq, c.IDTokenLifetime(), access, code, &storage{p: s.p}, c)
	if err != nil {
		return nil, err
	}
	expiresIn := max(int64(time.Until(toks.Expires).Seconds()), 0)
	if !toks.Expires.IsZero() {
		expiresIn = max(int64(toks.Expires.Sub(s.p.cfg.Now()).Seconds()), 0)
	}
	return op.NewResponse(tokenResponse{
		AccessTokenResponse: oidc.AccessTokenResponse{AccessToken: access, TokenType: oidc.BearerToken, RefreshToken: toks.Refresh,
			ExpiresIn: uint64(expiresIn), IDToken: idToken, Scope: scopes},
		Macaroons: toks.Macaroons,
	}), nil
}

// RefreshToken answers grant_type=refresh_token with the session's
// rotating refresh token (reuse revokes the session), for the client
// that holds the grant only, with offline_access only.
func (s *server) RefreshToken(ctx context.Context, r *op.ClientRequest[oidc.RefreshTokenRequest]) (*op.Response, error) {
	if r.Data.RefreshToken == "" || len(r.Data.RefreshToken) > 128 {
		return nil, oidc.ErrInvalidRequest().WithDescription("refresh_token is required")
	}
	if !slices.Contains(r.Client.GrantTypes(), oidc.GrantTypeRefreshToken) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("this client may not use refresh tokens")
	}
	toks, grant, err := s.p.cfg.Accounts.RefreshOIDCGrant(ctx, r.Data.RefreshToken, r.Client.GetID())
	if err != nil {
		return nil, s.grantError(err)
	}
	for _, sc := range r.Data.Scopes {
		if !slices.Contains(grant.Scopes, sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("a refresh may not widen the scopes")
		}
	}
	sess, err := s.p.cfg.Store.GetSession(ctx, toks.SessionID)
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	req := refreshRequest{userID: toks.UserID, clientID: grant.ClientID, scopes: grant.Scopes, amr: strings.Fields(sess.AMR)}
	if sess.AuthTimeMs != 0 {
		req.authTime = time.UnixMilli(sess.AuthTimeMs)
	}
	return s.answer(ctx, req, r.Client, toks, grant.Scopes, "")
}

// UserInfo answers for an access token of a grant (a macaroon): its
// signature first, then its caveats for GET on the userinfo endpoint,
// then the session (live) and the user (there, not banned).
func (s *server) UserInfo(ctx context.Context, r *op.Request[oidc.UserInfoRequest]) (*op.Response, error) {
	denied := op.NewStatusError(oidc.ErrAccessDenied().WithDescription("access token invalid"), http.StatusUnauthorized)
	grant, err := s.grantOf(ctx, r.Data.AccessToken)
	if err != nil {
		return nil, denied
	}
	id, err := s.p.verifier.Load().Verify(r.Data.AccessToken, verifier.Request{Method: http.MethodGet, Path: accounts.OIDCUserinfoPath, ClientID: grant.ClientID})
	if err != nil || id.SessionID != grant.SessionID {
		return nil, denied
	}
	sess, err := s.p.cfg.Store.GetSession(ctx, id.SessionID)
	if err != nil || !sess.Live(s.p.cfg.Now().UnixMilli()) || sess.UserID != id.UserID {
		return nil, denied
	}
	u, err := s.p.cfg.Store.GetUser(ctx, id.UserID)
	if err != nil || u.BannedMs != 0 {
		return nil, denied
	}
	info := new(oidc.UserInfo)
	if err := s.p.setUserinfo(ctx, info, id.UserID, grant.Scopes); err != nil {
		return nil, denied
	}
	return op.NewResponse(info), nil
}

// grantOf reads the grant an access token names, from the token's
// identifier before its signature is checked: unsafe, used only to know
// which client the token may be bound to; Verify decides.
func (s *server) grantOf(ctx context.Context, token string) (db.OIDCGrant, error) {
	if len(token) > 16<<10 {
		return db.OIDCGrant{}, errors.New("token too long")
	}
	m, err := mint.Decode(token)
	if err != nil {
		return db.OIDCGrant{}, err
	}
	unsafeID, err := mint.ParseIdentifier(m.Id())
	if err != nil {
		return db.OIDCGrant{}, err
	}
	return s.p.cfg.Store.GetOIDCGrant(ctx, unsafeID.SessionID)
}

// EndSession is RP-initiated logout: only with a verified id_token_hint
// (which names the user and the client), it ends the sessions that
// client holds for the user and sends the browser to the
// post_logout_redirect_uri when it is exactly one of the client's.
func (s *server) EndSession(ctx context.Context, r *op.Request[oidc.EndSessionRequest]) (*op.Redirect, error) {
	if r.Data.IdTokenHint == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("id_token_hint is required")
	}
	redirect, err := s.LegacyServer.EndSession(ctx, r)
	if errors.Is(err, errUnknownClient) {
		// op makes a server error of the hint's client being gone (deleted,
		// or its redirect URIs removed): the request is what is wrong.
		return nil, oidc.ErrInvalidRequest().WithDescription("the application of id_token_hint is no longer an OpenID client")
	}
	return redirect, err
}

// The token request's client IP and user agent, for the session row.
type requestKey struct{}

// requestFacts: gatewayClient is the client whose secret the gateway
// checked (a Basic credential), "" when it checked none.
type requestFacts struct{ ip, userAgent, gatewayClient string }

func gatewayClient(ctx context.Context) string {
	f, _ := ctx.Value(requestKey{}).(requestFacts)
	return f.gatewayClient
}

func clientIP(ctx context.Context) string {
	f, _ := ctx.Value(requestKey{}).(requestFacts)
	return f.ip
}

func userAgent(ctx context.Context) string {
	f, _ := ctx.Value(requestKey{}).(requestFacts)
	return f.userAgent
}

// Discovery is op's document, narrowed to what this provider does: the
// code flow (no implicit, no JWT bearer grant), no revocation or
// introspection endpoint, and the claims it fills.
func (s *server) Discovery(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	resp, err := s.LegacyServer.Discovery(ctx, r)
	if err != nil {
		return nil, err
	}
	if d, ok := resp.Data.(*oidc.DiscoveryConfiguration); ok {
		d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
		d.ResponseModesSupported = []string{"query"}
		d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
		d.RevocationEndpointAuthMethodsSupported, d.RevocationEndpointAuthSigningAlgValuesSupported = nil, nil
		d.IntrospectionEndpointAuthMethodsSupported, d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil, nil
		d.ClaimsSupported = []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "amr", "at_hash", "c_hash", "azp", "name", "email", "email_verified"}
	}
	return resp, nil
}
