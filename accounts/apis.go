package accounts

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/authgw/authgw/db"
)

// apiOut is an API as the API shows it; its id is "<name>/v<version>".
type apiOut struct {
	Type              string `json:"type"`
	ID                string `json:"id"`
	Name              string `json:"name"`
	Version           int    `json:"version"`
	URL               string `json:"url"`
	AllowUnidentified bool   `json:"allowUnidentified"`
	Active            bool   `json:"active"`
	LoginRedirect     bool   `json:"loginRedirect"`
	CreatedMs         int64  `json:"createdMs"`
	UpdatedMs         int64  `json:"updatedMs"`
}

func apiJSON(a db.API) apiOut {
	return apiOut{Type: "apis", ID: a.Name + "/v" + strconv.Itoa(a.Version), Name: a.Name, Version: a.Version, URL: a.URL,
		AllowUnidentified: a.AllowUnidentified, Active: a.Active, LoginRedirect: a.LoginRedirect, CreatedMs: a.CreatedMs, UpdatedMs: a.UpdatedMs}
}

func (s *Service) listAPIs(r *request) error {
	apis, err := s.management.ListAPIs(r.ctx())
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
// allowUnidentified and loginRedirect default to false and active to
// true. (name, version)
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
	version, _ := b.integer("version", true, 1, db.MaxAPIVersion)
	target := readAPIURL(b, true)
	allow, _ := b.boolean("allowUnidentified", false)
	active, given := b.boolean("active", false)
	if !given {
		active = true
	}
	loginRedirect, _ := b.boolean("loginRedirect", false)
	if err := b.done(); err != nil {
		return err
	}
	now := s.nowMs()
	a := db.API{Name: name, Version: int(version), URL: target, AllowUnidentified: allow, Active: active, LoginRedirect: loginRedirect,
		CreatedMs: now, UpdatedMs: now}
	if err := s.management.CreateAPI(r.ctx(), a); err != nil {
		return err
	}
	s.cfg.Announce(r.ctx())
	return single(r, http.StatusCreated, apiJSON(a))
}

// updateAPI sets any of url, allowUnidentified, active and loginRedirect
// of the API named by the path.
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
	if v, ok := b.boolean("loginRedirect", false); ok {
		a.LoginRedirect = v
	}
	if err := b.done(); err != nil {
		return err
	}
	a.UpdatedMs = s.nowMs()
	if err := s.management.UpdateAPI(r.ctx(), a); err != nil {
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
	if err := s.management.DeleteAPI(r.ctx(), a.Name, a.Version); err != nil {
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
	if err != nil || n < 1 || n > db.MaxAPIVersion || digits[0] < '1' || digits[0] > '9' {
		return db.API{}, ErrHidden
	}
	return s.management.GetAPI(r.ctx(), r.Param("name"), n)
}

// checkAPIName returns why name may not be an API name, or "".
func checkAPIName(name string) string {
	if err := db.CheckAPIName(name); err != nil {
		return "name: " + invalidReason(err) + "."
	}
	return ""
}

// readAPIURL reads the url field and returns it in canonical form, ""
// when absent or refused (with an obstruction).
func readAPIURL(b *body, required bool) string {
	n := len(b.obs)
	v := b.str("url", required, db.MaxAPIURLLength)
	if v == "" || len(b.obs) > n {
		return ""
	}
	canonical, problem := checkAPIURL(v)
	if problem != "" {
		b.obstruct("url", ObstructionInvalid, problem)
	}
	return canonical
}

// checkAPIURL checks a backend URL as the CLI does (db.CanonicalAPIURL)
// and returns it in canonical form, or why it is refused.
func checkAPIURL(v string) (canonical, problem string) {
	u, err := db.CanonicalAPIURL(v)
	if err != nil {
		return "", "url: " + invalidReason(err) + "."
	}
	return u, ""
}

// invalidReason is why the store refused a value (a *db.InvalidError's
// Reason), or "not valid" for another error.
func invalidReason(err error) string {
	if inv, ok := errors.AsType[*db.InvalidError](err); ok {
		return inv.Reason
	}
	return "not valid"
}
