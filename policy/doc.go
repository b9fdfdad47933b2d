// Package policy reads authgw's scope policies and owns the route-pattern
// language they use.
//
// A policy is a JSON file (see schema.json in this directory) that grants
// HTTP methods on route patterns to users with given roles. The package
// loads and validates those files, compiles their patterns once,
// substitutes the mint-time parameters (:userId, :sessionId, :clientId)
// and matches the resulting token routes against request paths. :orgId
// stays in a token route as an organization parameter (:orgIdRead, ...,
// after the scope's membership flag) and matches an organization the
// token's orgs caveats grant (OrgGrants), so a token does not grow by a
// route per organization.
//
// The route-pattern grammar has one scanner, in three modes: policy
// patterns (CompilePattern), token routes (ParseRoutes, the routes
// caveat) and concrete routes (NewRoutes, a public scope). Matching goes
// through Routes, a compiled list that only ParseRoutes and NewRoutes
// can build, so no caller can match against a route the grammar refused.
//
// Matching is only defined on canonical paths: CanonicalPath rejects every
// path whose meaning could differ between authgw and a backend (empty,
// dot and dot-dot segments, encoded separators, control bytes, bad
// percent-encoding), so the path that was judged is the path that is
// served. Patterns match the percent-decoded segments of a canonical path.
package policy
