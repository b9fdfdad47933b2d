package db

import (
	"context"
	"errors"
)

// apiCols are the columns scanAPI reads, from apis.
const apiCols = "name, version, url, allow_unidentified, active, login_redirect, created_ms, updated_ms"

// scanAPI reads apiCols.
func scanAPI(sc scanner) (API, error) {
	var a API
	err := sc.Scan(&a.Name, &a.Version, &a.URL, &a.AllowUnidentified, &a.Active, &a.LoginRedirect, &a.CreatedMs, &a.UpdatedMs)
	return a, err
}

// CreateAPI registers a backend API. a needs its Name, URL and CreatedMs;
// UpdatedMs defaults to CreatedMs. It fails with ErrDuplicate when
// (Name, Version) is registered already, and ErrInvalid for an empty name
// or one with surrounding white space or control characters, a negative
// version, a URL that is too long or not UTF-8, or a missing time. The
// caller checks that the URL parses.
func (s *DB) CreateAPI(ctx context.Context, a API) error {
	if a.UpdatedMs == 0 {
		a.UpdatedMs = a.CreatedMs
	}
	if err := errors.Join(checkKey("API name", a.Name), requireID("API URL", a.URL), checkText("API URL", a.URL),
		requireMs("API CreatedMs", a.CreatedMs)); err != nil {
		return err
	}
	_, err := s.sql.ExecContext(ctx,
		"INSERT INTO apis (name, version, url, allow_unidentified, active, login_redirect, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		a.Name, a.Version, a.URL, boolInt(a.AllowUnidentified), boolInt(a.Active), boolInt(a.LoginRedirect), a.CreatedMs, a.UpdatedMs)
	return classify(err)
}

// GetAPI returns the API registered as (name, version). It fails with
// ErrNotFound when there is none.
func (s *DB) GetAPI(ctx context.Context, name string, version int) (API, error) {
	a, err := scanAPI(s.sql.QueryRowContext(ctx, "SELECT "+apiCols+" FROM apis WHERE name = ? AND version = ?", name, version))
	if err != nil {
		return API{}, classify(err)
	}
	return a, nil
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
	return apis, classify(rows.Err())
}

// UpdateAPI sets the URL, AllowUnidentified, Active and LoginRedirect of the API
// (a.Name, a.Version), with a.UpdatedMs. It fails with ErrNotFound when
// there is none, and ErrInvalid for an empty or too long URL or an unset
// time.
func (s *DB) UpdateAPI(ctx context.Context, a API) error {
	if err := errors.Join(requireID("API URL", a.URL), checkText("API URL", a.URL), requireMs("API UpdatedMs", a.UpdatedMs)); err != nil {
		return err
	}
	return affectedOne(s.sql.ExecContext(ctx,
		"UPDATE apis SET url = ?, allow_unidentified = ?, active = ?, login_redirect = ?, updated_ms = ? WHERE name = ? AND version = ?",
		a.URL, boolInt(a.AllowUnidentified), boolInt(a.Active), boolInt(a.LoginRedirect), a.UpdatedMs, a.Name, a.Version))
}

// DeleteAPI removes the API (name, version) from the registry. It fails
// with ErrNotFound when there is none.
func (s *DB) DeleteAPI(ctx context.Context, name string, version int) error {
	return affectedOne(s.sql.ExecContext(ctx, "DELETE FROM apis WHERE name = ? AND version = ?", name, version))
}
