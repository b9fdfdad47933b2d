package accounts

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/policy"
)

// DefaultMaxMemberships is the default of Config.MaxMemberships: the
// organizations a user may belong to, and the invitations that may wait
// for them. At this bound, with every flag in every organization and
// every role, a user's largest token with the shipped policies is about
// 3,300 bytes, under the mint's 3,800 (the memberships are one compact
// caveat, about 56 encoded bytes each, not one route per organization).
const DefaultMaxMemberships = 25

// membershipOut is a membership as the API shows it. Pending is an
// invitation the user has not accepted: it grants nothing yet.
type membershipOut struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	Read         bool   `json:"read"`
	Edit         bool   `json:"edit"`
	Manage       bool   `json:"manage"`
	Delete       bool   `json:"delete"`
	Pending      bool   `json:"pending"`
	CreatedMs    int64  `json:"createdMs"`
	User         ref    `json:"user"`
	Organization ref    `json:"organization"`
}

func membershipJSON(m db.Membership) membershipOut {
	return membershipOut{Type: "org-memberships", ID: m.ID, Read: m.Read, Edit: m.Edit, Manage: m.Manage, Delete: m.Delete,
		Pending: m.Pending, CreatedMs: m.CreatedMs, User: refTo("users", m.UserID), Organization: refTo("organizations", m.OrganizationID)}
}

func membershipsJSON(ms []db.Membership) []membershipOut {
	out := make([]membershipOut, len(ms))
	for i, m := range ms {
		out[i] = membershipJSON(m)
	}
	return out
}

// flags are the four membership flags, in the order of
// policy.MembershipFlags (read, edit, manage, delete).
type flags [4]bool

func flagsOf(m db.Membership) flags { return flags{m.Read, m.Edit, m.Manage, m.Delete} }

func (f flags) apply(m *db.Membership) { m.Read, m.Edit, m.Manage, m.Delete = f[0], f[1], f[2], f[3] }

// lowers reports whether going from f to to clears a flag: the tokens
// minted with f may then grant more than the member now has.
func (f flags) lowers(to flags) bool {
	for i := range f {
		if f[i] && !to[i] {
			return true
		}
	}
	return false
}

// flagFields are the flag fields a body gave; absent ones are nil.
type flagFields [4]*bool

// readFlags reads the optional flag fields.
func readFlags(b *body) flagFields {
	var f flagFields
	for i, name := range policy.MembershipFlags() {
		if v, ok := b.boolean(string(name), false); ok {
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

// membershipLimitError is the answer to a membership past the bound.
func membershipLimitError(pending bool) error {
	if pending {
		return apiError(http.StatusConflict, CodeTooManyMemberships,
			"The user has as many pending invitations as allowed; they must accept or decline some first.")
	}
	return apiError(http.StatusConflict, CodeTooManyMemberships,
		"The user belongs to as many organizations as allowed; they must leave one first.")
}

// publishRevocation tells the gateways at once of a revocation the store
// wrote with a lowering change (they would also read it from the feed).
// A lowered membership refuses the member's tokens minted from inputs
// read before the change, but does not end their sessions: their next
// refresh mints tokens with the memberships they have now, and passes
// (see db.MintInputs: the floor orders them, so even a refresh in the
// change's millisecond is not refused).
func (s *Service) publishRevocation(r *request, rev *db.Revocation) {
	if rev != nil {
		s.cfg.Revoked(r.ctx(), *rev)
	}
}

func (s *Service) listUserMemberships(r *request) error {
	ms, err := s.management.ListUserMemberships(r.ctx(), r.target.user.ID)
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
	ms, info, err := s.management.ListOrgMemberships(r.ctx(), r.target.org.ID, p)
	if err != nil {
		return err
	}
	return collection(r, membershipsJSON(ms), p.Size, info)
}

// upsertMembership makes a user a member of the organization, or sets the
// flags of their membership: 201 when created, 200 when updated.
//
// Nobody is made a member without consent: a caller who is not
// privileged (ISC, sysadmin, employee) creates an invitation (pending),
// which grants nothing until the user accepts it. A membership past the
// bound is refused here, when it is made.
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
	existing, err := s.management.GetUserMembership(r.ctx(), org.ID, userID)
	switch {
	case err == nil:
		return s.setMembershipFlags(r, existing, given.over(flagsOf(existing)))
	case !isNotFound(err):
		return err
	}
	// Flags not given are false for a new membership.
	to := given.over(flags{})
	if !mayChangeFlags(r.caller, r.target.membership, userID, flags{}, to) {
		return apiError(http.StatusForbidden, CodeForbidden, "You may only grant or remove membership flags you hold yourself.")
	}
	m := db.Membership{ID: s.newID(), OrganizationID: org.ID, UserID: userID, CreatedMs: s.nowMs(), Pending: !r.caller.privileged()}
	if m.Pending && r.caller.User != nil {
		m.InvitedBy = r.caller.User.ID
	}
	to.apply(&m)
	err = s.management.AddMembership(r.ctx(), m, s.cfg.MaxMemberships)
	switch {
	case isForeignKey(err):
		return apiError(http.StatusBadRequest, CodeInvalidData, "The user does not exist.")
	case errors.Is(err, db.ErrMembershipLimit):
		return membershipLimitError(m.Pending)
	case errors.Is(err, db.ErrInviterLimit):
		return apiError(http.StatusConflict, CodeTooManyMemberships,
			fmt.Sprintf("You already have %d invitations waiting for this user; they must accept or decline one first.", db.MaxInvitationsPerInviter))
	case errors.Is(err, db.ErrDuplicate):
		return apiError(http.StatusConflict, CodeConflict, "The user was made a member at the same time; try again.")
	case err != nil:
		return err
	}
	s.record(r.ctx(), audit.Event{Type: audit.MembershipAdded, SubjectUserID: m.UserID, OrgID: m.OrganizationID,
		Data: map[string]string{"membership": m.ID, "flags": to.String(), "pending": strconv.FormatBool(m.Pending)}})
	return single(r, http.StatusCreated, membershipJSON(m))
}

// setMembershipFlags is the update half of upsertMembership. A
// privileged caller's write to a pending invitation also accepts it (they
// may add members directly).
func (s *Service) setMembershipFlags(r *request, m db.Membership, to flags) error {
	from := flagsOf(m)
	if !mayChangeFlags(r.caller, r.target.membership, m.UserID, from, to) {
		return apiError(http.StatusForbidden, CodeForbidden, "You may only grant or remove membership flags you hold yourself.")
	}
	if m.Pending && r.caller.privileged() {
		err := s.management.AcceptMembership(r.ctx(), m.ID, s.cfg.MaxMemberships)
		if errors.Is(err, db.ErrMembershipLimit) {
			return membershipLimitError(false)
		}
		if err != nil {
			return err
		}
		m.Pending = false
		s.record(r.ctx(), audit.Event{Type: audit.MembershipAccepted, SubjectUserID: m.UserID, OrgID: m.OrganizationID,
			Data: map[string]string{"membership": m.ID}})
	}
	if err := s.writeFlags(r, m, to); err != nil {
		return err
	}
	to.apply(&m)
	return single(r, http.StatusOK, membershipJSON(m))
}

// writeFlags stores the flags of m; when that clears a flag of an
// accepted membership (judged by the store, on the membership as it is
// under the user's lock), the member's tokens are revoked in the same
// transaction.
func (s *Service) writeFlags(r *request, m db.Membership, to flags) error {
	_, rev, err := s.management.SetMembershipFlags(r.ctx(), m.ID, db.MembershipFlags{Read: to[0], Edit: to[1], Manage: to[2], Delete: to[3]}, db.Revoking{AtMs: s.nowMs(), ExpiresMs: s.revocationExpiresMs()})
	if err != nil {
		return err
	}
	s.record(r.ctx(), audit.Event{Type: audit.MembershipChanged, SubjectUserID: m.UserID, OrgID: m.OrganizationID,
		Data: map[string]string{"membership": m.ID, "flags": to.String()}})
	s.publishRevocation(r, rev)
	return nil
}

// String lists the flags held, comma-separated in the order read, edit,
// manage, delete ("" for none): the audit log's form.
func (f flags) String() string {
	var held []string
	for i, name := range []string{"read", "edit", "manage", "delete"} {
		if f[i] {
			held = append(held, name)
		}
	}
	return strings.Join(held, ",")
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
	if err := s.writeFlags(r, m, to); err != nil {
		return err
	}
	to.apply(&m)
	return single(r, http.StatusOK, membershipJSON(m))
}

// acceptMembership is the invitee's consent: the pending invitation
// becomes a membership, unless the user is at the bound (409
// TOO-MANY-MEMBERSHIPS). Accepting an accepted membership changes
// nothing.
func (s *Service) acceptMembership(r *request) error {
	m := *r.target.member
	err := s.management.AcceptMembership(r.ctx(), m.ID, s.cfg.MaxMemberships)
	if errors.Is(err, db.ErrMembershipLimit) {
		return membershipLimitError(false)
	}
	if err != nil {
		return err
	}
	if m.Pending {
		s.record(r.ctx(), audit.Event{Type: audit.MembershipAccepted, SubjectUserID: m.UserID, OrgID: m.OrganizationID,
			Data: map[string]string{"membership": m.ID}})
	}
	m.Pending = false
	return single(r, http.StatusOK, membershipJSON(m))
}

// deleteMembership removes a membership (the member leaving, or removed)
// or an invitation (declined or withdrawn). Removing an accepted
// membership revokes the member's tokens; removing the organization's
// last accepted manager withdraws its pending invitations (an
// organization nobody manages cannot stand behind them: otherwise a
// stranger could create organizations, invite a user and leave, and
// fill the user's invitation bound without filling his own).
func (s *Service) deleteMembership(r *request) error {
	m := *r.target.member
	rev, err := s.management.RemoveMembership(r.ctx(), m.ID, db.Revoking{AtMs: s.nowMs(), ExpiresMs: s.revocationExpiresMs()})
	if err != nil {
		return err
	}
	s.record(r.ctx(), audit.Event{Type: audit.MembershipRemoved, SubjectUserID: m.UserID, OrgID: m.OrganizationID,
		Data: map[string]string{"membership": m.ID}})
	s.publishRevocation(r, rev)
	return null(r)
}
