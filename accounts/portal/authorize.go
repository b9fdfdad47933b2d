package portal

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/authgw/authgw/accounts/ui"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// The consent page of the OpenID Connect provider (package
// accounts/oidcop): an application sends the browser here with the ID of
// its authorization request; the signed-in user allows or denies it. The
// decision is the accounts API's (POST /oidc-requests/{id}/decision),
// which answers where the browser goes next: the provider's callback,
// which hands the application its code, or the application with an error.

// AuthorizePath is the consent page, ?id=<authorization request ID>.
const AuthorizePath = Prefix + "/authorize"

// authorizePages are the consent page's routes: protected, so that a
// browser without a session is sent to sign in first and comes back.
var authorizePages = []Page{
	{Method: http.MethodGet, Path: "/authorize", handle: (*Portal).authorizePage},
	{Method: http.MethodPost, Path: "/authorize", handle: (*Portal).authorizeDecide},
}

// apiOIDCRequest is GET /oidc-requests/{id} as the page reads it.
type apiOIDCRequest struct {
	ID            string   `json:"id"`
	ClientName    string   `json:"clientName"`
	Scopes        []string `json:"scopes"`
	Consented     bool     `json:"consented"`
	PromptNone    bool     `json:"promptNone"`
	PromptConsent bool     `json:"promptConsent"`
	// RedirectOrigin is where the form's redirects end (the
	// application's origin).
	RedirectOrigin string `json:"redirectOrigin"`
}

// decisionAllow is the value of the consent form's Allow button.
const decisionAllow = "allow"

// authorizeView is the view of the "authorize" page.
type authorizeView struct {
	Heading    ui.Msg
	ClientName string
	Scopes     []ui.Msg
	Action     string
	CSRFField  string
	CSRFToken  string
	ID         string
	// AllowValue and DenyValue are the decision button's values.
	AllowValue, DenyValue string
}

// authorizeVisitor is the signed-in visitor of the consent page; one
// without a session is sent to sign in and back.
func (p *Portal) authorizeVisitor(w http.ResponseWriter, r *http.Request, id string) (signedInUser, bool) {
	claims, ok := requestinfo.ClaimsFrom(r.Context())
	if !ok || claims.User == nil || claims.User.ID == "" || claims.User.SessionID == "" {
		p.seeOther(w, r, LoginPath+"?return_to="+url.QueryEscape(AuthorizePath+"?id="+url.QueryEscape(id)))
		return signedInUser{}, false
	}
	return signedInUser{userID: claims.User.ID, sessionID: claims.User.SessionID}, true
}

// authorizeRequest reads the request the page is about; on failure it
// has answered (the request expired or was decided: the "expired link"
// page).
func (p *Portal) authorizeRequest(w http.ResponseWriter, r *http.Request, id string) (apiOIDCRequest, bool) {
	var req apiOIDCRequest
	a, err := p.call(r, asVisitor, http.MethodGet, "/oidc-requests/"+id, nil)
	switch {
	case err != nil:
		p.unavailable(w, r, err)
		return req, false
	case a.Status == http.StatusGone || a.Status == http.StatusNotFound:
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorExpiredLink, ContinueURL: SettingsPath})
		return req, false
	case !a.OK():
		p.settingsRefused(w, r, a)
		return req, false
	}
	if err := a.Decode(&req); err != nil {
		p.unavailable(w, r, err)
		return req, false
	}
	return req, true
}

// authorizePage is GET /authorize?id=...: the consent page, or, when the
// user already allowed this application these scopes (and it did not
// ask for consent again), the decision at once; with prompt=none and no
// consent, the application gets consent_required.
func (p *Portal) authorizePage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if !validPathID(id) {
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorBadRequest, ContinueURL: SettingsPath})
		return
	}
	v, ok := p.authorizeVisitor(w, r, id)
	if !ok {
		return
	}
	req, ok := p.authorizeRequest(w, r, id)
	if !ok {
		return
	}
	switch {
	case req.Consented && !req.PromptConsent:
		p.authorizeSend(w, r, id, map[string]any{"allow": true})
		return
	case req.PromptNone:
		p.authorizeSend(w, r, id, map[string]any{"allow": false, "error": "consent_required"})
		return
	}
	tok, err := p.csrfToken(w, r, v.purpose("oidc-authorize", id))
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	view := authorizeView{Heading: ui.M("authorize.heading"), ClientName: req.ClientName, Action: AuthorizePath,
		CSRFField: ui.CSRFField, CSRFToken: tok, ID: id, AllowValue: decisionAllow, DenyValue: "deny"}
	for _, sc := range req.Scopes {
		if name, ok := strings.CutPrefix(sc, "api:"); ok {
			view.Scopes = append(view.Scopes, ui.M("authorize.scope.api", name))
			continue
		}
		view.Scopes = append(view.Scopes, ui.M("authorize.scope."+sc))
	}
	// The form's answer redirects (through the provider's callback) to
	// the application: a browser holds a form's redirects to the page's
	// form-action, which allows the gateway's own origin only.
	p.render(&formActionAdding{ResponseWriter: w, origin: req.RedirectOrigin}, r, http.StatusOK, "authorize", view)
}

// formActionAdding adds origin to the form-action of the Content
// Security Policy the page is written with. origin is added only when
// it is a plain scheme://host[:port].
type formActionAdding struct {
	http.ResponseWriter
	origin string
	done   bool
}

// WriteHeader rewrites the policy, then writes the header.
func (f *formActionAdding) WriteHeader(status int) {
	if !f.done {
		f.done = true
		h := f.Header()
		if csp := h.Get("Content-Security-Policy"); csp != "" && plainOrigin(f.origin) {
			h.Set("Content-Security-Policy", strings.Replace(csp, "form-action 'self'", "form-action 'self' "+f.origin, 1))
		}
	}
	f.ResponseWriter.WriteHeader(status)
}

// Write writes the header first when it was not.
func (f *formActionAdding) Write(b []byte) (int, error) {
	if !f.done {
		f.WriteHeader(http.StatusOK)
	}
	return f.ResponseWriter.Write(b)
}

// plainOrigin reports whether s is http(s)://host[:port] with nothing a
// policy could read as more than one source.
func plainOrigin(s string) bool {
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "http://"); !ok {
			return false
		}
	}
	if rest == "" {
		return false
	}
	for _, c := range rest {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// authorizeDecide is POST /authorize: Allow or Deny (CSRF-checked).
func (p *Portal) authorizeDecide(w http.ResponseWriter, r *http.Request) {
	id := r.FormValue("id")
	if !validPathID(id) {
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorBadRequest, ContinueURL: SettingsPath})
		return
	}
	v, ok := p.authorizeVisitor(w, r, id)
	if !ok || !p.readForm(w, r, v.purpose("oidc-authorize", id)) {
		return
	}
	p.authorizeSend(w, r, id, map[string]any{"allow": r.PostForm.Get("decision") == decisionAllow})
}

// browserCookiePrefix names the cookie binding a request to the browser
// that started it (oidcop.BrowserCookiePrefix + the request's ID).
const browserCookiePrefix = "authgw-oidc-"

// authorizeSend posts the decision, with the browser's binding value,
// and sends the browser where the API says. A browser without the
// binding (another browser than the one that started the request) is
// refused by the API.
func (p *Portal) authorizeSend(w http.ResponseWriter, r *http.Request, id string, decision map[string]any) {
	if c, err := r.Cookie(browserCookiePrefix + id); err == nil && len(c.Value) <= 128 {
		decision["browser"] = c.Value
	} else {
		decision["browser"] = ""
	}
	a, err := p.call(r, asVisitor, http.MethodPost, "/oidc-requests/"+id+"/decision", decision)
	switch {
	case err != nil:
		p.unavailable(w, r, err)
		return
	case a.Status == http.StatusGone || a.Status == http.StatusNotFound:
		p.errorPage(w, r, ui.ErrorPage{Kind: ui.ErrorExpiredLink, ContinueURL: SettingsPath})
		return
	case !a.OK():
		p.settingsRefused(w, r, a)
		return
	}
	var out struct {
		Redirect string `json:"redirect"`
	}
	if err := a.Decode(&out); err != nil || out.Redirect == "" {
		p.unavailable(w, r, errAPI)
		return
	}
	p.seeOther(w, r, out.Redirect)
}
