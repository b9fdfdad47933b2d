package main

import (
	"log/slog"
	"strings"

	"github.com/authgw/authgw/accounts/oidcrp"
	"github.com/authgw/authgw/db"
)

// oidcProvidersSetting names the external OpenID Connect providers'
// settings ("Sign in with …"): a JSON file, or (in AUTHGW_OIDC_PROVIDERS)
// the JSON itself, as oidcrp.LoadSettings reads it.
const oidcProvidersSetting = "oidc-providers"

// resolveOIDCProviders reads --oidc-providers (or AUTHGW_OIDC_PROVIDERS,
// or the config file's "oidc-providers"): none when unset. Bad settings
// are a usage error (exit 2) naming the setting and the provider's field,
// never a secret.
func (s *serveCommand) resolveOIDCProviders(c *cli) ([]oidcrp.ProviderSettings, error) {
	return resolveSetting(c, &s.settings, oidcProvidersSetting, nil, func(v string) ([]oidcrp.ProviderSettings, error) {
		set, err := oidcrp.LoadSettings(v)
		if err != nil {
			return nil, errorText(strings.TrimPrefix(err.Error(), "oidcrp: "))
		}
		return set.Providers, nil
	})
}

// errorText is an error of a fixed text.
type errorText string

func (e errorText) Error() string { return string(e) }

// newFederation returns the relying party of the configured providers
// for the pages, nil when there are none. Providers are not contacted
// here: a provider that is down does not stop serve.
func newFederation(c *cli, ps pageSettings, store *db.DB, logger *slog.Logger) (*oidcrp.RP, error) {
	if len(ps.oidcProviders) == 0 {
		return nil, nil
	}
	return oidcrp.New(oidcrp.Config{Providers: ps.oidcProviders, PublicURL: ps.publicURL, Flows: store,
		Now: c.now, Rand: c.random, Logger: logger})
}
