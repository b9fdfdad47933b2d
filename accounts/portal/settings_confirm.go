package portal

import (
	"net/http"
	"strings"

	"github.com/authgw/authgw/accounts/ui"
)

// A change to what protects the account (an address, the second factor,
// other sessions) needs a proof that it is the user, not just their
// token: the API asks for the password or a code of the user's
// authenticator app in the same call. The pages ask for it on a confirm
// page ("settings_confirm") that posts the same form again with the proof
// in the fields "password" and "code". The API decides when a proof is
// needed and whether it holds; the page only carries it.

// proof is the proof a form carries.
type proof struct {
	password, code string
	// sent is true when the form had a proof field at all (it came from
	// the confirm page), so an empty one is an error, not a first ask.
	sent bool
}

func readProof(r *http.Request) proof {
	return proof{
		password: r.PostForm.Get("password"),
		code:     strings.Join(strings.Fields(r.PostForm.Get("code")), ""),
		sent:     r.PostForm.Has("password") || r.PostForm.Has("code"),
	}
}

// into adds the proof to an API body: the TOTP code when one was typed,
// else the password.
func (pr proof) into(body map[string]any) {
	switch {
	case pr.code != "":
		body["totp"] = pr.code
	case pr.password != "":
		body["currentPassword"] = pr.password
	}
}

// confirmRequest is what the confirm page of one form says and posts.
type confirmRequest struct {
	action, purpose       string
	heading, lead, submit ui.Msg
	// hidden are the form's own fields, posted again with the proof.
	hidden []ui.Hidden
	// cancel is where "Cancel" leads. Default the account page.
	cancel string
}

// confirmView is the view of the "settings_confirm" page.
type confirmView struct {
	Nav       navView
	Heading   ui.Msg
	Lead      ui.Msg
	Form      ui.Form
	CancelURL string
}

// askProof shows the confirm page when the API's answer a is about the
// proof: none was sent (200, the first ask) or it did not hold (422,
// the error on its field). It reports whether it answered.
func (p *Portal) askProof(w http.ResponseWriter, r *http.Request, v visitor, a *answer, pr proof, req confirmRequest) bool {
	_, missing := a.Obstruction("currentPassword")
	var passwordErr, codeErr ui.Msg
	status := http.StatusUnprocessableEntity
	switch {
	case a.Code() == "INCORRECT-PASSWORD":
		passwordErr = ui.M("confirm.error_password")
	case a.Code() == "TOTP-INVALID":
		codeErr = ui.M("confirm.error_code")
	case missing && pr.sent:
		passwordErr = ui.M("confirm.error_required")
	case missing:
		status = http.StatusOK
	default:
		return false
	}
	p.showConfirm(w, r, v, status, req, passwordErr, codeErr)
	return true
}

// showConfirm renders the confirm page of req.
func (p *Portal) showConfirm(w http.ResponseWriter, r *http.Request, v visitor, status int, req confirmRequest, passwordErr, codeErr ui.Msg) {
	var u userIn
	if !p.get(w, r, "/users/current", &u) {
		return
	}
	nav, err := p.nav(w, r)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	tok, err := p.csrfToken(w, r, req.purpose)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	fields := []ui.Field{{Name: "password", Type: "password", Label: ui.M("confirm.password_label"), Error: passwordErr, Autocomplete: "current-password"}}
	if u.TwoFactor {
		fields = append(fields, ui.Field{Name: "code", Label: ui.M("confirm.code_label"), Hint: ui.M("confirm.code_hint"), Error: codeErr, Autocomplete: "one-time-code"})
	}
	cancel := req.cancel
	if cancel == "" {
		cancel = SettingsPath
	}
	p.render(w, r, status, "settings_confirm", confirmView{Nav: nav, Heading: req.heading, Lead: req.lead, CancelURL: cancel,
		Form: ui.Form{Action: req.action, CSRFToken: tok, Hidden: req.hidden, Fields: fields, Submit: req.submit}})
}
