package accounts

import (
	"context"
	"slices"

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
				if pat.Uses(policy.ParamOrgID) {
					// Any organization: the route with its parameter
					// left in matches every one.
					if r, err := policy.NewRoutes(pat.String()); err == nil && r.MatchAnyOrg(path) {
						return true, nil
					}
					continue
				}
				concrete, err := pat.Expand(params)
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
