package oidcrp_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/oidcrp"
	"github.com/authgw/authgw/db/dbtest"
)

// TestNew checks New's refusals and defaults; it contacts no provider.
func TestNew(t *testing.T) {
	d := dbtest.SQLite(t)
	good := oidcrp.ProviderSettings{ID: "corp", Issuer: "https://sso.example.com", ClientID: "c", ClientSecret: "s"}
	for _, tt := range []struct {
		name        string
		given       oidcrp.Config
		expectErrIn string
	}{
		{name: "no providers needs nothing", given: oidcrp.Config{}},
		{name: "providers need a public URL", given: oidcrp.Config{Providers: []oidcrp.ProviderSettings{good}, Flows: d}, expectErrIn: "PublicURL"},
		{name: "providers need a flow store", given: oidcrp.Config{Providers: []oidcrp.ProviderSettings{good}, PublicURL: "https://gw.example.com"}, expectErrIn: "Flows"},
		{name: "an id twice", given: oidcrp.Config{Providers: []oidcrp.ProviderSettings{good, good}, PublicURL: "https://gw.example.com", Flows: d}, expectErrIn: "named twice"},
		{name: "a provider's settings are checked", given: oidcrp.Config{Providers: []oidcrp.ProviderSettings{{ID: "x", Issuer: "ftp://x", ClientID: "c", ClientSecret: "s"}},
			PublicURL: "https://gw.example.com", Flows: d}, expectErrIn: "issuer"},
		{name: "good", given: oidcrp.Config{Providers: []oidcrp.ProviderSettings{good}, PublicURL: "https://gw.example.com/", Flows: d}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rp, err := oidcrp.New(tt.given)
			if tt.expectErrIn != "" {
				if err == nil || !strings.Contains(err.Error(), tt.expectErrIn) {
					t.Fatalf("error %v, expected one about %q", err, tt.expectErrIn)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rp.FlowTTL() != oidcrp.DefaultFlowTTL {
				t.Errorf("FlowTTL %v", rp.FlowTTL())
			}
			if len(tt.given.Providers) == 1 {
				if ps := rp.Providers(); len(ps) != 1 || ps[0].ID != "corp" || ps[0].Name != "corp" {
					t.Errorf("providers %+v (the name defaults to the id)", ps)
				}
			}
		})
	}
	if _, err := oidcrp.ParseSettings([]byte(`{"providers": [{"id": "x", "clientSecret": 5}]}`)); !errors.Is(err, oidcrp.ErrSettings) || strings.Contains(err.Error(), "5") && !strings.Contains(err.Error(), "clientSecret") {
		t.Errorf("a wrong type: %v", err)
	}
}
