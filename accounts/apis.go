package accounts

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/authgw/authgw/db"
)

// Limits of the API registry. The name and URL rules are the CLI's
// (authgw apis add); the version is bounded by what the gateway routes.
const (
	// MaxAPIURLLength is the width of apis.url.
	MaxAPIURLLength = 2048
	// MaxAPIVersion is the highest version the gateway routes: /NAME/vN
	// takes at most nine digits.
	MaxAPIVersion = 999_999_999
)

// reservedAPIName is the accounts service's own path prefix, which the
// gateway routes in-process: no backend may be registered under it.
const reservedAPIName = "accounts"

// apiNamePattern is what an API name may be.
var apiNamePattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// apiOut is an API as the API shows it; its id is "<name>/v<version>".
type apiOut struct {
	Type              string `json:"type"`
	ID                string `json:"id"`
	Name              string `json:"name"`
	Version           int    `json:"version"`
	URL               string `json:"url"`
	AllowUnidentified bool   `json:"allowUnidentified"`
	Active            bool   `json:"active"`
	CreatedMs         int64  `json:"createdMs"`
	UpdatedMs         int64  `json:"updatedMs"`
}

func apiJSON(a db.API) apiOut {
	return apiOut{Type: "apis", ID: a.Name + "/v" + strconv.Itoa(a.Version), Name: a.Name, Version: a.Version, URL: a.URL,
		AllowUnidentified: a.AllowUnidentified, Active: a.Active, CreatedMs: a.CreatedMs, UpdatedMs: a.UpdatedMs}
}

func (s *Service) listAPIs(r *request) error {
	apis, err := s.cfg.Store.ListAPIs(r.ctx())
	if err != nil {
		return err
	}
	out := make([]apiOut, len(apis))
	for i, a := range apis {
		out[i] = apiJSON(a)
	}
	return collection(r, out, len(out), db.PageInfo{})
}

// createAPI registers a backend: name, version and url are required;
// allowUnidentified defaults to false and active to true. (name, version)
// registered already is 409 DUPLICATE.
func (s *Service) createAPI(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	b.typeIs("apis")
	n := len(b.obs)
	name := b.str("name", true, 64)
	if problem := checkAPIName(name); len(b.obs) == n && problem != "" {
		b.obstruct("name", ObstructionInvalid, problem)
	}
	version, _ := b.integer("version", true, 1, MaxAPIVersion)
	target := readAPIURL(b, true)
	allow, _ := b.boolean("allowUnidentified", false)
	active, given := b.boolean("active", false)
	if !given {
		active = true
	}
	if err := b.done(); err != nil {
		return err
	}
	now := s.nowMs()
	a := db.API{Name: name, Version: int(version), URL: target, AllowUnidentified: allow, Active: active, CreatedMs: now, UpdatedMs: now}
	if err := s.cfg.Store.CreateAPI(r.ctx(), a); err != nil {
		return err
	}
	s.cfg.Announce(r.ctx())
	return single(r, http.StatusCreated, apiJSON(a))
}

// updateAPI sets any of url, allowUnidentified and active of the API
// named by the path.
func (s *Service) updateAPI(r *request) error {
	a, err := s.apiOfPath(r)
	if err != nil {
		return err
	}
	b, err := readBody(r)
	if err != nil {
		return err
	}
	b.typeIs("apis")
	b.idIs(apiJSON(a).ID)
	if target := readAPIURL(b, false); target != "" {
		a.URL = target
	}
	if v, ok := b.boolean("allowUnidentified", false); ok {
		a.AllowUnidentified = v
	}
	if v, ok := b.boolean("active", false); ok {
		a.Active = v
	}
	if err := b.done(); err != nil {
		return err
	}
	a.UpdatedMs = s.nowMs()
	if err := s.cfg.Store.UpdateAPI(r.ctx(), a); err != nil {
		return err
	}
	s.cfg.Announce(r.ctx())
	return single(r, http.StatusOK, apiJSON(a))
}

func (s *Service) deleteAPI(r *request) error {
	a, err := s.apiOfPath(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteAPI(r.ctx(), a.Name, a.Version); err != nil {
		return err
	}
	s.cfg.Announce(r.ctx())
	return null(r)
}

// apiOfPath reads the API that /apis/:name/:version names. The version
// may be written "1" or "v1" (so the path may end with an API's id); a
// version that is not a positive integer names nothing: 404.
func (s *Service) apiOfPath(r *request) (db.API, error) {
	digits := strings.TrimPrefix(r.Param("version"), "v")
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || n > MaxAPIVersion || digits[0] < '1' || digits[0] > '9' {
		return db.API{}, ErrHidden
	}
	return s.cfg.Store.GetAPI(r.ctx(), r.Param("name"), n)
}

// checkAPIName returns why name may not be an API name, or "": 1 to 64
// of a-z, 0-9 and -, and not the accounts service's own prefix.
func checkAPIName(name string) string {
	switch {
	case !apiNamePattern.MatchString(name):
		return fmt.Sprintf("name %q is not 1 to 64 of a-z, 0-9 and -.", name)
	case name == reservedAPIName:
		return fmt.Sprintf("name %q is reserved for the accounts service.", name)
	}
	return ""
}

// readAPIURL reads the url field and returns it in canonical form, ""
// when absent or refused (with an obstruction).
func readAPIURL(b *body, required bool) string {
	n := len(b.obs)
	v := b.str("url", required, MaxAPIURLLength)
	if v == "" || len(b.obs) > n {
		return ""
	}
	canonical, problem := checkAPIURL(v)
	if problem != "" {
		b.obstruct("url", ObstructionInvalid, problem)
	}
	return canonical
}

// checkAPIURL checks a backend URL as the CLI does: an absolute http or
// https URL with a host, without user info, query or fragment, at most
// MaxAPIURLLength bytes, with no white space or control characters. It
// returns the URL in canonical form (lower-case scheme), or why it is
// refused.
func checkAPIURL(v string) (canonical, problem string) {
	switch {
	case !utf8.ValidString(v):
		return "", "url is not valid UTF-8."
	case strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "", "url contains white space or a control character."
	case len(v) > MaxAPIURLLength:
		return "", fmt.Sprintf("url is longer than %d bytes.", MaxAPIURLLength)
	}
	u, err := url.Parse(v)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Sprintf("url is not a URL: %v.", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Sprintf("url must be an absolute http:// or https:// URL, not %q.", v)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return "", "url has no host."
	case u.User != nil:
		return "", "url may not hold user info (user:password@): the gateway does not forward credentials in URLs."
	case u.RawQuery != "" || u.ForceQuery:
		return "", "url may not hold a query (?...)."
	case u.Fragment != "" || strings.Contains(v, "#"):
		return "", "url may not hold a fragment (#...)."
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Sprintf("url's port %q is not in 1..65535.", p)
		}
	}
	return u.String(), ""
}
