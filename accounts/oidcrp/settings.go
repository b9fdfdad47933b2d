package oidcrp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// ErrSettings is the root of every error of ParseSettings and
// LoadSettings. Its messages name the provider and field, never a secret.
var ErrSettings = errors.New("oidcrp: bad provider settings")

// DefaultScopes are the scopes a provider is asked for when its settings
// name none.
var DefaultScopes = []string{"openid", "email", "profile"}

// ProviderSettings configures one external provider.
type ProviderSettings struct {
	// ID names the provider in URLs and in the store: 1 to 32 of
	// [a-z0-9-], starting with a letter or digit. Required, unique.
	ID string `json:"id"`
	// Name is shown on the sign-in button ("Sign in with <Name>"), 1 to
	// 64 characters of one line. Optional. Default: ID.
	Name string `json:"name"`
	// Issuer is the provider's issuer URL (https; http only for a
	// loopback host), as its discovery document states it. Required.
	Issuer string `json:"issuer"`
	// ClientID is authgw's client ID at the provider. Required.
	ClientID string `json:"clientId"`
	// ClientSecret is authgw's client secret at the provider; or
	// ClientSecretFile, a file holding it (trailing white space dropped).
	// Exactly one is required.
	ClientSecret     string `json:"clientSecret"`
	ClientSecretFile string `json:"clientSecretFile"`
	// Scopes asked for; must include "openid". Optional. Default
	// DefaultScopes.
	Scopes []string `json:"scopes"`
	// AllowLinking lets a sign-in link the identity to the existing
	// account whose verified address the provider asserts verified
	// (email_verified true). Optional. Default false.
	AllowLinking bool `json:"allowLinking"`
	// AllowSignUp creates an account on a first sign-in of an identity
	// that opens none. Optional. Default false.
	AllowSignUp bool `json:"allowSignUp"`
}

// Settings is the settings file: {"providers": [...]}.
type Settings struct {
	Providers []ProviderSettings `json:"providers"`
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// ParseSettings reads and checks the settings JSON. It reads a
// ClientSecretFile. It fails with an error wrapping ErrSettings for
// invalid JSON, an unknown field, or a provider whose settings do not
// hold (the message names the provider and field, never the secret).
func ParseSettings(raw []byte) (Settings, error) {
	var s Settings
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Settings{}, fmt.Errorf("%w: not a JSON object {\"providers\": [...]} of known fields: %v", ErrSettings, jsonProblem(err))
	}
	if dec.More() {
		return Settings{}, fmt.Errorf("%w: data after the JSON object", ErrSettings)
	}
	seen := map[string]bool{}
	for i := range s.Providers {
		p := &s.Providers[i]
		if err := p.check(i); err != nil {
			return Settings{}, err
		}
		if seen[p.ID] {
			return Settings{}, fmt.Errorf("%w: provider %q is named twice", ErrSettings, p.ID)
		}
		seen[p.ID] = true
	}
	return s, nil
}

// jsonProblem describes a decoding error without echoing values (a
// secret may be in the text): a syntax error by its offset, a type error
// by its field; other errors of encoding/json (an unknown field, the
// end of the text) name no value.
func jsonProblem(err error) string {
	if syn, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	}
	if typ, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	}
	return err.Error()
}

// LoadSettings reads the settings from value: the JSON itself when it
// starts with "{", else the path of a file holding it. Errors as
// ParseSettings's, and for a file that cannot be read.
func LoadSettings(value string) (Settings, error) {
	value = strings.TrimSpace(value)
	if strings.HasPrefix(value, "{") {
		return ParseSettings([]byte(value))
	}
	raw, err := os.ReadFile(value)
	if err != nil {
		return Settings{}, fmt.Errorf("%w: %v", ErrSettings, err)
	}
	return ParseSettings(raw)
}

func (p *ProviderSettings) check(i int) error {
	bad := func(field, why string) error {
		name := p.ID
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		return fmt.Errorf("%w: provider %q: %s %s", ErrSettings, name, field, why)
	}
	if !idRE.MatchString(p.ID) {
		return bad("id", "must be 1 to 32 of a-z, 0-9 and -, starting with a letter or digit")
	}
	if p.Name == "" {
		p.Name = p.ID
	}
	if len([]rune(p.Name)) > 64 || strings.ContainsAny(p.Name, "\r\n\t") {
		return bad("name", "must be one line of at most 64 characters")
	}
	u, err := url.Parse(p.Issuer)
	switch {
	case err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return bad("issuer", "must be an absolute URL with no query, fragment or credentials")
	case u.Scheme == "http" && !loopback(u.Hostname()):
		return bad("issuer", "must be https (http only for a loopback host)")
	case u.Scheme != "https" && u.Scheme != "http":
		return bad("issuer", "must be https")
	case len(p.Issuer) > 255:
		return bad("issuer", "must be at most 255 bytes")
	}
	if p.ClientID == "" {
		return bad("clientId", "is required")
	}
	switch {
	case p.ClientSecret != "" && p.ClientSecretFile != "":
		return bad("clientSecret", "and clientSecretFile: give one, not both")
	case p.ClientSecretFile != "":
		raw, err := os.ReadFile(p.ClientSecretFile)
		if err != nil {
			return bad("clientSecretFile", "cannot be read")
		}
		p.ClientSecret = strings.TrimRight(string(raw), " \t\r\n")
		if p.ClientSecret == "" {
			return bad("clientSecretFile", "is empty")
		}
	case p.ClientSecret == "":
		return bad("clientSecret", "or clientSecretFile is required")
	}
	if len(p.Scopes) == 0 {
		p.Scopes = append([]string(nil), DefaultScopes...)
	}
	hasOpenID := false
	for _, sc := range p.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\r\n\"\\") {
			return bad("scopes", "must be scope tokens")
		}
		hasOpenID = hasOpenID || sc == "openid"
	}
	if !hasOpenID {
		return bad("scopes", `must include "openid"`)
	}
	return nil
}

func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
