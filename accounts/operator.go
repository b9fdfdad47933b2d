package accounts

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/db"
)

// actor is who acts, handed to the functions that the API's handlers and
// the Operator share (setBanned, grantUserRole, addClient, ...), so that
// whatever they record about an action names the right one: the caller
// of an API request, or the operator at the command line.
type actor struct {
	// caller is the request's caller; nil for the operator.
	caller *Caller
	// operator names the operator when caller is nil: OperatorActor.
	operator string
}

// actorOf is the actor of an API request: its caller.
func actorOf(r *request) actor { return actor{caller: r.caller} }

// OperatorActor names the actor of what an Operator does: the operator
// at the command line, who has no user and no client.
const OperatorActor = "cli"

// OperatorConfig configures an Operator.
type OperatorConfig struct {
	// Store is the SQL store. Required.
	Store Store
	// Revoked tells every gateway at once that a session or a user's
	// tokens are revoked, as Config.Revoked. Optional.
	Revoked func(ctx context.Context, r db.Revocation)
	// Announce tells every gateway that clients changed, as
	// Config.Announce. Optional.
	Announce func(ctx context.Context)
	// MaxTokenLifetime is how long the revocations written are kept
	// beyond the verifier's skew, as Config.MaxTokenLifetime. The command
	// line does not know the policies' lifetimes: give an upper bound.
	// Optional. Default DefaultMaxTokenLifetime.
	MaxTokenLifetime time.Duration
	// MaxMemberships bounds an organization owner's memberships, as
	// Config.MaxMemberships. Optional. Default DefaultMaxMemberships.
	MaxMemberships int
	// Logger, Now and Rand as in Config. Optional.
	Logger *slog.Logger
	Now    func() time.Time
	Rand   io.Reader
}

// Operator carries out the accounts API's management actions for the
// operator of the command line (authgw users, clients, orgs), through
// the functions the API's handlers call, so that an action has the same
// checks and effects however it is taken: a ban ends the user's
// sessions and tells the gateways, a restriction is checked and stored
// in the form the gateway matches, a client secret is stored only as its
// hash. The operator has every right a sysadmin has through the API, and
// the rule that keeps a sysadmin from locking everyone out: a sysadmin
// never bans themselves or takes their own role, so through the API one
// unbanned sysadmin always remains; the Operator refuses to ban or take
// the role from the last one.
//
// Every refusal is an *envelope.Error with the status and code the API
// would answer (400 for a value the rules refuse, 404, 409).
type Operator struct {
	s *Service
}

// NewOperator returns an Operator. It fails when Store is missing or a
// bound is negative.
func NewOperator(cfg OperatorConfig) (*Operator, error) {
	if cfg.Store == nil {
		return nil, errors.New("accounts: OperatorConfig.Store is required")
	}
	if cfg.MaxTokenLifetime < 0 || cfg.MaxMemberships < 0 {
		return nil, errors.New("accounts: OperatorConfig.MaxTokenLifetime and MaxMemberships may not be negative")
	}
	c := Config{Store: cfg.Store, Revoked: cfg.Revoked, Announce: cfg.Announce, MaxTokenLifetime: cfg.MaxTokenLifetime,
		MaxMemberships: cfg.MaxMemberships, Logger: cfg.Logger, Now: cfg.Now, Rand: cfg.Rand}
	if c.Revoked == nil {
		c.Revoked = func(context.Context, db.Revocation) {}
	}
	if c.Announce == nil {
		c.Announce = func(context.Context) {}
	}
	if c.MaxTokenLifetime == 0 {
		c.MaxTokenLifetime = DefaultMaxTokenLifetime
	}
	if c.MaxMemberships == 0 {
		c.MaxMemberships = DefaultMaxMemberships
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	// The audit log records what the operator does as the API's handlers
	// would, with no actor: the command line has no user or client.
	recorder, err := audit.New(audit.Config{Store: cfg.Store, Logger: c.Logger, Now: c.Now, Rand: c.Rand})
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return &Operator{s: &Service{cfg: c, logins: cfg.Store, management: cfg.Store, recorder: recorder, audits: cfg.Store}}, nil
}

// operator is the actor of every Operator action.
var operator = actor{operator: OperatorActor}

// user returns the live user id, or a 404 error.
func (o *Operator) user(ctx context.Context, id string) (db.User, error) {
	u, err := o.s.management.GetUser(ctx, id)
	if isNotFound(err) || errors.Is(err, db.ErrInvalid) {
		return db.User{}, apiError(http.StatusNotFound, CodeNotFound, fmt.Sprintf("No user %s.", id))
	}
	return u, err
}

// Ban bans the user id as PATCH /users/:id {"banned":true} does: every
// session of the user ends and the gateways refuse the user's tokens. A
// banned user is left as it is. It returns the user. It fails with 404
// for no such user, 409 LAST-SYSADMIN when the user is the last unbanned
// sysadmin, or a store error.
func (o *Operator) Ban(ctx context.Context, id string) (db.User, error) {
	u, err := o.user(ctx, id)
	if err != nil {
		return db.User{}, err
	}
	if u.BannedMs == 0 && slices.Contains(u.Roles, db.RoleSysadmin) {
		if err := o.requireOtherSysadmin(ctx, u.ID, "ban"); err != nil {
			return db.User{}, err
		}
	}
	if err := o.s.setBanned(ctx, operator, &u, true); err != nil {
		return db.User{}, err
	}
	return u, nil
}

// Unban lifts the user's ban as PATCH /users/:id {"banned":false} does;
// the user signs in again (the sessions the ban ended stay ended). It
// returns the user and fails as Ban does, without the sysadmin rule.
func (o *Operator) Unban(ctx context.Context, id string) (db.User, error) {
	u, err := o.user(ctx, id)
	if err != nil {
		return db.User{}, err
	}
	if err := o.s.setBanned(ctx, operator, &u, false); err != nil {
		return db.User{}, err
	}
	return u, nil
}

// CheckUserRole refuses, with a 400 *envelope.Error, a name that is not
// a user role (sysadmin, employee, user), as POST /users/:id/roles does.
func CheckUserRole(role string) error {
	if !slices.Contains(userRoles, role) {
		return apiError(http.StatusBadRequest, CodeInvalidData, fmt.Sprintf("The role %q is not one of %s.", role, strings.Join(userRoles, ", ")))
	}
	return nil
}

// GrantRole gives the user id the role as POST /users/:id/roles does; the
// user's tokens get its policies at their next refresh. It fails with 400
// for a role other than sysadmin, employee and user, 404 for no such
// user, and 409 DUPLICATE when the user has it already.
func (o *Operator) GrantRole(ctx context.Context, id, role string) error {
	if err := CheckUserRole(role); err != nil {
		return err
	}
	if _, err := o.user(ctx, id); err != nil {
		return err
	}
	return o.s.grantUserRole(ctx, operator, id, role)
}

// TakeRole takes the role from the user id as DELETE
// /users/:id/roles/:role does: every session of the user ends, so that no
// token keeps the role's policies. It fails with 400 for a role other
// than sysadmin, employee and user, 404 for no such user or a role the
// user lacks, and 409 LAST-SYSADMIN for the sysadmin role of the last
// unbanned sysadmin.
func (o *Operator) TakeRole(ctx context.Context, id, role string) error {
	if err := CheckUserRole(role); err != nil {
		return err
	}
	u, err := o.user(ctx, id)
	if err != nil {
		return err
	}
	if !slices.Contains(u.Roles, role) {
		return apiError(http.StatusNotFound, CodeNotFound, fmt.Sprintf("The user does not have the role %s.", role))
	}
	if role == db.RoleSysadmin && u.BannedMs == 0 {
		if err := o.requireOtherSysadmin(ctx, u.ID, "take the sysadmin role from"); err != nil {
			return err
		}
	}
	return o.s.takeUserRole(ctx, operator, id, role)
}

// CodeLastSysadmin: the action would leave no unbanned sysadmin.
const CodeLastSysadmin = "LAST-SYSADMIN"

// requireOtherSysadmin fails with 409 LAST-SYSADMIN unless a live,
// unbanned sysadmin other than userID exists. It reads users page by
// page until it finds one. Two operators acting at once on the last two
// sysadmins could both pass: the check is not a lock.
func (o *Operator) requireOtherSysadmin(ctx context.Context, userID, what string) error {
	p := db.Page{Size: db.MaxPageSize}
	for {
		users, info, err := o.s.management.ListUsers(ctx, p)
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.ID != userID && u.BannedMs == 0 && slices.Contains(u.Roles, db.RoleSysadmin) {
				return nil
			}
		}
		if info.Next == "" || len(users) == 0 {
			return apiError(http.StatusConflict, CodeLastSysadmin,
				fmt.Sprintf("The user is the last unbanned sysadmin: give another user the role first, then %s this one.", what))
		}
		p.Cursor = info.Next
	}
}

// checkName refuses a name the API would refuse in a body: empty, longer
// than MaxNameLength characters, or with a control character.
func checkName(field, v string) error {
	switch {
	case v == "":
		return apiError(http.StatusBadRequest, CodeInvalidData, field+" may not be empty.")
	case !utf8.ValidString(v):
		return apiError(http.StatusBadRequest, CodeInvalidData, field+" is not valid UTF-8.")
	case utf8.RuneCountInString(v) > MaxNameLength:
		return apiError(http.StatusBadRequest, CodeInvalidData, fmt.Sprintf("%s is longer than %d characters.", field, MaxNameLength))
	case hasControl(v):
		return apiError(http.StatusBadRequest, CodeInvalidData, field+" may not contain control characters.")
	}
	return nil
}

// organization returns the live organization id, or a 404 error.
func (o *Operator) organization(ctx context.Context, id string) (db.Organization, error) {
	org, err := o.s.management.GetOrganization(ctx, id)
	if isNotFound(err) || errors.Is(err, db.ErrInvalid) {
		return db.Organization{}, apiError(http.StatusNotFound, CodeNotFound, fmt.Sprintf("No organization %s.", id))
	}
	return org, err
}

// client returns the live client id, or a 404 error.
func (o *Operator) client(ctx context.Context, id string) (db.Client, error) {
	c, err := o.s.management.GetClient(ctx, id)
	if isNotFound(err) || errors.Is(err, db.ErrInvalid) || (err == nil && c.DeletedMs != 0) {
		return db.Client{}, apiError(http.StatusNotFound, CodeNotFound, fmt.Sprintf("No client %s.", id))
	}
	return c, err
}

// CreateClient creates a client of the organization orgID as POST
// /organizations/:id/clients does for staff: the role external, a new
// secret, reqsPerSec as given (DefaultReqsPerSec is the API's default;
// db.UnlimitedReqsPerSec lifts the limit), no bound on the
// organization's clients. It returns the client and its secret, to be
// shown once: only its hash is stored. It fails with 400 for a bad name
// or rate and 404 for no such organization.
func (o *Operator) CreateClient(ctx context.Context, orgID, name string, reqsPerSec int) (db.Client, string, error) {
	if err := checkName("name", name); err != nil {
		return db.Client{}, "", err
	}
	if reqsPerSec < db.UnlimitedReqsPerSec || reqsPerSec > MaxReqsPerSec {
		return db.Client{}, "", apiError(http.StatusBadRequest, CodeInvalidData,
			fmt.Sprintf("reqsPerSec is from %d (no limit) to %d.", db.UnlimitedReqsPerSec, MaxReqsPerSec))
	}
	if _, err := o.organization(ctx, orgID); err != nil {
		return db.Client{}, "", err
	}
	return o.s.addClient(ctx, operator, db.Client{OrganizationID: orgID, Name: name, ReqsPerSec: reqsPerSec}, clientOIDCIn{}, 0)
}

// RotateClientSecret gives the client id a new secret as POST
// .../clients/:id/refresh-secret does and returns it, to be shown once;
// the old one stops working when the gateways reload their snapshot (at
// once when told through Announce). It fails with 404 for no such client.
func (o *Operator) RotateClientSecret(ctx context.Context, id string) (string, error) {
	c, err := o.client(ctx, id)
	if err != nil {
		return "", err
	}
	return o.s.rotateClientSecret(ctx, operator, c)
}

// Restrictions returns the access restrictions of the client id. It fails
// with 404 for no such client.
func (o *Operator) Restrictions(ctx context.Context, id string) ([]db.Restriction, error) {
	if _, err := o.client(ctx, id); err != nil {
		return nil, err
	}
	return o.s.management.ListRestrictions(ctx, id)
}

// Restrict adds an access restriction to the client id as POST
// .../access-restrictions does: typ is db.RestrictionIP (an address or
// CIDR), RestrictionHost (a host name, "*.example.com" for the names under
// it) or RestrictionAPI (the name of a registered API, or "accounts"); the
// value is stored in the form the gateway matches. It fails with 400 for
// a value or type the rules refuse, 404 for no such client and 409 for a
// restriction the client has already.
func (o *Operator) Restrict(ctx context.Context, id, typ, value string) (db.Restriction, error) {
	if _, err := o.client(ctx, id); err != nil {
		return db.Restriction{}, err
	}
	value, problem, err := o.s.normalizeRestriction(ctx, typ, value)
	if err != nil {
		return db.Restriction{}, err
	}
	if problem != "" {
		return db.Restriction{}, apiError(http.StatusBadRequest, CodeInvalidData, problem)
	}
	x, err := o.s.addClientRestriction(ctx, operator, id, typ, value)
	if isDuplicate(err) {
		return db.Restriction{}, apiError(http.StatusConflict, CodeDuplicate, "The client has this restriction already.")
	}
	return x, err
}

// Unrestrict deletes the access restriction restrictionID of the client
// id as DELETE .../access-restrictions/:id does. It fails with 404 for no
// such client or restriction.
func (o *Operator) Unrestrict(ctx context.Context, id, restrictionID string) error {
	if _, err := o.client(ctx, id); err != nil {
		return err
	}
	err := o.s.removeClientRestriction(ctx, operator, id, restrictionID, true)
	if errors.Is(err, ErrHidden) || isNotFound(err) {
		return apiError(http.StatusNotFound, CodeNotFound, fmt.Sprintf("The client has no restriction %s.", restrictionID))
	}
	return err
}

// CreateOrganization creates the organization name as POST
// /organizations does, with the user ownerID as its member with every
// flag (through the API, the caller), without the bound on organizations
// created (staff are exempt). It fails with 400 for a bad name, 404 for
// no such owner, and 409 TOO-MANY-MEMBERSHIPS for an owner at the bound.
func (o *Operator) CreateOrganization(ctx context.Context, name, ownerID string) (db.Organization, error) {
	if err := checkName("name", name); err != nil {
		return db.Organization{}, err
	}
	if _, err := o.user(ctx, ownerID); err != nil {
		return db.Organization{}, err
	}
	return o.s.addOrganization(ctx, operator, name, ownerID, 0)
}
