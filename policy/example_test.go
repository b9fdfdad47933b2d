package policy_test

import (
	"fmt"
	"log"

	"github.com/authgw/authgw/policy"
)

// A policy is parsed and validated once; its patterns, with the mint-time
// parameters substituted, become token routes that match request paths.
func ExampleParse() {
	p, err := policy.Parse("notes.json", []byte(`{
  "name": "notes",
  "appliesTo": {"userRoles": ["user"]},
  "expires": 900,
  "scopes": [{"name": "own notes", "routes": ["/notes/v1/users/:userId/**"], "methods": ["GET", "POST"]}]
}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Name, p.AppliesToRoles([]string{"user"}), p.Lifetime())

	pat := p.Scopes[0].Patterns()[0]
	concrete, err := pat.Expand(policy.Params{UserID: "42", SessionID: "s1"})
	if err != nil {
		log.Fatal(err)
	}
	routes, err := policy.NewRoutes(concrete...)
	if err != nil {
		log.Fatal(err)
	}
	for _, path := range []string{"/notes/v1/users/42/n1", "/notes/v1/users/42", "/notes/v1/users/43/n1", "/notes/v1/users/420"} {
		fmt.Println(path, routes.Match(path))
	}
	// Output:
	// notes true 15m0s
	// /notes/v1/users/42/n1 true
	// /notes/v1/users/42 true
	// /notes/v1/users/43/n1 false
	// /notes/v1/users/420 false
}

// A routes caveat is compiled once with ParseRoutes; an organization
// parameter matches only the organizations the token's orgs caveats
// list with its flag.
func ExampleParseRoutes() {
	routes, err := policy.ParseRoutes("/reports/v1/orgs/:orgIdRead/** /status")
	if err != nil {
		log.Fatal(err)
	}
	orgs := policy.OrgGrants{"org-a:r org-b"}
	for _, path := range []string{"/reports/v1/orgs/org-a/q1", "/reports/v1/orgs/org-b/q1", "/status"} {
		fmt.Println(path, routes.MatchOrgs(path, orgs))
	}
	_, err = policy.ParseRoutes("/users/:userId/**")
	fmt.Println(err)
	// Output:
	// /reports/v1/orgs/org-a/q1 true
	// /reports/v1/orgs/org-b/q1 false
	// /status true
	// route pattern "/users/:userId/**": parameter :userId cannot stay in a token route (only :orgId, :orgIdRead, :orgIdEdit, :orgIdManage and :orgIdDelete do)
}
