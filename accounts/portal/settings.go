package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/accounts/ui"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// settingsPages are the account pages of a signed-in user. None is
// public: the gateway verifies the visitor's token before any of them,
// and each calls the API as the visitor (asVisitor), so the API's rules
// decide what the visitor may do.
var settingsPages = []Page{
	// The pages' root, with and without its slash: the gateway refuses a
	// path with an empty segment, so a browser behind it opens the
	// latter.
	{Method: http.MethodGet, Path: "", handle: (*Portal).settingsHome},
	{Method: http.MethodGet, Path: "/{$}", handle: (*Portal).settingsHome},
	{Method: http.MethodGet, Path: "/settings", handle: (*Portal).settings},
	{Method: http.MethodPost, Path: "/settings/name", handle: (*Portal).settingsName},
	{Method: http.MethodPost, Path: "/settings/emails", handle: (*Portal).settingsEmailAdd},
	{Method: http.MethodPost, Path: "/settings/emails/{id}/verify", handle: (*Portal).settingsEmailVerify},
	{Method: http.MethodPost, Path: "/settings/emails/{id}/resend", handle: (*Portal).settingsEmailResend},
	{Method: http.MethodPost, Path: "/settings/emails/{id}/remove", handle: (*Portal).settingsEmailRemove},
	{Method: http.MethodGet, Path: "/settings/password", handle: (*Portal).settingsPasswordPage},
	{Method: http.MethodPost, Path: "/settings/password", handle: (*Portal).settingsPasswordChange},
	{Method: http.MethodPost, Path: "/settings/totp", handle: (*Portal).settingsTOTPEnrol},
	{Method: http.MethodPost, Path: "/settings/totp/confirm", handle: (*Portal).settingsTOTPConfirm},
	{Method: http.MethodGet, Path: "/settings/totp/remove", handle: (*Portal).settingsTOTPRemovePage},
	{Method: http.MethodPost, Path: "/settings/totp/remove", handle: (*Portal).settingsTOTPRemove},
	{Method: http.MethodPost, Path: "/settings/sessions/{id}/revoke", handle: (*Portal).settingsSessionRevoke},
	{Method: http.MethodPost, Path: "/settings/sessions/revoke-all", handle: (*Portal).settingsSessionsRevokeAll},
	{Method: http.MethodPost, Path: "/logout", Public: true, handle: (*Portal).signOut},
}

// SettingsPath is the account page.
const SettingsPath = Prefix + "/settings"

// settingsNotices are the one-time confirmations the account page shows after a
// change, by the value of its "done" query parameter: a fixed list, so
// that a link can make the page say only what the service would.
var settingsNotices = map[string]string{
	"name":            "settings.notice.name",
	"email-added":     "settings.notice.email_added",
	"email-verified":  "settings.notice.email_verified",
	"email-sent":      "settings.notice.email_sent",
	"email-removed":   "settings.notice.email_removed",
	"totp-on":         "settings.notice.totp_on",
	"totp-off":        "settings.notice.totp_off",
	"session-revoked": "settings.notice.session_revoked",
	"passkey-added":   "settings.notice.passkey_added",
	"passkey-removed": "settings.notice.passkey_removed",

	// Not a change: the removal of a second factor that is required
	// was refused.
	"second-factor-required": "settings.notice.second_factor_required",

	// An external sign-in's identity was unlinked (oidcrp.go).
	"identity-removed": "settings.notice.identity_removed",
}

// done answers 303 to the account page with the confirmation notice.
func (p *Portal) settingsDone(w http.ResponseWriter, r *http.Request, notice string) {
	p.seeOther(w, r, SettingsPath+"?done="+notice)
}

// signedInUser is the signed-in user of a page request, as the gateway
// verified them.
type signedInUser struct {
	userID, sessionID string
}

// purpose is the CSRF purpose of the form named form of this visitor:
// bound to their session (a token dies with it) and to the resource the
// form acts on (a token for one address does not remove another).
func (v signedInUser) purpose(form string, resource ...string) string {
	return strings.Join(append([]string{form, v.sessionID}, resource...), ":")
}

// signedInVisitor returns the visitor of a page that needs one. The gateway lets
// no request without a verified token reach such a page; one that comes
// without (a misconfigured public scope) is sent to sign in.
func (p *Portal) signedInVisitor(w http.ResponseWriter, r *http.Request) (signedInUser, bool) {
	claims, ok := requestinfo.ClaimsFrom(r.Context())
	if !ok || claims.User == nil || claims.User.ID == "" || claims.User.SessionID == "" {
		p.seeOther(w, r, LoginPath+"?return_to="+url.QueryEscape(SettingsPath))
		return signedInUser{}, false
	}
	return signedInUser{userID: claims.User.ID, sessionID: claims.User.SessionID}, true
}

// validPathID reports whether id can be a resource ID in an API path: the
// path value is decoded, and must not add a segment or a query.
func validPathID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// settingsPathID returns the {id} of the request's path, or answers 404.
func (p *Portal) settingsPathID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !validPathID(id) {
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorNotFound, ContinueURL: SettingsPath})
		return "", false
	}
	return id, true
}

// settingsItemForm begins a form about one of the user's items (an
// address or a session, {id} in the path): the signed-in user, the
// item's ID, and the form's body with its CSRF token for form and that
// item. On failure it has answered and returns false.
func (p *Portal) settingsItemForm(w http.ResponseWriter, r *http.Request, form string) (signedInUser, string, bool) {
	v, ok := p.signedInVisitor(w, r)
	if !ok {
		return v, "", false
	}
	id, ok := p.settingsPathID(w, r)
	if !ok || !p.readForm(w, r, v.purpose(form, id)) {
		return v, "", false
	}
	return v, id, true
}

// refused shows the error page for an API answer the page has no words
// of its own for: not found (another user's resource, hidden by the API
// as absent) and forbidden as 404, too many as 429, a session that ended
// sends the browser to sign in, anything else 400 or, for a 5xx, 503.
func (p *Portal) settingsRefused(w http.ResponseWriter, r *http.Request, a *answer) {
	switch {
	case a.Status == http.StatusNotFound || a.Status == http.StatusForbidden:
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorNotFound, ContinueURL: SettingsPath})
	case a.Status == http.StatusTooManyRequests:
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorTooMany, Duration: retryAfter(a), ContinueURL: SettingsPath})
	case a.Status == http.StatusUnauthorized:
		p.seeOther(w, r, LoginPath+"?return_to="+url.QueryEscape(SettingsPath))
	case a.Status >= 500:
		p.cfg.Logger.Warn("portal: the accounts API failed", "path", r.URL.Path, "status", a.Status, "code", a.Code())
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorUnavailable, ContinueURL: SettingsPath})
	default:
		p.cfg.Logger.Info("portal: the accounts API refused a page's call", "path", r.URL.Path, "status", a.Status, "code", a.Code())
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorBadRequest, ContinueURL: SettingsPath})
	}
}

// settingsHome is GET / (exactly, or the prefix alone): the account page.
func (p *Portal) settingsHome(w http.ResponseWriter, r *http.Request) {
	p.seeOther(w, r, SettingsPath)
}

// The API's resources as the pages read them.
type (
	apiUser struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		TwoFactor bool   `json:"2fa"`
	}
	apiEmail struct {
		ID         string `json:"id"`
		Email      string `json:"email"`
		VerifiedMs *int64 `json:"verifiedMs"`
	}
	apiSession struct {
		ID            string  `json:"id"`
		ClientID      *string `json:"clientId"`
		IP            string  `json:"ip"`
		UserAgent     string  `json:"userAgent"`
		CreatedMs     int64   `json:"createdMs"`
		ExpiresMs     int64   `json:"expiresMs"`
		RefreshedMs   *int64  `json:"refreshedMs"`
		InvalidatedMs *int64  `json:"invalidatedMs"`
	}
)

// visitorGet calls GET path as the visitor and decodes its data into v; a
// refused call has been answered (ok false).
func (p *Portal) visitorGet(w http.ResponseWriter, r *http.Request, path string, v any) bool {
	a, err := p.call(r, asVisitor, http.MethodGet, path, nil)
	if err != nil {
		p.unavailable(w, r, err)
		return false
	}
	if !a.OK() {
		p.settingsRefused(w, r, a)
		return false
	}
	if err := a.Decode(v); err != nil {
		p.unavailable(w, r, err)
		return false
	}
	return true
}

// accountState is what the pages know of the visitor's account.
type accountState struct {
	user     apiUser
	emails   []apiEmail
	sessions []apiSession // live ones
}

// loadAccount reads the visitor's user, addresses and live sessions.
func (p *Portal) loadAccount(w http.ResponseWriter, r *http.Request) (accountState, bool) {
	var acc accountState
	if !p.visitorGet(w, r, "/users/current", &acc.user) ||
		!p.visitorGet(w, r, "/users/current/emails", &acc.emails) {
		return acc, false
	}
	var all []apiSession
	if !p.visitorGet(w, r, "/users/current/sessions", &all) {
		return acc, false
	}
	now := p.cfg.Now().UnixMilli()
	for _, s := range all {
		if s.InvalidatedMs == nil && s.ExpiresMs > now {
			acc.sessions = append(acc.sessions, s)
		}
	}
	return acc, true
}

// accountNavView is the signed-in navigation: the account page and sign out.
type accountNavView struct {
	SettingsURL string
	Logout      ui.Form
}

func (p *Portal) accountNav(w http.ResponseWriter, r *http.Request) (accountNavView, error) {
	tok, err := p.csrfToken(w, r, signOutPurpose)
	return accountNavView{SettingsURL: SettingsPath, Logout: ui.Form{Action: Prefix + "/logout", CSRFToken: tok, Submit: ui.M("nav.sign_out")}}, err
}

// settingsPageError is an entry of a page's error summary: the message and the
// id of the element it is about.
type settingsPageError struct {
	ID  string
	Msg ui.Msg
}

// settingsView is the view of the "settings" page.
type settingsView struct {
	Nav    accountNavView
	Notice ui.Msg
	// Errors is the page-level error summary (an address's code or
	// removal); the name and address forms carry their own.
	Errors      []settingsPageError
	Name        ui.Form
	Emails      []settingsEmailView
	AddEmail    ui.Form
	PasswordURL string
	// AppsURL is the page of the apps the user let sign them in (the
	// OpenID provider's consents).
	AppsURL       string
	TwoFactor     bool
	TOTPSetup     ui.Form
	TOTPRemoveURL string
	Sessions      []settingsSessionView
	RevokeAll     ui.Form
	// PasskeysOn shows the passkeys: the list and the add form.
	PasskeysOn  bool
	PasskeyRPID string
	Passkeys    []settingsPasskeyView
	AddPasskey  ui.Form
	// IdentitiesOn shows the linked sign-in identities (oidcrp.go).
	IdentitiesOn bool
	Identities   []settingsIdentityView
}

type settingsEmailView struct {
	ID, Address, ItemID string
	Verified            bool
	Verify              ui.Form
	Resend              ui.Form
	Remove              ui.Form
	// CodeID is the id of the code input; CodeError its error, if any.
	CodeID    string
	CodeError ui.Msg
	// RemoveError says why the address was not removed, if it was not.
	RemoveError ui.Msg
}

// itemButton is a one-button form of a list item; About names the item
// for a screen reader, which hears the button apart from the others.
type itemButton struct {
	Form  ui.Form
	About string
}

// ResendButton is the resend form, named by the address.
func (e settingsEmailView) ResendButton() itemButton {
	return itemButton{Form: e.Resend, About: e.Address}
}

// RemoveButton is the remove form, named by the address.
func (e settingsEmailView) RemoveButton() itemButton {
	return itemButton{Form: e.Remove, About: e.Address}
}

type settingsSessionView struct {
	Current  bool
	Client   ui.Msg
	IP       string
	Agent    ui.Msg
	Created  string
	LastUsed ui.Msg
	Revoke   ui.Form
	// About names the session for a screen reader: when it began.
	About string
}

// RevokeButton is the revoke form, named by the session.
func (s settingsSessionView) RevokeButton() itemButton {
	return itemButton{Form: s.Revoke, About: s.About}
}

// settingsErrors are the errors a POST shows on the account page it
// re-renders.
type settingsErrors struct {
	name, email     ui.Msg
	nameValue       string
	emailValue      string
	codeFor         string // the address whose code was wrong
	code            ui.Msg
	removeFor       string
	remove          ui.Msg
	noticeQueryDone string
	// passkey is the error of the add-a-passkey form, passkeyName the
	// name typed.
	passkey     ui.Msg
	passkeyName string
}

// settings is GET /settings: the account page.
func (p *Portal) settings(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok {
		return
	}
	p.showSettings(w, r, v, http.StatusOK, settingsErrors{noticeQueryDone: r.URL.Query().Get("done")})
}

// showSettings renders the account page with the errors e.
func (p *Portal) showSettings(w http.ResponseWriter, r *http.Request, v signedInUser, status int, e settingsErrors) {
	acc, ok := p.loadAccount(w, r)
	if !ok {
		return
	}
	view, err := p.settingsView(w, r, v, acc, e)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	if !p.passkeysView(w, r, v, &view, e) {
		return
	}
	if !p.identitiesView(w, r, v, &view) { // oidcrp.go
		return
	}
	p.render(w, r, status, "settings", view)
}

func (p *Portal) settingsView(w http.ResponseWriter, r *http.Request, v signedInUser, acc accountState, e settingsErrors) (settingsView, error) {
	var firstErr error
	tok := func(purpose string) string {
		t, err := p.csrfToken(w, r, purpose)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return t
	}
	nav, err := p.accountNav(w, r)
	if err != nil {
		return settingsView{}, err
	}
	view := settingsView{Nav: nav, PasswordURL: SettingsPath + "/password", AppsURL: SettingsPath + "/apps", TwoFactor: acc.user.TwoFactor,
		TOTPRemoveURL: SettingsPath + "/totp/remove"}
	if key, ok := settingsNotices[e.noticeQueryDone]; ok {
		view.Notice = ui.M(key)
	}
	name := acc.user.Name
	if e.name.Key != "" {
		name = e.nameValue
	}
	view.Name = ui.Form{Action: SettingsPath + "/name", CSRFToken: tok(v.purpose("settings-name")), Submit: ui.M("settings.name.submit"),
		Fields: []ui.Field{{Name: "name", Label: ui.M("settings.name.label"), Value: name, Error: e.name, Autocomplete: "name"}}}
	view.AddEmail = ui.Form{Action: SettingsPath + "/emails", CSRFToken: tok(v.purpose("settings-email-add")), Submit: ui.M("settings.emails.add_submit"),
		Fields: []ui.Field{{Name: "email", Type: "email", Label: ui.M("settings.emails.add_label"), Hint: ui.M("settings.emails.add_hint"),
			Value: e.emailValue, Error: e.email, Autocomplete: "email"}}}
	for _, em := range acc.emails {
		base := SettingsPath + "/emails/" + em.ID
		ev := settingsEmailView{ID: em.ID, Address: em.Email, ItemID: "email-" + em.ID, Verified: em.VerifiedMs != nil, CodeID: "code-" + em.ID,
			Remove: ui.Form{Action: base + "/remove", CSRFToken: tok(v.purpose("settings-email-remove", em.ID)), Submit: ui.M("settings.emails.remove")}}
		if !ev.Verified {
			ev.Verify = ui.Form{Action: base + "/verify", CSRFToken: tok(v.purpose("settings-email-verify", em.ID)), Submit: ui.M("settings.emails.verify")}
			ev.Resend = ui.Form{Action: base + "/resend", CSRFToken: tok(v.purpose("settings-email-resend", em.ID)), Submit: ui.M("settings.emails.resend")}
		}
		if e.codeFor == em.ID {
			ev.CodeError = e.code
			view.Errors = append(view.Errors, settingsPageError{ID: ev.CodeID, Msg: e.code})
		}
		if e.removeFor == em.ID {
			ev.RemoveError = e.remove
			view.Errors = append(view.Errors, settingsPageError{ID: ev.ItemID, Msg: e.remove})
		}
		view.Emails = append(view.Emails, ev)
	}
	view.TOTPSetup = ui.Form{Action: SettingsPath + "/totp", CSRFToken: tok(v.purpose("settings-totp")), Submit: ui.M("settings.totp.setup")}
	now := p.cfg.Now()
	sessions := slices.Clone(acc.sessions)
	// This session first, then the most recently used.
	slices.SortStableFunc(sessions, func(a, b apiSession) int {
		switch {
		case a.ID == v.sessionID:
			return -1
		case b.ID == v.sessionID:
			return 1
		}
		return int(lastUsed(b) - lastUsed(a))
	})
	for _, s := range sessions {
		sv := settingsSessionView{Current: s.ID == v.sessionID, IP: s.IP, Agent: shortAgent(s.UserAgent),
			Created: time.UnixMilli(s.CreatedMs).UTC().Format("2 Jan 2006, 15:04 UTC"),
			Revoke: ui.Form{Action: SettingsPath + "/sessions/" + s.ID + "/revoke", CSRFToken: tok(v.purpose("settings-session-revoke", s.ID)),
				Submit: ui.M("settings.sessions.revoke")}}
		sv.About = sv.Created
		if sv.Current {
			sv.Revoke.Submit = ui.M("settings.sessions.revoke_this")
		}
		switch {
		case s.ClientID != nil && *s.ClientID == p.cfg.ClientID:
			sv.Client = ui.M("settings.sessions.client_portal")
		case s.ClientID != nil:
			sv.Client = ui.M("settings.sessions.client_app", *s.ClientID)
		default:
			sv.Client = ui.M("settings.sessions.client_none")
		}
		if ago := now.Sub(time.UnixMilli(lastUsed(s))); ago < time.Minute {
			sv.LastUsed = ui.M("settings.sessions.just_now")
		} else {
			sv.LastUsed = ui.M("settings.sessions.ago", ago)
		}
		view.Sessions = append(view.Sessions, sv)
	}
	view.RevokeAll = ui.Form{Action: SettingsPath + "/sessions/revoke-all", CSRFToken: tok(v.purpose("settings-sessions-revoke-all")),
		Submit: ui.M("settings.sessions.revoke_all")}
	return view, firstErr
}

func lastUsed(s apiSession) int64 {
	if s.RefreshedMs != nil && *s.RefreshedMs > s.CreatedMs {
		return *s.RefreshedMs
	}
	return s.CreatedMs
}

// shortAgent says a user agent in a few words ("Firefox on Linux"), or
// its first 40 characters when it names no browser the page knows.
func shortAgent(ua string) ui.Msg {
	if strings.TrimSpace(ua) == "" {
		return ui.M("settings.sessions.agent_unknown")
	}
	browsers := []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
		{"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client/", "Go"},
	}
	systems := []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"}, {"Mac OS X", "macOS"},
		{"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	}
	browser, system := "", ""
	for _, b := range browsers {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, s := range systems {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return ui.M("settings.sessions.agent_on", browser, system)
	case browser != "":
		return ui.M("settings.sessions.agent", browser)
	}
	runes := []rune(ua)
	if len(runes) > 40 {
		return ui.M("settings.sessions.agent_cut", string(runes[:40]))
	}
	return ui.M("settings.sessions.agent", ua)
}

// settingsName is POST /settings/name: PATCH /users/{id}.
func (p *Portal) settingsName(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok || !p.readForm(w, r, v.purpose("settings-name")) {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if !utf8.ValidString(name) {
		// JSON would carry it as U+FFFD: refuse what was not typed.
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{name: ui.M("settings.name.error_invalid"), nameValue: strings.ToValidUTF8(name, "")})
		return
	}
	if name == "" {
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{name: ui.M("settings.name.error_required")})
		return
	}
	a, err := p.call(r, asVisitor, http.MethodPatch, "/users/"+v.userID, map[string]any{"type": "users", "id": v.userID, "name": name})
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	if a.OK() {
		p.settingsDone(w, r, "name")
		return
	}
	if _, ok := a.Obstruction("name"); ok {
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{name: ui.M("settings.name.error_invalid"), nameValue: name})
		return
	}
	p.settingsRefused(w, r, a)
}

// settingsEmailAdd is POST /settings/emails: POST /users/{id}/emails, which asks
// the visitor to prove who they are (the confirm page).
func (p *Portal) settingsEmailAdd(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok || !p.readForm(w, r, v.purpose("settings-email-add")) {
		return
	}
	addr := strings.TrimSpace(r.PostForm.Get("email"))
	if !utf8.ValidString(addr) {
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{email: ui.M("settings.emails.error_invalid")})
		return
	}
	if addr == "" {
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{email: ui.M("settings.emails.error_required")})
		return
	}
	req := proofRequest{
		action: SettingsPath + "/emails", purpose: v.purpose("settings-email-add"),
		heading: ui.M("confirm.email.heading"), lead: ui.M("confirm.email.lead", addr), submit: ui.M("confirm.email.submit"),
		hidden: []ui.Hidden{{Name: "email", Value: addr}},
	}
	if p.mailProofCode(w, r, v, req) {
		return
	}
	pr := readProofFields(r)
	body := map[string]any{"type": "emails", "email": addr}
	pr.into(body)
	a, err := p.call(r, asVisitor, http.MethodPost, "/users/"+v.userID+"/emails", body)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	switch {
	case a.OK():
		p.settingsDone(w, r, "email-added")
		return
	case a.Code() == "DUPLICATE-EMAIL":
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{email: ui.M("settings.emails.error_duplicate"), emailValue: addr})
		return
	}
	if _, ok := a.Obstruction("email"); ok {
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{email: ui.M("settings.emails.error_invalid"), emailValue: addr})
		return
	}
	if p.askProof(w, r, v, a, pr, req) {
		return
	}
	p.settingsRefused(w, r, a)
}

// settingsEmailVerify is POST /settings/emails/{id}/verify: the mailed code.
func (p *Portal) settingsEmailVerify(w http.ResponseWriter, r *http.Request) {
	v, id, ok := p.settingsItemForm(w, r, "settings-email-verify")
	if !ok {
		return
	}
	code := strings.TrimSpace(r.PostForm.Get("code"))
	if code == "" {
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{codeFor: id, code: ui.M("settings.emails.error_code_required")})
		return
	}
	a, err := p.call(r, asVisitor, http.MethodPost, "/users/"+v.userID+"/emails/"+id+"/verify", map[string]any{"code": code})
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	_, badCode := a.Obstruction("code")
	switch {
	case a.OK():
		p.settingsDone(w, r, "email-verified")
	case a.Code() == "ALREADY-VERIFIED":
		p.settingsDone(w, r, "email-verified")
	case a.Code() == "CODE-EXPIRED":
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{codeFor: id, code: ui.M("settings.emails.error_code_expired")})
	case a.Code() == "CODE-INVALID" || badCode:
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{codeFor: id, code: ui.M("settings.emails.error_code_invalid")})
	case a.Code() == "DUPLICATE-EMAIL":
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{codeFor: id, code: ui.M("settings.emails.error_taken")})
	default:
		p.settingsRefused(w, r, a)
	}
}

// settingsEmailResend is POST /settings/emails/{id}/resend: a new code.
func (p *Portal) settingsEmailResend(w http.ResponseWriter, r *http.Request) {
	v, id, ok := p.settingsItemForm(w, r, "settings-email-resend")
	if !ok {
		return
	}
	a, err := p.call(r, asVisitor, http.MethodPost, "/users/"+v.userID+"/emails/"+id+"/generate-verification", nil)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	switch {
	case a.OK():
		p.settingsDone(w, r, "email-sent")
	case a.Code() == "ALREADY-VERIFIED":
		p.settingsDone(w, r, "email-verified")
	default:
		p.settingsRefused(w, r, a)
	}
}

// settingsEmailRemove is POST /settings/emails/{id}/remove.
func (p *Portal) settingsEmailRemove(w http.ResponseWriter, r *http.Request) {
	v, id, ok := p.settingsItemForm(w, r, "settings-email-remove")
	if !ok || !p.stepUpForRemoval(w, r, v, id) {
		return
	}
	a, err := p.call(r, asVisitor, http.MethodDelete, "/users/"+v.userID+"/emails/"+id, nil)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	switch {
	case a.OK():
		p.settingsDone(w, r, "email-removed")
	case a.Code() == "LAST-EMAIL":
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{removeFor: id, remove: ui.M("settings.emails.error_last")})
	default:
		p.settingsRefused(w, r, a)
	}
}

// settingsPasswordView is the view of the "settings_password" page.
type settingsPasswordView struct {
	Nav  accountNavView
	Form ui.Form
	// SentTo is the address a code was mailed to, "" before.
	SentTo string
	// MailCode is the form that mails a code instead of the current
	// password (for a user who has none); zero once one was.
	MailCode ui.Form
}

// settingsPasswordErrors are the errors of the password page's fields.
type settingsPasswordErrors struct {
	current, next, mailCode ui.Msg
}

// settingsPasswordPage is GET /settings/password.
func (p *Portal) settingsPasswordPage(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok {
		return
	}
	p.showSettingsPassword(w, r, v, http.StatusOK, "", "", settingsPasswordErrors{})
}

// showSettingsPassword renders the password page; state is the login state a
// code was mailed for ("" before: the current password is asked).
func (p *Portal) showSettingsPassword(w http.ResponseWriter, r *http.Request, v signedInUser, status int, state, sentTo string, errs settingsPasswordErrors) {
	nav, err := p.accountNav(w, r)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	tok, err := p.csrfToken(w, r, v.purpose("settings-password"))
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	view := settingsPasswordView{Nav: nav, SentTo: sentTo}
	next := ui.Field{Name: "newPassword", Type: "password", Label: ui.M("settings.password.new_label"),
		Hint: ui.M("settings.password.new_hint", password.MinLength), Error: errs.next, Autocomplete: "new-password"}
	form := ui.Form{Action: SettingsPath + "/password", CSRFToken: tok, Submit: ui.M("settings.password.submit")}
	if state != "" {
		form.Hidden = []ui.Hidden{{Name: "loginState", Value: state}}
		form.Fields = []ui.Field{{Name: "emailCode", Label: ui.M("confirm.mail_code_label"), Hint: ui.M("confirm.mail_code_hint"),
			Error: errs.mailCode, Autocomplete: "one-time-code"}, next}
	} else {
		form.Fields = []ui.Field{{Name: "currentPassword", Type: "password", Label: ui.M("settings.password.current_label"),
			Error: errs.current, Autocomplete: "current-password"}, next}
		view.MailCode = ui.Form{Action: SettingsPath + "/password?" + mailCodeQuery, CSRFToken: tok, Submit: ui.M("confirm.mail_code_send")}
	}
	view.Form = form
	p.render(w, r, status, "settings_password", view)
}

// settingsPasswordChange is POST /settings/password. A changed password ends
// every session of the user, this one too: the page says so and clears
// the browser's cookies. The proof is the current password or, for a
// user without one, a code mailed to their verified address.
func (p *Portal) settingsPasswordChange(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok || !p.readForm(w, r, v.purpose("settings-password")) {
		return
	}
	if r.URL.RawQuery == mailCodeQuery {
		state, addr, refusal, ok := p.sendProofCode(w, r)
		switch {
		case !ok:
		case refusal.Key != "":
			p.showSettingsPassword(w, r, v, http.StatusUnprocessableEntity, "", "", settingsPasswordErrors{current: refusal})
		default:
			p.showSettingsPassword(w, r, v, http.StatusOK, state, addr, settingsPasswordErrors{})
		}
		return
	}
	pr := proof{password: r.PostForm.Get("currentPassword"), loginState: r.PostForm.Get("loginState"),
		mailCode: strings.TrimSpace(r.PostForm.Get("emailCode"))}
	state := ""
	if loginStateOK(pr.loginState) {
		state = pr.loginState
	}
	next := r.PostForm.Get("newPassword")
	var errs settingsPasswordErrors
	switch {
	case state != "" && pr.mailCode == "":
		errs.mailCode = ui.M("confirm.error_mail_code_required")
	case state == "" && pr.password == "":
		errs.current = ui.M("settings.password.error_current_required")
	}
	if next == "" {
		errs.next = ui.M("settings.password.error_new_required")
	}
	if errs.current.Key != "" || errs.next.Key != "" || errs.mailCode.Key != "" {
		p.showSettingsPassword(w, r, v, http.StatusUnprocessableEntity, state, "", errs)
		return
	}
	body := map[string]any{"newPassword": next}
	pr.into(body)
	a, err := p.call(r, asVisitor, http.MethodPost, "/users/"+v.userID+"/change-password", body)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	if a.OK() {
		p.clearSessionCookies(w)
		p.signedOutPage(w, r, ui.M("signedout.password.heading"), ui.M("signedout.password.body"))
		return
	}
	if o, ok := a.Obstruction("newPassword"); ok {
		msg := ui.M("settings.password.error_new_invalid", password.MinLength)
		if o.Code == "WEAK-PASSWORD" {
			msg = ui.M("settings.password.error_weak", password.MinLength)
		}
		p.showSettingsPassword(w, r, v, http.StatusUnprocessableEntity, state, "", settingsPasswordErrors{next: msg})
		return
	}
	_, obstructed := a.Obstruction("currentPassword")
	_, badState := a.Obstruction("loginState")
	switch {
	case a.Code() == "CODE-INVALID" || badState:
		p.showSettingsPassword(w, r, v, http.StatusUnprocessableEntity, state, "", settingsPasswordErrors{mailCode: ui.M("confirm.error_mail_code")})
	case a.Code() == "INCORRECT-PASSWORD" || obstructed:
		p.showSettingsPassword(w, r, v, http.StatusUnprocessableEntity, "", "", settingsPasswordErrors{current: ui.M("settings.password.error_incorrect")})
	default:
		p.settingsRefused(w, r, a)
	}
}
