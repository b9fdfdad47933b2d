package accounts_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/policy"
)

// TestFilterPolicies: an OIDC grant's scopes keep exactly the routes of
// the user's policies that can match under /<name> for each api:<name>,
// wildcard first segments rewritten to the literal name, step-up scopes
// kept as such, and always GET on userinfo.
func TestFilterPolicies(t *testing.T) {
	p, err := policy.Parse("member.json", []byte(`{
  "name": "member", "appliesTo": {"userRoles": ["user"]}, "expires": 900,
  "scopes": [
    {"name": "demo", "routes": ["/demo/v1/**", "/accounts/v1/users/:userId"], "methods": ["GET"]},
    {"name": "everything", "routes": ["/**"], "methods": ["POST"]},
    {"name": "star", "routes": ["/*/v2/x", "/de*/v3", "/x*/v4"], "methods": ["PUT"]},
    {"name": "danger", "routes": ["/demo/v1/admin"], "methods": ["DELETE"], "stepUp": 300}
  ]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		givenScopes  []string
		expectRoutes map[string][]string // method: routes
		expectStepUp bool
	}{
		{name: "openid alone: userinfo only", givenScopes: []string{"openid"},
			expectRoutes: map[string][]string{"GET": {accounts.OIDCUserinfoPath}}},
		{name: "api:demo", givenScopes: []string{"openid", "api:demo"},
			expectRoutes: map[string][]string{"GET": {"/demo/v1/**", accounts.OIDCUserinfoPath}, "POST": {"/demo/**"},
				"PUT": {"/demo/v2/x", "/demo/v3"}, "DELETE": {"/demo/v1/admin"}}, expectStepUp: true},
		// authgw's own API is never granted to an app (account takeover):
		// a client stored with the scope before it was refused gets
		// userinfo only.
		{name: "api:accounts reserved", givenScopes: []string{"openid", "api:accounts"},
			expectRoutes: map[string][]string{"GET": {accounts.OIDCUserinfoPath}}},
		{name: "unknown api", givenScopes: []string{"openid", "api:nothing-here"},
			expectRoutes: map[string][]string{"GET": {accounts.OIDCUserinfoPath}, "POST": {"/nothing-here/**"}, "PUT": {"/nothing-here/v2/x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := accounts.FilterPolicies([]*policy.Policy{p}, tt.givenScopes)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			stepUp := false
			for _, fp := range out {
				if fp.Expires != 900 {
					t.Errorf("policy %s expires %d, want the user's 900", fp.Name, fp.Expires)
				}
				if !fp.BindClient {
					t.Errorf("policy %s does not bind to the client (the original did not): an access token must", fp.Name)
				}
				for _, sc := range fp.Scopes {
					stepUp = stepUp || sc.StepUp > 0
					for _, m := range sc.Methods {
						got[m] = append(got[m], sc.Routes...)
					}
				}
			}
			for m := range got {
				slices.Sort(got[m])
			}
			for m := range tt.expectRoutes {
				slices.Sort(tt.expectRoutes[m])
			}
			if len(got) != len(tt.expectRoutes) {
				t.Errorf("methods %v, want %v", got, tt.expectRoutes)
			}
			for m, want := range tt.expectRoutes {
				if strings.Join(got[m], " ") != strings.Join(want, " ") {
					t.Errorf("%s routes %v, want %v", m, got[m], want)
				}
			}
			if stepUp != tt.expectStepUp {
				t.Errorf("step-up scope kept: %v, want %v", stepUp, tt.expectStepUp)
			}
		})
	}
}
