package accounts

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
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
	// Upstreams are every upstream URL; url is the first.
	Upstreams        []string `json:"upstreams"`
	ConnectTimeoutMs int64    `json:"connectTimeoutMs"`
	HeaderTimeoutMs  int64    `json:"headerTimeoutMs"`
	TimeoutMs        int64    `json:"timeoutMs"`
	H2C              bool     `json:"h2c"`
	// Hosts are the host names bound to the API version; [] for none.
	Hosts []string `json:"hosts"`
}

func apiJSON(a db.API) apiOut {
	ups := a.Upstreams
	if len(ups) == 0 {
		ups = []string{a.URL}
	}
	return apiOut{Type: "apis", ID: a.Name + "/v" + strconv.Itoa(a.Version), Name: a.Name, Version: a.Version, URL: a.URL,
		AllowUnidentified: a.AllowUnidentified, Active: a.Active, LoginRedirect: a.LoginRedirect, CreatedMs: a.CreatedMs, UpdatedMs: a.UpdatedMs,
		Upstreams: ups, ConnectTimeoutMs: a.ConnectTimeoutMs, HeaderTimeoutMs: a.HeaderTimeoutMs, TimeoutMs: a.TimeoutMs, H2C: a.H2C,
		Hosts: append([]string{}, a.Hosts...)}
}

// readAPIHosts reads the hosts field into a.Hosts, normalized
// (db.NormalizeAPIHost), leaving it as it is when absent: at most
// db.MaxAPIHosts names, none twice.
func readAPIHosts(b *body, a *db.API) {
	raw := b.value("hosts")
	if raw == nil {
		return
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		b.obstruct("hosts", ObstructionWrongType, "hosts must be a list of host names.")
		return
	}
	if len(list) > db.MaxAPIHosts {
		b.obstruct("hosts", ObstructionInvalid, fmt.Sprintf("hosts may list at most %d host names.", db.MaxAPIHosts))
		return
	}
	hosts := []string{}
	for i, v := range list {
		h, err := db.NormalizeAPIHost(v)
		switch {
		case err != nil:
			b.obstruct("hosts", ObstructionInvalid, fmt.Sprintf("hosts[%d]: %s.", i, invalidReason(err)))
			return
		case slices.Contains(hosts, h):
			b.obstruct("hosts", ObstructionInvalid, fmt.Sprintf("hosts[%d]: listed twice.", i))
			return
		}
		hosts = append(hosts, h)
	}
	a.Hosts = hosts
}

// Bounds of an API's timeouts, in milliseconds; 0 is the gateway's
// default (connect 5 s, response headers its --upstream-timeout, overall
// none).
const (
	minAPITimeoutMs     = 10
	maxConnectTimeoutMs = 60_000
	maxHeaderTimeoutMs  = 600_000
	maxOverallTimeoutMs = 3_600_000
)

// readUpstreamFields reads upstreams, the timeouts and h2c into a,
// leaving what is absent as it is. url (target, "" when absent) and
// upstreams must agree: given both, url is the first upstream; url alone
// makes the list url alone; upstreams alone set url to their first.
func readUpstreamFields(b *body, a *db.API, target string) {
	ups, given := readAPIUpstreams(b)
	switch {
	case given && target != "" && len(ups) > 0 && ups[0] != target:
		b.obstruct("upstreams", ObstructionInvalid, "upstreams: the first must be url (or leave url out).")
	case given && len(ups) > 0:
		a.Upstreams, a.URL = ups, ups[0]
	case target != "":
		a.Upstreams, a.URL = []string{target}, target
	}
	for _, f := range []struct {
		name string
		max  int64
		dst  *int64
	}{{"connectTimeoutMs", maxConnectTimeoutMs, &a.ConnectTimeoutMs}, {"headerTimeoutMs", maxHeaderTimeoutMs, &a.HeaderTimeoutMs},
		{"timeoutMs", maxOverallTimeoutMs, &a.TimeoutMs}} {
		if v, ok := b.integer(f.name, false, 0, f.max); ok {
			if v != 0 && v < minAPITimeoutMs {
				b.obstruct(f.name, ObstructionInvalid, fmt.Sprintf("%s must be 0 (the default) or between %d and %d.", f.name, minAPITimeoutMs, f.max))
				continue
			}
			*f.dst = v
		}
	}
	if v, ok := b.boolean("h2c", false); ok {
		a.H2C = v
	}
}

// readAPIUpstreams reads the upstreams field: 1 to db.MaxAPIUpstreams
// URLs, each checked as url is, none twice. given is false when absent.
func readAPIUpstreams(b *body) (ups []string, given bool) {
	raw := b.value("upstreams")
	if raw == nil {
		return nil, false
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		b.obstruct("upstreams", ObstructionWrongType, "upstreams must be a list of URLs.")
		return nil, true
	}
	if len(list) == 0 || len(list) > db.MaxAPIUpstreams {
		b.obstruct("upstreams", ObstructionInvalid, fmt.Sprintf("upstreams must list 1 to %d URLs.", db.MaxAPIUpstreams))
		return nil, true
	}
	seen := map[string]bool{}
	for i, v := range list {
		canonical, problem := checkAPIURL(v)
		switch {
		case problem != "":
			b.obstruct("upstreams", ObstructionInvalid, fmt.Sprintf("upstreams[%d]: %s", i, strings.TrimPrefix(problem, "url: ")))
			return nil, true
		case seen[canonical]:
			b.obstruct("upstreams", ObstructionInvalid, fmt.Sprintf("upstreams[%d]: listed twice.", i))
			return nil, true
		}
		seen[canonical] = true
		ups = append(ups, canonical)
	}
	return ups, true
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

// createAPI registers a backend: name, version and url (or upstreams)
// are required; hosts default to none; allowUnidentified, loginRedirect and h2c default to
// false, active to true, the timeouts to 0 (the gateway's). (name, version)
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
	target := readAPIURL(b, !b.has("upstreams"))
	var a db.API
	readUpstreamFields(b, &a, target)
	readAPIHosts(b, &a)
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
	a.Name, a.Version, a.AllowUnidentified, a.Active, a.LoginRedirect, a.CreatedMs, a.UpdatedMs =
		name, int(version), allow, active, loginRedirect, now, now
	if err := s.management.CreateAPI(r.ctx(), a); err != nil {
		return err
	}
	a.Hosts = slices.Sorted(slices.Values(a.Hosts))
	s.cfg.Announce(r.ctx())
	return single(r, http.StatusCreated, apiJSON(a))
}

// updateAPI sets any of url (then the only upstream), upstreams,
// allowUnidentified, active, loginRedirect, the timeouts, h2c and hosts of the
// API named by the path.
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
	readUpstreamFields(b, &a, readAPIURL(b, false))
	readAPIHosts(b, &a)
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
	a.Hosts = slices.Sorted(slices.Values(a.Hosts))
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
