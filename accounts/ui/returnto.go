package ui

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MaxReturnToLen is the longest return_to Resolve accepts, in bytes.
// Anything longer resolves to the default: a real page address is far
// shorter, and a long one is a sign of smuggling or of a header-size
// attack on the redirect that follows.
const MaxReturnToLen = 2048

// ErrInvalidReturnPolicy is returned by NewReturnPolicy for a
// configuration it cannot use safely.
var ErrInvalidReturnPolicy = errors.New("ui: invalid return_to policy")

// ReturnPolicyConfig configures NewReturnPolicy.
type ReturnPolicyConfig struct {
	// AllowedOrigins are the origins besides the gateway's own that a
	// return_to may lead to, each "scheme://host" or "scheme://host:port"
	// with scheme http or https, an ASCII host (an international name in
	// its xn-- form) and nothing after the authority. Matching is exact on
	// scheme, host and port, with the scheme's default port implied and
	// case ignored. Optional. Default none: only the gateway's own pages.
	AllowedOrigins []string
	// Default is where Resolve sends a browser whose return_to is missing
	// or refused: a path on the gateway ("/…") or a URL on an allowed
	// origin. Optional. Default "/".
	Default string
}

// ReturnPolicy decides where a browser may be sent back to after a page
// of the front door (the return_to parameter). The zero value accepts
// the gateway's own paths only and falls back to "/".
type ReturnPolicy struct {
	allowed map[origin]bool
	def     string
}

// origin is a normalized scheme, host and port (the port always
// explicit).
type origin struct{ scheme, host, port string }

// NewReturnPolicy validates cfg and returns its policy. It errors,
// wrapping ErrInvalidReturnPolicy, on an allowed origin that is not a
// bare http(s) origin with an ASCII host, and on a default that the
// policy itself would refuse.
func NewReturnPolicy(cfg ReturnPolicyConfig) (ReturnPolicy, error) {
	p := ReturnPolicy{allowed: make(map[origin]bool, len(cfg.AllowedOrigins)), def: "/"}
	for _, raw := range cfg.AllowedOrigins {
		o, rest, ok := splitAbsolute(raw)
		if !ok || rest != "" {
			return ReturnPolicy{}, fmt.Errorf("%w: allowed origin %q is not scheme://host[:port] with an ASCII host and nothing after it", ErrInvalidReturnPolicy, raw)
		}
		p.allowed[o] = true
	}
	if cfg.Default != "" {
		if _, ok := p.accept(cfg.Default); !ok {
			return ReturnPolicy{}, fmt.Errorf("%w: default %q is neither a path on the gateway nor a URL on an allowed origin", ErrInvalidReturnPolicy, cfg.Default)
		}
		p.def = cfg.Default
	}
	return p, nil
}

// Default returns where Resolve sends a refused return_to.
func (p ReturnPolicy) Default() string {
	if p.def == "" {
		return "/"
	}
	return p.def
}

// Resolve returns raw when it is safe to send a browser to, else the
// policy's default. Safe means a path on the gateway's own origin
// (starting with exactly one "/") or an absolute http(s) URL on an
// allowed origin, made only of the characters RFC 3986 allows in a URI
// (no spaces, tabs, newlines, control characters or backslashes, which
// browsers strip or read as "/", no quotes or angle brackets), with no
// user information, at most MaxReturnToLen bytes,
// and with no encoded "/" or "\" that would start a second authority
// once a path is decoded. It never errors: a refusal is the default.
func (p ReturnPolicy) Resolve(raw string) string {
	if s, ok := p.accept(raw); ok {
		return s
	}
	return p.Default()
}

func (p ReturnPolicy) accept(raw string) (string, bool) {
	if raw == "" || len(raw) > MaxReturnToLen {
		return "", false
	}
	// The characters RFC 3986 allows in a URI and nothing else: WHATWG
	// URL parsers strip tabs and newlines anywhere and C0 controls and
	// spaces at the ends, and read "\" as "/" in http(s) URLs, and Go's
	// parser does none of that; refusing those bytes makes both parsers
	// agree. Quotes, "<", ">" and backticks never need escaping where
	// the answer is printed.
	if !uriChars(raw) {
		return "", false
	}
	if raw[0] == '/' {
		if !safePath(raw) {
			return "", false
		}
		return raw, true
	}
	o, _, ok := splitAbsolute(raw)
	if !ok || !p.allowed[o] {
		return "", false
	}
	return raw, true
}

// safePath reports whether raw, which starts with "/", stays a path on
// the same origin: not "//host" (scheme-relative), neither as written nor
// once percent-decoded (repeatedly, for doubly encoded forms), since a
// page that decodes and redirects again must not be led off-site.
func safePath(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return false
	}
	s := raw
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	for range 4 {
		if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
			return false
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < ' ' || c == 0x7f {
				return false
			}
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return false
		}
		if d == s {
			return true
		}
		s = d
	}
	// Still changing after four rounds of decoding: nobody writes that.
	return false
}

// splitAbsolute parses raw as "scheme://authority[rest]" with scheme http
// or https and an authority of a lower-case-able ASCII host name or
// bracketed IPv6 address and an optional port, no user information, and
// returns the normalized origin and what follows the authority (empty,
// or starting with "/", "?" or "#").
func splitAbsolute(raw string) (origin, string, bool) {
	i := strings.Index(raw, "://")
	if i < 0 {
		return origin{}, "", false
	}
	scheme := strings.ToLower(raw[:i])
	var defPort string
	switch scheme {
	case "https":
		defPort = "443"
	case "http":
		defPort = "80"
	default:
		return origin{}, "", false
	}
	rest := raw[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, rest := strings.ToLower(rest[:end]), rest[end:]
	host, port := authority, ""
	if j := strings.LastIndexByte(authority, ':'); j >= 0 && !strings.HasSuffix(authority, "]") {
		host, port = authority[:j], authority[j+1:]
	}
	if !validHost(host) || !validPort(port) {
		return origin{}, "", false
	}
	if port == "" {
		port = defPort
	}
	// Go's parser must see the same authority, or the two readings of
	// raw differ somewhere and raw is refused.
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || !strings.EqualFold(u.Host, authority) {
		return origin{}, "", false
	}
	return origin{scheme: scheme, host: host, port: port}, rest, true
}

// validHost accepts a DNS name of letters, digits, "-" and "." (no
// trailing dot, no empty label) or a bracketed IPv6 literal of hex digits
// and ":".
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if h[0] == '[' {
		if len(h) < 3 || h[len(h)-1] != ']' {
			return false
		}
		for _, c := range h[1 : len(h)-1] {
			if !(c == ':' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
		return true
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z') {
				return false
			}
		}
	}
	return true
}

// uriChars reports whether s is made only of the characters RFC 3986
// allows in a URI: letters, digits, "-._~", the reserved
// ":/?#[]@!$&'()*+,;=" and "%".
func uriChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("-._~:/?#[]@!$&'()*+,;=%", rune(c)) {
			return false
		}
	}
	return true
}

// validPort accepts an empty port (the scheme's default) or 1 to 65535
// in decimal without leading zeros.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	if len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}
