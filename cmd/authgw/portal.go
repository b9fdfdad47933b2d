package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/authgw/authgw/accounts/oidcrp"
	"github.com/authgw/authgw/accounts/portal"
	"github.com/authgw/authgw/accounts/ui"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier"
)

// The settings of the browser pages (the README's "In the browser").
const (
	publicURLSetting      = "public-url"
	uiTemplatesSetting    = "ui-templates"
	logoURLSetting        = "logo-url"
	accentColourSetting   = "accent-colour"
	returnDefaultSetting  = "return-to-default"
	defaultReturnToTarget = portal.Prefix + "/settings"
	// csrfKeyPurpose names the pages' CSRF key among the keys derived
	// from the key ring (mint.KeyRing.PurposeKey).
	csrfKeyPurpose = "csrf-forms"
)

// pagesPrivateCookies are the pages' cookies that backends never see:
// the CSRF cookie (Path=/) under either of its names.
var pagesPrivateCookies = []string{ui.DefaultCSRFCookie, ui.InsecureCSRFCookie}

// pageSettings are the resolved settings of the pages.
type pageSettings struct {
	// publicURL is the gateway's origin as browsers see it: the links in
	// mails lead there. "" until the listener is open when --public-url
	// is unset.
	publicURL string
	// overrides are the templates of --ui-templates.
	overrides ui.Overrides
	brand     ui.Branding
	// returnDefault is where a browser goes after a page when its
	// return_to is missing or refused.
	returnDefault string
	// webauthn are the passkey settings as given (passkeys.go); rpID
	// and rpOrigins what the service uses once the public URL is known,
	// rpID "" with passkeys off.
	webauthn  webauthnSettings
	rpID      string
	rpOrigins []string
	// oidcProviders are the external sign-in providers (oidcrp.go), and
	// federation their relying party once the public URL is known (nil
	// when there are none).
	oidcProviders []oidcrp.ProviderSettings
	federation    *oidcrp.RP
}

// resolvePages resolves the pages' settings. A broken template
// override or branding setting is a usage error naming the setting, so
// that serve fails at start-up, not on a visitor.
func (s *serveCommand) resolvePages(c *cli, productName string, allowedOrigins []string) (pageSettings, error) {
	var ps pageSettings
	var err error
	// Unset, it is filled from the gateway's listener once it is open
	// (defaultPublicURL).
	if ps.publicURL, err = resolveSetting(c, &s.settings, publicURLSetting, "", parsePublicURL); err != nil {
		return ps, err
	}
	ps.brand.ProductName = productName
	// Each branding setting is checked alone, so that its error names it,
	// then the overrides with the whole branding in place.
	checkBrand := func(set func(*ui.Branding, string)) func(string) (string, error) {
		return func(v string) (string, error) {
			var b ui.Branding
			set(&b, v)
			if _, err := ui.NewRenderer(ui.RendererConfig{Branding: b}); err != nil {
				return "", errors.New(strings.TrimPrefix(err.Error(), "ui: "))
			}
			return v, nil
		}
	}
	if ps.brand.LogoURL, err = resolveSetting(c, &s.settings, logoURLSetting, "", checkBrand(func(b *ui.Branding, v string) { b.LogoURL = v })); err != nil {
		return ps, err
	}
	if ps.brand.AccentColour, err = resolveSetting(c, &s.settings, accentColourSetting, "", checkBrand(func(b *ui.Branding, v string) { b.AccentColour = v })); err != nil {
		return ps, err
	}
	if ps.overrides, err = resolveSetting(c, &s.settings, uiTemplatesSetting, ui.Overrides{}, func(dir string) (ui.Overrides, error) {
		o, err := ui.LoadOverrides(dir)
		if err == nil {
			_, err = ui.NewRenderer(ui.RendererConfig{Branding: ps.brand, Overrides: o})
		}
		if err != nil {
			return ui.Overrides{}, errors.New(strings.TrimPrefix(err.Error(), "ui: "))
		}
		return o, nil
	}); err != nil {
		return ps, err
	}
	ps.returnDefault, err = resolveSetting(c, &s.settings, returnDefaultSetting, defaultReturnToTarget, func(v string) (string, error) {
		if _, err := ui.NewReturnPolicy(ui.ReturnPolicyConfig{AllowedOrigins: allowedOrigins, Default: v}); err != nil {
			return "", fmt.Errorf("%q is neither a path on the gateway nor a URL on an --allowed-origins origin", v)
		}
		return v, nil
	})
	return ps, err
}

// defaultPublicURL is http:// and the address the gateway listens on, a
// wildcard host taken as 127.0.0.1 (a local trial's browser).
func defaultPublicURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// parsePublicURL reads --public-url: an http or https origin, nothing
// after the authority.
func parsePublicURL(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" || u.Opaque != "" || u.ForceQuery {
		return "", fmt.Errorf("%q is not an origin: want scheme://host[:port], such as https://auth.example.com", v)
	}
	return strings.TrimSuffix(v, "/"), nil
}

// newPortal builds the pages in front of the accounts API: rendered with
// the branding and overrides, forms checked with a CSRF key derived from
// the key ring (the same on every instance), return_to limited to the
// gateway and --allowed-origins, logins made through the portal's own
// client clientID.
func newPortal(c *cli, ps pageSettings, keys *mint.KeyRing, cookieSecure bool, allowedOrigins []string,
	api http.Handler, clientID string, logger *slog.Logger) (*portal.Portal, error) {
	renderer, err := ui.NewRenderer(ui.RendererConfig{Branding: ps.brand, Overrides: ps.overrides, FormTargets: allowedOrigins})
	if err != nil {
		return nil, err
	}
	csrf, err := ui.NewCSRF(ui.CSRFConfig{Key: keys.PurposeKey(csrfKeyPurpose), Rand: c.random, Insecure: !cookieSecure})
	if err != nil {
		return nil, err
	}
	ret, err := ui.NewReturnPolicy(ui.ReturnPolicyConfig{AllowedOrigins: allowedOrigins, Default: ps.returnDefault})
	if err != nil {
		return nil, err
	}
	return portal.New(portal.Config{API: api, ClientID: clientID, Renderer: renderer, CSRF: csrf, Return: ret,
		Cookies: verifier.CookieConfig{Insecure: !cookieSecure}, Logger: logger, Now: c.now, Rand: c.random, PasskeyRPID: ps.rpID,
		Federation: ps.federation})
}
