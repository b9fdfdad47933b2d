package accounts

import (
	"net/http"

	"github.com/authgw/authgw/db"
)

// membershipOut is a membership as the API shows it.
type membershipOut struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	Read         bool   `json:"read"`
	Edit         bool   `json:"edit"`
	Manage       bool   `json:"manage"`
	Delete       bool   `json:"delete"`
	CreatedMs    int64  `json:"createdMs"`
	User         ref    `json:"user"`
	Organization ref    `json:"organization"`
}

func membershipJSON(m db.Membership) membershipOut {
	return membershipOut{Type: "org-memberships", ID: m.ID, Read: m.Read, Edit: m.Edit, Manage: m.Manage, Delete: m.Delete,
		CreatedMs: m.CreatedMs, User: refTo("users", m.UserID), Organization: refTo("organizations", m.OrganizationID)}
}

func membershipsJSON(ms []db.Membership) []membershipOut {
	out := make([]membershipOut, len(ms))
	for i, m := range ms {
		out[i] = membershipJSON(m)
	}
	return out
}

// flags are the four membership flags, in the order read, edit, manage,
// delete.
type flags [4]bool

var flagNames = [4]string{"read", "edit", "manage", "delete"}

func flagsOf(m db.Membership) flags { return flags{m.Read, m.Edit, m.Manage, m.Delete} }

func (f flags) apply(m *db.Membership) { m.Read, m.Edit, m.Manage, m.Delete = f[0], f[1], f[2], f[3] }

// flagFields are the flag fields a body gave; absent ones are nil.
type flagFields [4]*bool

// readFlags reads the optional flag fields.
func readFlags(b *body) flagFields {
	var f flagFields
	for i, name := range flagNames {
		if v, ok := b.boolean(name, false); ok {
			f[i] = &v
		}
	}
	return f
}

// over returns base with the given fields set.
func (f flagFields) over(base flags) flags {
	for i, v := range f {
		if v != nil {
			base[i] = *v
		}
	}
	return base
}

// mayChangeFlags is the escalation guard of membership writes. A
// privileged caller (ISC, sysadmin, employee) sets any flag. Any other
// caller may set a flag only when they hold it in this organization, and
// clear it only when they hold it or the membership is their own (a
// member may always lower their own flags). So nobody raises their own
// flags, and a manager neither grants nor strips a flag they lack.
func mayChangeFlags(c *Caller, own *db.Membership, memberID string, from, to flags) bool {
	if c.privileged() {
		return true
	}
	var held flags
	if own != nil {
		held = flagsOf(*own)
	}
	for i := range to {
		if from[i] == to[i] {
			continue
		}
		if !held[i] && (to[i] || !c.self(memberID)) {
			return false
		}
	}
	return true
}

func (s *Service) listUserMemberships(r *request) error {
	ms, err := s.cfg.Store.ListUserMemberships(r.ctx(), r.target.user.ID)
	if err != nil {
		return err
	}
	return collection(r, membershipsJSON(ms), len(ms), db.PageInfo{})
}

func (s *Service) listOrgMemberships(r *request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	ms, info, err := s.cfg.Store.ListOrgMemberships(r.ctx(), r.target.org.ID, p)
	if err != nil {
		return err
	}
	return collection(r, membershipsJSON(ms), p.Size, info)
}

// upsertMembership makes a user a member of the organization, or sets the
// flags of their membership: 201 when created, 200 when updated.
func (s *Service) upsertMembership(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	b.typeIs("org-memberships")
	userID := b.relation("user", "users", true)
	given := readFlags(b)
	if err := b.done(); err != nil {
		return err
	}
	org := r.target.org
	existing, err := s.cfg.Store.GetUserMembership(r.ctx(), org.ID, userID)
	var from flags
	created := err != nil
	switch {
	case err == nil:
		from = flagsOf(existing)
	case !isNotFound(err):
		return err
	}
	// Flags not given keep their value (false for a new membership).
	to := given.over(from)
	if !mayChangeFlags(r.caller, r.target.membership, userID, from, to) {
		return apiError(http.StatusForbidden, CodeForbidden, "You may only grant or remove membership flags you hold yourself.")
	}
	m := db.Membership{ID: s.newID(), OrganizationID: org.ID, UserID: userID, CreatedMs: s.nowMs()}
	to.apply(&m)
	stored, err := s.cfg.Store.UpsertMembership(r.ctx(), m)
	if isForeignKey(err) {
		return apiError(http.StatusBadRequest, CodeInvalidData, "The user does not exist.")
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return single(r, status, membershipJSON(stored))
}

// updateMembership sets some flags of a membership.
func (s *Service) updateMembership(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	m := *r.target.member
	b.typeIs("org-memberships")
	b.idIs(m.ID)
	from := flagsOf(m)
	to := readFlags(b).over(from)
	if err := b.done(); err != nil {
		return err
	}
	if !mayChangeFlags(r.caller, r.target.membership, m.UserID, from, to) {
		return apiError(http.StatusForbidden, CodeForbidden, "You may lower your own flags, and change others' only for flags you hold yourself.")
	}
	if err := s.cfg.Store.UpdateMembershipFlags(r.ctx(), m.ID, to[0], to[1], to[2], to[3]); err != nil {
		return err
	}
	to.apply(&m)
	return single(r, http.StatusOK, membershipJSON(m))
}

func (s *Service) deleteMembership(r *request) error {
	if err := s.cfg.Store.DeleteMembership(r.ctx(), r.target.member.ID); err != nil {
		return err
	}
	return null(r)
}
