package db

import (
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The rules of the API registry, shared by `authgw apis` and the accounts
// service so that both accept exactly what the gateway can route.
const (
	// ReservedAPIName is the accounts service's own path prefix.
	ReservedAPIName = "accounts"
	// MaxAPIURLLength is the width of apis.url.
	MaxAPIURLLength = 2048
	// MaxAPIVersion is the highest version the gateway routes: /NAME/vN
	// with at most nine digits.
	MaxAPIVersion = 999_999_999
)

// apiNamePattern is what an API name may be.
var apiNamePattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// CheckAPIName fails with an *InvalidError (ErrInvalid) saying why unless
// name is 1 to 64 of a-z, 0-9 and -, and not ReservedAPIName.
func CheckAPIName(name string) error {
	switch {
	case !apiNamePattern.MatchString(name):
		return invalid("", "%q is not 1 to 64 of a-z, 0-9 and -", name)
	case name == ReservedAPIName:
		return invalid("", "%q is reserved for the accounts service", name)
	}
	return nil
}

// CanonicalAPIURL returns a backend URL in canonical form (lower-case
// scheme). It fails with an *InvalidError (ErrInvalid) saying why unless
// v is an absolute http or https URL with a host and a valid port,
// without user info, query or fragment, at most MaxAPIURLLength bytes of
// UTF-8 with no white space or control characters.
func CanonicalAPIURL(v string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", invalid("", format, args...)
	}
	switch {
	case v == "":
		return bad("missing")
	case !utf8.ValidString(v):
		return bad("not valid UTF-8")
	case strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return bad("contains white space or a control character")
	case len(v) > MaxAPIURLLength:
		return bad("longer than %d bytes", MaxAPIURLLength)
	}
	u, err := url.Parse(v)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return bad("not a URL: %v", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("want an absolute http:// or https:// URL, got %q", v)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return bad("no host")
	case u.User != nil:
		return bad("user info (user:password@) is not allowed; the gateway does not forward credentials in URLs")
	case u.RawQuery != "" || u.ForceQuery:
		return bad("a query (?...) is not allowed")
	case u.Fragment != "" || strings.Contains(v, "#"):
		return bad("a fragment (#...) is not allowed")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("port %q is not in 1..65535", p)
		}
	}
	// Canonical, non-ASCII is percent-encoded: up to 3 times longer.
	out := u.String()
	if len(out) > MaxAPIURLLength {
		return bad("longer than %d bytes once percent-encoded", MaxAPIURLLength)
	}
	return out, nil
}
