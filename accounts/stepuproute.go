package accounts

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/authgw/authgw/policy"
)

// StepUpRoute reports whether the policies of the user's roles keep
// method on path (a canonical request path, such as
// /accounts/v1/users/<id>/emails/<emailId>) under a step-up, as the mint
// would for a session of sessionID. It is for callers that act on the API
// in-process with the claims the gateway verified for another route (the
// account pages): the gateway's step-up never sees their call, so they
// must ask what the route would. A path that is not canonical is reported
// as under a step-up (nothing should act on it without one). Routes of an
// organization parameter match every organization, whatever the
// memberships: the answer errs towards asking.
func (s *Service) StepUpRoute(ctx context.Context, userID, sessionID, method, path string) (bool, error) {
	if policy.CanonicalPath(path) != nil {
		return true, nil
	}
	u, err := s.logins.GetUser(ctx, userID)
	if err != nil {
		return false, err
	}
	params := policy.Params{UserID: userID, SessionID: sessionID}
	for _, p := range s.cfg.Policies().ForRoles(u.Roles) {
		for _, sc := range p.Scopes {
			if sc.StepUp == 0 || !slices.Contains(sc.Methods, method) {
				continue
			}
			for _, pat := range sc.Patterns() {
				p := params
				if pat.Uses(policy.ParamOrgID) {
					// Any organization, whatever the memberships: each
					// segment of the path stands in as one.
					p.OrgIDs = orgCandidates(path)
				}
				concrete, err := pat.Expand(p)
				if err != nil {
					continue // a parameter the session cannot give (:clientId): not this session's route
				}
				if r, err := policy.NewRoutes(concrete...); err == nil && r.MatchAnyOrg(path) {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// orgCandidates returns the segments of path that could be an
// organization ID (decoded, of the bytes policy.Params.OrgIDs allows),
// each once. path is canonical: it decodes, and has no dot segment.
func orgCandidates(path string) []string {
	var out []string
	for _, raw := range strings.Split(path, "/") {
		seg, err := url.PathUnescape(raw)
		if err != nil || seg == "" || slices.Contains(out, seg) || len(out) == policy.MaxOrgExpansion {
			continue
		}
		ok := true
		for i := 0; i < len(seg) && ok; i++ {
			c := seg[i]
			ok = c == '-' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		}
		if ok {
			out = append(out, seg)
		}
	}
	return out
}
