package portal

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/ui"
	"github.com/authgw/authgw/verifier"
)

// signinPages are the pages of a visitor without a session: sign in (with
// a password or an emailed code, then TOTP when enrolled), sign up,
// verify an address, forgot password and recover. Every one is public:
// the gateway lets a visitor without a token open them.
var signinPages = []Page{
	{Method: http.MethodGet, Path: "/login", Public: true, handle: (*Portal).loginPage},
	{Method: http.MethodPost, Path: "/login", Public: true, handle: (*Portal).loginSubmit},
	{Method: http.MethodPost, Path: "/login/code", Public: true, handle: (*Portal).loginCode},
	{Method: http.MethodPost, Path: "/login/totp", Public: true, handle: (*Portal).loginTOTP},
	{Method: http.MethodPost, Path: "/login/totp-enrol", Public: true, handle: (*Portal).loginTOTPEnrol}, // signin_enrol.go
	{Method: http.MethodGet, Path: "/signup", Public: true, handle: (*Portal).signupPage},
	{Method: http.MethodPost, Path: "/signup", Public: true, handle: (*Portal).signupSubmit},
	{Method: http.MethodGet, Path: "/verify", Public: true, handle: (*Portal).verifyPage},
	{Method: http.MethodPost, Path: "/verify", Public: true, handle: (*Portal).verifySubmit},
	{Method: http.MethodGet, Path: "/forgot", Public: true, handle: (*Portal).forgotPage},
	{Method: http.MethodPost, Path: "/forgot", Public: true, handle: (*Portal).forgotSubmit},
	{Method: http.MethodGet, Path: "/recover", Public: true, handle: (*Portal).recoverPage},
	{Method: http.MethodPost, Path: "/recover", Public: true, handle: (*Portal).recoverSubmit},
}

// The forms' CSRF purposes: a token of one form is refused by another.
const (
	formLogin     = "login"
	formLoginCode = "login-code"
	formLoginTOTP = "login-totp"
	formSignup    = "signup"
	formVerify    = "verify"
	formForgot    = "forgot"
	formRecover   = "recover"
)

// The methods of the sign-in form's two buttons (its "method" field).
const (
	methodPassword = "password"
	methodCode     = "code"
)

// triedMaxAge is how long the marker of a silent refresh lives: the
// sign-in page tries the refresh cookie at most once in this time, so a
// return_to that sends the browser straight back (an app that refuses the
// fresh tokens, say) shows the page instead of looping.
const triedMaxAge = time.Minute

// maxEcho bounds a value a page shows back in its form (an address the
// visitor typed); a longer one is not shown.
const maxEcho = 320

// loginPage is GET /login?return_to=: the sign-in page, unless the browser
// holds a live session, in which case it goes straight to return_to.
func (p *Portal) loginPage(w http.ResponseWriter, r *http.Request) {
	rt := p.returnTo(r)
	if p.silentRefresh(w, r, rt) {
		return
	}
	st, err := p.newLoginState()
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.showLogin(w, r, http.StatusOK, flow{State: st, ReturnTo: rt}, nil)
}

// silentRefresh refreshes the session of the browser's refresh cookie, as
// the portal's client (the client its sessions are bound to), and on
// success gives the browser the new cookies and sends it to rt. It is
// tried at most once per triedMaxAge (a marker cookie on the sign-in
// page's path), so that it cannot loop. It reports whether it answered.
func (p *Portal) silentRefresh(w http.ResponseWriter, r *http.Request, rt string) bool {
	c, err := r.Cookie(p.loginRefreshCookieName())
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return false
	}
	if _, err := r.Cookie(p.triedCookieName()); err == nil {
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: p.triedCookieName(), Value: "1", Path: LoginPath, MaxAge: int(triedMaxAge / time.Second),
		HttpOnly: true, Secure: !p.cfg.Cookies.Insecure, SameSite: http.SameSiteLaxMode})
	a, err := p.call(r, asPortal, http.MethodPost, "/sessions/refresh", map[string]any{"refresh": c.Value})
	if err != nil {
		p.cfg.Logger.Warn("portal: silent refresh failed", "err", err)
		return false
	}
	// On a refusal the API may expire the cookies of a dead session:
	// the browser should drop them either way.
	passCookies(w, a)
	if !a.OK() || a.T != "session" {
		if a.Status >= 500 {
			p.cfg.Logger.Warn("portal: silent refresh failed", "status", a.Status, "code", a.Code())
		}
		return false
	}
	p.seeOther(w, r, rt)
	return true
}

// loginRefreshCookieName is the accounts service's refresh cookie name for the
// portal's cookie configuration.
func (p *Portal) loginRefreshCookieName() string {
	if p.cfg.Cookies.Insecure {
		return p.cookiePrefix() + "refresh"
	}
	return "__Secure-" + p.cookiePrefix() + "refresh"
}

// triedCookieName is the name of the silent refresh's marker cookie. It
// carries nothing secret: a planted one only shows the sign-in page.
func (p *Portal) triedCookieName() string { return p.cookiePrefix() + "ui-refresh-tried" }

func (p *Portal) cookiePrefix() string {
	if p.cfg.Cookies.Prefix == "" {
		return verifier.DefaultCookiePrefix
	}
	return p.cfg.Cookies.Prefix
}

// flow is what a sign-in carries from page to page in hidden fields: the
// login state binding its steps, where to go afterwards, and the address
// typed (shown again, never sent on).
type flow struct {
	State, ReturnTo, Email string
}

// hidden returns the flow's hidden fields.
func (f flow) hidden() []ui.Hidden {
	return []ui.Hidden{{Name: "state", Value: f.State}, {Name: "return_to", Value: f.ReturnTo}}
}

// fieldErrors are errors to show beside fields, by field name.
type fieldErrors map[string]ui.Msg

// loginView is the view of the "login" page.
type loginView struct {
	Form ui.Form
	// PasswordMethod and CodeMethod are the values of the two buttons'
	// "method": sign in with the password, or email a code instead.
	PasswordMethod, CodeMethod string
	Links                      []Link
	// Passkey is the "sign in with a passkey" form, nil when passkeys
	// are off.
	Passkey *passkeyView
	// Providers are the "Sign in with …" links of the external
	// providers (oidcrp.go), none when there are none.
	Providers []Link
}

// Link is a link under a page's content.
type Link struct {
	URL  string
	Text ui.Msg
}

// formView is the view of the "signin-form" page: a heading, paragraphs,
// one form and links.
type formView struct {
	Heading ui.Msg
	Lead    []ui.Msg
	Form    ui.Form
	Links   []Link
	// Passkey is a passkey form offered beside Form, or nil.
	Passkey *passkeyView
}

// noticeView is the view of the "signin-notice" page: a heading,
// paragraphs and links, the first shown as a button.
type noticeView struct {
	Heading ui.Msg
	Paras   []ui.Msg
	Links   []Link
}

// showLogin renders the sign-in page with errs beside their fields.
func (p *Portal) showLogin(w http.ResponseWriter, r *http.Request, status int, f flow, errs fieldErrors) {
	p.showLoginWith(w, r, status, f, errs, ui.Msg{})
}

// showLoginWith is showLogin with passkeyErr beside the passkey form.
func (p *Portal) showLoginWith(w http.ResponseWriter, r *http.Request, status int, f flow, errs fieldErrors, passkeyErr ui.Msg) {
	tok, err := p.csrfToken(w, r, formLogin)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	v := loginView{
		Form: ui.Form{Action: LoginPath, CSRFToken: tok, Hidden: f.hidden(), Fields: []ui.Field{
			{Name: "email", Type: "email", Label: ui.M("signin.field.email"), Value: echo(f.Email), Autocomplete: "email", Error: errs["email"]},
			{Name: "password", Type: "password", Label: ui.M("signin.field.password"), Autocomplete: "current-password", Error: errs["password"]},
		}},
		CodeMethod: methodCode, PasswordMethod: methodPassword,
		Providers: p.providerLinks(f.ReturnTo),
		Links: []Link{
			{URL: withReturn(Prefix+"/forgot", f.ReturnTo), Text: ui.M("signin.link.forgot")},
			{URL: withReturn(Prefix+"/signup", f.ReturnTo), Text: ui.M("signin.link.signup")},
		},
	}
	if p.cfg.PasskeyRPID != "" {
		if v.Passkey, err = p.loginPasskeyForm(w, r, f, "", passkeyErr); err != nil {
			p.unavailable(w, r, err)
			return
		}
		v.Passkey.Heading, v.Passkey.Lead, v.Passkey.Secondary = ui.M("signin.passkey.login_heading"), ui.M("signin.passkey.login_lead"), true
	}
	p.render(w, r, status, "login", v)
}

// loginSubmit is POST /login: a password ("method" password, the first
// button) or a request for an emailed code ("method" code, the second
// button; or no method and no password).
func (p *Portal) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if !p.readSingleForm(w, r, formLogin) {
		return
	}
	f := flow{State: r.PostForm.Get("state"), ReturnTo: p.returnTo(r), Email: r.PostForm.Get("email")}
	if !validLoginState(f.State) {
		// The first step may start a login afresh; later ones may not.
		st, err := p.newLoginState()
		if err != nil {
			p.unavailable(w, r, err)
			return
		}
		f.State = st
	}
	pw, method := r.PostForm.Get("password"), r.PostForm.Get("method")
	if method == methodCode || method == "" && pw == "" {
		a, err := p.call(r, asPortal, http.MethodPost, "/sessions/login/email", map[string]any{"email": f.Email, "state": f.State})
		p.loginAnswer(w, r, a, err, f, func(a *answer) { p.loginRefused(w, r, a, f) })
		return
	}
	a, err := p.call(r, asPortal, http.MethodPost, "/sessions/login/password", map[string]any{"email": f.Email, "password": pw, "state": f.State})
	p.loginAnswer(w, r, a, err, f, func(a *answer) { p.loginRefused(w, r, a, f) })
}

// loginRefused shows the sign-in page again with the API's refusal of a
// first step beside its field.
func (p *Portal) loginRefused(w http.ResponseWriter, r *http.Request, a *answer, f flow) {
	errs := fieldErrors{}
	switch a.Code() {
	case accounts.CodeIncorrectPassword:
		// The same words for an unknown address and a wrong password, as
		// the API answers both the same.
		errs["password"] = ui.M("signin.error.incorrect")
	case accounts.CodeCodeLoginOff:
		errs["password"] = ui.M("signin.error.code_login_off")
	case accounts.CodeUserBanned:
		errs["password"] = ui.M("signin.error.banned")
	case accounts.CodeInvalidData:
		if !obstructionErrors(a, errs, map[string]string{"email": "email", "password": "password"}) {
			p.badRequest(w, r, f.ReturnTo)
			return
		}
	default:
		errs["email"] = ui.M("signin.error.restart")
	}
	p.showLogin(w, r, http.StatusUnprocessableEntity, f, errs)
}

// loginAnswer handles the API's answer to a login step: a session (the
// browser gets its cookies and goes to return_to), the next step's page,
// the "too many" or "unavailable" page, or refused for any other refusal.
func (p *Portal) loginAnswer(w http.ResponseWriter, r *http.Request, a *answer, err error, f flow, refused func(*answer)) {
	switch {
	case err != nil:
		p.unavailable(w, r, err)
	case a.Status >= 500:
		p.unavailable(w, r, fmt.Errorf("%w: login step: %d %s", errAPI, a.Status, a.Code()))
	case a.Status == http.StatusTooManyRequests:
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorTooMany, Duration: retryAfter(a), ContinueURL: withReturn(LoginPath, f.ReturnTo)})
	case a.OK() && a.T == "session":
		passCookies(w, a)
		p.seeOther(w, r, f.ReturnTo)
	case a.OK() && a.T == "step":
		var next struct {
			Step     string            `json:"step"`
			State    string            `json:"state"`
			Code     string            `json:"code"`
			Accounts []json.RawMessage `json:"accounts"`
		}
		if err := a.Decode(&next); err != nil || next.State != f.State {
			p.unavailable(w, r, fmt.Errorf("%w: login step answer unreadable", errAPI))
			return
		}
		switch {
		case next.Step == accounts.StepTOTP && next.Code != "":
			p.showLoginTOTP(w, r, http.StatusOK, f, next.Code, nil)
		case next.Step == accounts.StepWebAuthn && next.Code != "":
			p.showLoginPasskey(w, r, http.StatusOK, f, next.Code, ui.Msg{})
		case next.Step == accounts.StepTOTPEnrol && next.Code != "":
			p.startLoginEnrol(w, r, f, next.Code) // signin_enrol.go
		case next.Step == accounts.StepCode && len(next.Accounts) == 0:
			p.showLoginCode(w, r, http.StatusOK, f, nil)
		case next.Step == accounts.StepCode:
			// The code opens one of several accounts that registered an
			// address nobody verified: the pages do not offer that choice
			// (the JSON API does); a password sign-in still works.
			p.showLogin(w, r, http.StatusConflict, flow{State: f.State, ReturnTo: f.ReturnTo}, fieldErrors{"email": ui.M("signin.error.several_accounts")})
		default:
			p.unavailable(w, r, fmt.Errorf("%w: unknown login step", errAPI))
		}
	case a.OK():
		p.unavailable(w, r, fmt.Errorf("%w: login answer of type %q", errAPI, a.T))
	default:
		refused(a)
	}
}

// showLoginCode renders the page that asks for the emailed code.
func (p *Portal) showLoginCode(w http.ResponseWriter, r *http.Request, status int, f flow, errs fieldErrors) {
	tok, err := p.csrfToken(w, r, formLoginCode)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.render(w, r, status, "signin-form", formView{
		Heading: ui.M("signin.code.heading"),
		Lead:    []ui.Msg{ui.M("signin.code.lead")},
		Form: ui.Form{Action: Prefix + "/login/code", CSRFToken: tok, Hidden: f.hidden(), Submit: ui.M("signin.submit"), Fields: []ui.Field{
			{Name: "code", Label: ui.M("signin.field.code"), Hint: ui.M("signin.field.code_hint", accounts.DefaultLoginCodeTTL), Autocomplete: "one-time-code", Error: errs["code"]},
		}},
		Links: []Link{{URL: withReturn(LoginPath, f.ReturnTo), Text: ui.M("signin.link.restart")}},
	})
}

// showLoginTOTP renders the page that asks for the authenticator app's code;
// code is the login's flow code from the first step.
func (p *Portal) showLoginTOTP(w http.ResponseWriter, r *http.Request, status int, f flow, code string, errs fieldErrors) {
	tok, err := p.csrfToken(w, r, formLoginTOTP)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.render(w, r, status, "signin-form", formView{
		Heading: ui.M("signin.totp.heading"),
		Lead:    []ui.Msg{ui.M("signin.totp.lead")},
		Form: ui.Form{Action: Prefix + "/login/totp", CSRFToken: tok, Hidden: append(f.hidden(), ui.Hidden{Name: "code", Value: code}),
			Submit: ui.M("signin.submit"), Fields: []ui.Field{
				{Name: "totp", Label: ui.M("signin.field.totp"), Hint: ui.M("signin.field.totp_hint"), Autocomplete: "one-time-code", Error: errs["totp"]},
			}},
		Links:   []Link{{URL: withReturn(LoginPath, f.ReturnTo), Text: ui.M("signin.link.restart")}},
		Passkey: p.totpPasskey(w, r, f, code, ui.Msg{}),
	})
}

// loginCode is POST /login/code: the emailed code of the login's state.
func (p *Portal) loginCode(w http.ResponseWriter, r *http.Request) {
	if !p.readSingleForm(w, r, formLoginCode) {
		return
	}
	f := flow{State: r.PostForm.Get("state"), ReturnTo: p.returnTo(r)}
	if !validLoginState(f.State) {
		p.badRequest(w, r, f.ReturnTo)
		return
	}
	code := strings.TrimSpace(r.PostForm.Get("code"))
	a, err := p.call(r, asPortal, http.MethodPost, "/sessions/login/code", map[string]any{"code": code, "state": f.State})
	p.loginAnswer(w, r, a, err, f, func(a *answer) {
		switch a.Code() {
		case accounts.CodeCodeInvalid:
			p.showLoginCode(w, r, http.StatusUnprocessableEntity, f, fieldErrors{"code": ui.M("signin.error.code_wrong")})
		case accounts.CodeCodeExpired:
			p.showLoginCode(w, r, http.StatusUnprocessableEntity, f, fieldErrors{"code": ui.M("signin.error.code_expired")})
		case accounts.CodeInvalidData:
			errs := fieldErrors{}
			if !obstructionErrors(a, errs, map[string]string{"code": "code"}) {
				p.badRequest(w, r, f.ReturnTo)
				return
			}
			p.showLoginCode(w, r, http.StatusUnprocessableEntity, f, errs)
		default:
			p.loginRefused(w, r, a, flow{State: f.State, ReturnTo: f.ReturnTo})
		}
	})
}

// loginTOTP is POST /login/totp: the authenticator app's code, with the
// flow code of the first step.
func (p *Portal) loginTOTP(w http.ResponseWriter, r *http.Request) {
	if !p.readSingleForm(w, r, formLoginTOTP) {
		return
	}
	f := flow{State: r.PostForm.Get("state"), ReturnTo: p.returnTo(r)}
	flowCode := r.PostForm.Get("code")
	if !validLoginState(f.State) || flowCode == "" || len(flowCode) > 64 {
		p.badRequest(w, r, f.ReturnTo)
		return
	}
	otp := strings.Join(strings.Fields(r.PostForm.Get("totp")), "")
	a, err := p.call(r, asPortal, http.MethodPost, "/sessions/login/totp", map[string]any{"code": flowCode, "totp": otp, "state": f.State})
	p.loginAnswer(w, r, a, err, f, func(a *answer) {
		switch a.Code() {
		case accounts.CodeTOTPInvalid:
			p.showLoginTOTP(w, r, http.StatusUnprocessableEntity, f, flowCode, fieldErrors{"totp": ui.M("signin.error.totp_wrong")})
		case accounts.CodeInvalidData:
			errs := fieldErrors{}
			if !obstructionErrors(a, errs, map[string]string{"totp": "totp"}) {
				p.badRequest(w, r, f.ReturnTo)
				return
			}
			p.showLoginTOTP(w, r, http.StatusUnprocessableEntity, f, flowCode, errs)
		default:
			// A wrong, used or expired flow code: the sign-in starts again.
			p.loginRefused(w, r, a, flow{State: f.State, ReturnTo: f.ReturnTo})
		}
	})
}

// obstructionErrors puts the words for each obstruction of a refused
// call beside the form field its API field maps to (fields: API field →
// form field), as "signin.error.<form field>.<code>" when the catalogue
// has it, else "signin.error.<code>", else a generic message. It reports
// false when an obstruction concerns no field of the form: the form
// cannot fix it.
func obstructionErrors(a *answer, errs fieldErrors, fields map[string]string) bool {
	if a.Err == nil || len(a.Err.Obstructions) == 0 {
		return false
	}
	for _, o := range a.Err.Obstructions {
		apiField, _ := o.Params["field"].(string)
		field, ok := fields[apiField]
		if !ok {
			return false
		}
		if _, done := errs[field]; done {
			continue
		}
		code := strings.ToLower(o.Code)
		key := "signin.error." + field + "." + code
		if !ui.English().Has(key) {
			key = "signin.error." + code
			if !ui.English().Has(key) {
				key = "signin.error.invalid"
			}
		}
		errs[field] = ui.M(key)
	}
	return true
}

// badRequest shows the "bad request" page, leading back to the sign-in.
func (p *Portal) badRequest(w http.ResponseWriter, r *http.Request, rt string) {
	p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorBadRequest, ContinueURL: withReturn(LoginPath, rt)})
}

// readSingleForm is readForm that also refuses (400) a form naming a
// field twice: which of two values a page and the API would each read
// must never be in doubt.
func (p *Portal) readSingleForm(w http.ResponseWriter, r *http.Request, purpose string) bool {
	if !p.readForm(w, r, purpose) {
		return false
	}
	for _, vs := range r.PostForm {
		if len(vs) > 1 {
			p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorBadRequest, ContinueURL: LoginPath})
			return false
		}
	}
	return true
}

// newLoginState returns a fresh login state: 32 lower-case hex characters
// from Config.Rand.
func (p *Portal) newLoginState() (string, error) {
	src := p.cfg.Rand
	if src == nil {
		src = rand.Reader
	}
	b := make([]byte, 16)
	if _, err := io.ReadFull(src, b); err != nil {
		return "", fmt.Errorf("portal: login state: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// validLoginState reports whether s is a login state: 32 lower-case hex
// characters.
func validLoginState(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// withReturn returns path with rt (already resolved) as its return_to;
// path alone when rt is empty.
func withReturn(path, rt string) string {
	if rt == "" {
		return path
	}
	return path + "?return_to=" + url.QueryEscape(rt)
}

// echo returns a typed value to show again in its field: valid UTF-8 and
// not overlong, else nothing.
func echo(s string) string {
	if len(s) > maxEcho || !utf8.ValidString(s) {
		return ""
	}
	return s
}
