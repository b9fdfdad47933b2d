package accounts

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
)

// The accounts side of the OpenID Connect provider (package
// accounts/oidcop owns the protocol): an OIDC grant is an ordinary
// session of the user, held by the OIDC client, whose tokens are minted
// from the user's policies filtered by the granted scopes
// (FilterPolicies). The consent page's API (read an authorization
// request, decide it) and the consents' API live here too.

// OIDCPath is where the OpenID Connect provider is served, under
// Prefix; its issuer is the public URL followed by Prefix+OIDCPath.
const OIDCPath = "/oidc"

// OIDCUserinfoPath is the userinfo endpoint, which every OIDC access
// token is granted (GET).
const OIDCUserinfoPath = Prefix + OIDCPath + "/userinfo"

// OIDCStore is what the OpenID Connect parts use of the store.
type OIDCStore interface {
	GetOIDCAuthRequest(ctx context.Context, id string) (db.OIDCAuthRequest, error)
	ApproveOIDCAuthRequest(ctx context.Context, id, userID string, authTimeMs int64, amr string, nowMs int64) error
	CreateOIDCGrant(ctx context.Context, g db.OIDCGrant) error
	GetOIDCGrant(ctx context.Context, sessionID string) (db.OIDCGrant, error)
	ListOIDCGrantSessions(ctx context.Context, userID, clientID string, nowMs int64) ([]string, error)
	SaveOIDCConsent(ctx context.Context, c db.OIDCConsent) error
	GetOIDCConsent(ctx context.Context, userID, clientID string) (db.OIDCConsent, error)
	ListOIDCConsents(ctx context.Context, userID string) ([]db.OIDCConsent, error)
	DeleteOIDCConsent(ctx context.Context, userID, clientID string) error
}

// ErrOIDCGrant is the root of the refusals of StartOIDCGrant and
// RefreshOIDCGrant that the token endpoint answers as invalid_grant.
var ErrOIDCGrant = errors.New("accounts: invalid OIDC grant")

// OIDCGrantRequest is a grant the token endpoint makes once a code is
// exchanged.
type OIDCGrantRequest struct {
	// UserID, ClientID and Scopes are required; Scopes are the granted
	// ones (openid and the others).
	UserID, ClientID string
	Scopes           []string
	// Nonce is the authorization request's, kept with the grant.
	Nonce string
	// AMR and AuthTimeMs are those of the browser session that approved.
	AMR        string
	AuthTimeMs int64
	// SecretVerified is whether the client authenticated with its
	// secret (a confidential client).
	SecretVerified bool
	// IP and UserAgent describe the token request. Optional.
	IP, UserAgent string
}

// OIDCTokens are the tokens of an OIDC grant.
type OIDCTokens struct {
	SessionID string
	UserID    string
	// Refresh is the session's refresh token; "" unless the grant has
	// offline_access.
	Refresh string
	// Macaroons maps each granted method to its token (never a step-up
	// token).
	Macaroons map[string]string
	// Expires is the tokens' time-before.
	Expires time.Time
}

// StartOIDCGrant makes the session of a grant and mints its tokens. It
// fails with ErrOIDCGrant when the user is gone or banned, the client may
// no longer ask for the scopes, or the user's consent to the client no
// longer covers them (revoked since the approval).
func (s *Service) StartOIDCGrant(ctx context.Context, g OIDCGrantRequest) (OIDCTokens, error) {
	u, err := s.logins.GetUser(ctx, g.UserID)
	if err != nil || u.BannedMs != 0 {
		return OIDCTokens{}, fmt.Errorf("%w: the user is gone or banned", ErrOIDCGrant)
	}
	if !s.clientAllowsOIDC(ctx, g.ClientID, g.Scopes) {
		return OIDCTokens{}, fmt.Errorf("%w: the client may no longer ask for these scopes", ErrOIDCGrant)
	}
	// The approval saved the consent; a consent revoked (or forgotten)
	// since, while the code was on its way, takes the code with it.
	if c, err := s.oidc().GetOIDCConsent(ctx, g.UserID, g.ClientID); err != nil || !covers(c.Scopes, g.Scopes) {
		if err != nil && !isNotFound(err) {
			return OIDCTokens{}, err
		}
		return OIDCTokens{}, fmt.Errorf("%w: the user no longer allows this application", ErrOIDCGrant)
	}
	now := s.cfg.Now()
	token, hash, err := s.newRefreshToken()
	if err != nil {
		return OIDCTokens{}, err
	}
	ua := g.UserAgent
	if len(ua) > maxUserAgent || hasControl(ua) {
		ua = ""
	}
	sess := db.Session{ID: s.newID(), UserID: u.ID, ClientID: g.ClientID, IP: g.IP, UserAgent: ua,
		CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(s.cfg.SessionTTL).UnixMilli(),
		SecretVerified: g.SecretVerified, AMR: g.AMR, AuthTimeMs: g.AuthTimeMs}
	in, err := s.logins.StartSession(ctx, sess, db.RefreshToken{Hash: hash, SessionID: sess.ID, CreatedMs: sess.CreatedMs, ExpiresMs: sess.ExpiresMs})
	if isNotFound(err) {
		return OIDCTokens{}, fmt.Errorf("%w: the user is gone", ErrOIDCGrant)
	}
	if err != nil {
		return OIDCTokens{}, err
	}
	if err := s.oidc().CreateOIDCGrant(ctx, db.OIDCGrant{SessionID: sess.ID, ClientID: g.ClientID, Scopes: g.Scopes, Nonce: g.Nonce}); err != nil {
		_ = s.revokeSessionIn(ctx, sess.ID, "oidc-grant-failed")
		return OIDCTokens{}, err
	}
	s.record(ctx, audit.Event{Type: audit.SessionCreated, SubjectUserID: u.ID, ActorClientID: g.ClientID, IP: g.IP,
		Data: map[string]string{"session": sess.ID, "amr": sess.AMR, "step": "oidc"}})
	return s.oidcTokens(u, sess, in, g.Scopes, token)
}

// RefreshOIDCGrant rotates the refresh token of an OIDC grant of the
// client, as POST /sessions/refresh does (same rotation, same reuse
// detection: a spent token presented again revokes the session), and
// mints again with the grant's scopes. It fails with ErrOIDCGrant for a
// token that is unknown, spent, of another client or of a session that
// is no OIDC grant, whose grant has no offline_access, or has a scope
// the client may no longer ask for (taken from its oidcScopes since), or
// that was made with the client's secret when the client is public now.
func (s *Service) RefreshOIDCGrant(ctx context.Context, token, clientID string) (OIDCTokens, db.OIDCGrant, error) {
	var grant db.OIDCGrant
	res, next, _, err := s.rotateRefresh(ctx, token, func(sess db.Session) bool {
		g, err := s.oidc().GetOIDCGrant(ctx, sess.ID)
		if err != nil || g.ClientID != clientID || sess.ClientID != clientID || !slices.Contains(g.Scopes, ScopeOfflineAccess) {
			return false
		}
		c, ok := s.oidcClientAllows(ctx, clientID, g.Scopes)
		if !ok || (sess.SecretVerified && c.Public) {
			// A grant made with the client's secret is not refreshed
			// without it: a client turned public since must sign in again.
			return false
		}
		grant = g
		return true
	})
	if err != nil {
		// The answers of rotateRefresh are the API's; the token endpoint
		// speaks OAuth: every refusal is invalid_grant.
		if e := httpError(err); e.Status < 500 {
			return OIDCTokens{}, grant, fmt.Errorf("%w: %s", ErrOIDCGrant, e.Detail)
		}
		return OIDCTokens{}, grant, err
	}
	u, err := s.logins.GetUser(ctx, res.Session.UserID)
	if err != nil || u.BannedMs != 0 {
		return OIDCTokens{}, grant, fmt.Errorf("%w: the user is gone or banned", ErrOIDCGrant)
	}
	toks, err := s.oidcTokens(u, res.Session, res.Inputs, grant.Scopes, next)
	return toks, grant, err
}

// clientAllowsOIDC reports whether the client (live) may still ask for
// every one of scopes: openid and its oidcScopes. A scope taken from a
// client is taken from the grants it holds.
func (s *Service) clientAllowsOIDC(ctx context.Context, clientID string, scopes []string) bool {
	_, ok := s.oidcClientAllows(ctx, clientID, scopes)
	return ok
}

// oidcClientAllows is clientAllowsOIDC, with the client.
func (s *Service) oidcClientAllows(ctx context.Context, clientID string, scopes []string) (db.Client, bool) {
	c, err := s.management.GetClient(ctx, clientID)
	if err != nil {
		return c, false
	}
	return c, covers(append([]string{ScopeOpenID}, c.OIDCScopes...), scopes)
}

// RevokeOIDCSession ends a session, as a logout does (the gateways are
// told).
func (s *Service) RevokeOIDCSession(ctx context.Context, sessionID, reason string) error {
	err := s.revokeSessionIn(ctx, sessionID, reason)
	if isNotFound(err) {
		return nil
	}
	return err
}

// EndOIDCSessions ends the live sessions the client holds for the user
// (RP-initiated logout, a consent revoked).
func (s *Service) EndOIDCSessions(ctx context.Context, userID, clientID, reason string) error {
	ids, err := s.oidc().ListOIDCGrantSessions(ctx, userID, clientID, s.nowMs())
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.RevokeOIDCSession(ctx, id, reason); err != nil {
			return err
		}
	}
	return nil
}

// The scopes of the OpenID Connect provider.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
	// ScopeAPIPrefix starts an api:<name> scope: the user's routes under
	// /<name>/.
	ScopeAPIPrefix = "api:"
	// ReservedOIDCAPI is the one name no api:<name> scope may take:
	// authgw's own API (Prefix). Its routes manage the user's account
	// (addresses, factors, organizations, for staff every organization):
	// an app holding them could take the account over, so no client is
	// allowed api:accounts and no grant reaches them but userinfo.
	ReservedOIDCAPI = "accounts"
)

// oidcTokens mints the grant's tokens from the user's policies filtered
// by the scopes, with the userinfo grant.
func (s *Service) oidcTokens(u db.User, sess db.Session, in db.MintInputs, scopes []string, refresh string) (OIDCTokens, error) {
	left := time.UnixMilli(sess.ExpiresMs).Sub(s.cfg.Now())
	if left < time.Second {
		return OIDCTokens{}, fmt.Errorf("%w: the session has ended", ErrOIDCGrant)
	}
	subject := mint.Subject{UserID: u.ID, SessionID: sess.ID, ClientID: sess.ClientID, Roles: in.Roles,
		IssuedAt: time.UnixMilli(in.IssuedMs), TTL: left}
	subject.AMR, subject.AuthTime = sessionAuthn(sess)
	for _, m := range in.Memberships {
		if !m.Pending {
			subject.Memberships = append(subject.Memberships, mint.Membership{OrgID: m.OrganizationID,
				Read: m.Read, Edit: m.Edit, Manage: m.Manage, Delete: m.Delete})
		}
	}
	policies, err := FilterPolicies(s.cfg.Policies().ForRoles(in.Roles), scopes)
	if err != nil {
		s.cfg.Logger.Error("accounts: filtering policies for an OIDC grant failed", "user", u.ID, "err", err)
		return OIDCTokens{}, apiError(http.StatusServiceUnavailable, CodeUnavailable, "")
	}
	toks, err := s.cfg.Minter.Mint(policies, subject)
	if err != nil {
		s.cfg.Logger.Error("accounts: minting an OIDC grant failed", "user", u.ID, "err", err)
		return OIDCTokens{}, apiError(http.StatusServiceUnavailable, CodeUnavailable, "")
	}
	out := OIDCTokens{SessionID: sess.ID, UserID: u.ID, Macaroons: toks.ByMethod, Expires: toks.Expires}
	if slices.Contains(scopes, ScopeOfflineAccess) {
		out.Refresh = refresh
	}
	return out, nil
}

// defaultOIDCExpires is the userinfo grant's lifetime when the user has
// no policy to take it from.
const defaultOIDCExpires = 900

// FilterPolicies returns the policies an OIDC grant with scopes mints
// from: for each scope api:<name>, the routes of policies whose first
// path segment can match <name>, a literal <name> kept as is and a
// wildcard first segment ("*", "**", "abc*") that matches <name>
// rewritten to the literal <name> ("/**" becomes "/<name>/**"); scopes
// with stepUp stay (their routes keep the except-routes caveat of the
// ordinary token); api:accounts (ReservedOIDCAPI) grants nothing. One
// more policy always grants GET on the userinfo
// endpoint, with the shortest lifetime of policies. Routes of other
// segments, and policies left with no route, are dropped. Every policy
// returned binds its tokens to the client (bindClient), whatever the
// original said: an access token is the app's, and at the gateway its
// client caveat names the app when it comes as a Bearer credential, so
// the app's restrictions and rate limit apply and no other client can
// use it. It fails when a rewritten route does not compile.
func FilterPolicies(policies []*policy.Policy, scopes []string) ([]*policy.Policy, error) {
	var apis []string
	for _, sc := range scopes {
		if name, ok := strings.CutPrefix(sc, ScopeAPIPrefix); ok && name != "" && name != ReservedOIDCAPI {
			apis = append(apis, name)
		}
	}
	expires := defaultOIDCExpires
	var out []*policy.Policy
	for i, p := range policies {
		if i == 0 || p.Expires < expires {
			expires = p.Expires
		}
		np := &policy.Policy{Name: p.Name, AppliesTo: p.AppliesTo, Expires: p.Expires, BindClient: true, ServerID: p.ServerID}
		for _, sc := range p.Scopes {
			var routes []string
			for _, rt := range sc.Routes {
				for _, name := range apis {
					if r, ok := routeForAPI(rt, name); ok && !slices.Contains(routes, r) {
						routes = append(routes, r)
					}
				}
			}
			if len(routes) > 0 {
				np.Scopes = append(np.Scopes, policy.Scope{Name: sc.Name, Routes: routes, Methods: sc.Methods, Membership: sc.Membership, StepUp: sc.StepUp})
			}
		}
		if len(np.Scopes) > 0 {
			out = append(out, np)
		}
	}
	var roles []string
	for _, p := range policies {
		for _, r := range p.AppliesTo.UserRoles {
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
	}
	if len(roles) == 0 {
		roles = []string{db.RoleUser} // a policy names a role; the mint does not read it
	}
	out = append(out, &policy.Policy{Name: "oidc-userinfo", AppliesTo: policy.AppliesTo{UserRoles: roles}, Expires: expires, BindClient: true,
		Scopes: []policy.Scope{{Name: "userinfo", Routes: []string{OIDCUserinfoPath}, Methods: []string{"GET"}}}})
	set, err := policy.NewSet(out...)
	if err != nil {
		return nil, err
	}
	return set.All(), nil
}

// routeForAPI returns the part of route that can match paths under
// /<name>: the route itself when its first segment is <name>, the route
// with its wildcard first segment replaced by <name> when it matches it;
// ok is false when the route cannot match under /<name>.
func routeForAPI(route, name string) (string, bool) {
	rest, ok := strings.CutPrefix(route, "/")
	if !ok {
		return "", false
	}
	first, tail, hasTail := strings.Cut(rest, "/")
	switch {
	case first == name:
		return route, true
	case first == "**":
		if hasTail {
			return "/" + name + "/**/" + tail, true
		}
		return "/" + name + "/**", true
	case strings.Contains(first, ":") || !strings.Contains(first, "*"):
		return "", false
	}
	if m, err := path.Match(first, name); err != nil || !m {
		return "", false
	}
	if hasTail {
		return "/" + name + "/" + tail, true
	}
	return "/" + name, true
}

// OIDCPublicRoutes are the provider's endpoints, public at the gateway:
// each authenticates on its own (client credentials, the Bearer token of
// userinfo, the ID token hint of end_session).
func OIDCPublicRoutes() map[string][]string {
	base := Prefix + OIDCPath
	get := []string{base + "/.well-known/openid-configuration", base + "/authorize", base + "/authorize/callback",
		base + "/keys", base + "/userinfo", base + "/end_session"}
	return map[string][]string{"GET": get, "POST": {base + "/authorize", base + "/token", base + "/userinfo", base + "/end_session", base + "/revoke"}}
}

// oidc is the store as the OpenID Connect parts see it.
func (s *Service) oidc() OIDCStore { return s.cfg.Store }

// oidcRequestOut is the data of GET /oidc-requests/:id.
type oidcRequestOut struct {
	ID         string   `json:"id"`
	ClientID   string   `json:"clientId"`
	ClientName string   `json:"clientName"`
	Scopes     []string `json:"scopes"`
	// Consented is true when the user already allowed the client these
	// scopes: the page may decide without asking.
	Consented bool `json:"consented"`
	// PromptNone and PromptConsent are the prompt values that matter to
	// the page.
	PromptNone    bool `json:"promptNone"`
	PromptConsent bool `json:"promptConsent"`
	// RedirectOrigin is the origin of the request's (registered)
	// redirect URI: where the page's form ends up after the provider's
	// redirects, which the page's form-action must allow.
	RedirectOrigin string `json:"redirectOrigin"`
}

// liveOIDCRequest reads the request :id, waiting for a decision.
func (s *Service) liveOIDCRequest(r *request) (db.OIDCAuthRequest, db.Client, error) {
	req, err := s.oidc().GetOIDCAuthRequest(r.ctx(), r.Param("id"))
	if err != nil {
		return req, db.Client{}, hideNotFound(err)
	}
	if req.ExpiresMs <= s.nowMs() || req.UserID != "" {
		return req, db.Client{}, apiError(http.StatusGone, CodeCodeExpired, "This sign-in request has expired or was decided; start again from the application.")
	}
	cl, err := s.management.GetClient(r.ctx(), req.ClientID)
	if err != nil {
		return req, cl, hideNotFound(err)
	}
	return req, cl, nil
}

// getOIDCRequest is GET /oidc-requests/:id: what the consent page shows.
func (s *Service) getOIDCRequest(r *request) error {
	req, cl, err := s.liveOIDCRequest(r)
	if err != nil {
		return err
	}
	prompts := strings.Fields(req.Prompt)
	out := oidcRequestOut{ID: req.ID, ClientID: cl.ID, ClientName: cl.Name, Scopes: req.Scopes,
		PromptNone: slices.Contains(prompts, "none"), PromptConsent: slices.Contains(prompts, "consent")}
	if u, err := url.Parse(req.RedirectURI); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
		out.RedirectOrigin = u.Scheme + "://" + u.Host
	}
	if c, err := s.oidc().GetOIDCConsent(r.ctx(), r.caller.User.ID, cl.ID); err == nil {
		out.Consented = covers(c.Scopes, req.Scopes)
	} else if !isNotFound(err) {
		return err
	}
	return single(r, http.StatusOK, out)
}

// covers reports whether granted holds every one of asked.
func covers(granted, asked []string) bool {
	for _, a := range asked {
		if !slices.Contains(granted, a) {
			return false
		}
	}
	return true
}

// oidcDecisionOut is the data of POST /oidc-requests/:id/decision: where
// the browser goes next.
type oidcDecisionOut struct {
	Redirect string `json:"redirect"`
}

// decideOIDCRequest is POST /oidc-requests/:id/decision
// {"data":{"allow":bool,"browser":"..."}}, browser the value of the
// binding cookie of the browser that started the request (403
// otherwise): allowed, the request is approved as the
// caller's session authenticated and the consent remembered, and the
// browser goes to the provider's callback, which issues the code;
// denied, or when the session is too old for the request's max_age or
// prompt=login, the browser goes back to the client with an error.
func (s *Service) decideOIDCRequest(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	allow, _ := b.boolean("allow", true)
	browser := b.secret("browser", false, 128)
	denial := b.str("error", false, 32)
	if denial != "" && denial != "access_denied" && denial != "consent_required" {
		b.obstruct("error", ObstructionInvalid, `error is "access_denied" or "consent_required".`)
	}
	if err := b.done(); err != nil {
		return err
	}
	req, cl, err := s.liveOIDCRequest(r)
	if err != nil {
		return err
	}
	if sum := sha256.Sum256([]byte(browser)); req.BrowserHash == "" ||
		subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(req.BrowserHash)) != 1 {
		// Only the browser that started the request decides it: the
		// code goes to whoever calls the callback once it is approved.
		return apiError(http.StatusForbidden, CodeForbidden, "This sign-in request was started in another browser; start again from the application.")
	}
	if !allow {
		if denial == "consent_required" {
			return single(r, http.StatusOK, oidcDecisionOut{Redirect: oidcErrorRedirect(req, "consent_required", "The user has not allowed this application.")})
		}
		return single(r, http.StatusOK, oidcDecisionOut{Redirect: oidcErrorRedirect(req, "access_denied", "The user denied the request.")})
	}
	sess, err := s.logins.GetSession(r.ctx(), r.caller.SessionID)
	if err != nil {
		return hideNotFound(err)
	}
	now := s.nowMs()
	authTime := sess.AuthTimeMs
	if authTime == 0 {
		authTime = sess.CreatedMs
	}
	if (req.MaxAgeS >= 0 && now-authTime > req.MaxAgeS*1000) || (slices.Contains(strings.Fields(req.Prompt), "login") && authTime < req.CreatedMs) {
		return single(r, http.StatusOK, oidcDecisionOut{Redirect: oidcErrorRedirect(req, "login_required",
			"The sign-in is older than the application allows; sign out and sign in again.")})
	}
	if err := s.oidc().ApproveOIDCAuthRequest(r.ctx(), req.ID, r.caller.User.ID, authTime, sess.AMR, now); err != nil {
		return hideNotFound(err)
	}
	if err := s.oidc().SaveOIDCConsent(r.ctx(), db.OIDCConsent{UserID: r.caller.User.ID, ClientID: cl.ID, Scopes: req.Scopes,
		CreatedMs: now, UpdatedMs: now}); err != nil {
		return err
	}
	s.record(r.ctx(), audit.Event{Type: audit.ConsentGranted, SubjectUserID: r.caller.User.ID,
		Data: map[string]string{"client": cl.ID, "scopes": strings.Join(req.Scopes, " ")}})
	return single(r, http.StatusOK, oidcDecisionOut{Redirect: Prefix + OIDCPath + "/authorize/callback?id=" + url.QueryEscape(req.ID)})
}

// oidcErrorRedirect is the client's redirect URI with an OAuth error and
// the request's state.
func oidcErrorRedirect(req db.OIDCAuthRequest, code, description string) string {
	u, err := url.Parse(req.RedirectURI)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("error", code)
	q.Set("error_description", description)
	if req.State != "" {
		q.Set("state", req.State)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// oidcConsentOut is one consent in GET /users/:id/oidc-consents.
type oidcConsentOut struct {
	ClientID   string   `json:"clientId"`
	ClientName string   `json:"clientName"`
	Scopes     []string `json:"scopes"`
	CreatedMs  int64    `json:"createdMs"`
	UpdatedMs  int64    `json:"updatedMs"`
}

// listOIDCConsents is GET /users/:id/oidc-consents.
func (s *Service) listOIDCConsents(r *request) error {
	cs, err := s.oidc().ListOIDCConsents(r.ctx(), r.target.user.ID)
	if err != nil {
		return err
	}
	out := make([]oidcConsentOut, 0, len(cs))
	for _, c := range cs {
		name := ""
		if cl, err := s.management.GetClient(r.ctx(), c.ClientID); err == nil {
			name = cl.Name
		}
		out = append(out, oidcConsentOut{ClientID: c.ClientID, ClientName: name, Scopes: c.Scopes, CreatedMs: c.CreatedMs, UpdatedMs: c.UpdatedMs})
	}
	return collection(r, out, len(out), db.PageInfo{})
}

// deleteOIDCConsent is DELETE /users/:id/oidc-consents/:clientId: the
// consent is forgotten and the client's sessions of the user end.
func (s *Service) deleteOIDCConsent(r *request) error {
	if err := s.oidc().DeleteOIDCConsent(r.ctx(), r.target.user.ID, r.Param("clientId")); err != nil {
		return hideNotFound(err)
	}
	s.record(r.ctx(), audit.Event{Type: audit.ConsentRevoked, SubjectUserID: r.target.user.ID, Data: map[string]string{"client": r.Param("clientId")}})
	if err := s.EndOIDCSessions(r.ctx(), r.target.user.ID, r.Param("clientId"), "oidc-consent-revoked"); err != nil {
		return err
	}
	return null(r)
}
