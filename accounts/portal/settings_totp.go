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

// totpView is the view of the "settings_totp" page: the QR code, the
// secret for typing in by hand, and the form of the first code.
type totpView struct {
	Nav       navView
	QR        template.HTML
	Secret    string
	Form      ui.Form
	CancelURL string
}

// totpEnrol is POST /settings/totp: POST /users/{id}/totp with the
// proof; then the page with the QR code.
func (p *Portal) totpEnrol(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedIn(w, r)
	if !ok || !p.readForm(w, r, v.purpose("settings-totp")) {
		return
	}
	req := confirmRequest{action: SettingsPath + "/totp", purpose: v.purpose("settings-totp"),
		heading: ui.M("confirm.totp_setup.heading"), lead: ui.M("confirm.totp_setup.lead"), submit: ui.M("confirm.totp_setup.submit")}
	if p.mailProofCode(w, r, v, req) {
		return
	}
	pr := readProof(r)
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
		p.done(w, r, "totp-on")
		return
	default:
		if !p.askProof(w, r, v, a, pr, req) {
			p.refused(w, r, a)
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
	p.showTOTP(w, r, v, http.StatusOK, en.URI, ui.Msg{})
}

// showTOTP renders the enrolment page of the key uri.
func (p *Portal) showTOTP(w http.ResponseWriter, r *http.Request, v visitor, status int, uri string, codeErr ui.Msg) {
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
	nav, err := p.nav(w, r)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	tok, err := p.csrfToken(w, r, v.purpose("settings-totp-confirm"))
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.render(w, r, status, "settings_totp", totpView{Nav: nav, QR: qr, Secret: groupSecret(secret), CancelURL: SettingsPath,
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

// totpConfirm is POST /settings/totp/confirm: the first code turns TOTP
// on.
func (p *Portal) totpConfirm(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedIn(w, r)
	if !ok || !p.readForm(w, r, v.purpose("settings-totp-confirm")) {
		return
	}
	uri := r.PostForm.Get("uri")
	code := strings.Join(strings.Fields(r.PostForm.Get("code")), "")
	if code == "" {
		p.showTOTP(w, r, v, http.StatusUnprocessableEntity, uri, ui.M("settings.totp.error_code_required"))
		return
	}
	a, err := p.call(r, asVisitor, http.MethodPost, "/users/"+v.userID+"/totp/confirm", map[string]any{"totp": code})
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	_, bad := a.Obstruction("totp")
	switch {
	case a.OK(), a.Code() == "TOTP-ENABLED":
		p.done(w, r, "totp-on")
	case a.Code() == "TOTP-INVALID" || bad:
		p.showTOTP(w, r, v, http.StatusUnprocessableEntity, uri, ui.M("settings.totp.error_code"))
	case a.Code() == "TOTP-NOT-ENROLLED":
		p.seeOther(w, r, SettingsPath)
	default:
		p.refused(w, r, a)
	}
}

func totpRemoveRequest(v visitor) confirmRequest {
	return confirmRequest{action: SettingsPath + "/totp/remove", purpose: v.purpose("settings-totp-remove"),
		heading: ui.M("confirm.totp_remove.heading"), lead: ui.M("confirm.totp_remove.lead"), submit: ui.M("confirm.totp_remove.submit")}
}

// totpRemovePage is GET /settings/totp/remove: the password or a code.
func (p *Portal) totpRemovePage(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedIn(w, r)
	if !ok {
		return
	}
	p.showConfirm(w, r, v, http.StatusOK, totpRemoveRequest(v), proofErrors{})
}

// totpRemove is POST /settings/totp/remove: DELETE /users/{id}/totp.
func (p *Portal) totpRemove(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedIn(w, r)
	if !ok || !p.readForm(w, r, v.purpose("settings-totp-remove")) || p.mailProofCode(w, r, v, totpRemoveRequest(v)) {
		return
	}
	pr := readProof(r)
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
		p.done(w, r, "totp-off")
	case p.askProof(w, r, v, a, pr, totpRemoveRequest(v)):
	default:
		p.refused(w, r, a)
	}
}
