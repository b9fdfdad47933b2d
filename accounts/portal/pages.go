package portal

import (
	"errors"
	"mime"
	"net/http"
	"time"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/accounts/ui"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// pages is the route table: the portal's own routes, then the sign-in
// pages (signinPages), the account pages (settingsPages) and the
// re-authentication page (stepUpPages), each
// declared beside its handlers.
var pages = concat(basePages, signinPages, settingsPages, passkeyPages, stepUpPages, oidcPages, authorizePages, appsPages)

// basePages are the routes every page needs.
var basePages = []Page{
	{Method: http.MethodGet, Path: "/assets/{file}", Public: true, handle: (*Portal).asset},
}

func concat(tables ...[]Page) []Page {
	var out []Page
	for _, t := range tables {
		out = append(out, t...)
	}
	return out
}

// maxFormBytes bounds a form's body: the largest field is a 256-character
// password; a form is a handful of fields.
const maxFormBytes = 16 << 10

// asset serves the stylesheet.
func (p *Portal) asset(w http.ResponseWriter, r *http.Request) {
	p.cfg.Renderer.ServeAsset(w, r)
}

// notFound is the page of every unknown address under Prefix.
func (p *Portal) notFound(w http.ResponseWriter, r *http.Request) {
	p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorNotFound, ContinueURL: LoginPath})
}

// render writes page with view, or the "unavailable" error page when the
// template fails on it (logged: it is a bug or a broken override).
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, page string, view any) {
	if err := p.cfg.Renderer.Render(w, status, page, view); err != nil {
		p.cfg.Logger.Error("portal: page failed to render", "page", page, "err", err)
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorUnavailable})
	}
}

// errorPage writes the error page e with its status.
func (p *Portal) errorPage(w http.ResponseWriter, r *http.Request, e ui.ErrorPage) {
	if err := p.cfg.Renderer.Render(w, e.Status(), "error", e); err != nil {
		p.cfg.Logger.Error("portal: error page failed to render", "err", err)
		p.cfg.Renderer.SetSecurityHeaders(w.Header())
		http.Error(w, http.StatusText(e.Status()), e.Status())
	}
}

// unavailable logs err (never a secret: the callers' errors name the
// call, not its data) and shows the "unavailable" page.
func (p *Portal) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	p.cfg.Logger.Error("portal: request failed", "path", r.URL.Path, "err", err)
	p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorUnavailable})
}

// seeOther answers 303 to url (a path on the gateway, or a URL a
// ReturnPolicy accepted), with the pages' safety headers.
func (p *Portal) seeOther(w http.ResponseWriter, r *http.Request, url string) {
	p.cfg.Renderer.SetSecurityHeaders(w.Header())
	http.Redirect(w, r, url, http.StatusSeeOther)
}

// csrfToken issues the CSRF token of the form purpose for this browser.
// A purpose is the form's name; forms of a signed-in user add the
// session ID, so that a token does not outlive the session it was shown
// in.
func (p *Portal) csrfToken(w http.ResponseWriter, r *http.Request, purpose string) (string, error) {
	return p.cfg.CSRF.Issue(w, r, purpose)
}

// readForm reads a posted form (application/x-www-form-urlencoded, at
// most maxFormBytes) and checks its CSRF token for purpose. On failure it
// has answered (400 for a body that is not such a form, 403 for a CSRF
// failure, each with its error page) and returns false.
func (p *Portal) readForm(w http.ResponseWriter, r *http.Request, purpose string) bool {
	return p.readFormLimit(w, r, purpose, maxFormBytes)
}

// readFormLimit is readForm for a form of at most limit bytes (one that
// carries a browser's passkey answer).
func (p *Portal) readFormLimit(w http.ResponseWriter, r *http.Request, purpose string, limit int64) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorBadRequest, ContinueURL: LoginPath})
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorBadRequest, ContinueURL: LoginPath})
		return false
	}
	if err := p.cfg.CSRF.Check(r, purpose, r.PostForm.Get(ui.CSRFField)); err != nil {
		p.cfg.Logger.Info("portal: form refused", "path", r.URL.Path, "reason", err.Error())
		p.recordFormRefused(r)
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorFormExpired, ContinueURL: LoginPath})
		return false
	}
	return true
}

// returnTo resolves the request's return_to (query or form) with the
// return policy: a safe URL, or the default.
func (p *Portal) returnTo(r *http.Request) string {
	return p.cfg.Return.Resolve(r.FormValue("return_to"))
}

// retryAfter is how long a 429 answer says to wait, at least a second.
func retryAfter(a *answer) time.Duration {
	d, err := time.ParseDuration(a.Header.Get("Retry-After") + "s")
	if err != nil || d < time.Second {
		return time.Second
	}
	return d
}

// errAPI is the error of an answer the page did not expect (a 5xx, or a
// shape it cannot read).
var errAPI = errors.New("portal: unexpected answer from the accounts API")

// recordFormRefused records a form refused for its CSRF token in the
// audit log, with the client, IP and user the gateway established for
// the page request.
func (p *Portal) recordFormRefused(r *http.Request) {
	if p.cfg.Audit == nil {
		return
	}
	claims, _ := requestinfo.ClaimsFrom(r.Context())
	e := audit.Event{Type: audit.FormRefused, Failed: true, Reason: "CSRF-REFUSED", ActorClientID: claims.Client, IP: claims.IP,
		Data: map[string]string{"path": r.URL.Path}}
	if claims.User != nil {
		e.ActorUserID = claims.User.ID
	}
	p.cfg.Audit.Record(r.Context(), e)
}
