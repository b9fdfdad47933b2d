package portal

import (
	"fmt"
	"net/http"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/ui"
)

// verificationTTL is how long a verification link lives, as the pages
// say it: the accounts service's default.
const verificationTTL = accounts.DefaultVerificationTTL

// signupPage is GET /signup: name, address and password.
func (p *Portal) signupPage(w http.ResponseWriter, r *http.Request) {
	p.showSignup(w, r, http.StatusOK, p.returnTo(r), "", "", nil)
}

func (p *Portal) showSignup(w http.ResponseWriter, r *http.Request, status int, rt, name, email string, errs fieldErrors) {
	tok, err := p.csrfToken(w, r, formSignup)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.render(w, r, status, "signin-form", formView{
		Heading: ui.M("signup.heading"),
		Form: ui.Form{Action: Prefix + "/signup", CSRFToken: tok, Hidden: []ui.Hidden{{Name: "return_to", Value: rt}},
			Submit: ui.M("signup.submit"), Fields: []ui.Field{
				{Name: "name", Label: ui.M("signin.field.name"), Value: echo(name), Autocomplete: "name", Error: errs["name"]},
				{Name: "email", Type: "email", Label: ui.M("signin.field.email"), Hint: ui.M("signup.field.email_hint"), Value: echo(email), Autocomplete: "email", Error: errs["email"]},
				{Name: "password", Type: "password", Label: ui.M("signup.field.password"), Hint: ui.M("signin.field.new_password_hint"), Autocomplete: "new-password", Error: errs["password"]},
			}},
		Links: []Link{{URL: withReturn(LoginPath, rt), Text: ui.M("signup.link.signin")}},
	})
}

// signupSubmit is POST /signup: the registration, as the portal's client
// (the new user's referrer). The page says to check the mail and links to
// the sign-in: the browser is not signed in. The API logs a registration
// with a password in at once; the portal ends that session at once
// (logout by its refresh token), since no browser holds it.
func (p *Portal) signupSubmit(w http.ResponseWriter, r *http.Request) {
	if !p.readSingleForm(w, r, formSignup) {
		return
	}
	rt := p.returnTo(r)
	name, email := r.PostForm.Get("name"), r.PostForm.Get("email")
	a, err := p.call(r, asPortal, http.MethodPost, "/users", map[string]any{"name": name, "email": email, "password": r.PostForm.Get("password")})
	switch {
	case err != nil:
		p.unavailable(w, r, err)
	case a.Status >= 500:
		p.unavailable(w, r, fmt.Errorf("%w: registration: %d %s", errAPI, a.Status, a.Code()))
	case a.Status == http.StatusTooManyRequests:
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorTooMany, Duration: retryAfter(a), ContinueURL: withReturn(Prefix+"/signup", rt)})
	case a.OK():
		p.endUnheldSession(r, a)
		p.render(w, r, http.StatusOK, "signin-notice", noticeView{
			Heading: ui.M("signup.done.heading"),
			Paras:   []ui.Msg{ui.M("signup.done.sent"), ui.M("signup.done.lifetime", verificationTTL)},
			Links:   []Link{{URL: withReturn(LoginPath, rt), Text: ui.M("signup.done.continue")}},
		})
	case a.Code() == accounts.CodeDuplicateEmail:
		// What the API says (409), no more.
		p.showSignup(w, r, http.StatusConflict, rt, name, email, fieldErrors{"email": ui.M("signup.error.email.taken")})
	default:
		errs := fieldErrors{}
		if a.Code() != accounts.CodeInvalidData || !obstructionErrors(a, errs, map[string]string{"name": "name", "email": "email", "password": "password"}) {
			p.cfg.Logger.Warn("portal: registration refused unexpectedly", "status", a.Status, "code", a.Code())
			p.badRequest(w, r, rt)
			return
		}
		p.showSignup(w, r, http.StatusUnprocessableEntity, rt, name, email, errs)
	}
}

// endUnheldSession ends the session of a session answer that no browser
// was given. A failure is logged and changes nothing for the visitor: the
// session's tokens never left the portal, and it expires.
func (p *Portal) endUnheldSession(r *http.Request, a *answer) {
	var sess struct {
		Refresh string `json:"refresh"`
	}
	if a.T != "session" || a.Decode(&sess) != nil || sess.Refresh == "" {
		return
	}
	out, err := p.call(r, asPortal, http.MethodPost, "/sessions/logout", []map[string]string{{"t": "refresh-tokens", "value": sess.Refresh}})
	if err != nil || !out.OK() {
		status, code := 0, ""
		if out != nil {
			status, code = out.Status, out.Code()
		}
		p.cfg.Logger.Debug("portal: the sign-up's session was not ended", "status", status, "code", code, "err", err)
	}
}

// verifyPage is GET /verify?email=&code=, the link of a verification
// mail. It shows a button and spends nothing: mail scanners open links.
func (p *Portal) verifyPage(w http.ResponseWriter, r *http.Request) {
	ui.NoReferrer(w.Header()) // the address carries the code
	q := r.URL.Query()
	emailID, code := q.Get("email"), q.Get("code")
	if !linkValue(emailID) || !linkValue(code) {
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorExpiredLink, Duration: verificationTTL, ContinueURL: LoginPath})
		return
	}
	tok, err := p.csrfToken(w, r, formVerify)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "signin-form", formView{
		Heading: ui.M("verify.heading"),
		Lead:    []ui.Msg{ui.M("verify.lead")},
		Form: ui.Form{Action: Prefix + "/verify", CSRFToken: tok, Submit: ui.M("verify.submit"),
			Hidden: []ui.Hidden{{Name: "email", Value: emailID}, {Name: "code", Value: code}}},
	})
}

// verifySubmit is POST /verify: the address's verification, through the
// API's public endpoint.
func (p *Portal) verifySubmit(w http.ResponseWriter, r *http.Request) {
	if !p.readSingleForm(w, r, formVerify) {
		return
	}
	emailID, code := r.PostForm.Get("email"), r.PostForm.Get("code")
	expired := ui.ErrorPage{Kind: ui.ErrorExpiredLink, Duration: verificationTTL, ContinueURL: LoginPath}
	if !linkValue(emailID) || !linkValue(code) {
		p.errorPage(w, r, expired)
		return
	}
	a, err := p.call(r, asPortal, http.MethodPost, "/email-verifications", map[string]any{"emailId": emailID, "code": code})
	switch {
	case err != nil:
		p.unavailable(w, r, err)
	case a.Status >= 500:
		p.unavailable(w, r, fmt.Errorf("%w: verification: %d %s", errAPI, a.Status, a.Code()))
	case a.Status == http.StatusTooManyRequests:
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorTooMany, Duration: retryAfter(a), ContinueURL: LoginPath})
	case a.OK():
		p.render(w, r, http.StatusOK, "signin-notice", noticeView{
			Heading: ui.M("verify.done.heading"),
			Paras:   []ui.Msg{ui.M("verify.done.body")},
			Links:   []Link{{URL: LoginPath, Text: ui.M("verify.done.continue")}},
		})
	default:
		// A wrong, used or expired code, or an address that is gone: the
		// link no longer works, whichever it was.
		p.errorPage(w, r, expired)
	}
}

// linkValue reports whether s can be a value of an emailed link (an ID or
// a code): non-empty, short, of URL-safe characters. Anything else is no
// link the service sent.
func linkValue(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
