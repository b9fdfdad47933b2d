package accounts

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/authgw/authgw/db"
)

// A client's OpenID Connect settings, on POST and PATCH
// /organizations/:id/clients[/:clientId]: redirectUris (a client with
// some is an OIDC client), postLogoutRedirectUris, oidcScopes and public.

// Bounds of a client's OIDC settings.
const (
	MaxRedirectURIs   = 10
	MaxRedirectURILen = 512
)

// maxOIDCScopes bounds a client's oidcScopes.
const maxOIDCScopes = 20

// OIDCClientStore sets a client's OIDC settings.
type OIDCClientStore interface {
	SetClientOIDC(ctx context.Context, id string, redirectURIs, postLogoutURIs, scopes []string, public bool, updatedMs int64) error
}

// clientOIDCIn is what a body said of the OIDC settings; nil lists were
// not sent.
type clientOIDCIn struct {
	redirects, logouts, scopes []string
	public                     *bool
}

// given reports whether the body sent any OIDC setting.
func (in clientOIDCIn) given() bool {
	return in.redirects != nil || in.logouts != nil || in.scopes != nil || in.public != nil
}

// apply sets the sent settings on c.
func (in clientOIDCIn) apply(c *db.Client) {
	if in.redirects != nil {
		c.RedirectURIs = in.redirects
	}
	if in.logouts != nil {
		c.PostLogoutRedirectURIs = in.logouts
	}
	if in.scopes != nil {
		c.OIDCScopes = in.scopes
	}
	if in.public != nil {
		c.Public = *in.public
	}
}

// readClientOIDC reads the OIDC settings of a client body, each checked.
func readClientOIDC(b *body) clientOIDCIn {
	var in clientOIDCIn
	in.redirects = readURIList(b, "redirectUris")
	in.logouts = readURIList(b, "postLogoutRedirectUris")
	if raw := b.value("oidcScopes"); raw != nil {
		var list []string
		if json.Unmarshal(raw, &list) != nil || len(list) > maxOIDCScopes {
			b.obstruct("oidcScopes", ObstructionInvalid, fmt.Sprintf("oidcScopes is a list of at most %d scopes.", maxOIDCScopes))
		} else {
			in.scopes = []string{}
			for _, sc := range list {
				if !validOIDCScope(sc) {
					b.obstruct("oidcScopes", ObstructionInvalid, "A scope is profile, email, offline_access or api:<name> (not api:accounts).")
					break
				}
				if !slices.Contains(in.scopes, sc) {
					in.scopes = append(in.scopes, sc)
				}
			}
		}
	}
	if b.has("public") {
		if v, ok := b.boolean("public", false); ok {
			in.public = &v
		}
	}
	return in
}

// validOIDCScope reports whether a client may be allowed sc: profile,
// email, offline_access or api:<name> (a name of 1 to 64 of
// [a-z0-9._-], as an API's, other than ReservedOIDCAPI).
func validOIDCScope(sc string) bool {
	switch sc {
	case ScopeProfile, ScopeEmail, ScopeOfflineAccess:
		return true
	}
	name, ok := strings.CutPrefix(sc, ScopeAPIPrefix)
	if !ok || name == "" || len(name) > 64 || name == ReservedOIDCAPI {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// readURIList reads a list of redirect URIs: nil when absent.
func readURIList(b *body, field string) []string {
	raw := b.value(field)
	if raw == nil {
		return nil
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil || len(list) > MaxRedirectURIs {
		b.obstruct(field, ObstructionInvalid, fmt.Sprintf("%s is a list of at most %d URIs.", field, MaxRedirectURIs))
		return nil
	}
	out := []string{}
	for _, u := range list {
		if err := checkRedirectURI(u); err != nil {
			b.obstruct(field, ObstructionInvalid, field+": "+err.Error())
			return nil
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// checkRedirectURI accepts an absolute https URI, or http on a loopback
// host (127.0.0.1, [::1], localhost), without fragment or user info, of
// at most MaxRedirectURILen bytes and no white space.
func checkRedirectURI(s string) error {
	if s == "" || len(s) > MaxRedirectURILen || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("a URI is empty, longer than %d bytes or holds white space", MaxRedirectURILen)
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%q is not an absolute URI", s)
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return fmt.Errorf("%q has a fragment", s)
	}
	if u.User != nil {
		return fmt.Errorf("%q has user info", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" || (net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback() && (host == "127.0.0.1" || host == "::1")) {
			return nil
		}
		return fmt.Errorf("%q: http only on 127.0.0.1, [::1] or localhost", s)
	}
	return fmt.Errorf("%q: the scheme is https (http on loopback)", s)
}

// saveClientOIDC stores the client's OIDC settings when the body sent
// some.
func (s *Service) saveClientOIDC(ctx context.Context, c db.Client, in clientOIDCIn) error {
	if !in.given() {
		return nil
	}
	st, ok := s.cfg.Store.(OIDCClientStore)
	if !ok {
		return apiError(503, CodeUnavailable, "")
	}
	return st.SetClientOIDC(ctx, c.ID, c.RedirectURIs, c.PostLogoutRedirectURIs, c.OIDCScopes, c.Public, s.nowMs())
}

// clientOIDCOut are a client's OIDC settings in its JSON.
type clientOIDCOut struct {
	RedirectURIs           []string `json:"redirectUris"`
	PostLogoutRedirectURIs []string `json:"postLogoutRedirectUris"`
	OIDCScopes             []string `json:"oidcScopes"`
	Public                 bool     `json:"public"`
}

func clientOIDCJSON(c db.Client) clientOIDCOut {
	nz := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return clientOIDCOut{RedirectURIs: nz(c.RedirectURIs), PostLogoutRedirectURIs: nz(c.PostLogoutRedirectURIs), OIDCScopes: nz(c.OIDCScopes), Public: c.Public}
}

// CheckOIDCClientSettings checks a client's OpenID Connect settings as
// POST and PATCH on a client do (the command line's `authgw clients oidc`
// shares the rule): at most MaxRedirectURIs of each list, each URI
// absolute https (http only on a loopback host), without fragment or
// user info, at most MaxRedirectURILen bytes; scopes among profile,
// email, offline_access and api:<name> but api:accounts. It names the
// first setting at fault.
func CheckOIDCClientSettings(redirectURIs, postLogoutURIs, scopes []string) error {
	for _, l := range []struct {
		field string
		uris  []string
	}{{"redirectUris", redirectURIs}, {"postLogoutRedirectUris", postLogoutURIs}} {
		if len(l.uris) > MaxRedirectURIs {
			return fmt.Errorf("%s: at most %d URIs", l.field, MaxRedirectURIs)
		}
		for _, u := range l.uris {
			if err := checkRedirectURI(u); err != nil {
				return fmt.Errorf("%s: %w", l.field, err)
			}
		}
	}
	if len(scopes) > maxOIDCScopes {
		return fmt.Errorf("oidcScopes: at most %d scopes", maxOIDCScopes)
	}
	for _, sc := range scopes {
		if !validOIDCScope(sc) {
			return fmt.Errorf("oidcScopes: %q is not one of profile, email, offline_access, api:<name> (api:accounts is reserved)", sc)
		}
	}
	return nil
}
