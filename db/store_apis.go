package db

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// apiCols are the columns scanAPI reads, from apis.
const apiCols = "name, version, url, allow_unidentified, active, login_redirect, created_ms, updated_ms, " + apiUpstreamCols

// apiUpstreamCols are the upstream columns of apis (migration 0019), in
// the order apiUpstreamDest scans them.
const apiUpstreamCols = "upstreams, connect_timeout_ms, header_timeout_ms, timeout_ms, upstream_h2c"

// MaxAPIUpstreams is how many upstream URLs one API version may list.
const MaxAPIUpstreams = 16

// scanAPI reads apiCols.
func scanAPI(sc scanner) (API, error) {
	var a API
	var ups string
	dest := append([]any{&a.Name, &a.Version, &a.URL, &a.AllowUnidentified, &a.Active, &a.LoginRedirect, &a.CreatedMs, &a.UpdatedMs},
		apiUpstreamDest(&a, &ups)...)
	err := sc.Scan(dest...)
	a.Upstreams = splitUpstreams(a.URL, ups)
	return a, err
}

// apiUpstreamDest are the scan destinations of apiUpstreamCols; ups
// receives the raw upstreams column, for splitUpstreams.
func apiUpstreamDest(a *API, ups *string) []any {
	return []any{ups, &a.ConnectTimeoutMs, &a.HeaderTimeoutMs, &a.TimeoutMs, &a.H2C}
}

// splitUpstreams is the upstream list of a row: the stored list, or the
// URL alone for a row written before the column existed.
func splitUpstreams(url, ups string) []string {
	if ups == "" {
		return []string{url}
	}
	return strings.Split(ups, " ")
}

// apiUpstreams prepares a's upstream columns for a write: the list
// (URL alone when Upstreams is empty) with a.URL set to its first. It
// fails with ErrInvalid for more than MaxAPIUpstreams, an empty URL or
// one with a space, a list whose first is not a.URL when both are
// given, a duplicate, or a negative timeout.
func apiUpstreams(a *API) (string, error) {
	ups := a.Upstreams
	if len(ups) == 0 {
		ups = []string{a.URL}
	} else if a.URL == "" {
		a.URL = ups[0]
	}
	switch {
	case len(ups) > MaxAPIUpstreams:
		return "", invalid("", "at most %d upstreams, got %d", MaxAPIUpstreams, len(ups))
	case ups[0] != a.URL:
		return "", invalid("", "the API URL must be its first upstream")
	case a.ConnectTimeoutMs < 0 || a.HeaderTimeoutMs < 0 || a.TimeoutMs < 0:
		return "", invalid("", "a timeout may not be negative")
	}
	seen := map[string]bool{}
	for _, u := range ups {
		if err := errors.Join(requireID("API upstream", u), checkText("API upstream", u)); err != nil {
			return "", err
		}
		if strings.ContainsAny(u, " \t\r\n") {
			return "", invalid("", "an upstream URL may not contain a space")
		}
		if seen[u] {
			return "", invalid("", "upstream %q is listed twice", u)
		}
		seen[u] = true
	}
	return strings.Join(ups, " "), nil
}

// CreateAPI registers a backend API. a needs its Name, URL and CreatedMs;
// UpdatedMs defaults to CreatedMs. It fails with ErrDuplicate when
// (Name, Version) is registered already, and ErrInvalid for an upstream
// list (Upstreams, whose first must be URL when both are set) of more
// than MaxAPIUpstreams, with a duplicate or a negative timeout, and for an empty name
// or one with surrounding white space or control characters, a negative
// version, a URL that is too long or not UTF-8, or a missing time, and
// for Hosts of more than MaxAPIHosts or not NormalizeAPIHost names. A
// host bound to another API fails with ErrDuplicate. The caller checks
// that the URL parses.
func (s *DB) CreateAPI(ctx context.Context, a API) error {
	if a.UpdatedMs == 0 {
		a.UpdatedMs = a.CreatedMs
	}
	ups, uerr := apiUpstreams(&a)
	if err := errors.Join(checkKey("API name", a.Name), requireID("API URL", a.URL), checkText("API URL", a.URL),
		requireMs("API CreatedMs", a.CreatedMs), uerr, apiHosts(&a)); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			"INSERT INTO apis (name, version, url, allow_unidentified, active, login_redirect, created_ms, updated_ms, "+apiUpstreamCols+
				") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			a.Name, a.Version, a.URL, boolInt(a.AllowUnidentified), boolInt(a.Active), boolInt(a.LoginRedirect), a.CreatedMs, a.UpdatedMs,
			ups, a.ConnectTimeoutMs, a.HeaderTimeoutMs, a.TimeoutMs, boolInt(a.H2C))
		if err != nil {
			return err
		}
		return writeAPIHosts(ctx, tx, a)
	})
}

// GetAPI returns the API registered as (name, version). It fails with
// ErrNotFound when there is none.
func (s *DB) GetAPI(ctx context.Context, name string, version int) (API, error) {
	a, err := scanAPI(s.sql.QueryRowContext(ctx, "SELECT "+apiCols+" FROM apis WHERE name = ? AND version = ?", name, version))
	if err != nil {
		return API{}, classify(err)
	}
	one := []API{a}
	if err := attachAPIHosts(ctx, s.sql, one); err != nil {
		return API{}, classify(err)
	}
	return one[0], nil
}

// ListAPIs returns every registered API, active or not, ordered by name
// then version. The registry is small: it is not paged.
func (s *DB) ListAPIs(ctx context.Context) ([]API, error) {
	rows, err := s.sql.QueryContext(ctx, "SELECT "+apiCols+" FROM apis ORDER BY name, version")
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	apis := []API{}
	for rows.Next() {
		a, err := scanAPI(rows)
		if err != nil {
			return nil, classify(err)
		}
		apis = append(apis, a)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	rows.Close()
	return apis, classify(attachAPIHosts(ctx, s.sql, apis))
}

// UpdateAPI replaces the Hosts and sets the URL, AllowUnidentified, Active and LoginRedirect of the API
// (a.Name, a.Version), its upstreams (URL alone when a.Upstreams is
// empty), timeouts and H2C, with a.UpdatedMs. It fails with ErrNotFound
// when there is none, and ErrInvalid for an empty or too long URL, a bad
// upstream list (see CreateAPI) or an unset time.
func (s *DB) UpdateAPI(ctx context.Context, a API) error {
	ups, uerr := apiUpstreams(&a)
	if err := errors.Join(requireID("API URL", a.URL), checkText("API URL", a.URL), requireMs("API UpdatedMs", a.UpdatedMs), uerr,
		apiHosts(&a)); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		err := affectedOne(tx.ExecContext(ctx,
			"UPDATE apis SET url = ?, allow_unidentified = ?, active = ?, login_redirect = ?, updated_ms = ?, upstreams = ?, connect_timeout_ms = ?, header_timeout_ms = ?, timeout_ms = ?, upstream_h2c = ? WHERE name = ? AND version = ?",
			a.URL, boolInt(a.AllowUnidentified), boolInt(a.Active), boolInt(a.LoginRedirect), a.UpdatedMs,
			ups, a.ConnectTimeoutMs, a.HeaderTimeoutMs, a.TimeoutMs, boolInt(a.H2C), a.Name, a.Version))
		if err != nil {
			return err
		}
		return writeAPIHosts(ctx, tx, a)
	})
}

// DeleteAPI removes the API (name, version) from the registry. It fails
// with ErrNotFound when there is none.
func (s *DB) DeleteAPI(ctx context.Context, name string, version int) error {
	return affectedOne(s.sql.ExecContext(ctx, "DELETE FROM apis WHERE name = ? AND version = ?", name, version))
}
