package portal

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/ui"
)

// Enrolment inside a sign-in: a user of whom a second factor is required
// and who has none is answered the totp-enrol step after the first
// factor. The portal asks the API for the new secret and shows it as at
// the account page's set-up (QR code, the key to type, the first code);
// the code ends the sign-in, and the recovery codes are shown once
// before the visitor goes on to return_to.

// formLoginTOTPEnrol is the CSRF purpose of the sign-in's enrolment form.
const formLoginTOTPEnrol = "login-totp-enrol"

// loginEnrolView is the view of the "signin-totp-enrol" page.
type loginEnrolView struct {
	QR         template.HTML
	Secret     string
	Form       ui.Form
	RestartURL string
}

// loginCodesView is the view of the "signin-recovery-codes" page.
type loginCodesView struct {
	Codes       []string
	ContinueURL string
}

// startLoginEnrol asks the API for the secret of the enrolment of the
// login's flow code, and shows it.
func (p *Portal) startLoginEnrol(w http.ResponseWriter, r *http.Request, f flow, flowCode string) {
	a, err := p.call(r, asPortal, http.MethodPost, "/sessions/login/"+accounts.StepTOTPEnrol, map[string]any{"code": flowCode, "state": f.State})
	switch {
	case err != nil:
		p.unavailable(w, r, err)
		return
	case !a.OK() || a.T != "step":
		p.loginAnswer(w, r, a, nil, f, func(a *answer) { p.loginRefused(w, r, a, flow{State: f.State, ReturnTo: f.ReturnTo}) })
		return
	}
	var en struct {
		URI string `json:"uri"`
	}
	if err := a.Decode(&en); err != nil {
		p.unavailable(w, r, fmt.Errorf("%w: enrolment answer unreadable", errAPI))
		return
	}
	p.showLoginEnrol(w, r, http.StatusOK, f, flowCode, en.URI, ui.Msg{})
}

// showLoginEnrol renders the enrolment page of the key uri.
func (p *Portal) showLoginEnrol(w http.ResponseWriter, r *http.Request, status int, f flow, flowCode, uri string, codeErr ui.Msg) {
	secret, ok := otpauthSecret(uri)
	if !ok {
		p.badRequest(w, r, f.ReturnTo)
		return
	}
	qr, err := qrSVG(uri, p.cfg.Renderer.Catalogue().T("settings.totp.qr_label"))
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	tok, err := p.csrfToken(w, r, formLoginTOTPEnrol)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.render(w, r, status, "signin-totp-enrol", loginEnrolView{QR: qr, Secret: groupSecret(secret),
		RestartURL: withReturn(LoginPath, f.ReturnTo),
		Form: ui.Form{Action: Prefix + "/login/totp-enrol", CSRFToken: tok, Submit: ui.M("signin.totp_enrol.submit"),
			// The key comes back with the code, so that a wrong code
			// shows the same page again: the visitor has it already.
			Hidden: append(f.hidden(), ui.Hidden{Name: "code", Value: flowCode}, ui.Hidden{Name: "uri", Value: uri}),
			Fields: []ui.Field{{Name: "totp", Label: ui.M("settings.totp.code_label"), Hint: ui.M("settings.totp.code_hint"),
				Error: codeErr, Autocomplete: "one-time-code"}}}})
}

// loginTOTPEnrol is POST /login/totp-enrol: the first code of the new
// key, with the login's flow code. It ends the sign-in: the cookies are
// set and the recovery codes shown, once, with a link to return_to.
func (p *Portal) loginTOTPEnrol(w http.ResponseWriter, r *http.Request) {
	if !p.readSingleForm(w, r, formLoginTOTPEnrol) {
		return
	}
	f := flow{State: r.PostForm.Get("state"), ReturnTo: p.returnTo(r)}
	flowCode, uri := r.PostForm.Get("code"), r.PostForm.Get("uri")
	if !validLoginState(f.State) || flowCode == "" || len(flowCode) > 64 {
		p.badRequest(w, r, f.ReturnTo)
		return
	}
	if _, ok := otpauthSecret(uri); !ok {
		p.badRequest(w, r, f.ReturnTo)
		return
	}
	otp := strings.Join(strings.Fields(r.PostForm.Get("totp")), "")
	if otp == "" {
		p.showLoginEnrol(w, r, http.StatusUnprocessableEntity, f, flowCode, uri, ui.M("settings.totp.error_code_required"))
		return
	}
	a, err := p.call(r, asPortal, http.MethodPost, "/sessions/login/"+accounts.StepTOTPEnrol,
		map[string]any{"code": flowCode, "totp": otp, "state": f.State})
	if err == nil && a.OK() && a.T == "session" {
		var out struct {
			RecoveryCodes struct {
				Codes []string `json:"codes"`
			} `json:"recoveryCodes"`
		}
		if err := a.Decode(&out); err != nil {
			p.unavailable(w, r, fmt.Errorf("%w: session answer unreadable", errAPI))
			return
		}
		passCookies(w, a)
		if len(out.RecoveryCodes.Codes) == 0 {
			p.seeOther(w, r, f.ReturnTo)
			return
		}
		p.render(w, r, http.StatusOK, "signin-recovery-codes", loginCodesView{Codes: out.RecoveryCodes.Codes, ContinueURL: f.ReturnTo})
		return
	}
	p.loginAnswer(w, r, a, err, f, func(a *answer) {
		_, bad := a.Obstruction("totp")
		switch {
		case a.Code() == accounts.CodeTOTPInvalid || bad:
			p.showLoginEnrol(w, r, http.StatusUnprocessableEntity, f, flowCode, uri, ui.M("settings.totp.error_code"))
		default:
			// A wrong, used or expired flow code: the sign-in starts again.
			p.loginRefused(w, r, a, flow{State: f.State, ReturnTo: f.ReturnTo})
		}
	})
}
