package policy_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/policy"
)

const (
	examplesDir = "../testdata/policies"
	badDir      = "../testdata/policies-bad"
)

// baseFields is a valid policy, field by field, in order.
var baseFields = [][2]string{
	{"name", `"test"`},
	{"appliesTo", `{"userRoles": ["user"]}`},
	{"expires", `900`},
	{"scopes", `[{"name": "demo", "routes": ["/demo/v1/**"], "methods": ["GET"]}]`},
}

// policyWith returns the valid base policy with top-level fields replaced
// or added: kv holds key, raw JSON pairs; an empty raw value removes the
// field.
func policyWith(t *testing.T, kv ...string) string {
	t.Helper()
	if len(kv)%2 != 0 {
		t.Fatalf("policyWith: odd number of arguments")
	}
	fields := slices.Clone(baseFields)
	for i := 0; i < len(kv); i += 2 {
		key, raw := kv[i], kv[i+1]
		at := slices.IndexFunc(fields, func(f [2]string) bool { return f[0] == key })
		switch {
		case at >= 0 && raw == "":
			fields = slices.Delete(fields, at, at+1)
		case at >= 0:
			fields[at][1] = raw
		case raw != "":
			fields = append(fields, [2]string{key, raw})
		}
	}
	var b strings.Builder
	b.WriteString("{\n")
	for i, f := range fields {
		b.WriteString("  " + strconv.Quote(f[0]) + ": " + f[1])
		if i < len(fields)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.String()
}

// scopesWith returns a scopes array holding one scope with the given
// routes, methods and extra raw members.
func scopesWith(routes, methods string, extra ...string) string {
	s := `[{"name": "s", "routes": ` + routes + `, "methods": ` + methods
	for _, e := range extra {
		s += ", " + e
	}
	return s + "}]"
}

// problemsOf asserts that err is a *ValidationError matching
// ErrInvalidPolicy and returns its problems.
func problemsOf(t *testing.T, err error) []policy.Problem {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error, got nil")
	}
	if !errors.Is(err, policy.ErrInvalidPolicy) {
		t.Fatalf("expected errors.Is(err, ErrInvalidPolicy), got %v", err)
	}
	ve, ok := errors.AsType[*policy.ValidationError](err)
	if !ok {
		t.Fatalf("expected a *ValidationError, got %T: %v", err, err)
	}
	if len(ve.Problems) == 0 {
		t.Fatalf("expected problems, got none")
	}
	return ve.Problems
}

type expectedProblem struct {
	file   string
	path   string
	phrase string
}

// assertProblems checks that got has exactly one problem per expected
// entry, in order.
func assertProblems(t *testing.T, got []policy.Problem, expect []expectedProblem) {
	t.Helper()
	if len(got) != len(expect) {
		t.Fatalf("expected %d problems, got %d:\n%s", len(expect), len(got), formatProblems(got))
	}
	for i, e := range expect {
		g := got[i]
		if g.File != e.file || g.Path != e.path || !strings.Contains(g.Reason, e.phrase) {
			t.Errorf("problem %d: expected file %q, path %q, reason containing %q; got %#v",
				i, e.file, e.path, e.phrase, g)
		}
	}
}

func formatProblems(ps []policy.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("\t" + p.String() + "\n")
	}
	return b.String()
}

func TestParse_problems(t *testing.T) {
	deep := strings.Repeat("[", 40) + strings.Repeat("]", 40)
	testCases := []struct {
		name         string
		givenJSON    string // used when not empty
		givenFields  []string
		expectPath   string
		expectReason string
	}{
		{
			name:         "empty file",
			givenJSON:    " \n",
			expectPath:   "",
			expectReason: "empty file",
		},
		{
			name:         "invalid JSON gives line and column",
			givenJSON:    "{\n  \"name\": \"a\",\n  \"x\" 1}",
			expectPath:   "",
			expectReason: "invalid JSON at 3:7",
		},
		{
			name:         "truncated JSON",
			givenJSON:    "{\"name\": \"a\",",
			expectPath:   "",
			expectReason: "unexpected end of file",
		},
		{
			name:         "invalid UTF-8",
			givenJSON:    "{\n \"name\": \"\xff\"}",
			expectPath:   "",
			expectReason: "not valid UTF-8 at 2:11",
		},
		{
			name:         "nested too deeply",
			givenFields:  []string{"description", deep},
			expectPath:   "",
			expectReason: "nested too deeply",
		},
		{
			name:         "trailing data after the object",
			givenJSON:    policyWith(t) + "{}",
			expectPath:   "",
			expectReason: "unexpected data after the JSON object at 7:1",
		},
		{
			name:         "step-up under a minute",
			givenFields:  []string{"scopes", scopesWith(`["/a"]`, `["DELETE"]`, `"stepUp": 59`)},
			expectPath:   "/scopes/0/stepUp",
			expectReason: "59 is too small: at least 60 seconds",
		},
		{
			name:         "step-up over an hour",
			givenFields:  []string{"scopes", scopesWith(`["/a"]`, `["DELETE"]`, `"stepUp": 3601`)},
			expectPath:   "/scopes/0/stepUp",
			expectReason: "3601 is too large: at most 3600 seconds",
		},
		{
			name:         "step-up not a number",
			givenFields:  []string{"scopes", scopesWith(`["/a"]`, `["DELETE"]`, `"stepUp": "60"`)},
			expectPath:   "/scopes/0/stepUp",
			expectReason: "wrong type: want integer, got string",
		},
		{
			name:         "duplicate field",
			givenFields:  []string{"appliesTo", `{"userRoles": ["user"], "userRoles": ["sysadmin"]}`},
			expectPath:   "/appliesTo/userRoles",
			expectReason: `duplicate field "userRoles"`,
		},
		{
			name:         "not an object",
			givenJSON:    `["name"]`,
			expectPath:   "",
			expectReason: "wrong type: want object, got array",
		},
		{
			name:         "unknown top-level field",
			givenFields:  []string{"expiry", `900`},
			expectPath:   "/expiry",
			expectReason: `unknown field "expiry"`,
		},
		{
			name:         "unknown field path is an escaped JSON pointer",
			givenFields:  []string{"a/b~c", `1`},
			expectPath:   "/a~1b~0c",
			expectReason: `unknown field "a/b~c"`,
		},
		{
			name:         "field names are case-sensitive",
			givenFields:  []string{"Name", `"x"`},
			expectPath:   "/Name",
			expectReason: `unknown field "Name"`,
		},
		{
			name:         "unknown field in appliesTo",
			givenFields:  []string{"appliesTo", `{"userRoles": ["user"], "clientRoles": ["system"]}`},
			expectPath:   "/appliesTo/clientRoles",
			expectReason: `unknown field "clientRoles"`,
		},
		{
			name:         "unknown field in a scope",
			givenFields:  []string{"scopes", scopesWith(`["/a"]`, `["GET"]`, `"method": "POST"`)},
			expectPath:   "/scopes/0/method",
			expectReason: `unknown field "method"`,
		},
		{
			name:         "missing name",
			givenFields:  []string{"name", ""},
			expectPath:   "",
			expectReason: `missing field "name"`,
		},
		{
			name:         "missing userRoles",
			givenFields:  []string{"appliesTo", `{}`},
			expectPath:   "/appliesTo",
			expectReason: `missing field "userRoles"`,
		},
		{
			name:         "missing methods in a scope",
			givenFields:  []string{"scopes", `[{"name": "s", "routes": ["/a"]}]`},
			expectPath:   "/scopes/0",
			expectReason: `missing field "methods"`,
		},
		{
			name:         "bad name",
			givenFields:  []string{"name", `"Member Policy"`},
			expectPath:   "/name",
			expectReason: "bad policy name",
		},
		{
			name:         "name too long",
			givenFields:  []string{"name", strconv.Quote(strings.Repeat("a", 65))},
			expectPath:   "/name",
			expectReason: "too long",
		},
		{
			name:         "description of the wrong type",
			givenFields:  []string{"description", `42`},
			expectPath:   "/description",
			expectReason: "wrong type: want string, got number",
		},
		{
			name:         "unknown user role",
			givenFields:  []string{"appliesTo", `{"userRoles": ["admin"]}`},
			expectPath:   "/appliesTo/userRoles/0",
			expectReason: `unknown user role "admin"`,
		},
		{
			name:         "no user roles",
			givenFields:  []string{"appliesTo", `{"userRoles": []}`},
			expectPath:   "/appliesTo/userRoles",
			expectReason: "must not be empty",
		},
		{
			name:         "duplicate user role",
			givenFields:  []string{"appliesTo", `{"userRoles": ["user", "user"]}`},
			expectPath:   "/appliesTo/userRoles/1",
			expectReason: `duplicate user role "user"`,
		},
		{
			name:         "expires as a string",
			givenFields:  []string{"expires", `"900"`},
			expectPath:   "/expires",
			expectReason: "wrong type: want integer, got string",
		},
		{
			name:         "expires with a fraction",
			givenFields:  []string{"expires", `900.5`},
			expectPath:   "/expires",
			expectReason: "wrong type: want integer, got number",
		},
		{
			name:         "expires written as a float",
			givenFields:  []string{"expires", `900.0`},
			expectPath:   "/expires",
			expectReason: "whole number of seconds",
		},
		{
			name:         "expires too short",
			givenFields:  []string{"expires", `9`},
			expectPath:   "/expires",
			expectReason: "at least 10 seconds",
		},
		{
			name:         "expires too long",
			givenFields:  []string{"expires", `86401`},
			expectPath:   "/expires",
			expectReason: "at most 86400 seconds",
		},
		{
			name:         "huge number",
			givenFields:  []string{"expires", `1e999999`},
			expectPath:   "/expires",
			expectReason: "number 1e999999 is out of range",
		},
		{
			name:         "tiny number",
			givenFields:  []string{"scopes", scopesWith(`[1e-999999]`, `["GET"]`)},
			expectPath:   "/scopes/0/routes/0",
			expectReason: "out of range",
		},
		{
			name:         "long number",
			givenFields:  []string{"expires", strings.Repeat("9", 40)},
			expectPath:   "/expires",
			expectReason: "out of range",
		},
		{
			name:         "bindClient not a boolean",
			givenFields:  []string{"bindClient", `"yes"`},
			expectPath:   "/bindClient",
			expectReason: "wrong type: want boolean, got string",
		},
		{
			name:         "empty serverId",
			givenFields:  []string{"serverId", `""`},
			expectPath:   "/serverId",
			expectReason: "must not be empty",
		},
		{
			name:         "no scopes",
			givenFields:  []string{"scopes", `[]`},
			expectPath:   "/scopes",
			expectReason: "must not be empty",
		},
		{
			name:         "scope of the wrong type",
			givenFields:  []string{"scopes", `["GET /a"]`},
			expectPath:   "/scopes/0",
			expectReason: "wrong type: want object, got string",
		},
		{
			name:         "empty scope name",
			givenFields:  []string{"scopes", `[{"name": "", "routes": ["/a"], "methods": ["GET"]}]`},
			expectPath:   "/scopes/0/name",
			expectReason: "must not be empty",
		},
		{
			name:         "no routes",
			givenFields:  []string{"scopes", scopesWith(`[]`, `["GET"]`)},
			expectPath:   "/scopes/0/routes",
			expectReason: "must not be empty",
		},
		{
			name:         "no methods",
			givenFields:  []string{"scopes", scopesWith(`["/a"]`, `[]`)},
			expectPath:   "/scopes/0/methods",
			expectReason: "must not be empty",
		},
		{
			name:         "bad method",
			givenFields:  []string{"scopes", scopesWith(`["/a"]`, `["GET", "GETT"]`)},
			expectPath:   "/scopes/0/methods/1",
			expectReason: `bad method "GETT"`,
		},
		{
			name:         "methods are upper-case",
			givenFields:  []string{"scopes", scopesWith(`["/a"]`, `["get"]`)},
			expectPath:   "/scopes/0/methods/0",
			expectReason: `bad method "get"`,
		},
		{
			name:         "HEAD is not a method of its own",
			givenFields:  []string{"scopes", scopesWith(`["/a"]`, `["HEAD"]`)},
			expectPath:   "/scopes/0/methods/0",
			expectReason: `bad method "HEAD"`,
		},
		{
			name:         "duplicate method",
			givenFields:  []string{"scopes", scopesWith(`["/a"]`, `["GET", "POST", "GET"]`)},
			expectPath:   "/scopes/0/methods/2",
			expectReason: `duplicate method "GET"`,
		},
		{
			name:         "route not starting with /",
			givenFields:  []string{"scopes", scopesWith(`["/a", "demo/v1/**"]`, `["GET"]`)},
			expectPath:   "/scopes/0/routes/1",
			expectReason: `route "demo/v1/**" must start with /`,
		},
		{
			name:         "route of the wrong type",
			givenFields:  []string{"scopes", scopesWith(`[42]`, `["GET"]`)},
			expectPath:   "/scopes/0/routes/0",
			expectReason: "wrong type: want string, got number",
		},
		{
			name:         "** not last",
			givenFields:  []string{"scopes", scopesWith(`["/demo/v1/**/notes"]`, `["GET"]`)},
			expectPath:   "/scopes/0/routes/0",
			expectReason: "** is allowed only as the last segment",
		},
		{
			name:         "* inside a segment",
			givenFields:  []string{"scopes", scopesWith(`["/demo/a*b"]`, `["GET"]`)},
			expectPath:   "/scopes/0/routes/0",
			expectReason: "* is allowed only alone or at the end of a segment",
		},
		{
			name:         "unknown parameter",
			givenFields:  []string{"scopes", scopesWith(`["/accounts/v1/users/:id"]`, `["GET"]`)},
			expectPath:   "/scopes/0/routes/0",
			expectReason: "unknown parameter :id",
		},
		{
			name:         "empty segment",
			givenFields:  []string{"scopes", scopesWith(`["/demo//v1"]`, `["GET"]`)},
			expectPath:   "/scopes/0/routes/0",
			expectReason: "empty segment",
		},
		{
			name:         "dot-dot segment",
			givenFields:  []string{"scopes", scopesWith(`["/demo/../admin"]`, `["GET"]`)},
			expectPath:   "/scopes/0/routes/0",
			expectReason: ". and .. segments never match",
		},
		{
			name:         "membership without an :orgId route",
			givenFields:  []string{"scopes", scopesWith(`["/reports/v1/**"]`, `["GET"]`, `"membership": "read"`)},
			expectPath:   "/scopes/0/membership",
			expectReason: "membership applies only to :orgId routes",
		},
		{
			name:         "unknown membership flag",
			givenFields:  []string{"scopes", scopesWith(`["/o/:orgId"]`, `["GET"]`, `"membership": "owner"`)},
			expectPath:   "/scopes/0/membership",
			expectReason: `unknown membership flag "owner"`,
		},
		{
			name: "duplicate scope name",
			givenFields: []string{"scopes", `[
				{"name": "a", "routes": ["/a"], "methods": ["GET"]},
				{"name": "a", "routes": ["/b"], "methods": ["POST"]}]`},
			expectPath:   "/scopes/1/name",
			expectReason: `duplicate scope name "a"`,
		},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			given := tc.givenJSON
			if given == "" {
				given = policyWith(t, tc.givenFields...)
			}

			p, err := policy.Parse("test.json", []byte(given))

			if p != nil {
				t.Errorf("expected no policy, got %+v", p)
			}
			assertProblems(t, problemsOf(t, err), []expectedProblem{{"test.json", tc.expectPath, tc.expectReason}})
		})
	}
}

func TestParse_reportsEveryProblemAtOnce(t *testing.T) {
	given := `{
  "name": "Bad Name",
  "appliesTo": {"userRoles": ["user", "admin"]},
  "expires": 5,
  "colour": "blue",
  "scopes": [
    {"name": "a", "routes": ["/demo/**/x", "/ok/:orgId"], "methods": ["GETT"]},
    {"name": "a", "routes": ["/reports/v1/**"], "methods": ["GET"], "membership": "read"}
  ]
}`

	_, err := policy.Parse("many.json", []byte(given))

	assertProblems(t, problemsOf(t, err), []expectedProblem{
		{"many.json", "/appliesTo/userRoles/1", `unknown user role "admin"`},
		{"many.json", "/colour", `unknown field "colour"`},
		{"many.json", "/expires", "at least 10 seconds"},
		{"many.json", "/name", "bad policy name"},
		{"many.json", "/scopes/0/methods/0", `bad method "GETT"`},
		{"many.json", "/scopes/0/routes/0", "** is allowed only as the last segment"},
		{"many.json", "/scopes/1/membership", "membership applies only to :orgId routes"},
		{"many.json", "/scopes/1/name", `duplicate scope name "a"`},
	})
}

func TestParse_capsProblems(t *testing.T) {
	var fields []string
	for i := range 150 {
		fields = append(fields, "x"+strconv.Itoa(i), "1")
	}

	_, err := policy.Parse("many.json", []byte(policyWith(t, fields...)))

	got := problemsOf(t, err)
	if len(got) != 100 {
		t.Fatalf("expected 100 problems, got %d", len(got))
	}
	if last := got[99]; last.Reason != "and 51 more problems" {
		t.Errorf("expected the last problem to count the rest, got %#v", last)
	}
}

func TestParse_valid(t *testing.T) {
	given := policyWith(t,
		"description", `"for tests"`,
		"bindClient", `true`,
		"serverId", `"srv-1"`,
		"scopes", `[
			{"name": "profile", "routes": ["/accounts/v1/users/:userId/**"], "methods": ["GET", "PATCH"]},
			{"name": "org", "routes": ["/reports/v1/orgs/:orgId/**", "/reports/v1/orgs"], "methods": ["GET"], "membership": "read"}
		]`,
	)

	p, err := policy.Parse("ok.json", []byte(given))

	if err != nil {
		t.Fatalf("expected no error, got %v", err)
	}
	if p.Name != "test" || p.Description != "for tests" || p.Expires != 900 || !p.BindClient ||
		p.ServerID != "srv-1" || p.File != "ok.json" || !slices.Equal(p.AppliesTo.UserRoles, []string{"user"}) {
		t.Errorf("unexpected policy fields: %+v", p)
	}
	if got := p.Lifetime(); got != 15*time.Minute {
		t.Errorf("expected Lifetime 15m, got %v", got)
	}
	if len(p.Scopes) != 2 {
		t.Fatalf("expected 2 scopes, got %d", len(p.Scopes))
	}
	org := p.Scopes[1]
	if org.Name != "org" || org.Membership != "read" || !slices.Equal(org.Methods, []string{"GET"}) {
		t.Errorf("unexpected scope: %+v", org)
	}
	pats := org.Patterns()
	if len(pats) != 2 {
		t.Fatalf("expected 2 compiled patterns, got %d", len(pats))
	}
	for i, pat := range pats {
		if pat.String() != org.Routes[i] {
			t.Errorf("pattern %d: expected %q, got %q", i, org.Routes[i], pat.String())
		}
	}
	if !pats[0].Uses(policy.ParamOrgID) || pats[1].Uses(policy.ParamOrgID) {
		t.Errorf("expected only the first pattern to use :orgId")
	}
	if !p.Scopes[0].Patterns()[0].Uses(policy.ParamUserID) {
		t.Errorf("expected the profile pattern to use :userId")
	}
}

func TestParse_acceptsEdgeValues(t *testing.T) {
	testCases := []struct {
		name        string
		givenFields []string
	}{
		{name: "shortest expires", givenFields: []string{"expires", `10`}},
		{name: "longest expires", givenFields: []string{"expires", `86400`}},
		{name: "name of 64 characters", givenFields: []string{"name", strconv.Quote(strings.Repeat("a", 64))}},
		{name: "name with digits and punctuation", givenFields: []string{"name", `"0-a_b.c"`}},
		{name: "every role", givenFields: []string{"appliesTo", `{"userRoles": ["sysadmin", "employee", "user"]}`}},
		{name: "root route", givenFields: []string{"scopes", scopesWith(`["/"]`, `["GET"]`)}},
		{name: ":orgId without membership", givenFields: []string{"scopes", scopesWith(`["/o/:orgId/**"]`, `["GET"]`)}},
		{name: "membership with :orgId inside a segment", givenFields: []string{"scopes", scopesWith(`["/o/org-:orgId"]`, `["GET"]`, `"membership": "delete"`)}},
		{name: "every method", givenFields: []string{"scopes", scopesWith(`["/a"]`, `["GET", "POST", "PUT", "PATCH", "DELETE"]`)}},
		{name: "shortest step-up", givenFields: []string{"scopes", scopesWith(`["/a"]`, `["DELETE"]`, `"stepUp": 60`)}},
		{name: "longest step-up", givenFields: []string{"scopes", scopesWith(`["/a"]`, `["DELETE"]`, `"stepUp": 3600`)}},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.Parse("edge.json", []byte(policyWith(t, tc.givenFields...)))

			if err != nil {
				t.Errorf("expected no error, got %v", err)
			}
		})
	}
}

func TestProblem_String(t *testing.T) {
	testCases := []struct {
		name   string
		given  policy.Problem
		expect string
	}{
		{
			name:   "file and path",
			given:  policy.Problem{File: "a.json", Path: "/scopes/1/routes/0", Reason: "bad"},
			expect: "a.json: /scopes/1/routes/0: bad",
		},
		{name: "root", given: policy.Problem{File: "a.json", Reason: "bad"}, expect: "a.json: bad"},
		{name: "no file", given: policy.Problem{Path: "/name", Reason: "bad"}, expect: "/name: bad"},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.given.String(); got != tc.expect {
				t.Errorf("expected %q, got %q", tc.expect, got)
			}
		})
	}
}

func TestValidationError_Error(t *testing.T) {
	err := error(&policy.ValidationError{Problems: []policy.Problem{
		{File: "a.json", Path: "/name", Reason: "one"},
		{File: "b.json", Reason: "two"},
	}})

	if got, expect := err.Error(), "a.json: /name: one\nb.json: two"; got != expect {
		t.Errorf("expected %q, got %q", expect, got)
	}
	if !errors.Is(err, policy.ErrInvalidPolicy) {
		t.Errorf("expected the error to match ErrInvalidPolicy")
	}
}

func TestExamplePolicies(t *testing.T) {
	set, err := policy.LoadDir(examplesDir)
	if err != nil {
		t.Fatalf("expected the example policies to load, got:\n%v", err)
	}

	var names []string
	for _, p := range set.All() {
		names = append(names, p.Name)
		if p.File != filepath.Join(examplesDir, p.Name+".json") {
			t.Errorf("policy %q: expected it to be in %s.json, got File %q", p.Name, p.Name, p.File)
		}
		if p.Description == "" {
			t.Errorf("policy %q: expected a description for newcomers", p.Name)
		}
		// Every route must expand into concrete, valid routes.
		for _, s := range p.Scopes {
			for _, pat := range s.Patterns() {
				routes, err := pat.Expand(policy.Params{UserID: "42", SessionID: "s1", ClientID: "c1", OrgIDs: []string{"7", "8"}})
				if err != nil {
					t.Errorf("policy %q, scope %q: Expand(%q): %v", p.Name, s.Name, pat, err)
				}
				for _, r := range routes {
					if !policy.ValidRoute(r) {
						t.Errorf("policy %q, scope %q: %q expanded to invalid route %q", p.Name, s.Name, pat, r)
					}
				}
			}
		}
	}
	if expect := []string{"admin", "member", "staff"}; !slices.Equal(names, expect) {
		t.Errorf("expected policies %v, got %v", expect, names)
	}
	member := set.ForRoles([]string{"user"})
	if len(member) != 1 || member[0].Lifetime() != 900*time.Second || !member[0].BindClient {
		t.Errorf("expected the member policy with a 900 s lifetime and client binding, got %+v", member)
	}
	if err := set.CheckServerID("any-server"); err != nil {
		t.Errorf("expected the example policies to name no server ID, got %v", err)
	}
}

func TestExamplePolicies_grants(t *testing.T) {
	set, err := policy.LoadDir(examplesDir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	params := policy.Params{UserID: "42", SessionID: "s1", ClientID: "c1", OrgIDs: []string{"7"}}
	testCases := []struct {
		name        string
		givenRoles  []string
		whenMethod  string
		whenPath    string
		expectAllow bool
	}{
		{name: "member reads own user", givenRoles: []string{"user"}, whenMethod: "GET", whenPath: "/accounts/v1/users/42", expectAllow: true},
		{name: "member reads own emails", givenRoles: []string{"user"}, whenMethod: "GET", whenPath: "/accounts/v1/users/42/emails", expectAllow: true},
		{name: "member reads current", givenRoles: []string{"user"}, whenMethod: "GET", whenPath: "/accounts/v1/users/current", expectAllow: true},
		{name: "member edits own user", givenRoles: []string{"user"}, whenMethod: "PATCH", whenPath: "/accounts/v1/users/42", expectAllow: true},
		{name: "member cannot read another user", givenRoles: []string{"user"}, whenMethod: "GET", whenPath: "/accounts/v1/users/420", expectAllow: false},
		{name: "member cannot list users", givenRoles: []string{"user"}, whenMethod: "GET", whenPath: "/accounts/v1/users", expectAllow: false},
		{name: "member cannot grant self a role", givenRoles: []string{"user"}, whenMethod: "POST", whenPath: "/accounts/v1/users/42/roles", expectAllow: false},
		{name: "member reads own org", givenRoles: []string{"user"}, whenMethod: "GET", whenPath: "/accounts/v1/organizations/7/clients", expectAllow: true},
		{name: "member cannot read other org", givenRoles: []string{"user"}, whenMethod: "GET", whenPath: "/accounts/v1/organizations/8", expectAllow: false},
		{name: "member cannot change client roles", givenRoles: []string{"user"}, whenMethod: "POST", whenPath: "/accounts/v1/organizations/7/clients/c9/roles", expectAllow: false},
		{name: "member writes own demo note", givenRoles: []string{"user"}, whenMethod: "POST", whenPath: "/demo/v1/notes/42_todo", expectAllow: true},
		{name: "member cannot write another's demo note", givenRoles: []string{"user"}, whenMethod: "POST", whenPath: "/demo/v1/notes/43_todo", expectAllow: false},
		{name: "member cannot post to the demo root", givenRoles: []string{"user"}, whenMethod: "POST", whenPath: "/demo/v1/notes", expectAllow: false},
		{name: "member reads demo", givenRoles: []string{"user"}, whenMethod: "GET", whenPath: "/demo/v1/anything/at/all", expectAllow: true},
		{name: "employee lists users", givenRoles: []string{"employee"}, whenMethod: "GET", whenPath: "/accounts/v1/users", expectAllow: true},
		{name: "employee changes own password", givenRoles: []string{"employee"}, whenMethod: "POST", whenPath: "/accounts/v1/users/42/change-password", expectAllow: true},
		{name: "employee cannot grant roles", givenRoles: []string{"employee"}, whenMethod: "POST", whenPath: "/accounts/v1/users/43/roles", expectAllow: false},
		{name: "sysadmin grants roles", givenRoles: []string{"sysadmin"}, whenMethod: "POST", whenPath: "/accounts/v1/users/43/roles", expectAllow: true},
		{name: "sysadmin registers APIs", givenRoles: []string{"sysadmin"}, whenMethod: "POST", whenPath: "/accounts/v1/apis", expectAllow: true},
		{name: "no role, no access", givenRoles: nil, whenMethod: "GET", whenPath: "/demo/v1/x", expectAllow: false},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			allowed := false
			for _, p := range set.ForRoles(tc.givenRoles) {
				for _, s := range p.Scopes {
					if !slices.Contains(s.Methods, tc.whenMethod) {
						continue
					}
					for _, pat := range s.Patterns() {
						routes, err := pat.Expand(params)
						if err != nil {
							t.Fatalf("Expand(%q): %v", pat, err)
						}
						set, err := policy.NewRoutes(routes...)
						if err != nil {
							t.Fatalf("NewRoutes(%q): %v", routes, err)
						}
						if set.Match(tc.whenPath) {
							allowed = true
						}
					}
				}
			}

			if allowed != tc.expectAllow {
				t.Errorf("%s %s for roles %v: expected allowed=%v, got %v",
					tc.whenMethod, tc.whenPath, tc.givenRoles, tc.expectAllow, allowed)
			}
		})
	}
}

func TestLoadDir_bad(t *testing.T) {
	bad := func(name string) string { return filepath.Join(badDir, name) }

	set, err := policy.LoadDir(badDir)

	if set != nil {
		t.Errorf("expected no set, got %v", set)
	}
	assertProblems(t, problemsOf(t, err), []expectedProblem{
		{bad("bad-method.json"), "/scopes/0/methods/1", `bad method "GETT"`},
		{bad("double-star-not-last.json"), "/scopes/0/routes/1", "** is allowed only as the last segment"},
		{bad("empty-scopes.json"), "/scopes", "must not be empty"},
		{bad("membership-without-org.json"), "/scopes/0/membership", "membership applies only to :orgId routes"},
		{bad("not-json.json"), "", "invalid JSON at 4:3"},
		{bad("unknown-field.json"), "/scopes/0/method", `unknown field "method"`},
		{bad("unknown-param.json"), "/scopes/0/routes/0", "unknown parameter :id"},
	})
	for _, name := range []string{"bad-method.json", "not-json.json", "unknown-param.json"} {
		if !strings.Contains(err.Error(), bad(name)+": ") {
			t.Errorf("expected the error text to name %s, got:\n%v", name, err)
		}
	}
}

func TestLoadFile_bad(t *testing.T) {
	entries, err := os.ReadDir(badDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			path := filepath.Join(badDir, e.Name())

			_, err := policy.LoadFile(path)

			for _, p := range problemsOf(t, err) {
				if p.File != path {
					t.Errorf("expected problem to name %s, got %#v", path, p)
				}
			}
		})
	}
}

func TestLoadFile_missing(t *testing.T) {
	_, err := policy.LoadFile(filepath.Join(t.TempDir(), "nope.json"))

	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("expected fs.ErrNotExist, got %v", err)
	}
	if errors.Is(err, policy.ErrInvalidPolicy) {
		t.Errorf("expected a read error not to be ErrInvalidPolicy")
	}
}

// writeFiles writes files (name → content) into a new temporary directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadDir(t *testing.T) {
	named := func(name string) string {
		return `{"name": "` + name + `", "appliesTo": {"userRoles": ["user"]}, "expires": 60,
			"scopes": [{"name": "s", "routes": ["/a"], "methods": ["GET"]}]}`
	}
	testCases := []struct {
		name          string
		givenFiles    map[string]string
		expectNames   []string
		expectProblem *expectedProblem // file relative to the directory
	}{
		{
			name:        "only *.json files, not dot files",
			givenFiles:  map[string]string{"b.json": named("b"), "a.json": named("a"), "notes.txt": "x", ".#a.json": "x", "c.json~": "x"},
			expectNames: []string{"a", "b"},
		},
		{
			name:          "duplicate names name both files",
			givenFiles:    map[string]string{"one.json": named("same"), "two.json": named("same")},
			expectProblem: &expectedProblem{"two.json", "/name", `policy name "same" is also used by ONE`},
		},
		{
			name:          "no policy files",
			givenFiles:    map[string]string{"README": "x"},
			expectProblem: &expectedProblem{"", "", "no policy files"},
		},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.givenFiles)

			set, err := policy.LoadDir(dir)

			if tc.expectProblem == nil {
				if err != nil {
					t.Fatalf("expected no error, got %v", err)
				}
				var names []string
				for _, p := range set.All() {
					names = append(names, p.Name)
				}
				if !slices.Equal(names, tc.expectNames) {
					t.Errorf("expected policies %v, got %v", tc.expectNames, names)
				}
				return
			}
			e := *tc.expectProblem
			e.file = filepath.Join(dir, e.file)
			if tc.expectProblem.file == "" {
				e.file = dir
			}
			e.phrase = strings.ReplaceAll(e.phrase, "ONE", filepath.Join(dir, "one.json"))
			assertProblems(t, problemsOf(t, err), []expectedProblem{e})
		})
	}
}

func TestLoadDir_missing(t *testing.T) {
	_, err := policy.LoadDir(filepath.Join(t.TempDir(), "nope"))

	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("expected fs.ErrNotExist, got %v", err)
	}
}

// codePolicy is a policy built in code rather than parsed.
func codePolicy(name string, routes ...string) *policy.Policy {
	return &policy.Policy{
		Name:      name,
		AppliesTo: policy.AppliesTo{UserRoles: []string{"user"}},
		Expires:   60,
		Scopes:    []policy.Scope{{Name: "s", Routes: routes, Methods: []string{"GET"}}},
		File:      name + ".go",
	}
}

func TestNewSet(t *testing.T) {
	testCases := []struct {
		name          string
		givenPolicies []*policy.Policy
		expectNames   []string
		expectProblem *expectedProblem
	}{
		{
			name:          "sorted by name",
			givenPolicies: []*policy.Policy{codePolicy("b", "/b"), codePolicy("a", "/a")},
			expectNames:   []string{"a", "b"},
		},
		{
			name:          "empty set",
			givenPolicies: nil,
			expectNames:   nil,
		},
		{
			name:          "duplicate names of valid policies",
			givenPolicies: []*policy.Policy{codePolicy("x", "/a"), codePolicy("x", "/b")},
			expectProblem: &expectedProblem{"x.go", "/name", `policy name "x" is also used by x.go`},
		},
		{
			name:          "policy built in code with a bad route",
			givenPolicies: []*policy.Policy{codePolicy("x", "/a/**/b")},
			expectProblem: &expectedProblem{"x.go", "/scopes/0/routes/0", "** is allowed only as the last segment"},
		},
		{
			name:          "nil policy",
			givenPolicies: []*policy.Policy{nil},
			expectProblem: &expectedProblem{"", "", "policy 0 is nil"},
		},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			set, err := policy.NewSet(tc.givenPolicies...)

			if tc.expectProblem == nil {
				if err != nil {
					t.Fatalf("expected no error, got %v", err)
				}
				var names []string
				for _, p := range set.All() {
					names = append(names, p.Name)
				}
				if !slices.Equal(names, tc.expectNames) {
					t.Errorf("expected %v, got %v", tc.expectNames, names)
				}
				return
			}
			assertProblems(t, problemsOf(t, err), []expectedProblem{*tc.expectProblem})
		})
	}
}

func TestNewSet_compilesPoliciesBuiltInCode(t *testing.T) {
	given := codePolicy("code", "/users/:userId/**")

	set, err := policy.NewSet(given)

	if err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	got := set.All()[0]
	if got == given {
		t.Errorf("expected the set to hold its own copy")
	}
	if got.File != "code.go" {
		t.Errorf("expected File to be kept, got %q", got.File)
	}
	pats := got.Scopes[0].Patterns()
	if len(pats) != 1 || !pats[0].Uses(policy.ParamUserID) {
		t.Errorf("expected one compiled :userId pattern, got %v", pats)
	}
	if len(given.Scopes[0].Patterns()) != 0 {
		t.Errorf("expected the caller's policy to be left alone")
	}
}

func TestSet_ForRoles(t *testing.T) {
	set, err := policy.LoadDir(examplesDir)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	testCases := []struct {
		name        string
		givenRoles  []string
		expectNames []string
	}{
		{name: "user", givenRoles: []string{"user"}, expectNames: []string{"member"}},
		{name: "employee", givenRoles: []string{"employee"}, expectNames: []string{"staff"}},
		{name: "sysadmin", givenRoles: []string{"sysadmin"}, expectNames: []string{"admin", "staff"}},
		{name: "several roles, name order", givenRoles: []string{"user", "sysadmin"}, expectNames: []string{"admin", "member", "staff"}},
		{name: "unknown role", givenRoles: []string{"admin"}, expectNames: nil},
		{name: "roles are case-sensitive", givenRoles: []string{"User"}, expectNames: nil},
		{name: "no roles", givenRoles: nil, expectNames: nil},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			for _, p := range set.ForRoles(tc.givenRoles) {
				names = append(names, p.Name)
			}

			if !slices.Equal(names, tc.expectNames) {
				t.Errorf("expected %v, got %v", tc.expectNames, names)
			}
		})
	}
}

func TestPolicy_AppliesToRoles(t *testing.T) {
	p := codePolicy("p")
	p.AppliesTo.UserRoles = []string{"employee", "sysadmin"}
	testCases := []struct {
		name       string
		givenRoles []string
		expect     bool
	}{
		{name: "one listed role", givenRoles: []string{"sysadmin"}, expect: true},
		{name: "a listed role among others", givenRoles: []string{"user", "employee"}, expect: true},
		{name: "no listed role", givenRoles: []string{"user"}, expect: false},
		{name: "none", givenRoles: nil, expect: false},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.AppliesToRoles(tc.givenRoles); got != tc.expect {
				t.Errorf("expected %v, got %v", tc.expect, got)
			}
		})
	}
}

func TestPolicy_Lifetime(t *testing.T) {
	testCases := []struct {
		givenExpires int
		expect       time.Duration
	}{
		{givenExpires: 10, expect: 10 * time.Second},
		{givenExpires: 900, expect: 15 * time.Minute},
		{givenExpires: 86400, expect: 24 * time.Hour},
	}
	for _, tc := range testCases {
		t.Run(strconv.Itoa(tc.givenExpires), func(t *testing.T) {
			p := &policy.Policy{Expires: tc.givenExpires}

			if got := p.Lifetime(); got != tc.expect {
				t.Errorf("expected %v, got %v", tc.expect, got)
			}
		})
	}
}

func TestSet_CheckServerID(t *testing.T) {
	withID := func(name, id string) *policy.Policy {
		p := codePolicy(name, "/a")
		p.ServerID = id
		return p
	}
	set, err := policy.NewSet(withID("a", ""), withID("b", "prod"), withID("c", "staging"))
	if err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	testCases := []struct {
		name           string
		whenID         string
		expectProblems []expectedProblem
	}{
		{
			name:   "matches prod",
			whenID: "prod",
			expectProblems: []expectedProblem{
				{"c.go", "/serverId", `serverId "staging" does not match the configured server ID "prod"`},
			},
		},
		{
			name:   "matches neither",
			whenID: "dev",
			expectProblems: []expectedProblem{
				{"b.go", "/serverId", `serverId "prod" does not match`},
				{"c.go", "/serverId", `serverId "staging" does not match`},
			},
		},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			err := set.CheckServerID(tc.whenID)

			assertProblems(t, problemsOf(t, err), tc.expectProblems)
		})
	}

	t.Run("no serverId anywhere", func(t *testing.T) {
		set, err := policy.NewSet(withID("a", ""))
		if err != nil {
			t.Fatalf("NewSet: %v", err)
		}
		if err := set.CheckServerID("anything"); err != nil {
			t.Errorf("expected nil, got %v", err)
		}
	})
}

func TestSchemaJSON(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal(policy.SchemaJSON(), &schema); err != nil {
		t.Fatalf("expected SchemaJSON to be JSON: %v", err)
	}
	if schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("expected a draft 2020-12 schema, got %v", schema["$schema"])
	}
}

func TestCompilePattern(t *testing.T) {
	testCases := []struct {
		name         string
		givenPattern string
		expectReason string // "" means valid
		expectParams []string
	}{
		{name: "root", givenPattern: "/"},
		{name: "literals", givenPattern: "/accounts/v1/users"},
		{name: "star", givenPattern: "/a/*/b"},
		{name: "double star last", givenPattern: "/a/**"},
		{name: "prefix star", givenPattern: "/a/abc*"},
		{name: "userId", givenPattern: "/users/:userId/**", expectParams: []string{policy.ParamUserID}},
		{name: "userId prefix", givenPattern: "/notes/:userId_*", expectParams: []string{policy.ParamUserID}},
		{name: "every parameter", givenPattern: "/:userId/:sessionId/:clientId/:orgId",
			expectParams: []string{policy.ParamUserID, policy.ParamSessionID, policy.ParamClientID, policy.ParamOrgID}},
		{name: "empty", givenPattern: "", expectReason: "must start with /"},
		{name: "relative", givenPattern: "a/b", expectReason: "must start with /"},
		{name: "double star not last", givenPattern: "/a/**/b", expectReason: "** is allowed only as the last segment"},
		{name: "star inside", givenPattern: "/a*b", expectReason: "* is allowed only alone or at the end of a segment"},
		{name: "triple star", givenPattern: "/a/***", expectReason: "* is allowed only alone or at the end of a segment"},
		{name: "unknown parameter", givenPattern: "/users/:unknown", expectReason: "unknown parameter :unknown"},
		{name: "parameter names are case-sensitive", givenPattern: "/users/:userid", expectReason: "unknown parameter :userid"},
		{name: "colon without name", givenPattern: "/users/:", expectReason: ": must be followed by a parameter name"},
		{name: "empty segment", givenPattern: "/a//b", expectReason: "empty segment"},
		{name: "trailing slash", givenPattern: "/a/", expectReason: "empty segment"},
		{name: "dot segment", givenPattern: "/a/./b", expectReason: ". and .. segments"},
		{name: "dot-dot segment", givenPattern: "/a/..", expectReason: ". and .. segments"},
		{name: "percent", givenPattern: "/a%2fb", expectReason: "not allowed"},
		{name: "space", givenPattern: "/a b", expectReason: "not allowed"},
		{name: "query", givenPattern: "/a?b", expectReason: "not allowed"},
		{name: "backslash", givenPattern: `/a\b`, expectReason: "not allowed"},
		{name: "invalid UTF-8", givenPattern: "/a\xff", expectReason: "UTF-8"},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := policy.CompilePattern(tc.givenPattern)

			if tc.expectReason == "" {
				if err != nil {
					t.Fatalf("expected no error, got %v", err)
				}
				if p.String() != tc.givenPattern {
					t.Errorf("expected String %q, got %q", tc.givenPattern, p.String())
				}
				for _, param := range []string{policy.ParamUserID, policy.ParamSessionID, policy.ParamClientID, policy.ParamOrgID} {
					if got, expect := p.Uses(param), slices.Contains(tc.expectParams, param); got != expect {
						t.Errorf("Uses(%q): expected %v, got %v", param, expect, got)
					}
				}
				return
			}
			if !errors.Is(err, policy.ErrBadPattern) {
				t.Fatalf("expected ErrBadPattern, got %v", err)
			}
			pe, ok := errors.AsType[*policy.PatternError](err)
			if !ok {
				t.Fatalf("expected a *PatternError, got %T", err)
			}
			if pe.Pattern != tc.givenPattern || !strings.Contains(pe.Reason, tc.expectReason) {
				t.Errorf("expected pattern %q and reason containing %q, got %+v", tc.givenPattern, tc.expectReason, pe)
			}
		})
	}
}

func orgIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "o" + strconv.Itoa(i)
	}
	return ids
}

func TestPattern_Expand(t *testing.T) {
	params := policy.Params{UserID: "42", SessionID: "s1", ClientID: "c1", OrgIDs: []string{"7", "8", "9"}}
	testCases := []struct {
		name         string
		givenPattern string
		givenParams  policy.Params
		expectRoutes []string
		expectErr    error
	}{
		{name: "no parameters", givenPattern: "/demo/v1/**", givenParams: params, expectRoutes: []string{"/demo/v1/**"}},
		{name: "userId", givenPattern: "/users/:userId/**", givenParams: params, expectRoutes: []string{"/users/42/**"}},
		{name: "userId prefix", givenPattern: "/notes/:userId_*", givenParams: params, expectRoutes: []string{"/notes/42_*"}},
		{name: "parameter used twice", givenPattern: "/:userId/x/:userId", givenParams: params, expectRoutes: []string{"/42/x/42"}},
		{name: "session and client", givenPattern: "/s/:sessionId/c/:clientId", givenParams: params, expectRoutes: []string{"/s/s1/c/c1"}},
		{name: "orgId into one route per org", givenPattern: "/orgs/:orgId/u/:userId", givenParams: params,
			expectRoutes: []string{"/orgs/7/u/42", "/orgs/8/u/42", "/orgs/9/u/42"}},
		{name: "orgId inside a segment", givenPattern: "/orgs/org-:orgId", givenParams: policy.Params{OrgIDs: []string{"7"}},
			expectRoutes: []string{"/orgs/org-7"}},
		{name: "no orgs, no routes", givenPattern: "/orgs/:orgId/**", givenParams: policy.Params{UserID: "42"}, expectRoutes: []string{}},
		{name: "exactly MaxOrgExpansion orgs", givenPattern: "/orgs/:orgId", givenParams: policy.Params{OrgIDs: orgIDs(policy.MaxOrgExpansion)}},
		{name: "too many orgs", givenPattern: "/orgs/:orgId", givenParams: policy.Params{OrgIDs: orgIDs(policy.MaxOrgExpansion + 1)},
			expectErr: policy.ErrTooManyOrgs},
		{name: "missing userId", givenPattern: "/users/:userId", givenParams: policy.Params{}, expectErr: policy.ErrBadParamValue},
		{name: "userId with a slash", givenPattern: "/users/:userId", givenParams: policy.Params{UserID: "a/b"}, expectErr: policy.ErrBadParamValue},
		{name: "userId star", givenPattern: "/users/:userId", givenParams: policy.Params{UserID: "*"}, expectErr: policy.ErrBadParamValue},
		{name: "userId double star", givenPattern: "/users/:userId", givenParams: policy.Params{UserID: "**"}, expectErr: policy.ErrBadParamValue},
		{name: "userId dot-dot", givenPattern: "/users/:userId", givenParams: policy.Params{UserID: ".."}, expectErr: policy.ErrBadParamValue},
		{name: "userId with a space", givenPattern: "/users/:userId", givenParams: policy.Params{UserID: "a b"}, expectErr: policy.ErrBadParamValue},
		{name: "userId with percent", givenPattern: "/users/:userId", givenParams: policy.Params{UserID: "%2e"}, expectErr: policy.ErrBadParamValue},
		{name: "userId with a colon", givenPattern: "/users/:userId", givenParams: policy.Params{UserID: ":orgId"}, expectErr: policy.ErrBadParamValue},
		{name: "bad org among good", givenPattern: "/orgs/:orgId", givenParams: policy.Params{OrgIDs: []string{"7", "a/b"}}, expectErr: policy.ErrBadParamValue},
		{name: "unused bad value is ignored", givenPattern: "/users/:userId", givenParams: policy.Params{UserID: "42", SessionID: "*"},
			expectRoutes: []string{"/users/42"}},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := policy.CompilePattern(tc.givenPattern)
			if err != nil {
				t.Fatalf("CompilePattern: %v", err)
			}

			routes, err := p.Expand(tc.givenParams)

			if tc.expectErr != nil {
				if !errors.Is(err, tc.expectErr) {
					t.Fatalf("expected %v, got routes %v, error %v", tc.expectErr, routes, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("expected no error, got %v", err)
			}
			if tc.expectRoutes == nil {
				tc.expectRoutes = make([]string, len(tc.givenParams.OrgIDs))
				for i, org := range tc.givenParams.OrgIDs {
					tc.expectRoutes[i] = "/orgs/" + org
				}
			}
			if !slices.Equal(routes, tc.expectRoutes) {
				t.Errorf("expected %q, got %q", tc.expectRoutes, routes)
			}
			for _, r := range routes {
				if !policy.ValidRoute(r) {
					t.Errorf("expected %q to be a valid concrete route", r)
				}
			}
		})
	}
}

// FuzzParse checks that Parse never panics, and that what it accepts
// survives a round trip through JSON unchanged.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{examplesDir, badDir} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(`{"name":"a","name":"b"}`))
	f.Add([]byte(`{"expires": 1e2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := policy.Parse("fuzz.json", data)
		if err != nil {
			problemsOf(t, err)
			return
		}
		for _, s := range p.Scopes {
			if len(s.Patterns()) != len(s.Routes) {
				t.Fatalf("scope %q: %d routes but %d patterns", s.Name, len(s.Routes), len(s.Patterns()))
			}
		}
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := policy.Parse("fuzz.json", again)
		if err != nil {
			t.Fatalf("re-encoded policy does not parse: %v\n%s", err, again)
		}
		if again2, _ := json.Marshal(q); string(again2) != string(again) {
			t.Fatalf("round trip changed the policy:\n%s\n%s", again, again2)
		}
	})
}
