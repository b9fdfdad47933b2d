package accounts

import (
	"slices"

	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/db"
)

// checkNewPassword applies the password policy to the new password pw
// of the body's field, as a WEAK-PASSWORD obstruction. The context
// words are personal (the user's name and addresses, as the caller
// knows them) and the names of the organizations around the request:
// the calling client's organization and, for an existing user (the
// request's target), the organizations the user belongs to. When the
// policy passes and Config.BreachedPasswords is set, the password is
// looked up there too.
//
// Both lookups are supplementary and fail open: an organization that
// cannot be read leaves its name out, and a breached-password corpus
// that cannot be read lets the password through; each failure is
// logged as a warning. The length, common-password and personal-word
// rules always apply, and refusing every new password while a disk is
// sick would lock out registration and password changes (the change a
// user makes when they fear a leak) for a check that only narrows what
// the others already bound.
func (s *Service) checkNewPassword(r *request, b *body, field, pw string, personal ...string) {
	context := slices.Concat(personal, s.orgNamesAround(r))
	err := password.CheckPolicy(pw, context...)
	if err == nil && s.cfg.BreachedPasswords != nil {
		breached, berr := s.cfg.BreachedPasswords.Breached(r.ctx(), pw)
		switch {
		case berr != nil:
			s.cfg.Logger.Warn("accounts: breached-password check failed; the password is accepted without it", "err", berr)
		case breached:
			err = password.ErrBreached
		}
	}
	if err != nil {
		// The policy's errors never repeat the password.
		b.obstruct(field, ObstructionWeakPassword, field+" is refused: "+err.Error()+".")
	}
}

// maxContextOrgs bounds the organizations of a user whose names are
// context words: one page.
const maxContextOrgs = db.MaxPageSize

// orgNamesAround returns the names of the calling client's organization
// and of the target user's organizations (at most maxContextOrgs).
// Failures are logged and leave names out.
func (s *Service) orgNamesAround(r *request) []string {
	var names []string
	warn := func(err error) {
		s.cfg.Logger.Warn("accounts: an organization's name could not be read for the password policy", "err", err)
	}
	if id := r.caller.ClientID; id != "" {
		switch c, err := s.management.GetClient(r.ctx(), id); {
		case err != nil:
			if !isNotFound(err) {
				warn(err)
			}
		default:
			switch org, err := s.management.GetOrganization(r.ctx(), c.OrganizationID); {
			case err != nil:
				if !isNotFound(err) {
					warn(err)
				}
			default:
				names = append(names, org.Name)
			}
		}
	}
	if u := r.target.user; u != nil {
		orgs, _, err := s.management.ListUserOrganizations(r.ctx(), u.ID, db.Page{Size: maxContextOrgs})
		if err != nil {
			warn(err)
		}
		for _, org := range orgs {
			names = append(names, org.Name)
		}
	}
	return names
}
