package accounts

import (
	"errors"
	"net/url"
)

// The recovery and verification mails link to the service's pages, at
// the gateway's external origin (Config.PublicURL). The pages' paths and
// parameter names are fixed: the pages read them.
const (
	// RecoverPagePath is the page that sets a new password with a
	// recovery code: RecoverPagePath?code=CODE.
	RecoverPagePath = Prefix + "/ui/recover"
	// VerifyPagePath is the page that verifies an address with its
	// code: VerifyPagePath?email=EMAIL-ID&code=CODE.
	VerifyPagePath = Prefix + "/ui/verify"
)

// parsePublicURL checks Config.PublicURL: "" (no links), or an http or
// https origin with a host and nothing else; one trailing "/" is
// dropped. It fails with a message that says what is wrong.
func parsePublicURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, errors.New("accounts: Config.PublicURL is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("accounts: Config.PublicURL must start with http:// or https://")
	case u.Host == "" || u.Opaque != "":
		return nil, errors.New("accounts: Config.PublicURL has no host")
	case u.User != nil:
		return nil, errors.New("accounts: Config.PublicURL may not hold user info")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.RawFragment != "":
		return nil, errors.New("accounts: Config.PublicURL may not hold a query or fragment")
	case u.Path != "" && u.Path != "/":
		return nil, errors.New("accounts: Config.PublicURL may not hold a path: give the gateway's origin, such as https://auth.example.com")
	case u.Port() == "" && u.Host[len(u.Host)-1] == ':':
		return nil, errors.New("accounts: Config.PublicURL has an empty port")
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// pageLink returns the link to the page at path with the query
// parameters (name, value pairs, in this order, each escaped), or ""
// when Config.PublicURL is unset.
func (s *Service) pageLink(path string, params ...string) string {
	if s.publicURL == nil {
		return ""
	}
	u := *s.publicURL
	u.Path = path
	query := ""
	for i := 0; i+1 < len(params); i += 2 {
		if query != "" {
			query += "&"
		}
		query += url.QueryEscape(params[i]) + "=" + url.QueryEscape(params[i+1])
	}
	u.RawQuery = query
	return u.String()
}
