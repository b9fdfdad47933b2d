package portal

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/passkey"
	"github.com/authgw/authgw/accounts/ui"
)

// Passkeys on the pages. The pages stay forms posted to the portal; the
// one script (ui's passkeys.js) only runs the browser's ceremony
// between them:
//
//   - sign in: a form on the sign-in page (a discoverable passkey, no
//     address typed) and on the second step after the password or code
//     (the passkey of that user, beside the TOTP code, or alone for a
//     user whose second factor is a passkey). The script asks
//     POST /login/passkey/options for the options (the login state, the
//     flow code of the first step if any, and the form's CSRF token),
//     runs navigator.credentials.get, and posts the answer to
//     POST /login/passkey, which hands it to the API's webauthn step.
//   - settings: the list with a remove button each (a proof of the user
//     first, as for TOTP), and an add form (a name, a proof, then the page
//     whose script runs navigator.credentials.create with the options
//     the API gave, and posts the answer to /settings/passkeys/finish).
//
// Without the script (or a browser without WebAuthn) the passkey parts
// stay hidden and every other form works as before.

// passkeyPages are the passkey routes: the sign-in ones are public.
var passkeyPages = []Page{
	{Method: http.MethodPost, Path: "/login/passkey/options", Public: true, handle: (*Portal).loginPasskeyOptions},
	{Method: http.MethodPost, Path: "/login/passkey", Public: true, handle: (*Portal).loginPasskey},
	{Method: http.MethodPost, Path: "/settings/passkeys", handle: (*Portal).settingsPasskeyAdd},
	{Method: http.MethodPost, Path: "/settings/passkeys/finish", handle: (*Portal).settingsPasskeyFinish},
	{Method: http.MethodPost, Path: "/settings/passkeys/{id}/remove", handle: (*Portal).settingsPasskeyRemove},
}

// formLoginPasskey is the CSRF purpose of the passkey sign-in forms.
const formLoginPasskey = "login-passkey"

// maxPasskeyFormBytes bounds a form carrying a browser's answer: the
// answer (at most passkey.MaxResponseBytes of JSON) grows up to three
// times when form-encoded.
const maxPasskeyFormBytes = 3*passkey.MaxResponseBytes + maxFormBytes

// maxPasskeyName bounds a passkey's name, as the API does.
const maxPasskeyName = 100

// passkeyView is the view of the "passkey-form" partial: one form the
// script runs a ceremony for.
type passkeyView struct {
	// Kind is "get" (sign in: the options come from OptionsURL) or
	// "create" (register: the options are in Options).
	Kind          string
	Heading, Lead ui.Msg
	Form          ui.Form
	OptionsURL    string
	Options       string
	// Error is the page's error about the passkey, if any; the script
	// writes its own there.
	Error     ui.Msg
	Secondary bool
	// RPID is the passkeys' relying-party ID: the script shows the form
	// only on a page of that host name or under it.
	RPID string
}

// UsesScript: the pages with a passkey form load the script.
func (v loginView) UsesScript() bool { return v.Passkey != nil }

// UsesScript: the pages with a passkey form load the script.
func (v formView) UsesScript() bool { return v.Passkey != nil }

// UsesScript: the account page loads the script when passkeys are on.
func (v settingsView) UsesScript() bool { return v.PasskeysOn }

// loginPasskeyForm is the passkey form of a sign-in: flow f, and code,
// the first step's flow code for a second factor ("" for a
// discoverable sign-in).
func (p *Portal) loginPasskeyForm(w http.ResponseWriter, r *http.Request, f flow, code string, errMsg ui.Msg) (*passkeyView, error) {
	tok, err := p.csrfToken(w, r, formLoginPasskey)
	if err != nil {
		return nil, err
	}
	hidden := f.hidden()
	if code != "" {
		hidden = append(hidden, ui.Hidden{Name: "code", Value: code})
	}
	return &passkeyView{Kind: "get", RPID: p.cfg.PasskeyRPID, OptionsURL: Prefix + "/login/passkey/options", Error: errMsg,
		Form: ui.Form{Action: Prefix + "/login/passkey", CSRFToken: tok, Hidden: hidden, Submit: ui.M("signin.passkey.submit")}}, nil
}

// signinPasskeyView is the view of the "signin-passkey" page: the second
// step of a user whose second factor is a passkey.
type signinPasskeyView struct {
	Passkey *passkeyView
	Links   []Link
}

// UsesScript: the page is the passkey's.
func (signinPasskeyView) UsesScript() bool { return true }

// showLoginPasskey renders the second step of a user whose second factor
// is a passkey; code is the first step's flow code.
func (p *Portal) showLoginPasskey(w http.ResponseWriter, r *http.Request, status int, f flow, code string, errMsg ui.Msg) {
	pk, err := p.loginPasskeyForm(w, r, f, code, errMsg)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	pk.Form.Submit = ui.M("signin.passkey.continue")
	p.render(w, r, status, "signin-passkey", signinPasskeyView{Passkey: pk,
		Links: []Link{{URL: withReturn(LoginPath, f.ReturnTo), Text: ui.M("signin.link.restart")}}})
}

// totpPasskey returns the passkey form offered beside the TOTP code when
// the user of the flow code has a passkey (the API's webauthn step
// answers its options then), else nil.
func (p *Portal) totpPasskey(w http.ResponseWriter, r *http.Request, f flow, code string, errMsg ui.Msg) *passkeyView {
	if p.cfg.PasskeyRPID == "" {
		return nil
	}
	a, err := p.call(r, asPortal, http.MethodPost, "/sessions/login/webauthn", map[string]any{"state": f.State, "code": code})
	if err != nil || !a.OK() {
		return nil
	}
	pk, err := p.loginPasskeyForm(w, r, f, code, errMsg)
	if err != nil {
		return nil
	}
	pk.Heading, pk.Lead, pk.Secondary = ui.M("signin.passkey.alt_heading"), ui.M("signin.passkey.alt_lead"), true
	return pk
}

// passkeyFlow reads the sign-in fields of a passkey form: the state,
// return_to and the flow code ("" for a discoverable sign-in). ok false
// when they cannot be a sign-in's.
func (p *Portal) passkeyFlow(r *http.Request) (f flow, code string, ok bool) {
	f = flow{State: r.PostForm.Get("state"), ReturnTo: p.returnTo(r)}
	code = r.PostForm.Get("code")
	return f, code, validLoginState(f.State) && len(code) <= 64
}

// loginPasskeyOptions is POST /login/passkey/options, the script's call:
// the options of a passkey sign-in as JSON {"publicKey": ...}, or
// {"error": words to show} with the status of the refusal.
func (p *Portal) loginPasskeyOptions(w http.ResponseWriter, r *http.Request) {
	if !p.readSingleForm(w, r, formLoginPasskey) {
		return
	}
	f, code, ok := p.passkeyFlow(r)
	if !ok {
		p.jsonError(w, http.StatusBadRequest, "signin.error.restart")
		return
	}
	body := map[string]any{"state": f.State}
	if code != "" {
		body["code"] = code
	}
	a, err := p.call(r, asPortal, http.MethodPost, "/sessions/login/webauthn", body)
	p.answerPasskeyOptions(w, a, err, "signin.error.restart")
}

// answerPasskeyOptions answers the script with the options of the API's
// answer a (or err): the options' JSON, or {"error": words} with the
// status of the refusal, in words of refusedKey for a refusal that is
// neither a limit nor passkeys turned off.
func (p *Portal) answerPasskeyOptions(w http.ResponseWriter, a *answer, err error, refusedKey string) {
	switch {
	case err != nil:
		p.cfg.Logger.Error("portal: passkey options failed", "err", err)
		p.jsonError(w, http.StatusServiceUnavailable, "passkey.error.failed")
		return
	case a.OK():
	case a.Status == http.StatusServiceUnavailable:
		p.jsonError(w, http.StatusServiceUnavailable, "signin.error.passkey_off")
		return
	case a.Status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", a.Header.Get("Retry-After"))
		p.jsonError(w, http.StatusTooManyRequests, "passkey.error.failed")
		return
	default:
		p.jsonError(w, a.Status, refusedKey)
		return
	}
	var out struct {
		Options json.RawMessage `json:"options"`
	}
	if err := a.Decode(&out); err != nil || len(out.Options) == 0 {
		p.jsonError(w, http.StatusServiceUnavailable, "passkey.error.failed")
		return
	}
	p.cfg.Renderer.SetSecurityHeaders(w.Header())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Options)
}

// jsonError answers the script with the words of key.
func (p *Portal) jsonError(w http.ResponseWriter, status int, key string) {
	p.cfg.Renderer.SetSecurityHeaders(w.Header())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": p.cfg.Renderer.Catalogue().T(key)})
}

// credentialField reads the browser's answer of a passkey form: a JSON
// object, at most passkey.MaxResponseBytes.
func credentialField(r *http.Request) (json.RawMessage, bool) {
	c := r.PostForm.Get("credential")
	if c == "" || len(c) > passkey.MaxResponseBytes || c[0] != '{' || !json.Valid([]byte(c)) {
		return nil, false
	}
	return json.RawMessage(c), true
}

// loginPasskey is POST /login/passkey: the browser's answer, to the API's
// webauthn step; a session goes to return_to as any sign-in does.
func (p *Portal) loginPasskey(w http.ResponseWriter, r *http.Request) {
	if !p.readFormLimit(w, r, formLoginPasskey, maxPasskeyFormBytes) || !p.singleValues(w, r) {
		return
	}
	f, code, ok := p.passkeyFlow(r)
	if !ok {
		p.badRequest(w, r, f.ReturnTo)
		return
	}
	// Shown again on a refusal: the sign-in page, or the second step.
	again := func(status int, msg ui.Msg) {
		if code == "" {
			p.showLoginWith(w, r, status, flow{State: f.State, ReturnTo: f.ReturnTo}, nil, msg)
			return
		}
		p.showLoginPasskey(w, r, status, f, code, msg)
	}
	cred, ok := credentialField(r)
	if !ok {
		again(http.StatusUnprocessableEntity, ui.M("passkey.error.failed"))
		return
	}
	body := map[string]any{"state": f.State, "credential": cred}
	if code != "" {
		body["code"] = code
	}
	a, err := p.call(r, asPortal, http.MethodPost, "/sessions/login/webauthn", body)
	p.loginAnswer(w, r, a, err, f, func(a *answer) {
		switch a.Code() {
		case accounts.CodePasskeyInvalid, accounts.CodePasskeyNoCeremony:
			again(http.StatusUnprocessableEntity, ui.M("signin.error.passkey"))
		default:
			// A wrong, used or expired flow code: the sign-in starts again.
			p.loginRefused(w, r, a, flow{State: f.State, ReturnTo: f.ReturnTo})
		}
	})
}

// singleValues refuses (400) a form naming a field twice, as
// readSingleForm does.
func (p *Portal) singleValues(w http.ResponseWriter, r *http.Request) bool {
	for _, vs := range r.PostForm {
		if len(vs) > 1 {
			p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorBadRequest, ContinueURL: LoginPath})
			return false
		}
	}
	return true
}

// apiPasskey is a passkey as the pages read it.
type apiPasskey struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	CloneWarning bool   `json:"cloneWarning"`
	CreatedMs    int64  `json:"createdMs"`
	LastUsedMs   int64  `json:"lastUsedMs"`
}

// settingsPasskeyView is one passkey of the account page.
type settingsPasskeyView struct {
	ItemID, Name, Created string
	LastUsed              ui.Msg
	Cloned                bool
	Remove                ui.Form
}

// RemoveButton is the remove form, named by the passkey.
func (k settingsPasskeyView) RemoveButton() itemButton {
	return itemButton{Form: k.Remove, About: k.Name}
}

// passkeysView fills the account page's passkeys: the list and the add
// form (its name field carries err).
func (p *Portal) passkeysView(w http.ResponseWriter, r *http.Request, v signedInUser, view *settingsView, e settingsErrors) bool {
	if p.cfg.PasskeyRPID == "" {
		return true
	}
	var tokErr error
	tok := func(purpose string) string {
		t, err := p.csrfToken(w, r, purpose)
		if err != nil && tokErr == nil {
			tokErr = err
		}
		return t
	}

	var keys []apiPasskey
	if !p.visitorGet(w, r, "/users/current/passkeys", &keys) {
		return false
	}
	view.PasskeysOn, view.PasskeyRPID = true, p.cfg.PasskeyRPID
	for _, k := range keys {
		kv := settingsPasskeyView{ItemID: "passkey-" + k.ID, Name: k.Name, Cloned: k.CloneWarning,
			Created: time.UnixMilli(k.CreatedMs).UTC().Format("2 Jan 2006, 15:04 UTC"), LastUsed: ui.M("settings.passkeys.never"),
			Remove: ui.Form{Action: SettingsPath + "/passkeys/" + k.ID + "/remove", CSRFToken: tok(v.purpose("settings-passkey-remove", k.ID)),
				Submit: ui.M("settings.passkeys.remove")}}
		if k.LastUsedMs != 0 {
			kv.LastUsed = ui.M("settings.passkeys.used_at", time.UnixMilli(k.LastUsedMs).UTC().Format("2 Jan 2006, 15:04 UTC"))
		}
		view.Passkeys = append(view.Passkeys, kv)
	}
	view.AddPasskey = ui.Form{Action: SettingsPath + "/passkeys", CSRFToken: tok(v.purpose("settings-passkey-add")), Submit: ui.M("settings.passkeys.add_submit"),
		Fields: []ui.Field{{Name: "passkeyName", Label: ui.M("settings.passkeys.name_label"), Hint: ui.M("settings.passkeys.name_hint"),
			Value: e.passkeyName, Error: e.passkey, Autocomplete: "off"}}}
	if tokErr != nil {
		p.unavailable(w, r, tokErr)
		return false
	}
	return true
}

// passkeyAddProof is the confirm page of an added passkey, carrying its
// name (the form field passkeyName: the account page's name form has
// the field "name", and a field's id is made of its name).
func passkeyAddProof(v signedInUser, name string) proofRequest {
	return proofRequest{action: SettingsPath + "/passkeys", purpose: v.purpose("settings-passkey-add"),
		heading: ui.M("confirm.passkey_add.heading"), lead: ui.M("confirm.passkey_add.lead"), submit: ui.M("confirm.passkey_add.submit"),
		hidden: []ui.Hidden{{Name: "passkeyName", Value: name}}}
}

// passkeyName checks a passkey's name: the words of its error, if any.
func passkeyName(name string) ui.Msg {
	switch {
	case strings.TrimSpace(name) == "":
		return ui.M("settings.passkeys.error_name_required")
	case len(name) > 4*maxPasskeyName || utf8.RuneCountInString(name) > maxPasskeyName || !utf8.ValidString(name):
		return ui.M("settings.passkeys.error_name_long")
	}
	return ui.Msg{}
}

// settingsPasskeyAdd is POST /settings/passkeys: the name, then the
// proof (the confirm page), then POST /users/{id}/passkeys/options and
// the page that creates the passkey.
func (p *Portal) settingsPasskeyAdd(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok || !p.readForm(w, r, v.purpose("settings-passkey-add")) {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("passkeyName"))
	if msg := passkeyName(name); msg.Key != "" {
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{passkey: msg, passkeyName: echo(name)})
		return
	}
	req := passkeyAddProof(v, name)
	if p.mailProofCode(w, r, v, req) {
		return
	}
	pr := readProofFields(r)
	body := map[string]any{}
	pr.into(body)
	a, err := p.call(r, asVisitor, http.MethodPost, "/users/"+v.userID+"/passkeys/options", body)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	switch {
	case a.OK():
	case a.Code() == accounts.CodeTooManyPasskeys:
		p.showSettings(w, r, v, http.StatusConflict, settingsErrors{passkey: ui.M("settings.passkeys.error_too_many"), passkeyName: name})
		return
	default:
		if !p.askProof(w, r, v, a, pr, req) {
			p.settingsRefused(w, r, a)
		}
		return
	}
	var out struct {
		Options json.RawMessage `json:"options"`
	}
	if err := a.Decode(&out); err != nil || len(out.Options) == 0 {
		p.unavailable(w, r, fmt.Errorf("%w: passkey options unreadable", errAPI))
		return
	}
	p.showPasskeyCreate(w, r, v, name, string(out.Options), ui.Msg{})
}

// passkeyCreateView is the view of the "settings_passkey" page.
type passkeyCreateView struct {
	Nav       accountNavView
	Name      string
	Passkey   *passkeyView
	CancelURL string
}

// UsesScript: the page creates the passkey.
func (passkeyCreateView) UsesScript() bool { return true }

// showPasskeyCreate renders the page whose script creates the passkey
// name with options.
func (p *Portal) showPasskeyCreate(w http.ResponseWriter, r *http.Request, v signedInUser, name, options string, errMsg ui.Msg) {
	nav, err := p.accountNav(w, r)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	tok, err := p.csrfToken(w, r, v.purpose("settings-passkey-finish"))
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "settings_passkey", passkeyCreateView{Nav: nav, Name: name, CancelURL: SettingsPath,
		Passkey: &passkeyView{Kind: "create", RPID: p.cfg.PasskeyRPID, Options: options, Error: errMsg,
			Form: ui.Form{Action: SettingsPath + "/passkeys/finish", CSRFToken: tok, Hidden: []ui.Hidden{{Name: "passkeyName", Value: name}},
				Submit: ui.M("settings.passkeys.create_submit")}}})
}

// settingsPasskeyFinish is POST /settings/passkeys/finish: the browser's
// answer, to POST /users/{id}/passkeys.
func (p *Portal) settingsPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok || !p.readFormLimit(w, r, v.purpose("settings-passkey-finish"), maxPasskeyFormBytes) {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("passkeyName"))
	if msg := passkeyName(name); msg.Key != "" {
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{passkey: msg, passkeyName: echo(name)})
		return
	}
	cred, ok := credentialField(r)
	if !ok {
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{passkey: ui.M("settings.passkeys.error_invalid"), passkeyName: name})
		return
	}
	a, err := p.call(r, asVisitor, http.MethodPost, "/users/"+v.userID+"/passkeys", map[string]any{"name": name, "credential": cred})
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	switch {
	case a.OK():
		p.settingsDone(w, r, "passkey-added")
	case a.Code() == accounts.CodeTooManyPasskeys:
		p.showSettings(w, r, v, http.StatusConflict, settingsErrors{passkey: ui.M("settings.passkeys.error_too_many"), passkeyName: name})
	case a.Code() == accounts.CodePasskeyExists:
		p.showSettings(w, r, v, http.StatusConflict, settingsErrors{passkey: ui.M("settings.passkeys.error_exists"), passkeyName: name})
	case a.Code() == accounts.CodePasskeyInvalid, a.Code() == accounts.CodePasskeyNoCeremony, a.Code() == accounts.CodeInvalidData:
		p.showSettings(w, r, v, http.StatusUnprocessableEntity, settingsErrors{passkey: ui.M("settings.passkeys.error_invalid"), passkeyName: name})
	default:
		p.settingsRefused(w, r, a)
	}
}

func passkeyRemoveProof(v signedInUser, id string) proofRequest {
	return proofRequest{action: SettingsPath + "/passkeys/" + id + "/remove", purpose: v.purpose("settings-passkey-remove", id),
		heading: ui.M("confirm.passkey_remove.heading"), lead: ui.M("confirm.passkey_remove.lead"), submit: ui.M("confirm.passkey_remove.submit")}
}

// settingsPasskeyRemove is POST /settings/passkeys/{id}/remove: the proof
// (the confirm page), then DELETE /users/{id}/passkeys/{passkeyId}.
func (p *Portal) settingsPasskeyRemove(w http.ResponseWriter, r *http.Request) {
	v, id, ok := p.settingsItemForm(w, r, "settings-passkey-remove")
	if !ok || p.mailProofCode(w, r, v, passkeyRemoveProof(v, id)) {
		return
	}
	pr := readProofFields(r)
	body := map[string]any{}
	pr.into(body)
	a, err := p.call(r, asVisitor, http.MethodDelete, "/users/"+v.userID+"/passkeys/"+id, body)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	switch {
	case a.OK():
		p.settingsDone(w, r, "passkey-removed")
	case p.askProof(w, r, v, a, pr, passkeyRemoveProof(v, id)):
	default:
		p.settingsRefused(w, r, a)
	}
}
