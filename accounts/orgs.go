package accounts

import (
	"context"
	"errors"
	"net/http"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/db"
)

// MaxNameLength bounds names of organizations, users and clients.
const MaxNameLength = 255

// orgOut is an organization as the API shows it.
type orgOut struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedMs int64  `json:"createdMs"`
	// RequireSecondFactor: members must sign in with a second factor
	// (mfarequired.go).
	RequireSecondFactor bool `json:"requireSecondFactor"`
}

func orgJSON(o db.Organization) orgOut {
	return orgOut{Type: "organizations", ID: o.ID, Name: o.Name, CreatedMs: o.CreatedMs, RequireSecondFactor: o.RequireSecondFactor}
}

func orgsJSON(orgs []db.Organization) []orgOut {
	out := make([]orgOut, len(orgs))
	for i, o := range orgs {
		out[i] = orgJSON(o)
	}
	return out
}

// listOrganizations: STAFF see every organization, other users the ones
// they belong to.
func (s *Service) listOrganizations(r *request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	var orgs []db.Organization
	var info db.PageInfo
	if r.caller.staff() || r.caller.privileged() {
		orgs, info, err = s.management.ListOrganizations(r.ctx(), p)
	} else {
		orgs, info, err = s.management.ListUserOrganizations(r.ctx(), r.caller.User.ID, p)
	}
	if err != nil {
		return err
	}
	return collection(r, orgsJSON(orgs), p.Size, info)
}

// createOrganization creates the organization and makes the caller a
// member with every flag, in one transaction; a caller at the bound of
// memberships gets 409 TOO-MANY-MEMBERSHIPS, and one who created
// Config.MaxOrganizationsPerUser standing organizations 409
// TOO-MANY-ORGANIZATIONS (staff are exempt from the latter).
func (s *Service) createOrganization(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	b.typeIs("organizations")
	name := b.str("name", true, MaxNameLength)
	if err := b.done(); err != nil {
		return err
	}
	created := s.cfg.MaxOrganizationsPerUser
	if r.caller.staff() || r.caller.privileged() {
		created = 0
	}
	org, err := s.addOrganization(r.ctx(), actorOf(r), name, r.caller.User.ID, created)
	if err != nil {
		return err
	}
	return single(r, http.StatusCreated, orgJSON(org))
}

// addOrganization creates the organization name (checked by the caller)
// with the user ownerID as a member with every flag, in one transaction.
// An owner at the bound of memberships is 409 TOO-MANY-MEMBERSHIPS; one
// who created created standing organizations already (0: no bound) 409
// TOO-MANY-ORGANIZATIONS; a missing or deleted owner db.ErrForeignKey.
func (s *Service) addOrganization(ctx context.Context, _ actor, name, ownerID string, created int) (db.Organization, error) {
	now := s.nowMs()
	org := db.Organization{ID: s.newID(), Name: name, CreatedMs: now}
	creator := db.Membership{ID: s.newID(), OrganizationID: org.ID, UserID: ownerID,
		Read: true, Edit: true, Manage: true, Delete: true, CreatedMs: now}
	err := s.management.CreateOrganizationBounded(ctx, org, creator, s.cfg.MaxMemberships, created)
	if errors.Is(err, db.ErrMembershipLimit) {
		return db.Organization{}, membershipLimitError(false)
	}
	if errors.Is(err, db.ErrOrganizationLimit) {
		return db.Organization{}, apiError(http.StatusConflict, CodeTooManyOrganizations,
			"You created as many organizations as allowed; delete one first.")
	}
	if err != nil {
		return db.Organization{}, err
	}
	s.record(ctx, audit.Event{Type: audit.OrganizationCreated, OrgID: org.ID})
	return org, nil
}

func (s *Service) getOrganization(r *request) error {
	return single(r, http.StatusOK, orgJSON(*r.target.org))
}

func (s *Service) updateOrganization(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	b.typeIs("organizations")
	b.idIs(r.target.org.ID)
	name := b.str("name", false, MaxNameLength)
	if b.has("name") && name == "" {
		b.obstruct("name", ObstructionRequired, "name may not be empty.")
	}
	require, setRequire, err := readRequireSecondFactor(r, b) // mfaorgs.go
	if err != nil {
		return err
	}
	if err := b.done(); err != nil {
		return err
	}
	org := *r.target.org
	if name != "" {
		if err := s.management.UpdateOrganization(r.ctx(), org.ID, name); err != nil {
			return err
		}
		org.Name = name
	}
	if setRequire {
		if err := s.setOrgSecondFactor(r, &org, require); err != nil {
			return err
		}
	}
	return single(r, http.StatusOK, orgJSON(org))
}

// deleteOrganization soft-deletes the organization; its clients stop
// working at the gateways' next snapshot (announced at once with Redis).
// Its members' tokens name the organization in their orgs caveat: every
// accepted member's tokens are revoked in the same transaction, under
// each member's lock (their sessions live, and a refresh mints tokens
// without it).
func (s *Service) deleteOrganization(r *request) error {
	revs, err := s.management.DeleteOrganizationRevoking(r.ctx(), r.target.org.ID, db.Revoking{AtMs: s.nowMs(), ExpiresMs: s.revocationExpiresMs()})
	if err != nil {
		return err
	}
	s.record(r.ctx(), audit.Event{Type: audit.OrganizationDeleted, OrgID: r.target.org.ID})
	s.cfg.Announce(r.ctx())
	for i := range revs {
		s.publishRevocation(r, &revs[i])
	}
	return null(r)
}
