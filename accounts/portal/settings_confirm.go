package portal

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/authgw/authgw/accounts/ui"
)

// A change to what protects the account (an address, the second factor,
// other sessions) needs a proof that it is the user, not just their
// token: the API asks for the password, a code of the user's
// authenticator app, or a login code mailed to one of the user's
// verified addresses (how a user without a password proves themselves)
// in the same call. The pages ask for it on a confirm page
// ("settings_confirm") that posts the same form again with the proof in
// the fields "password", "code" (the app's) or "emailCode" (with the
// hidden "loginState" it was mailed for), or "credential", the
// assertion of one of the user's passkeys: the page offers "Use a
// passkey" when the user has one and passkeys are on (the script asks
// the form's own action, with the query proof=passkey, for the options
// of POST /users/{id}/passkeys/proof-options, runs the ceremony, and
// posts the form with the answer). The API decides when a proof is
// needed and whether it holds; the page only carries it.

// proof is the proof a form carries.
type proof struct {
	password, code       string
	loginState, mailCode string
	// passkey is the browser's assertion, nil when none.
	passkey json.RawMessage
	// sent is true when the form had a proof field at all (it came from
	// the confirm page), so an empty one is an error, not a first ask.
	sent bool
}

func readProofFields(r *http.Request) proof {
	var pk json.RawMessage
	if r.PostForm.Get("credential") != "" {
		// An answer that is no JSON object is sent as one that does not
		// hold: the API refuses it, and the page says so. An empty one is
		// none.
		pk = json.RawMessage(`{}`)
		if c, ok := credentialField(r); ok {
			pk = c
		}
	}
	return proof{
		passkey:    pk,
		password:   r.PostForm.Get("password"),
		code:       strings.Join(strings.Fields(r.PostForm.Get("code")), ""),
		loginState: r.PostForm.Get("loginState"),
		mailCode:   strings.TrimSpace(r.PostForm.Get("emailCode")),
		sent:       r.PostForm.Has("password") || r.PostForm.Has("code") || r.PostForm.Has("emailCode") || pk != nil,
	}
}

// into adds the proof to an API body: the passkey's answer when there is
// one, else the TOTP code when one was typed, else the mailed code, else
// the password.
func (pr proof) into(body map[string]any) {
	switch {
	case pr.passkey != nil:
		body["passkey"] = pr.passkey
	case pr.code != "":
		body["totp"] = pr.code
	case pr.mailCode != "" && loginStateOK(pr.loginState):
		body["loginState"], body["loginCode"] = pr.loginState, pr.mailCode
	case pr.password != "":
		body["currentPassword"] = pr.password
	}
}

// loginStateOK reports whether s is a login state: 32 lower-case hex.
func loginStateOK(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// proofRequest is what the confirm page of one form says and posts.
type proofRequest struct {
	action, purpose       string
	heading, lead, submit ui.Msg
	// hidden are the form's own fields, posted again with the proof.
	hidden []ui.Hidden
	// state is the login state a code was mailed for, "" before.
	state string
	// sentTo is the address the code went to.
	sentTo string
}

// proofView is the view of the "settings_confirm" page.
type proofView struct {
	Nav     accountNavView
	Heading ui.Msg
	Lead    ui.Msg
	// SentTo is the address a code was mailed to, "" before.
	SentTo string
	Form   ui.Form
	// MailCode is the form that mails a code instead; zero once one was.
	MailCode  ui.Form
	CancelURL string
	// Passkey is the "Use a passkey" form, nil when the user has none or
	// passkeys are off.
	Passkey *passkeyView
}

// UsesScript: the confirm page with a passkey form loads the script.
func (v proofView) UsesScript() bool { return v.Passkey != nil }

// askProof shows the confirm page when the API's answer a is about the
// proof: none was sent (200, the first ask) or it did not hold (422,
// the error on its field). It reports whether it answered.
func (p *Portal) askProof(w http.ResponseWriter, r *http.Request, v signedInUser, a *answer, pr proof, req proofRequest) bool {
	_, missing := a.Obstruction("currentPassword")
	_, badState := a.Obstruction("loginState")
	var errs proofErrors
	status := http.StatusUnprocessableEntity
	if loginStateOK(pr.loginState) {
		req.state = pr.loginState
	}
	switch {
	case a.Code() == "INCORRECT-PASSWORD":
		errs.password = ui.M("confirm.error_password")
	case a.Code() == "TOTP-INVALID":
		errs.code = ui.M("confirm.error_code")
	case a.Code() == "PASSKEY-INVALID":
		errs.passkey = ui.M("confirm.error_passkey")
	case a.Code() == "CODE-INVALID" || badState:
		errs.mailCode = ui.M("confirm.error_mail_code")
	case missing && pr.sent && req.state != "":
		errs.mailCode = ui.M("confirm.error_mail_code_required")
	case missing && pr.sent:
		errs.password = ui.M("confirm.error_required")
	case missing:
		status = http.StatusOK
	default:
		return false
	}
	p.showProofPage(w, r, v, status, req, errs)
	return true
}

// proofErrors are the errors of the confirm page's fields.
type proofErrors struct {
	password, code, mailCode, passkey ui.Msg
}

// mailCodeQuery marks the confirm page's "email me a code" form: its
// action is the form's own with this query.
const mailCodeQuery = "proof=mail"

// passkeyOptionsQuery marks the script's call for the options of the
// confirm page's passkey: its URL is the form's own action with this
// query, so the form's own CSRF token (and purpose) guards it.
const passkeyOptionsQuery = "proof=passkey"

// mailProofCode answers a confirm page's "email me a code" (and the
// script's call for the passkey's options): a login code
// is mailed, as the email login step does, to the user's first verified
// address, and the confirm page asks for it. It reports whether the
// request was that.
func (p *Portal) mailProofCode(w http.ResponseWriter, r *http.Request, v signedInUser, req proofRequest) bool {
	if r.URL.RawQuery == passkeyOptionsQuery {
		p.proofPasskeyOptions(w, r, v)
		return true
	}
	if r.URL.RawQuery != mailCodeQuery {
		return false
	}
	state, addr, refusal, ok := p.sendProofCode(w, r)
	switch {
	case !ok:
	case refusal.Key != "":
		p.showProofPage(w, r, v, http.StatusUnprocessableEntity, req, proofErrors{password: refusal})
	default:
		req.state, req.sentTo = state, addr
		p.showProofPage(w, r, v, http.StatusOK, req, proofErrors{})
	}
	return true
}

// sendProofCode mails a login code to the visitor's first verified
// address, through the email login step as the portal's client (the
// API's regulation and mail bounds apply), and returns the state it was
// mailed for and the address. refusal says why none could be sent (no
// verified address, codes by mail turned off); ok false means the
// request has been answered (an error page).
func (p *Portal) sendProofCode(w http.ResponseWriter, r *http.Request) (state, addr string, refusal ui.Msg, ok bool) {
	var emails []apiEmail
	if !p.visitorGet(w, r, "/users/current/emails", &emails) {
		return "", "", ui.Msg{}, false
	}
	for _, e := range emails {
		if e.VerifiedMs != nil {
			addr = e.Email
			break
		}
	}
	if addr == "" {
		return "", "", ui.M("confirm.error_no_verified"), true
	}
	state, err := p.proofState()
	if err != nil {
		p.unavailable(w, r, err)
		return "", "", ui.Msg{}, false
	}
	a, err := p.call(r, asPortal, http.MethodPost, "/sessions/login/email", map[string]any{"email": addr, "state": state})
	switch {
	case err != nil:
		p.unavailable(w, r, err)
		return "", "", ui.Msg{}, false
	case a.OK():
		return state, addr, ui.Msg{}, true
	case a.Status == http.StatusForbidden:
		return "", "", ui.M("confirm.error_codes_off"), true
	default:
		p.settingsRefused(w, r, a)
		return "", "", ui.Msg{}, false
	}
}

// proofState returns a fresh login state.
func (p *Portal) proofState() (string, error) {
	src := p.cfg.Rand
	if src == nil {
		src = rand.Reader
	}
	b := make([]byte, 16)
	if _, err := io.ReadFull(src, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// showProofPage renders the confirm page of req.
func (p *Portal) showProofPage(w http.ResponseWriter, r *http.Request, v signedInUser, status int, req proofRequest, errs proofErrors) {
	var u apiUser
	if !p.visitorGet(w, r, "/users/current", &u) {
		return
	}
	nav, err := p.accountNav(w, r)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	tok, err := p.csrfToken(w, r, req.purpose)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	view := proofView{Nav: nav, Heading: req.heading, Lead: req.lead, SentTo: req.sentTo, CancelURL: SettingsPath}
	hidden := req.hidden
	var fields []ui.Field
	if req.state != "" {
		hidden = append(append([]ui.Hidden(nil), hidden...), ui.Hidden{Name: "loginState", Value: req.state})
		fields = append(fields, ui.Field{Name: "emailCode", Label: ui.M("confirm.mail_code_label"), Hint: ui.M("confirm.mail_code_hint"),
			Error: errs.mailCode, Autocomplete: "one-time-code"})
	} else {
		fields = append(fields, ui.Field{Name: "password", Type: "password", Label: ui.M("confirm.password_label"), Error: errs.password, Autocomplete: "current-password"})
		view.MailCode = ui.Form{Action: req.action + "?" + mailCodeQuery, CSRFToken: tok, Submit: ui.M("confirm.mail_code_send"), Hidden: req.hidden}
	}
	if u.TwoFactor {
		fields = append(fields, ui.Field{Name: "code", Label: ui.M("confirm.code_label"), Hint: ui.M("confirm.code_hint"), Error: errs.code, Autocomplete: "one-time-code"})
	}
	view.Form = ui.Form{Action: req.action, CSRFToken: tok, Hidden: hidden, Fields: fields, Submit: req.submit}
	if p.hasPasskey(r, v) {
		view.Passkey = &passkeyView{Kind: "get", RPID: p.cfg.PasskeyRPID, OptionsURL: req.action + "?" + passkeyOptionsQuery, Error: errs.passkey,
			Heading: ui.M("confirm.passkey.heading"), Lead: ui.M("confirm.passkey.lead"),
			Form: ui.Form{Action: req.action, CSRFToken: tok, Hidden: req.hidden, Submit: ui.M("confirm.passkey.submit")}}
	}
	p.render(w, r, status, "settings_confirm", view)
}

// hasPasskey reports whether passkeys are on and the visitor has one
// (none that looked copied only): the confirm page offers it then.
func (p *Portal) hasPasskey(r *http.Request, v signedInUser) bool {
	if p.cfg.PasskeyRPID == "" {
		return false
	}
	a, err := p.call(r, asVisitor, http.MethodGet, "/users/"+v.userID+"/passkeys", nil)
	if err != nil || !a.OK() {
		return false
	}
	var keys []apiPasskey
	if a.Decode(&keys) != nil {
		return false
	}
	for _, k := range keys {
		if !k.CloneWarning {
			return true
		}
	}
	return false
}

// proofPasskeyOptions answers the script of a confirm page: the options
// of a passkey proof of the visitor (POST
// /users/{id}/passkeys/proof-options, in the visitor's session) as JSON
// {"publicKey": ...}, or {"error": words to show}.
func (p *Portal) proofPasskeyOptions(w http.ResponseWriter, r *http.Request, v signedInUser) {
	a, err := p.call(r, asVisitor, http.MethodPost, "/users/"+v.userID+"/passkeys/proof-options", nil)
	p.answerPasskeyOptions(w, a, err, "passkey.error.failed")
}
