package verifier

import (
	"net/http"
	"strings"
	"time"

	"github.com/authgw/authgw/mint"
)

// DefaultCookiePrefix starts every token cookie's name.
const DefaultCookiePrefix = "authgw-"

// CookieConfig names and flags the per-method token cookies.
type CookieConfig struct {
	// Prefix starts each cookie name, followed by the lower-case method.
	// Optional. Default DefaultCookiePrefix.
	Prefix string
	// Insecure drops the Secure flag and the __Host- name prefix, for
	// local HTTP only. Optional. Default false.
	Insecure bool
	// SameSite is the cookies' SameSite mode. Optional. Default Lax.
	SameSite http.SameSite
}

func (c CookieConfig) withDefaults() CookieConfig {
	if c.Prefix == "" {
		c.Prefix = DefaultCookiePrefix
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	return c
}

// Name returns the cookie name for a method: "__Host-authgw-get" when
// secure, "authgw-get" otherwise. HEAD uses GET's.
func (c CookieConfig) Name(method string) string {
	c = c.withDefaults()
	if method == http.MethodHead {
		method = http.MethodGet
	}
	name := c.Prefix + strings.ToLower(method)
	if !c.Insecure {
		name = "__Host-" + name
	}
	return name
}

// StepUpName returns the name of the cookie holding a method's step-up
// token: Name(method) + "-stepup".
func (c CookieConfig) StepUpName(method string) string { return c.Name(method) + "-stepup" }

// DischargeName returns the name of the cookie holding the discharge
// bound to a method's step-up token: Name(method) + "-discharge".
func (c CookieConfig) DischargeName(method string) string { return c.Name(method) + "-discharge" }

// StepUpCookies returns one cookie per step-up token (StepUpName), as
// Cookies does for the ordinary ones.
func (c CookieConfig) StepUpCookies(tokens map[string]string, expires time.Time) []*http.Cookie {
	out := c.Cookies(tokens, expires)
	for _, ck := range out {
		ck.Name += "-stepup"
	}
	return out
}

// DischargeCookie returns the cookie holding a discharge bound to the
// method's step-up token, expiring with it.
func (c CookieConfig) DischargeCookie(method, discharge string, expires time.Time) *http.Cookie {
	ck := c.withDefaults().cookie(method, discharge, expires)
	ck.Name += "-discharge"
	return ck
}

// Cookies returns one cookie per token, HttpOnly, Path=/, expiring with
// the tokens.
func (c CookieConfig) Cookies(tokens map[string]string, expires time.Time) []*http.Cookie {
	c = c.withDefaults()
	out := make([]*http.Cookie, 0, len(tokens))
	for _, m := range mint.Methods() {
		tok, ok := tokens[m]
		if !ok {
			continue
		}
		out = append(out, c.cookie(m, tok, expires))
	}
	return out
}

// Expired returns cookies that clear every method's token cookies: the
// ordinary token's, the step-up token's and its discharge's.
func (c CookieConfig) Expired() []*http.Cookie {
	c = c.withDefaults()
	out := make([]*http.Cookie, 0, 3*len(mint.Methods()))
	for _, m := range mint.Methods() {
		for _, suffix := range [...]string{"", "-stepup", "-discharge"} {
			ck := c.cookie(m, "", time.Unix(0, 0))
			ck.Name += suffix
			ck.MaxAge = -1
			out = append(out, ck)
		}
	}
	return out
}

func (c CookieConfig) cookie(method, value string, expires time.Time) *http.Cookie {
	return &http.Cookie{
		Name:     c.Name(method),
		Value:    value,
		Path:     "/",
		Expires:  expires.UTC(),
		HttpOnly: true,
		Secure:   !c.Insecure,
		SameSite: c.SameSite,
	}
}

// tokenCookie returns the value of the first cookie called name in the
// Cookie header lines, and whether there was one, read as net/http's
// Request.Cookie, browsers and most servers read them: pairs split at
// ";", name and value trimmed of spaces and tabs ("name =v" is name), a
// value in double quotes unquoted. Only that exact name is read: a
// variant that some servers would fold into it (another case,
// percent-encoded, "." for "_") is never a token here, since a cookie
// of such a name escapes the __Host- prefix's guarantees; the gateway
// strips those variants from what backends see all the same. It
// allocates nothing.
func tokenCookie(lines []string, name string) (string, bool) {
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, val, _ := strings.Cut(part, "=")
			if trimOWS(k) != name {
				continue
			}
			val = trimOWS(val)
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			return val, true
		}
	}
	return "", false
}

// trimOWS trims spaces and tabs from both ends of s.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
