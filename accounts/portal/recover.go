package portal

import (
	"fmt"
	"net/http"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/ui"
)

// recoveryTTL is how long a recovery link lives, as the pages say it:
// the accounts service's default.
const recoveryTTL = accounts.DefaultRecoveryTTL

// forgotPage is GET /forgot: the address to send a recovery link to.
func (p *Portal) forgotPage(w http.ResponseWriter, r *http.Request) {
	p.showForgot(w, r, http.StatusOK, p.returnTo(r), "", nil)
}

func (p *Portal) showForgot(w http.ResponseWriter, r *http.Request, status int, rt, email string, errs fieldErrors) {
	tok, err := p.csrfToken(w, r, formForgot)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.render(w, r, status, "signin-form", formView{
		Heading: ui.M("forgot.heading"),
		Lead:    []ui.Msg{ui.M("forgot.lead")},
		Form: ui.Form{Action: Prefix + "/forgot", CSRFToken: tok, Hidden: []ui.Hidden{{Name: "return_to", Value: rt}},
			Submit: ui.M("forgot.submit"), Fields: []ui.Field{
				{Name: "email", Type: "email", Label: ui.M("signin.field.email"), Value: echo(email), Autocomplete: "email", Error: errs["email"]},
			}},
		Links: []Link{{URL: withReturn(LoginPath, rt), Text: ui.M("forgot.link.signin")}},
	})
}

// forgotSubmit is POST /forgot: the API mails a recovery link when the
// address has an account; the page says the same either way, as the API
// answers the same.
func (p *Portal) forgotSubmit(w http.ResponseWriter, r *http.Request) {
	if !p.readSingleForm(w, r, formForgot) {
		return
	}
	rt, email := p.returnTo(r), r.PostForm.Get("email")
	a, err := p.call(r, asPortal, http.MethodPost, "/recovery", map[string]any{"email": email})
	switch {
	case err != nil:
		p.unavailable(w, r, err)
	case a.Status >= 500:
		p.unavailable(w, r, fmt.Errorf("%w: recovery: %d %s", errAPI, a.Status, a.Code()))
	case a.Status == http.StatusTooManyRequests:
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorTooMany, Duration: retryAfter(a), ContinueURL: withReturn(LoginPath, rt)})
	case a.OK():
		p.render(w, r, http.StatusOK, "signin-notice", noticeView{
			Heading: ui.M("forgot.done.heading"),
			Paras:   []ui.Msg{ui.M("forgot.done.sent"), ui.M("forgot.done.lifetime", recoveryTTL), ui.M("forgot.done.none")},
			Links:   []Link{{URL: withReturn(LoginPath, rt), Text: ui.M("forgot.link.signin")}},
		})
	default:
		errs := fieldErrors{}
		if a.Code() != accounts.CodeInvalidData || !obstructionErrors(a, errs, map[string]string{"email": "email"}) {
			p.unavailable(w, r, fmt.Errorf("%w: recovery: %d %s", errAPI, a.Status, a.Code()))
			return
		}
		p.showForgot(w, r, http.StatusUnprocessableEntity, rt, email, errs)
	}
}

// recoverPage is GET /recover?code=, the link of a recovery mail: a
// new-password form. It spends nothing: mail scanners open links.
func (p *Portal) recoverPage(w http.ResponseWriter, r *http.Request) {
	ui.NoReferrer(w.Header()) // the address carries the code
	code := r.URL.Query().Get("code")
	if !linkValue(code) {
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorExpiredLink, Duration: recoveryTTL, ContinueURL: Prefix + "/forgot"})
		return
	}
	p.showRecover(w, r, http.StatusOK, code, nil)
}

func (p *Portal) showRecover(w http.ResponseWriter, r *http.Request, status int, code string, errs fieldErrors) {
	tok, err := p.csrfToken(w, r, formRecover)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.render(w, r, status, "signin-form", formView{
		Heading: ui.M("recover.heading"),
		Lead:    []ui.Msg{ui.M("recover.lead")},
		Form: ui.Form{Action: Prefix + "/recover", CSRFToken: tok, Hidden: []ui.Hidden{{Name: "code", Value: code}},
			Submit: ui.M("recover.submit"), Fields: []ui.Field{
				{Name: "newPassword", Type: "password", Label: ui.M("recover.field.new_password"), Hint: ui.M("signin.field.new_password_hint"),
					Autocomplete: "new-password", Error: errs["newPassword"]},
			}},
	})
}

// recoverSubmit is POST /recover: the new password with the link's code.
// The API ends every session of the user and logs no one in.
func (p *Portal) recoverSubmit(w http.ResponseWriter, r *http.Request) {
	if !p.readSingleForm(w, r, formRecover) {
		return
	}
	code := r.PostForm.Get("code")
	expired := ui.ErrorPage{Kind: ui.ErrorExpiredLink, Duration: recoveryTTL, ContinueURL: Prefix + "/forgot"}
	if !linkValue(code) {
		p.errorPage(w, r, expired)
		return
	}
	a, err := p.call(r, asPortal, http.MethodPost, "/recovery/reset", map[string]any{"code": code, "newPassword": r.PostForm.Get("newPassword")})
	switch {
	case err != nil:
		p.unavailable(w, r, err)
	case a.Status >= 500:
		p.unavailable(w, r, fmt.Errorf("%w: recovery reset: %d %s", errAPI, a.Status, a.Code()))
	case a.Status == http.StatusTooManyRequests:
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorTooMany, Duration: retryAfter(a), ContinueURL: Prefix + "/forgot"})
	case a.OK():
		// The API may expire this browser's cookies with its sessions.
		passCookies(w, a)
		p.render(w, r, http.StatusOK, "signin-notice", noticeView{
			Heading: ui.M("recover.done.heading"),
			Paras:   []ui.Msg{ui.M("recover.done.body")},
			Links:   []Link{{URL: LoginPath, Text: ui.M("recover.done.signin")}},
		})
	case a.Code() == accounts.CodeRecoveryCodeInvalid:
		p.errorPage(w, r, expired)
	default:
		errs := fieldErrors{}
		if a.Code() != accounts.CodeInvalidData || !obstructionErrors(a, errs, map[string]string{"newPassword": "newPassword"}) {
			p.cfg.Logger.Warn("portal: recovery refused unexpectedly", "status", a.Status, "code", a.Code())
			p.errorPage(w, r, expired)
			return
		}
		p.showRecover(w, r, http.StatusUnprocessableEntity, code, errs)
	}
}
