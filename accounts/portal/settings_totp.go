package portal

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/authgw/authgw/accounts/ui"
)

// maxOTPAuthURI bounds the otpauth:// URI the confirm form carries back.
const maxOTPAuthURI = 512

// totpSetupView is the view of the "settings_totp" page: the QR code, the
// secret for typing in by hand, and the form of the first code.
type totpSetupView struct {
	Nav       accountNavView
	QR        template.HTML
	Secret    string
	Form      ui.Form
	CancelURL string
}

// settingsTOTPEnrol is POST /settings/totp: POST /users/{id}/totp with the
// proof; then the page with the QR code.
func (p *Portal) settingsTOTPEnrol(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok || !p.readForm(w, r, v.purpose("settings-totp")) {
		return
	}
	req := proofRequest{action: SettingsPath + "/totp", purpose: v.purpose("settings-totp"),
		heading: ui.M("confirm.totp_setup.heading"), lead: ui.M("confirm.totp_setup.lead"), submit: ui.M("confirm.totp_setup.submit")}
	if p.mailProofCode(w, r, v, req) {
		return
	}
	pr := readProofFields(r)
	body := map[string]any{}
	pr.into(body)
	a, err := p.call(r, asVisitor, http.MethodPost, "/users/"+v.userID+"/totp", body)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	switch {
	case a.OK():
	case a.Code() == "TOTP-ENABLED":
		p.settingsDone(w, r, "totp-on")
		return
	default:
		if !p.askProof(w, r, v, a, pr, req) {
			p.settingsRefused(w, r, a)
		}
		return
	}
	var en struct {
		URI string `json:"uri"`
	}
	if err := a.Decode(&en); err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.showTOTPSetup(w, r, v, http.StatusOK, en.URI, ui.Msg{})
}

// showTOTPSetup renders the enrolment page of the key uri.
func (p *Portal) showTOTPSetup(w http.ResponseWriter, r *http.Request, v signedInUser, status int, uri string, codeErr ui.Msg) {
	secret, ok := otpauthSecret(uri)
	if !ok {
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorBadRequest, ContinueURL: SettingsPath})
		return
	}
	cat := p.cfg.Renderer.Catalogue()
	qr, err := qrSVG(uri, cat.T("settings.totp.qr_label"))
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	nav, err := p.accountNav(w, r)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	tok, err := p.csrfToken(w, r, v.purpose("settings-totp-confirm"))
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.render(w, r, status, "settings_totp", totpSetupView{Nav: nav, QR: qr, Secret: groupSecret(secret), CancelURL: SettingsPath,
		Form: ui.Form{Action: SettingsPath + "/totp/confirm", CSRFToken: tok, Submit: ui.M("settings.totp.confirm_submit"),
			// The key comes back with the code, so that a wrong code
			// shows the same page again: the visitor has it already.
			Hidden: []ui.Hidden{{Name: "uri", Value: uri}},
			Fields: []ui.Field{{Name: "code", Label: ui.M("settings.totp.code_label"), Hint: ui.M("settings.totp.code_hint"),
				Error: codeErr, Autocomplete: "one-time-code"}}}})
}

// otpauthSecret returns the secret of an otpauth://totp/ URI.
func otpauthSecret(uri string) (string, bool) {
	if len(uri) > maxOTPAuthURI || !strings.HasPrefix(uri, "otpauth://totp/") {
		return "", false
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", false
	}
	secret := u.Query().Get("secret")
	if secret == "" || len(secret) > 128 {
		return "", false
	}
	for _, c := range secret {
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return "", false
		}
	}
	return secret, true
}

// groupSecret splits a base32 secret into groups of four, as people
// type it.
func groupSecret(s string) string {
	var groups []string
	for len(s) > 4 {
		groups = append(groups, s[:4])
		s = s[4:]
	}
	return strings.Join(append(groups, s), " ")
}

// settingsTOTPConfirm is POST /settings/totp/confirm: the first code turns TOTP
// on.
func (p *Portal) settingsTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok || !p.readForm(w, r, v.purpose("settings-totp-confirm")) {
		return
	}
	uri := r.PostForm.Get("uri")
	code := strings.Join(strings.Fields(r.PostForm.Get("code")), "")
	if code == "" {
		p.showTOTPSetup(w, r, v, http.StatusUnprocessableEntity, uri, ui.M("settings.totp.error_code_required"))
		return
	}
	a, err := p.call(r, asVisitor, http.MethodPost, "/users/"+v.userID+"/totp/confirm", map[string]any{"totp": code})
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	_, bad := a.Obstruction("totp")
	switch {
	case a.OK():
		p.showRecoveryCodes(w, r, a)
	case a.Code() == "TOTP-ENABLED":
		p.settingsDone(w, r, "totp-on")
	case a.Code() == "TOTP-INVALID" || bad:
		p.showTOTPSetup(w, r, v, http.StatusUnprocessableEntity, uri, ui.M("settings.totp.error_code"))
	case a.Code() == "TOTP-NOT-ENROLLED":
		p.seeOther(w, r, SettingsPath)
	default:
		p.settingsRefused(w, r, a)
	}
}

// recoveryCodesView is the view of the "settings_recovery_codes" page.
type recoveryCodesView struct {
	Nav         accountNavView
	Codes       []string
	ContinueURL string
}

// showRecoveryCodes shows the recovery codes a TOTP confirmation made:
// the one time they are shown. An answer without codes goes back to the
// account page with the usual notice.
func (p *Portal) showRecoveryCodes(w http.ResponseWriter, r *http.Request, a *answer) {
	var out struct {
		RecoveryCodes struct {
			Codes []string `json:"codes"`
		} `json:"recoveryCodes"`
	}
	if err := a.Decode(&out); err != nil || len(out.RecoveryCodes.Codes) == 0 {
		p.settingsDone(w, r, "totp-on")
		return
	}
	nav, err := p.accountNav(w, r)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "settings_recovery_codes", recoveryCodesView{Nav: nav, Codes: out.RecoveryCodes.Codes,
		ContinueURL: SettingsPath + "?done=totp-on"})
}

func totpRemoveProof(v signedInUser) proofRequest {
	return proofRequest{action: SettingsPath + "/totp/remove", purpose: v.purpose("settings-totp-remove"),
		heading: ui.M("confirm.totp_remove.heading"), lead: ui.M("confirm.totp_remove.lead"), submit: ui.M("confirm.totp_remove.submit")}
}

// settingsTOTPRemovePage is GET /settings/totp/remove: the password or a code.
func (p *Portal) settingsTOTPRemovePage(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok {
		return
	}
	p.showProofPage(w, r, v, http.StatusOK, totpRemoveProof(v), proofErrors{})
}

// settingsTOTPRemove is POST /settings/totp/remove: DELETE /users/{id}/totp.
func (p *Portal) settingsTOTPRemove(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok || !p.readForm(w, r, v.purpose("settings-totp-remove")) || p.mailProofCode(w, r, v, totpRemoveProof(v)) {
		return
	}
	pr := readProofFields(r)
	pr.sent = true
	body := map[string]any{}
	pr.into(body)
	a, err := p.call(r, asVisitor, http.MethodDelete, "/users/"+v.userID+"/totp", body)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	switch {
	case a.OK(), a.Code() == "TOTP-NOT-ENROLLED":
		p.settingsDone(w, r, "totp-off")
	case a.Code() == "SECOND-FACTOR-REQUIRED":
		p.settingsDone(w, r, "second-factor-required")
	case p.askProof(w, r, v, a, pr, totpRemoveProof(v)):
	default:
		p.settingsRefused(w, r, a)
	}
}
