package accounts

import (
	"net/http"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/policy"
)

// readRequireSecondFactor reads the optional requireSecondFactor of PATCH
// /organizations/:id. Setting it needs orgRole(manage) (who may manage
// the organization's members and clients may decide how they sign in):
// anyone else who sends it gets 403, whatever its value.
func readRequireSecondFactor(r *request, b *body) (v, given bool, err error) {
	if !b.has("requireSecondFactor") {
		return false, false, nil
	}
	if !orgRole(policy.FlagManage)(r.caller, &r.target) {
		return false, false, apiError(http.StatusForbidden, CodeForbidden,
			"Only who may manage the organization (orgRole(manage)) may set requireSecondFactor.")
	}
	v, ok := b.boolean("requireSecondFactor", false)
	return v, ok, nil
}

// setOrgSecondFactor sets whether the organization requires a second
// factor of its members. Their sessions go on: each member's next
// sign-in enforces it (mfarequired.go).
func (s *Service) setOrgSecondFactor(r *request, org *db.Organization, required bool) error {
	if err := s.management.SetOrganizationSecondFactor(r.ctx(), org.ID, required); err != nil {
		return err
	}
	if org.RequireSecondFactor != required {
		s.cfg.Logger.Info("accounts: an organization's second-factor requirement changed", "org", org.ID, "required", required,
			"by", r.caller.userID(), "client", r.caller.ClientID)
	}
	org.RequireSecondFactor = required
	return nil
}
