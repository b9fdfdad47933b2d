package policy_test

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/authgw/authgw/policy"
)

func TestValidOrgs(t *testing.T) {
	tests := []struct {
		name   string
		given  string
		expect bool
	}{
		{"one ID", "org-a", true},
		{"IDs with flags", "org-a:r org-b:remd 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b:m", true},
		{"ID of 64", string(make64('a')), true},
		{"empty", "", false},
		{"ID of 65", string(make64('a')) + "a", false},
		{"trailing space", "org-a ", false},
		{"double space", "org-a  org-b", false},
		{"leading space", " org-a", false},
		{"empty flags", "org-a:", false},
		{"unknown flag", "org-a:x", false},
		{"flags out of order", "org-a:dr", false},
		{"flag twice", "org-a:rr", false},
		{"five flags", "org-a:remdr", false},
		{"dot", ".", false},
		{"dot dot", "..:r", false},
		{"underscore", "org_a", false},
		{"slash", "org/a", false},
		{"percent", "org%41", false},
		{"the same organization twice", "org-a:r org-b org-a:e", false},
		{"a colon in the flags", "org-a:r:e", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := policy.ValidOrgs(tt.given); got != tt.expect {
				t.Errorf("ValidOrgs(%q) = %v, want %v", tt.given, got, tt.expect)
			}
		})
	}
}

func make64(c byte) []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return b
}

func TestMatchRouteOrgs(t *testing.T) {
	one := policy.OrgGrants{"org-a:re org-b:r org-c"}
	tests := []struct {
		name      string
		givenOrgs policy.OrgGrants
		route     string
		path      string
		expect    bool
	}{
		{"flag held", one, "/o/:orgIdRead/**", "/o/org-a/x", true},
		{"flag held, second org", one, "/o/:orgIdRead/**", "/o/org-b/x/y", true},
		{"flag not held", one, "/o/:orgIdEdit/**", "/o/org-b/x", false},
		{"no flags listed", one, "/o/:orgIdRead/**", "/o/org-c/x", false},
		{"any membership", one, "/o/:orgId/notes", "/o/org-c/notes", true},
		{"not listed", one, "/o/:orgId/**", "/o/org-z/x", false},
		{"an ID that runs on", one, "/o/:orgId/**", "/o/org-a.x/x", false},
		{"a prefix of a listed ID", one, "/o/:orgId/**", "/o/org/x", false},
		{"no orgs caveat", nil, "/o/:orgId/**", "/o/org-a/x", false},
		{"percent-encoded ID", one, "/o/:orgIdRead/**", "/o/%6Frg-a/x", true},
		{"literal prefix in the segment", one, "/o/org-:orgIdRead", "/o/org-org-a", true},
		{"literal suffix in the segment", one, "/n/:orgIdEdit_*", "/n/org-a_note", true},
		{"literal suffix, nothing after", one, "/n/:orgIdEdit_*", "/n/org-a_", false},
		{"suffix encoded", one, "/n/:orgIdEdit_*", "/n/org-a%5Fnote", true},
		{"empty ID", one, "/o/:orgId/**", "/o//x", false},
		{"two parameters, one organization", one, "/o/:orgIdRead/p/:orgIdEdit", "/o/org-a/p/org-a", true},
		{"two parameters, one organization encoded twice", one, "/o/:orgIdRead/p/:orgIdEdit", "/o/org-a/p/%6Frg-a", true},
		{"two parameters, two organizations", one, "/o/:orgIdRead/p/:orgId", "/o/org-a/p/org-b", false},
		{"every caveat must list it", policy.OrgGrants{"org-a:re org-b:r", "org-b:r"}, "/o/:orgIdRead", "/o/org-a", false},
		{"every caveat must list the flag", policy.OrgGrants{"org-a:re", "org-a:r"}, "/o/:orgIdEdit", "/o/org-a", false},
		{"both list it with the flag", policy.OrgGrants{"org-a:re", "org-a:e"}, "/o/:orgIdEdit", "/o/org-a", true},
		{"concrete route", one, "/o/org-a/**", "/o/org-a/x", true},
		{"unknown parameter", one, "/o/:userId", "/o/org-a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A route that does not compile gives the zero Routes,
			// which matches nothing.
			routes, _ := policy.ParseRoutes(tt.route)
			if got := routes.MatchOrgs(tt.path, tt.givenOrgs); got != tt.expect {
				t.Errorf("MatchOrgs(%q, %q, %q) = %v, want %v", tt.route, tt.path, tt.givenOrgs, got, tt.expect)
			}
			if routes.Match(tt.path) && tt.route[len(tt.route)-1] != '*' && !tt.expect {
				t.Errorf("Match(%q, %q) matched without memberships", tt.route, tt.path)
			}
		})
	}
}

func TestValidRoute_orgParameters(t *testing.T) {
	tests := []struct {
		route  string
		expect bool
	}{
		{"/o/:orgId/**", true},
		{"/o/:orgIdRead", true},
		{"/o/:orgIdEdit_*", true},
		{"/o/org-:orgIdManage/x", true},
		{"/o/:orgIdDelete/:orgId", true},
		{"/o/:orgIdAdmin", false},
		{"/o/:userId", false},
		{"/o/:orgId*", false},
		{"/o/:orgId-x", false},
		{"/o/:orgIdRead42", false},
		{"/o/:", false},
	}
	for _, tt := range tests {
		if got := policy.ValidRoute(tt.route); got != tt.expect {
			t.Errorf("ValidRoute(%q) = %v, want %v", tt.route, got, tt.expect)
		}
		if _, err := policy.ParseRoutes(tt.route); (err == nil) != tt.expect {
			t.Errorf("ParseRoutes(%q) error = %v, want ok %v", tt.route, err, tt.expect)
		}
	}
	if _, err := policy.NewRoutes("/o/:orgId"); err == nil {
		t.Error("a public route set accepts an organization parameter")
	}
}

func TestPattern_Bind(t *testing.T) {
	params := policy.Params{UserID: "42", SessionID: "s1", ClientID: "c1"}
	tests := []struct {
		name        string
		pattern     string
		membership  policy.MembershipFlag
		givenParams policy.Params
		expect      string
		expectErr   error
	}{
		{"read", "/orgs/:orgId/u/:userId", "read", params, "/orgs/:orgIdRead/u/42", nil},
		{"any", "/orgs/:orgId/notes", "", params, "/orgs/:orgId/notes", nil},
		{"delete inside a segment", "/orgs/org-:orgId", "delete", params, "/orgs/org-:orgIdDelete", nil},
		{"no org parameter", "/users/:userId/**", "", params, "/users/42/**", nil},
		{"unknown flag", "/orgs/:orgId", "owner", params, "", policy.ErrBadParamValue},
		{"missing user", "/orgs/:orgId/:userId", "read", policy.Params{}, "", policy.ErrBadParamValue},
		{"org parameter running on into a value", "/orgs/:orgId:userId", "read", params, "", policy.ErrBadParamValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.CompilePattern(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Bind(tt.givenParams, tt.membership)
			if !errors.Is(err, tt.expectErr) || got != tt.expect {
				t.Errorf("Bind = %q, %v; want %q, %v", got, err, tt.expect, tt.expectErr)
			}
		})
	}
}

// TestMembershipFlags: the four flags, in the order of their letters,
// each with a letter and a token parameter, and the schema's enum of a
// scope's "membership" is the same list.
func TestMembershipFlags(t *testing.T) {
	flags := policy.MembershipFlags()
	var letters []byte
	for _, f := range flags {
		l, ok := policy.FlagLetter(f)
		if !ok || !f.Valid() {
			t.Errorf("flag %q has no letter", f)
		}
		if _, ok := policy.OrgParam(f); !ok {
			t.Errorf("flag %q has no token parameter", f)
		}
		letters = append(letters, l)
	}
	if string(letters) != "remd" {
		t.Errorf("letters %q, want remd", letters)
	}
	for _, f := range []policy.MembershipFlag{policy.AnyMembership, "Read", "admin"} {
		if f.Valid() {
			t.Errorf("%q is Valid", f)
		}
	}
	raw, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Defs struct {
			Scope struct {
				Properties struct {
					Membership struct {
						Enum []policy.MembershipFlag `json:"enum"`
					} `json:"membership"`
				} `json:"properties"`
			} `json:"scope"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	if enum := schema.Defs.Scope.Properties.Membership.Enum; !slices.Equal(enum, flags[:]) {
		t.Errorf("schema.json's membership enum %q, want %q", enum, flags)
	}
}
