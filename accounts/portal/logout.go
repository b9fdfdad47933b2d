package portal

import (
	"net/http"
	"time"

	"github.com/authgw/authgw/accounts/ui"
	"github.com/authgw/authgw/verifier"
)

// signOutPurpose is the CSRF purpose of the sign-out form. It names no
// session: the sign-out page is public (it must work once the token has
// expired), so the page cannot know the session the form was shown in.
const signOutPurpose = "logout"

// browserRefreshCookie is the name the accounts service gives the refresh
// cookie (the token cookies' prefix, "__Secure-" when secure).
func (p *Portal) browserRefreshCookie() string {
	prefix := p.cfg.Cookies.Prefix
	if prefix == "" {
		prefix = verifier.DefaultCookiePrefix
	}
	if p.cfg.Cookies.Insecure {
		return prefix + "refresh"
	}
	return "__Secure-" + prefix + "refresh"
}

// refreshCookiePaths are the paths a refresh cookie may have been set
// with: the whole API, and the sessions collection of older servers.
var refreshCookiePaths = []string{"/accounts/v1", "/accounts/v1/sessions"}

// clearSessionCookies expires the browser's token and refresh cookies, those
// the response does not expire already (the API's answer may have): for
// a session the API ended without clearing them (a changed password), or
// a refresh cookie at another path than the API clears.
func (p *Portal) clearSessionCookies(w http.ResponseWriter) {
	set := map[string]bool{}
	for _, line := range w.Header().Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil {
			set[c.Name+"\x00"+c.Path] = true
		}
	}
	clear := func(c *http.Cookie) {
		if !set[c.Name+"\x00"+c.Path] {
			http.SetCookie(w, c)
		}
	}
	for _, c := range p.cfg.Cookies.Expired() {
		clear(c)
	}
	for _, path := range refreshCookiePaths {
		clear(&http.Cookie{Name: p.browserRefreshCookie(), Value: "", Path: path, MaxAge: -1, Expires: time.Unix(1, 0),
			HttpOnly: true, Secure: !p.cfg.Cookies.Insecure, SameSite: http.SameSiteStrictMode})
	}
}

// signOut is POST /logout, public: the browser's session ends by its
// refresh cookie (possession of the refresh token proves the session,
// as for a refresh; its token may have expired), and its cookies are
// cleared. Then the "signed out" page, or a 303 to a return_to the
// return policy accepts.
func (p *Portal) signOut(w http.ResponseWriter, r *http.Request) {
	if !p.readForm(w, r, signOutPurpose) {
		return
	}
	if c, err := r.Cookie(p.browserRefreshCookie()); err == nil && c.Value != "" && len(c.Value) <= 128 {
		a, err := p.call(r, asPortal, http.MethodPost, "/sessions/logout", []map[string]string{{"t": "refresh-tokens", "value": c.Value}})
		switch {
		case err != nil:
			p.unavailable(w, r, err)
			return
		case a.OK():
			passCookies(w, a)
		case a.Status >= 500:
			p.settingsRefused(w, r, a)
			return
		default:
			// The session had ended already (spent, expired or revoked
			// elsewhere): nothing to end; the cookies go all the same.
			p.cfg.Logger.Info("portal: sign-out found no live session", "code", a.Code())
		}
	}
	p.clearSessionCookies(w)
	if r.PostForm.Get("return_to") != "" {
		p.seeOther(w, r, p.returnTo(r))
		return
	}
	p.signedOutPage(w, r, ui.M("signedout.heading"), ui.M("signedout.body"))
}

// signedOutView is the view of the "signed_out" page.
type signedOutView struct {
	Heading, Body ui.Msg
	SignInURL     string
}

// signedOutPage renders the "signed out" page with its heading and text.
func (p *Portal) signedOutPage(w http.ResponseWriter, r *http.Request, heading, body ui.Msg) {
	p.render(w, r, http.StatusOK, "signed_out", signedOutView{Heading: heading, Body: body, SignInURL: LoginPath})
}
