package accounts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier"
	"github.com/authgw/authgw/verifier/envelope"
)

// Sessions (the README's "Refresh and logout"): a login ends with a session row, a refresh
// token (only its SHA-256 is stored) and one token per granted method,
// sent in JSON and as cookies. Refresh rotates the refresh token and
// mints again from the roles and policies as they are then; logout
// invalidates the session and feeds the gateways' revocation sets.

// refreshTokenBytes is the size of a refresh token: 256 bits.
const refreshTokenBytes = 32

// maxUserAgent bounds the user agent stored with a session.
const maxUserAgent = 255

// sessionOut is the data of a {"t":"session"} answer.
type sessionOut struct {
	SessionID string `json:"sessionId"`
	UserID    string `json:"userId"`
	// ExpiresAt is the session's end (Unix ms): refresh works until then.
	ExpiresAt int64  `json:"expiresAt"`
	Refresh   string `json:"refresh"`
	// Macaroons maps each granted method to its token.
	Macaroons map[string]string `json:"macaroons"`
	// MacaroonsExpireAt is the tokens' time-before (Unix ms).
	MacaroonsExpireAt int64 `json:"macaroonsExpireAt"`
	// RecoveryCodes are those of a TOTP enrolled during this login
	// (mfarequired.go), shown this once; absent otherwise.
	RecoveryCodes *recoveryCodesOut `json:"recoveryCodes,omitempty"`
	// StepUpMacaroons maps each method some of whose granted routes need
	// a step-up to its step-up token (sent with a bound discharge of its
	// third-party caveat, from POST /discharge); empty when no policy of
	// the user has stepUp.
	StepUpMacaroons map[string]string `json:"stepUpMacaroons"`
	// StepUpMacaroonsExpireAt is the step-up tokens' time-before (Unix
	// ms), the same as MacaroonsExpireAt; 0 without step-up tokens.
	StepUpMacaroonsExpireAt int64 `json:"stepUpMacaroonsExpireAt"`
}

// newRefreshToken returns a new refresh token and its stored hash.
func (s *Service) newRefreshToken() (token, hash string, err error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", "", fmt.Errorf("refresh token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, refreshHash(token), nil
}

func refreshHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// startSession creates a session for u through the calling client and
// answers it with the status.
func (s *Service) startSession(r *request, u db.User, status int) error {
	return s.startSessionEnding(r, u, status, nil)
}

// startSessionEnding is startSession that, once the new session exists,
// ends the sessions held (a login that fails leaves them alone).
func (s *Service) startSessionEnding(r *request, u db.User, status int, held []string) error {
	now := s.cfg.Now()
	token, hash, err := s.newRefreshToken()
	if err != nil {
		return err
	}
	ua := r.Request().UserAgent()
	if len(ua) > maxUserAgent || hasControl(ua) {
		ua = ""
	}
	sess := db.Session{ID: s.newID(), UserID: u.ID, ClientID: r.caller.ClientID, IP: r.caller.IP, UserAgent: ua,
		CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(s.cfg.SessionTTL).UnixMilli(),
		SecretVerified: r.caller.ClientID != "" && r.caller.SecretVerified, AMR: loginAMR(r), AuthTimeMs: now.UnixMilli()}
	in, err := s.logins.StartSession(r.ctx(), sess, db.RefreshToken{Hash: hash, SessionID: sess.ID,
		CreatedMs: sess.CreatedMs, ExpiresMs: sess.ExpiresMs})
	if isNotFound(err) {
		return apiError(http.StatusUnauthorized, CodeUserDeleted, "The account no longer exists.")
	}
	if err != nil {
		return err
	}
	s.record(r.ctx(), audit.Event{Type: audit.SessionCreated, SubjectUserID: u.ID,
		Data: map[string]string{"session": sess.ID, "amr": sess.AMR, "step": r.Param("step")}})
	for _, id := range held {
		if err := s.revokeSession(r, id, "new-login"); err != nil && !isNotFound(err) {
			return err
		}
	}
	return s.answerSession(r, u, sess, token, status, in)
}

// startLoginSession is startSession at the end of a login: the session
// the browser held before (the one of its refresh cookie) ends once the
// new one exists, as a logout would end it (ASVS 7.2.4), whoever logged
// in. The refresh cookie's path covers the login steps, so a browser
// holding a live session always sends it; its token cookies are not read
// (the login routes are public: nothing verifies them, and an unverified
// token's session ID is no proof). A program that keeps its refresh
// tokens itself keeps its sessions: it may hold several on purpose.
func (s *Service) startLoginSession(r *request, u db.User) error {
	held, err := s.heldSessions(r)
	if err != nil {
		return err
	}
	return s.startSessionEnding(r, u, http.StatusOK, held)
}

// heldSessions returns the live session the request's refresh cookie
// names, if any.
func (s *Service) heldSessions(r *request) ([]string, error) {
	var ids []string
	if c, err := r.Cookie(s.refreshCookieName()); err == nil && c.Value != "" && len(c.Value) <= 128 {
		tok, err := s.logins.GetRefreshToken(r.ctx(), refreshHash(c.Value))
		switch {
		case err == nil:
			ids = append(ids, tok.SessionID)
		case !isNotFound(err):
			return nil, err
		}
	}
	now := s.nowMs()
	live := ids[:0]
	for _, id := range ids {
		sess, err := s.logins.GetSession(r.ctx(), id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if sess.Live(now) {
			live = append(live, id)
		}
	}
	return live, nil
}

// answerSession mints the tokens of the session from in and answers
// them, with the cookies.
func (s *Service) answerSession(r *request, u db.User, sess db.Session, refresh string, status int, in db.MintInputs) error {
	toks, err := s.mintFor(u, sess, in)
	if err != nil {
		return err
	}
	for _, c := range s.cfg.Cookies.Cookies(toks.ByMethod, toks.Expires) {
		r.SetCookie(c)
	}
	// A browser holds each method's step-up token beside the ordinary
	// one; the verifier tries it where the ordinary one does not reach.
	// A discharge the browser holds is bound to the step-up token it
	// replaces, so it is of no more use: it is cleared, as is the step-up
	// cookie of a method that has no step-up token now.
	for _, c := range s.cfg.Cookies.Expired() {
		if _, err := r.Request().Cookie(c.Name); err != nil { // not held
			continue
		}
		for _, m := range mint.Methods() {
			_, has := toks.StepUp[m]
			if c.Name == s.cfg.Cookies.DischargeName(m) || (!has && c.Name == s.cfg.Cookies.StepUpName(m)) {
				r.SetCookie(c)
			}
		}
	}
	for _, c := range s.cfg.Cookies.StepUpCookies(toks.StepUp, toks.Expires) {
		r.SetCookie(c)
	}
	r.SetCookie(s.refreshCookie(refresh, time.UnixMilli(sess.ExpiresMs)))
	noStore(r)
	macaroons := toks.ByMethod
	if macaroons == nil {
		macaroons = map[string]string{}
	}
	stepUp := toks.StepUp
	if stepUp == nil {
		stepUp = map[string]string{}
	}
	out := sessionOut{SessionID: sess.ID, UserID: u.ID, ExpiresAt: sess.ExpiresMs, Refresh: refresh, Macaroons: macaroons, StepUpMacaroons: stepUp,
		RecoveryCodes: enrolledRecoveryCodes(r)}
	if !toks.Expires.IsZero() {
		out.MacaroonsExpireAt = toks.Expires.UnixMilli()
		if len(stepUp) > 0 {
			out.StepUpMacaroonsExpireAt = out.MacaroonsExpireAt
		}
	}
	return r.JSON(status, struct {
		T    string     `json:"t"`
		Data sessionOut `json:"data"`
	}{T: "session", Data: out})
}

// mintFor mints the tokens of the session from in, the user's roles and
// accepted memberships as the session's transaction read them under the
// user's lock: the policies bound to the roles, :orgId routes matching
// the memberships (listed in an orgs caveat), bound to the session's
// client where a policy says so. The tokens' issue time is in.IssuedMs,
// not the time of the mint: a membership lowered after the read (and
// before the mint) revokes them, and one lowered before was seen (see
// db.MintInputs). A user whose roles grant nothing gets a session
// without tokens. A policy too large to mint is a configuration error:
// logged, and 503 for the caller.
func (s *Service) mintFor(u db.User, sess db.Session, in db.MintInputs) (mint.Tokens, error) {
	// A token never outlives its session (ASVS 7.3.2): its time-before is
	// the policies' expiry or the session's end, whichever is first. A
	// session with less than a second left (the shortest lifetime a token
	// can have) has ended.
	left := time.UnixMilli(sess.ExpiresMs).Sub(s.cfg.Now())
	if left < time.Second {
		return mint.Tokens{}, apiError(http.StatusUnauthorized, CodeSessionExpired, "The session has ended; log in again.")
	}
	subject := mint.Subject{UserID: u.ID, SessionID: sess.ID, ClientID: sess.ClientID, Roles: in.Roles,
		IssuedAt: time.UnixMilli(in.IssuedMs), TTL: left}
	subject.AMR, subject.AuthTime = sessionAuthn(sess) // as at the login: a refresh is no new authentication
	for _, m := range in.Memberships {
		if m.Pending {
			continue // an invitation grants nothing until accepted
		}
		subject.Memberships = append(subject.Memberships, mint.Membership{OrgID: m.OrganizationID,
			Read: m.Read, Edit: m.Edit, Manage: m.Manage, Delete: m.Delete})
	}
	toks, err := s.cfg.Minter.Mint(s.cfg.Policies().ForRoles(in.Roles), subject)
	if errors.Is(err, mint.ErrNoGrants) {
		return mint.Tokens{}, nil
	}
	if err != nil {
		s.cfg.Logger.Error("accounts: minting failed", "user", u.ID, "err", err)
		return mint.Tokens{}, apiError(http.StatusServiceUnavailable, CodeUnavailable, "")
	}
	return toks, nil
}

// refreshCookieName is the refresh cookie's name: "__Secure-authgw-refresh"
// when secure, "authgw-refresh" otherwise (the token cookies' prefix).
func (s *Service) refreshCookieName() string {
	prefix := s.cfg.Cookies.Prefix
	if prefix == "" {
		prefix = verifier.DefaultCookiePrefix
	}
	if s.cfg.Cookies.Insecure {
		return prefix + "refresh"
	}
	return "__Secure-" + prefix + "refresh"
}

// refreshCookie carries the refresh token to the accounts service only:
// Path is the service's prefix, so that it reaches the refresh and logout
// endpoints and the sign-in page (GET /accounts/v1/ui/login refreshes a
// browser's session without showing a page). It is safe there: the
// cookie is HttpOnly (no script reads it), SameSite Strict (no other
// site's request carries it), never sent to an app behind the gateway
// (their paths are outside the prefix), and the API reads it nowhere but
// at refresh, logout and the login steps (which end the session it names
// once a new one exists).
func (s *Service) refreshCookie(token string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: s.refreshCookieName(), Value: token, Path: Prefix, HttpOnly: true,
		Secure: !s.cfg.Cookies.Insecure, SameSite: http.SameSiteStrictMode}
	if expires.IsZero() {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	return c
}

// refresh is POST /sessions/refresh: {"token"} (or {"refresh"}) in the
// body, else the refresh cookie. The token is rotated: the old one is
// spent. A spent token presented again revokes the session, unless it
// was rotated within RefreshGrace (two tabs racing): then 409
// REFRESH-TOKEN-PASSED and the session lives.
func (s *Service) refresh(r *request) error {
	token, err := s.refreshTokenOf(r)
	if err != nil {
		return err
	}
	res, next, clear, err := s.rotateRefresh(r.ctx(), token, func(sess db.Session) bool {
		// A refresh token works only through the client that logged in,
		// with its secret when the login came with it: the client ID
		// alone (public for a browser app) does not keep such a session.
		if sess.ClientID != r.caller.ClientID || (sess.SecretVerified && !r.caller.SecretVerified) {
			return false
		}
		// An OpenID Connect grant's session is refreshed at the provider's
		// token endpoint only: here it would mint the user's ordinary
		// tokens, wider than the scopes the user granted the app.
		_, err := s.oidc().GetOIDCGrant(r.ctx(), sess.ID)
		return isNotFound(err)
	})
	if clear {
		s.clearCookies(r)
	}
	if err != nil {
		return err
	}
	u, err := s.loginUser(r, res.Session.UserID)
	if err != nil {
		return err
	}
	return s.answerSession(r, u, res.Session, next, http.StatusOK, res.Inputs)
}

// rotateRefresh spends the refresh token and stores its successor
// (returned as next), with the session's mint inputs. accept says
// whether the session may be refreshed by this caller (its client); a
// session it refuses is 401 SESSION-INVALIDATED, as an unknown token.
// A spent token presented again revokes the session, unless it was
// rotated within RefreshGrace (409 REFRESH-TOKEN-PASSED); a session idle
// too long ends. clear is true when the caller's cookies should be
// cleared (the session ended).
func (s *Service) rotateRefresh(ctx context.Context, token string, accept func(db.Session) bool) (res *db.RotateResult, next string, clear bool, err error) {
	now := s.nowMs()
	old, err := s.logins.GetRefreshToken(ctx, refreshHash(token))
	if isNotFound(err) {
		return nil, "", false, apiError(http.StatusUnauthorized, CodeSessionInvalidated, "The refresh token is not valid.")
	}
	if err != nil {
		return nil, "", false, err
	}
	sess, err := s.logins.GetSession(ctx, old.SessionID)
	if err != nil {
		return nil, "", false, err
	}
	if !accept(sess) {
		return nil, "", false, apiError(http.StatusUnauthorized, CodeSessionInvalidated, "The refresh token is not valid.")
	}
	if sess.Live(now) && now-sess.RefreshedMs >= s.cfg.SessionIdleTimeout.Milliseconds() {
		// The inactivity timeout (ASVS 7.3.1): the refresh token sat
		// unused too long. The session ends as at a logout.
		if err := s.revokeSessionIn(ctx, sess.ID, "idle"); err != nil {
			return nil, "", false, err
		}
		return nil, "", true, apiError(http.StatusUnauthorized, CodeSessionExpired, "The session was idle too long; log in again.")
	}
	next, nextHash, err := s.newRefreshToken()
	if err != nil {
		return nil, "", false, err
	}
	res, err = s.logins.RotateRefreshToken(ctx, old.Hash, db.RefreshToken{Hash: nextHash, CreatedMs: now, ExpiresMs: old.ExpiresMs}, now)
	var reused *db.RefreshReusedError
	switch {
	case errors.As(err, &reused):
		if now-reused.ConsumedMs <= s.cfg.RefreshGrace.Milliseconds() {
			return nil, "", false, apiError(http.StatusConflict, CodeRefreshPassed, "This refresh token was just used; use the new one.")
		}
		if err := s.revokeSessionIn(ctx, reused.SessionID, "refresh-reuse"); err != nil {
			return nil, "", false, err
		}
		s.record(ctx, audit.Event{Type: audit.RefreshTokenReused, Failed: true, Reason: "REFRESH-TOKEN-REUSED",
			SubjectUserID: sess.UserID, Data: map[string]string{"session": reused.SessionID}})
		return nil, "", true, apiError(http.StatusUnauthorized, CodeSessionInvalidated, "The refresh token was used twice; the session is revoked.")
	case errors.Is(err, db.ErrSessionInvalid):
		return nil, "", true, apiError(http.StatusUnauthorized, CodeSessionExpired, "The session has ended; log in again.")
	case err != nil:
		return nil, "", false, err
	}
	return res, next, false, nil
}

// refreshTokenOf reads the refresh token of a refresh request: the body's
// "token" (the original's name) or "refresh", else the refresh cookie.
func (s *Service) refreshTokenOf(r *request) (string, error) {
	if r.Request().ContentLength != 0 {
		b, err := readBody(r)
		if err != nil {
			return "", err
		}
		b.tIs("refresh-tokens")
		token := b.secret("token", false, 128)
		if alt := b.secret("refresh", false, 128); token == "" {
			token = alt
		}
		if token == "" {
			b.obstruct("token", ObstructionRequired, "token is required.")
		}
		if err := b.done(); err != nil {
			return "", err
		}
		return token, nil
	}
	if c, err := r.Cookie(s.refreshCookieName()); err == nil && c.Value != "" {
		return c.Value, nil
	}
	return "", apiError(http.StatusBadRequest, CodeBadBody, `Send {"data":{"token":"..."}} or the refresh cookie.`)
}

// revokeSession invalidates the session and tells the gateways.
func (s *Service) revokeSession(r *request, id, reason string) error {
	return s.revokeSessionIn(r.ctx(), id, reason)
}

// revokeSessionIn is revokeSession outside a request.
func (s *Service) revokeSessionIn(ctx context.Context, id, reason string) error {
	now := s.cfg.Now()
	expires := s.revocationExpiresMs()
	if err := s.logins.InvalidateSession(ctx, id, reason, db.Revoking{AtMs: now.UnixMilli(), ExpiresMs: expires}); err != nil {
		return err
	}
	s.cfg.Revoked(ctx, db.Revocation{Kind: db.RevokeSession, Subject: id, NotBeforeMs: now.UnixMilli(), ExpiresMs: expires, CreatedMs: now.UnixMilli()})
	// Recorded once the gateways are told: the record must not delay the
	// revocation.
	s.recordSessionRevoked(ctx, id, reason)
	return nil
}

// revokeUser invalidates every session of the user and tells the
// gateways (password change, roles removed).
func (s *Service) revokeUser(r *request, userID, reason string) error {
	return s.revokeUserIn(r.ctx(), userID, reason)
}

// revokeUserIn is revokeUser outside a request (the Operator's).
func (s *Service) revokeUserIn(ctx context.Context, userID, reason string) error {
	now := s.cfg.Now()
	expires := s.revocationExpiresMs()
	if _, err := s.logins.InvalidateUserSessions(ctx, userID, reason, db.Revoking{AtMs: now.UnixMilli(), ExpiresMs: expires}); err != nil {
		return err
	}
	s.cfg.Revoked(ctx, db.Revocation{Kind: db.RevokeUser, Subject: userID, NotBeforeMs: now.UnixMilli(), ExpiresMs: expires, CreatedMs: now.UnixMilli()})
	// The store revoked each session it invalidated too: a refresh that
	// won the race against this change mints after now, which the user
	// revocation alone lets through. Tell the gateways at once rather
	// than at their next poll of the feed.
	if sessions, err := s.logins.ListUserSessions(ctx, userID); err == nil {
		for _, sess := range sessions {
			if sess.InvalidatedMs == now.UnixMilli() {
				s.cfg.Revoked(ctx, db.Revocation{Kind: db.RevokeSession, Subject: sess.ID, NotBeforeMs: now.UnixMilli(), ExpiresMs: expires, CreatedMs: now.UnixMilli()})
			}
		}
	}
	s.record(ctx, audit.Event{Type: audit.SessionsRevoked, Reason: reason, SubjectUserID: userID})
	return nil
}

// clearCookies expires the token cookies and the refresh cookie.
func (s *Service) clearCookies(r *request) {
	for _, c := range s.cfg.Cookies.Expired() {
		r.SetCookie(c)
	}
	r.SetCookie(s.refreshCookie("", time.Time{}))
}

// logoutItem is one entry of a logout body.
type logoutItem struct {
	T     string `json:"t"`
	Value string `json:"value"`
}

// logout is POST /sessions/logout. Without a body it ends the caller's
// own session (the one of the token sent); with
// {"data":[{"t":"refresh-tokens"|"sessions","value":"..."}]} it ends the
// named sessions: a refresh token is proof enough, a session ID must be
// the caller's own (or the caller SESSADM). Unknown or foreign sessions
// are 404. The cookies are cleared when the caller's own session ends.
//
// A caller without a token (its token expired: a browser's sign-out
// page) ends a session by its refresh token alone, as a refresh would
// use it (see logoutByRefreshToken); its cookies are then cleared too:
// they hold no token the gateway accepts, and the refresh token they
// may hold is the one just spent.
func (s *Service) logout(r *request) error {
	ids, err := s.logoutTargets(r)
	if err != nil {
		return err
	}
	own := false
	for _, id := range ids {
		if err := s.revokeSession(r, id, "logout"); err != nil {
			return err
		}
		own = own || id == r.caller.SessionID
	}
	if own || r.caller.User == nil {
		s.clearCookies(r)
	}
	return null(r)
}

// maxLogoutItems bounds a logout body's list.
const maxLogoutItems = 32

// exactLogoutItems reports whether every item of a logout list names
// only "t" and "value", exactly and once each (encoding/json alone would
// take {"T":...} for t).
func exactLogoutItems(raw json.RawMessage) bool {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return false
	}
	for _, it := range list {
		if _, ok := onlyMembers(it, "t", "value"); !ok {
			return false
		}
	}
	return true
}

// logoutTargets reads the sessions a logout names.
func (s *Service) logoutTargets(r *request) ([]string, error) {
	if r.caller.User == nil {
		return s.logoutByRefreshToken(r)
	}
	if r.Request().ContentLength == 0 {
		if r.caller.SessionID == "" {
			return nil, apiError(http.StatusBadRequest, CodeBadBody, "Name the sessions to end, or send your own token.")
		}
		return []string{r.caller.SessionID}, nil
	}
	raw, err := readData(r)
	if err != nil {
		return nil, err
	}
	// {"data":{"sessions":[...], <proof>}} carries a proof of the user
	// beside the list; {"data":[...]} is the list alone.
	var proof proofIn
	if len(raw) > 0 && raw[0] == '{' {
		fields, err := members(raw)
		if err != nil {
			return nil, apiError(http.StatusBadRequest, CodeBadBody, "The body is not valid JSON, or names a member twice.")
		}
		b := &body{fields: fields, known: map[string]bool{}}
		list := b.value("sessions")
		if list == nil {
			b.obstruct("sessions", ObstructionRequired, "sessions is required.")
		}
		proof = readProof(b, false, "")
		if err := b.done(); err != nil {
			return nil, err
		}
		raw = list
	}
	var items []logoutItem
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&items); err != nil || len(items) == 0 || len(items) > maxLogoutItems || !exactLogoutItems(raw) {
		return nil, apiError(http.StatusBadRequest, CodeBadBody,
			fmt.Sprintf(`"data" must be a list of 1 to %d {"t":"refresh-tokens"|"sessions","value":"..."}.`, maxLogoutItems))
	}
	var ids []string
	needsProof := false
	for _, it := range items {
		var sessionID string
		switch it.T {
		case "refresh-tokens":
			tok, err := s.logins.GetRefreshToken(r.ctx(), refreshHash(it.Value))
			if isNotFound(err) {
				return nil, ErrHidden
			}
			if err != nil {
				return nil, err
			}
			sessionID = tok.SessionID
		case "sessions":
			sess, err := s.logins.GetSession(r.ctx(), it.Value)
			if err != nil {
				return nil, hideNotFound(err)
			}
			if !r.caller.self(sess.UserID) && !r.caller.sysint() {
				return nil, ErrHidden
			}
			sessionID = sess.ID
			// Ending one's other sessions by ID needs a fresh proof of
			// the user (ASVS 7.5.2): a stolen token alone must not log
			// its owner out everywhere and keep the thief's session. A
			// refresh token is proof enough; SESSADM sends none.
			needsProof = needsProof || (sessionID != r.caller.SessionID && !r.caller.sysint())
		default:
			return nil, apiError(http.StatusBadRequest, CodeBadBody, `Each item's "t" is "refresh-tokens" or "sessions".`)
		}
		ids = append(ids, sessionID)
	}
	if needsProof {
		if !proof.given() {
			return nil, invalid([]envelope.Obstruction{{Code: ObstructionRequired, Params: map[string]any{"field": "currentPassword"},
				Text: `Ending another session needs a proof that it is you: send {"data":{"sessions":[...],"currentPassword":"..."}}, or totp when TOTP is on, or a login code (loginState and loginCode).`}})
		}
		if err := s.checkProof(r, r.caller.User, proof); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// logoutByRefreshToken reads the sessions a caller without a token
// ends: those of the refresh tokens of its body
// ({"data":[{"t":"refresh-tokens","value":"..."}]}), else the one of its
// refresh cookie. Possession of a live refresh token proves the session,
// as it does for a refresh, and with the same bounds: the token must be
// unspent and the session live, and the caller must be the client that
// logged in (with its secret when the login came with it). Anything else
// ends nothing: 401 SESSION-INVALIDATED for a token that does not hold
// (unknown, spent, expired, another client's: one answer, so it tells
// nothing about the token), and the 401 of any caller without a token
// (ErrLoginRequired, as before this path) for a request that names no
// refresh token, or names a session by ID. Every token is checked
// before any session ends.
func (s *Service) logoutByRefreshToken(r *request) ([]string, error) {
	var tokens []string
	if r.Request().ContentLength != 0 {
		raw, err := readData(r)
		if err != nil {
			return nil, ErrLoginRequired
		}
		var items []logoutItem
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&items); err != nil || len(items) == 0 || len(items) > maxLogoutItems || !exactLogoutItems(raw) {
			return nil, ErrLoginRequired
		}
		for _, it := range items {
			if it.T != "refresh-tokens" || it.Value == "" || len(it.Value) > 128 {
				// Ending a session by its ID needs the session's user.
				return nil, ErrLoginRequired
			}
			tokens = append(tokens, it.Value)
		}
	} else if c, err := r.Cookie(s.refreshCookieName()); err == nil && c.Value != "" && len(c.Value) <= 128 {
		tokens = append(tokens, c.Value)
	}
	if len(tokens) == 0 {
		return nil, ErrLoginRequired
	}
	invalid := apiError(http.StatusUnauthorized, CodeSessionInvalidated, "The refresh token is not valid.")
	now := s.nowMs()
	ids := make([]string, 0, len(tokens))
	for _, token := range tokens {
		tok, err := s.logins.GetRefreshToken(r.ctx(), refreshHash(token))
		if isNotFound(err) {
			return nil, invalid
		}
		if err != nil {
			return nil, err
		}
		if tok.ConsumedMs != 0 || tok.ExpiresMs <= now {
			// A spent token is not proof: whoever kept an old one (a
			// copied cookie) must not end the session that moved on.
			return nil, invalid
		}
		sess, err := s.logins.GetSession(r.ctx(), tok.SessionID)
		if isNotFound(err) {
			return nil, invalid
		}
		if err != nil {
			return nil, err
		}
		if !sess.Live(now) || sess.ClientID != r.caller.ClientID || (sess.SecretVerified && !r.caller.SecretVerified) {
			return nil, invalid
		}
		ids = append(ids, sess.ID)
	}
	return ids, nil
}

// recordSessionRevoked records the end of the session id, naming its
// user (read back: the callers know the session alone). A session that
// cannot be read is still recorded, without its user.
func (s *Service) recordSessionRevoked(ctx context.Context, id, reason string) {
	var subject string
	if sess, err := s.logins.GetSession(ctx, id); err == nil {
		subject = sess.UserID
	}
	s.record(ctx, audit.Event{Type: audit.SessionRevoked, Reason: reason, SubjectUserID: subject, Data: map[string]string{"session": id}})
}
