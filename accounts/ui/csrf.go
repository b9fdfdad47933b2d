package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// CSRFField is the name of the hidden form field that carries the CSRF
// token.
const CSRFField = "csrf_token"

// DefaultCSRFCookie is the name of the browser's CSRF cookie. The
// __Host- prefix makes browsers accept it only when it is Secure, has
// Path=/ and no Domain, so a sibling subdomain cannot plant one.
const DefaultCSRFCookie = "__Host-authgw-csrf"

// InsecureCSRFCookie is the CSRF cookie's name when CSRFConfig.Insecure
// is set: browsers refuse a __Host- cookie that is not Secure.
const InsecureCSRFCookie = "authgw-csrf"

const (
	csrfCookieBytes = 32
	csrfKeyMin      = 32
	csrfLabel       = "authgw-csrf-v1"
)

// Errors of the CSRF check. Each wraps ErrCSRF, so that the page handler
// answers every one the same way (403 and a page that says to reload the
// form); which one it was is for tests and logs.
var (
	// ErrCSRF is the root of every CSRF refusal.
	ErrCSRF = errors.New("ui: CSRF check failed")
	// ErrCSRFNoCookie: the request carries no well-formed CSRF cookie
	// (cookies off, expired browser session, or a request from a
	// client that never loaded the form).
	ErrCSRFNoCookie = fmt.Errorf("%w: no CSRF cookie", ErrCSRF)
	// ErrCSRFNoToken: the form carries no token.
	ErrCSRFNoToken = fmt.Errorf("%w: no CSRF token", ErrCSRF)
	// ErrCSRFMismatch: the token was not issued to this browser for
	// this form.
	ErrCSRFMismatch = fmt.Errorf("%w: CSRF token does not match", ErrCSRF)
)

// ErrInvalidCSRFConfig is returned by NewCSRF for a configuration it
// cannot use safely, and by Issue and Check for an invalid purpose.
var ErrInvalidCSRFConfig = errors.New("ui: invalid CSRF configuration")

// CSRFConfig configures NewCSRF.
type CSRFConfig struct {
	// Key is the HMAC-SHA256 key tokens are made with, at least 32
	// bytes, secret, and the same on every instance of the service.
	// Required.
	Key []byte
	// Rand is where cookie values come from. Optional. Default
	// crypto/rand.Reader.
	Rand io.Reader
	// CookieName is the CSRF cookie's name; it must start with
	// "__Host-". Optional. Default DefaultCSRFCookie.
	CookieName string
	// SameSite is the cookie's SameSite attribute, Lax or Strict.
	// Optional. Default http.SameSiteLaxMode, so that a browser arriving
	// from an app's redirect keeps its cookie and a form open in another
	// tab stays valid.
	SameSite http.SameSite
	// Insecure drops the cookie's Secure flag and the __Host- prefix, for
	// a gateway served over plain HTTP (a local trial, or TLS ended by a
	// proxy that the cookie-secure setting was turned off for): a browser
	// stores no Secure cookie from an http:// page. The cookie is then
	// named InsecureCSRFCookie unless CookieName says otherwise; it is
	// still HttpOnly, host-only and SameSite. Optional. Default false.
	Insecure bool
}

// CSRF issues and checks the tokens that every form of the front door
// carries. It needs no server state: it is a double-submit design in
// which the browser holds a random cookie value (HttpOnly, Secure,
// SameSite, __Host-) and each form holds
//
//	base64url(HMAC-SHA256(key, "authgw-csrf-v1" 0x00 purpose 0x00 cookie value))
//
// A token is good only together with the cookie of the browser it was
// issued to and for the form (purpose) it was issued for. Another site
// can neither read the cookie nor set it (__Host-, HttpOnly, SameSite),
// and without the key it cannot make a token for a cookie value it does
// know, such as its own browser's: a token an attacker got in their own
// browser fails in the victim's.
type CSRF struct {
	key      []byte
	rand     io.Reader
	name     string
	sameSite http.SameSite
	insecure bool
}

// NewCSRF validates cfg and returns a CSRF. It errors, wrapping
// ErrInvalidCSRFConfig, on a key shorter than 32 bytes, a cookie name
// without the __Host- prefix, or a SameSite other than Lax or Strict.
func NewCSRF(cfg CSRFConfig) (*CSRF, error) {
	if len(cfg.Key) < csrfKeyMin {
		return nil, fmt.Errorf("%w: key is %d bytes, need at least %d", ErrInvalidCSRFConfig, len(cfg.Key), csrfKeyMin)
	}
	c := &CSRF{key: append([]byte(nil), cfg.Key...), rand: cfg.Rand, name: cfg.CookieName, sameSite: cfg.SameSite, insecure: cfg.Insecure}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	switch {
	case c.name == "" && c.insecure:
		c.name = InsecureCSRFCookie
	case c.name == "":
		c.name = DefaultCSRFCookie
	}
	if c.insecure {
		if strings.HasPrefix(c.name, "__Host-") || strings.HasPrefix(c.name, "__Secure-") || !validCookieName(c.name) {
			return nil, fmt.Errorf("%w: cookie name %q must be a token without a __Host- or __Secure- prefix when the cookie is not Secure", ErrInvalidCSRFConfig, c.name)
		}
	} else if !strings.HasPrefix(c.name, "__Host-") || !validCookieName(c.name) {
		return nil, fmt.Errorf("%w: cookie name %q must be a token starting with __Host-", ErrInvalidCSRFConfig, c.name)
	}
	switch c.sameSite {
	case 0, http.SameSiteDefaultMode:
		c.sameSite = http.SameSiteLaxMode
	case http.SameSiteLaxMode, http.SameSiteStrictMode:
	default:
		return nil, fmt.Errorf("%w: SameSite must be Lax or Strict", ErrInvalidCSRFConfig)
	}
	return c, nil
}

// CookieName returns the name of the CSRF cookie.
func (c *CSRF) CookieName() string { return c.name }

// Issue returns the token for the form named purpose (for example
// "login-password") for the browser that sent r. When r carries no
// well-formed CSRF cookie, and none was set on w yet, it sets a new one
// on w; call it before the response's header is written. It errors on an
// empty purpose or one containing a NUL byte (ErrInvalidCSRFConfig), and
// when the random source fails.
func (c *CSRF) Issue(w http.ResponseWriter, r *http.Request, purpose string) (string, error) {
	if err := validPurpose(purpose); err != nil {
		return "", err
	}
	value, ok := c.cookieValue(r)
	if !ok {
		value, ok = c.pendingValue(w)
	}
	if !ok {
		b := make([]byte, csrfCookieBytes)
		if _, err := io.ReadFull(c.rand, b); err != nil {
			return "", fmt.Errorf("ui: CSRF cookie value: %w", err)
		}
		value = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{
			Name:     c.name,
			Value:    value,
			Path:     "/",
			Secure:   !c.insecure,
			HttpOnly: true,
			SameSite: c.sameSite,
		})
	}
	return c.token(purpose, value), nil
}

// Check returns nil when token was issued for purpose to the browser
// that sent r, and otherwise an error wrapping ErrCSRF
// (ErrCSRFNoCookie, ErrCSRFNoToken or ErrCSRFMismatch), or
// ErrInvalidCSRFConfig for an invalid purpose. The comparison takes the
// same time whatever the token.
func (c *CSRF) Check(r *http.Request, purpose, token string) error {
	if err := validPurpose(purpose); err != nil {
		return err
	}
	value, ok := c.cookieValue(r)
	if !ok {
		return ErrCSRFNoCookie
	}
	if token == "" {
		return ErrCSRFNoToken
	}
	want := c.token(purpose, value)
	if !hmac.Equal([]byte(want), []byte(token)) {
		return ErrCSRFMismatch
	}
	return nil
}

func (c *CSRF) token(purpose, value string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(csrfLabel))
	m.Write([]byte{0})
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// cookieValue returns the request's CSRF cookie when it is well formed
// (32 random bytes in unpadded base64url); a malformed one counts as
// none, and Issue replaces it.
func (c *CSRF) cookieValue(r *http.Request) (string, bool) {
	var found string
	n := 0
	for _, ck := range r.CookiesNamed(c.name) {
		found = ck.Value
		n++
	}
	// Two cookies of one name mean someone planted one; trust neither.
	if n != 1 || !wellFormedValue(found) {
		return "", false
	}
	return found, true
}

// pendingValue returns the value of a CSRF cookie this response already
// sets, so that two forms on one page share one cookie.
func (c *CSRF) pendingValue(w http.ResponseWriter) (string, bool) {
	for _, line := range w.Header().Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err == nil && ck.Name == c.name && wellFormedValue(ck.Value) {
			return ck.Value, true
		}
	}
	return "", false
}

func wellFormedValue(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == csrfCookieBytes
}

func validPurpose(p string) error {
	if p == "" || strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("%w: a form purpose must be non-empty and contain no NUL byte", ErrInvalidCSRFConfig)
	}
	return nil
}

func validCookieName(n string) bool {
	for _, c := range n {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", c) {
			return false
		}
	}
	return true
}
