package policy

// MembershipFlag is one flag of an organization membership: what the
// member may do in that organization. The four flags have these names
// wherever they are written: a policy scope's "membership", the accounts
// API's membership fields and route rules, `authgw mint --org`, and (by
// their letters, FlagLetter) an orgs caveat.
type MembershipFlag string

// The membership flags. What each allows in another API is up to the
// policies that name it; in the accounts service it is as said here.
const (
	// AnyMembership is no flag: any membership of the organization will do.
	AnyMembership MembershipFlag = ""
	// FlagRead lets a member read the organization and its clients.
	FlagRead MembershipFlag = "read"
	// FlagEdit lets a member change the organization.
	FlagEdit MembershipFlag = "edit"
	// FlagManage lets a member manage its memberships and clients.
	FlagManage MembershipFlag = "manage"
	// FlagDelete lets a member delete the organization and remove members.
	FlagDelete MembershipFlag = "delete"
)

// MembershipFlags returns the four flags in the order their letters are
// written in an orgs caveat (r, e, m, d), which is also the order the
// accounts API lists a membership's fields in.
func MembershipFlags() [4]MembershipFlag {
	return [4]MembershipFlag{FlagRead, FlagEdit, FlagManage, FlagDelete}
}

// Valid reports whether f is one of the four flags (AnyMembership is
// not).
func (f MembershipFlag) Valid() bool {
	_, ok := FlagLetter(f)
	return ok
}
