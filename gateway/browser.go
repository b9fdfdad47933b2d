package gateway

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/authgw/authgw/mint/wire"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
	"github.com/authgw/authgw/verifier/envelope"
)

// A browser sends no Basic credential. Its requests carry the session's
// tokens in per-method cookies, minted at sign-in for the client the
// sign-in pages log in through, with a client caveat naming it. For a
// request without a Basic credential, that caveat names the client: its
// restrictions and rate limit apply as for a Basic request, and the
// verifier then checks the token, signature first.
//
// The caveat is read before the signature is checked, and only to choose
// whose restrictions and budget apply. That is safe because a client ID
// is no secret (it is in every token a browser holds, and in Basic
// headers): a forged token naming client X gets exactly what a Basic
// header with X's ID and no secret gets, X's restrictions and X's budget,
// and then fails at the verifier (TOKEN-INVALID) without reaching a
// backend. A genuine token carries the caveat the verifier then checks
// against that same client, so it trivially holds. Nothing read from
// the cookie ever sets secretVerified: a client whose role needs its
// secret gains nothing from a browser's cookie.
//
// Only a cookie-carried token, or a Bearer one, names the client this
// way. A "Macaroon" token in the Authorization header comes from a
// program, which can send its client ID in the same header, as it always
// has; and the verifier reads the header before the cookie, so a cookie
// next to a header token would name a client the checked token may not be
// bound to. A "Bearer" token is an access token of the OpenID provider,
// sent by an OAuth library that has no way to add a Basic credential: it
// is always minted with a client caveat naming the app it was issued to,
// which names the client as a cookie's does, with the same safety.

// portalPrefix starts the rest of the path (after /accounts/v1) of the
// sign-in pages.
const portalPrefix = "/ui"

// portalPage reports whether the request is for one of the sign-in
// pages, /accounts/v1/ui/...: pages a browser must reach with no client
// and no token.
func (st *reqState) portalPage() bool {
	return st.apiName == accountsAPI && st.version == accountsVersion &&
		(st.rest == portalPrefix || strings.HasPrefix(st.rest, portalPrefix+"/"))
}

// oidcPrefix starts the rest of the path (after /accounts/v1) of the
// OpenID Connect provider's endpoints.
const oidcPrefix = "/oidc"

// oidcProviderPath reports whether the request is for the OpenID Connect
// provider, /accounts/v1/oidc/...: endpoints that relying parties and
// browsers reach with no authgw client (discovery, keys, authorize,
// userinfo with a Bearer token, end_session) or with a client the
// endpoint authenticates itself (the token endpoint's
// client_secret_post). They are unidentified requests like the sign-in
// pages, limited per IP.
func (st *reqState) oidcProviderPath() bool {
	return st.apiName == accountsAPI && st.version == accountsVersion &&
		(st.rest == oidcPrefix || strings.HasPrefix(st.rest, oidcPrefix+"/"))
}

// identifyBrowser is step 4 for a request without a Basic credential.
// The client is the one named by the client caveat of the method's token
// cookie (unsafeCookieClient); an unknown one is refused as an unknown
// client. Without such a cookie, the request is unidentified: refused
// MISSING-BASIC-AUTH, unless the API is allowUnidentified.
//
// The sign-in pages are unidentified requests, limited per IP: they must
// answer a browser with no cookie, and one shared budget for everybody's
// sign-in would let one flooder lock every login out. A page carrying a
// known client's token still names that client, for the verifier's
// client caveat and the client's restrictions, but spends the per-IP
// budget; an unknown client there counts as none, so that a stale
// cookie cannot keep anyone off the sign-in page.
func (g *Gateway) identifyBrowser(r *http.Request, st *reqState) *refusal {
	portal := st.portalPage() || st.oidcProviderPath()
	if c, named := g.unsafeCookieClient(r, st.snap); named {
		switch {
		case c != nil:
			st.client, st.limitByIP = c, portal || g.uncheckedBrowserClient(r, c)
			return nil
		case !portal:
			return refuseClient(CodeUnknownClient, "The client is unknown.").curedBySignIn()
		}
	}
	if portal {
		return nil
	}
	if st.apiName != accountsAPI || st.version != accountsVersion {
		if a, _ := st.snap.lookupAPI(st.apiName, st.version); a != nil && a.allowUnidentified {
			return nil
		}
	}
	return refuseClient(CodeMissingBasicAuth, "This API needs a client ID (HTTP Basic), or a browser's sign-in.").curedBySignIn()
}

// uncheckedBrowserClient reports whether c, read from the cookie, is the
// sign-in pages' client on a route that needs no token: the verifier
// never checks that cookie there, so a forged one would do, and the
// request spends the per-IP budget instead of the one all browsers share.
func (g *Gateway) uncheckedBrowserClient(r *http.Request, c *client) bool {
	return g.cfg.BrowserClient != "" && c.id == g.cfg.BrowserClient && g.verifier.Load().IsPublic(r.Method, verifier.RequestPath(r))
}

// unsafeCookieClient reads the client caveat of the token the verifier
// will check when that token is a Bearer credential, or comes from the
// method's cookie (or, without one, from the method's step-up cookie),
// and looks the client up in snap. named is false when there is no such
// token (or an Authorization Macaroon credential, which the verifier
// reads instead), the token does not decode, or it has no client caveat.
// Nothing here is verified: see the comment at the top of this file. It
// allocates nothing.
func (g *Gateway) unsafeCookieClient(r *http.Request, snap *snapshot) (c *client, named bool) {
	auth := r.Header.Values("Authorization")
	unsafeToken, found, ok := verifier.MacaroonCredential(auth)
	switch {
	case !ok || (found && !hasBearer(auth)):
		return nil, false
	case !found:
		name, known := g.tokenCookie[r.Method]
		if !known {
			return nil, false
		}
		unsafeToken, ok = cookieValue(r.Header.Values("Cookie"), name)
		if !ok || unsafeToken == "" {
			// A method whose routes all need a step-up has no ordinary
			// token: its step-up token's cookie names the client then (the
			// verifier reads it when the ordinary one is missing).
			unsafeToken, ok = cookieValue(r.Header.Values("Cookie"), g.stepUpCookie[r.Method])
		}
	}
	if !ok || unsafeToken == "" || len(unsafeToken) > verifier.MaxTokenSize {
		return nil, false
	}
	var buf [verifier.MaxTokenSize * 3 / 4]byte
	b, ok := wire.AppendBase64(buf[:0], unsafeToken)
	if !ok {
		return nil, false
	}
	var t wire.UnsafeToken
	if !wire.SplitV2(b, &t) {
		return nil, false
	}
	for i := 0; i < t.N; i++ {
		text := t.Caveats[i].In(b)
		if len(text) > len(clientCaveat) && string(text[:len(clientCaveat)]) == clientCaveat {
			unsafeID := text[len(clientCaveat):]
			if !wire.ValidID(unsafeID) {
				return nil, false
			}
			return snap.clients[string(unsafeID)], true
		}
	}
	return nil, false
}

// clientCaveat starts the text of a client caveat ("client <id>").
const clientCaveat = "client "

// cookieValue returns the value of the first cookie called name in the
// Cookie header lines, read exactly as the verifier reads its token
// cookie: pairs split at ";", name and value trimmed of spaces and tabs,
// a value in double quotes unquoted, only that exact name.
func cookieValue(lines []string, name string) (string, bool) {
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, val, _ := strings.Cut(part, "=")
			if strings.Trim(k, " \t") != name {
				continue
			}
			val = strings.Trim(val, " \t")
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			return val, true
		}
	}
	return "", false
}

// readMethod reports whether m is GET or HEAD, the requests a redirect
// may answer (a redirected POST would lose its body, or be replayed).
func readMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead
}

// redirectsToSignIn reports whether a browser's refused GET or HEAD goes
// to the sign-in page: on the sign-in pages (but the sign-in page itself,
// which would loop), and for an API registered with loginRedirect.
func (g *Gateway) redirectsToSignIn(r *http.Request, st *reqState) bool {
	if st.portalPage() {
		return verifier.RequestPath(r) != g.cfg.LoginPath
	}
	if st.snap == nil || (st.apiName == accountsAPI && st.version == accountsVersion) {
		return false
	}
	a, _ := st.snap.lookupAPI(st.apiName, st.version)
	return a != nil && a.loginRedirect
}

// redirectToSignIn answers 303 See Other to the sign-in page, with
// returnTo as its return_to when it is not "". Never stored: the answer
// depends on the cookies and Accept of the request.
func (g *Gateway) redirectToSignIn(w http.ResponseWriter, returnTo string) {
	g.redirectTo(w, g.cfg.LoginPath, returnTo)
}

// redirectTo answers 303 See Other to page (the sign-in or the
// re-authentication page), with returnTo as its return_to when it is not
// "", never stored.
func (g *Gateway) redirectTo(w http.ResponseWriter, page, returnTo string) {
	h := w.Header()
	h.Set("Location", signInURL(page, returnTo))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusSeeOther)
}

// signInURL is login with return_to set to returnTo (omitted when "").
func signInURL(login, returnTo string) string {
	if returnTo == "" {
		return login
	}
	return login + "?return_to=" + url.QueryEscape(returnTo)
}

// originalPath is the path and query the browser asked for, as it sent
// them: the return_to of the gateway's redirects. It is always relative
// to the gateway's origin (the sign-in page resolves it against its
// own), never read from Host; "" when it is not a plain path (a target
// starting "//" or "/\" would be another origin to a browser).
func originalPath(r *http.Request) string {
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		uri = r.URL.RequestURI()
	}
	if !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") || strings.HasPrefix(uri, "/\\") {
		return ""
	}
	return uri
}

// validLoginPath accepts a canonical absolute path without query or
// fragment, that no browser would read as another origin.
func validLoginPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "?#\\") {
		return false
	}
	return policy.CanonicalPath(p) == nil
}

// prefersHTML reports whether the Accept header lines rank text/html
// above application/json, as a browser's navigation does
// ("text/html,application/xhtml+xml,...;q=0.9,*/*;q=0.8"). "*/*",
// "application/json", no Accept at all, and ties are not a browser. Each
// type takes the quality of the most specific range matching it (type,
// then type/*, then */*), 0 when none does; a range with a malformed q,
// or with parameters other than q (it matches only that variant), counts
// for neither. It allocates nothing and reads each byte once, whatever
// the header holds.
func prefersHTML(lines []string) bool {
	var html, json acceptMatch
	for _, line := range lines {
		for len(line) > 0 {
			var rng string
			rng, line, _ = strings.Cut(line, ",")
			mediaType, params, _ := strings.Cut(rng, ";")
			typ, sub, ok := strings.Cut(strings.Trim(mediaType, " \t"), "/")
			if !ok {
				continue
			}
			q, ok := acceptQ(params)
			if !ok {
				continue
			}
			html.consider(typ, sub, "text", "html", q)
			json.consider(typ, sub, "application", "json", q)
		}
	}
	return html.q > 0 && html.q > json.q
}

// acceptMatch is the best range found for one media type: its
// specificity (3 exact, 2 type/*, 1 */*) and quality in thousandths.
type acceptMatch struct {
	specificity int
	q           int
}

// consider records the range typ/sub with quality q if it matches
// wantType/wantSub more specifically than the best so far.
func (m *acceptMatch) consider(typ, sub, wantType, wantSub string, q int) {
	s := 0
	switch {
	case strings.EqualFold(typ, wantType) && strings.EqualFold(sub, wantSub):
		s = 3
	case strings.EqualFold(typ, wantType) && sub == "*":
		s = 2
	case typ == "*" && sub == "*":
		s = 1
	}
	if s > m.specificity {
		m.specificity, m.q = s, q
	}
}

// acceptQ reads a range's parameters (after its first ";") and returns
// its quality in thousandths: 1000 without a q. ok is false for a
// malformed q or a media-type parameter (one before q).
func acceptQ(params string) (q int, ok bool) {
	q = 1000
	seenQ := false
	for len(params) > 0 {
		var p string
		p, params, _ = strings.Cut(params, ";")
		p = strings.Trim(p, " \t")
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		switch {
		case seenQ:
			// An accept-ext parameter after q: it does not change the range.
		case strings.EqualFold(strings.Trim(k, " \t"), "q"):
			if q, ok = parseQ(strings.Trim(v, " \t")); !ok {
				return 0, false
			}
			seenQ = true
		default:
			return 0, false // a media-type parameter: another variant
		}
	}
	return q, true
}

// parseQ reads a qvalue ("0", "0.8", "1.000": at most three decimals,
// not above 1) in thousandths.
func parseQ(v string) (int, bool) {
	if v == "" || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
		return 0, false
	}
	q := int(v[0]-'0') * 1000
	if len(v) > 1 {
		if v[1] != '.' {
			return 0, false
		}
		scale := 100
		for i := 2; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return 0, false
			}
			q += int(v[i]-'0') * scale
			scale /= 10
		}
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}

// absoluteDischarge makes the discharge endpoint of a 401
// STEP-UP-REQUIRED's obstructions an absolute URL on PublicURL, when the
// gateway knows its public origin and the endpoint is a path.
func (g *Gateway) absoluteDischarge(e *envelope.Error) {
	if g.cfg.PublicURL == "" {
		return
	}
	for _, o := range e.Obstructions {
		if p, ok := o.Params["discharge"].(string); ok && strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") {
			o.Params["discharge"] = g.cfg.PublicURL + p
		}
	}
}

// hasBearer reports whether the Authorization values hold a Bearer
// credential (the token verifier.MacaroonCredential returns is then that
// one: it refuses two).
func hasBearer(values []string) bool {
	for _, v := range values {
		for cred := range strings.SplitSeq(v, ",") {
			scheme, _, _ := strings.Cut(strings.TrimSpace(cred), " ")
			if strings.EqualFold(scheme, "Bearer") {
				return true
			}
		}
	}
	return false
}
