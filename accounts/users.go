package accounts

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/accounts/notify/mailtemplate"
	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/db"
)

// userRoles are the roles a user may be given (the README's "Authorization" table).
var userRoles = []string{db.RoleSysadmin, db.RoleEmployee, db.RoleUser}

// userOut is a user as the API shows it; 2fa says whether TOTP is on.
type userOut struct {
	Type      string   `json:"type"`
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	TwoFactor bool     `json:"2fa"`
	CreatedMs int64    `json:"createdMs"`
	Roles     []string `json:"roles"`
	// BannedMs is when the user was banned; absent when not banned.
	BannedMs int64 `json:"bannedMs,omitempty"`
}

func userJSON(u db.User) userOut {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return userOut{Type: "users", ID: u.ID, Name: u.Name, TwoFactor: u.TOTPEnabled, CreatedMs: u.CreatedMs, Roles: roles, BannedMs: u.BannedMs}
}

func usersJSON(us []db.User) []userOut {
	out := make([]userOut, len(us))
	for i, u := range us {
		out[i] = userJSON(u)
	}
	return out
}

// userRoleOut is one role of a user as the API shows it.
type userRoleOut struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func userRoleJSON(role string) userRoleOut { return userRoleOut{Type: "user-roles", ID: role} }

func (s *Service) listUsers(r *request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	users, info, err := s.management.ListUsers(r.ctx(), p)
	if err != nil {
		return err
	}
	return collection(r, usersJSON(users), p.Size, info)
}

// createUser registers a user: anyone may, with or without a token. The
// user gets the role user and one unverified address, written in one
// transaction, and the address is mailed a verification code. Nobody
// picks their own roles: "roles" is an unknown field. The password is
// optional (a user may log in with mailed codes only). The referrer is
// the client the user registered through: the calling client unless
// the body names another, and it must exist.
func (s *Service) createUser(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	b.typeIs("users")
	name := b.str("name", true, MaxNameLength)
	addr := readNewAddress(b, "email")
	before := len(b.obs)
	pw, hasPassword := b.secret("password", false, password.MaxLength), b.has("password")
	if hasPassword && len(b.obs) == before {
		s.checkNewPassword(r, b, "password", pw, name, addr)
	}
	// The original auth-gateway's forms send passwordConf: optional, and
	// when sent it must equal password.
	if conf := b.secret("passwordConf", false, password.MaxLength); b.has("passwordConf") &&
		subtle.ConstantTimeCompare([]byte(conf), []byte(pw)) != 1 {
		b.obstruct("passwordConf", ObstructionMismatch, "passwordConf must equal password.")
	}
	referrer := b.str("referrer", false, 64)
	if referrer == "" {
		referrer = r.caller.ClientID
	}
	if referrer == "" {
		b.obstruct("referrer", ObstructionRequired, "referrer is required when the request comes from no client.")
	} else if _, err := s.management.GetClient(r.ctx(), referrer); err != nil {
		if !isNotFound(err) && !errors.Is(err, db.ErrInvalid) {
			return err
		}
		b.obstruct("referrer", ObstructionInvalid, "referrer must be an existing client.")
	}
	if err := b.done(); err != nil {
		return err
	}
	if hasPassword {
		// A taken address is 409 (the README's "Email addresses"), so asking first tells a prober
		// nothing the answer would not, and spares an argon2id hash per
		// guessed address. CreateUser still decides between two
		// registrations of one address at once.
		switch _, _, err := s.management.GetUserByEmail(r.ctx(), addr); {
		case err == nil:
			return apiError(http.StatusConflict, CodeDuplicateEmail, "This email address is registered already.")
		case !isNotFound(err):
			return err
		}
	}
	// A source registers a bounded number of accounts (whatever their
	// addresses): this bounds how many accounts strangers pile up on an
	// address nobody verified, and never depends on what others did.
	if err := s.quotaRefusal(r, s.takeQuotas(r, registrationSourceQuota(s, r.caller.IP)), CodeTooManyRegistrations,
		"Too many registrations from this network; try again later."); err != nil {
		return err
	}
	var hash string
	if hasPassword {
		if hash, err = s.hashPassword(r, pw); err != nil {
			return err
		}
	}
	now := s.nowMs()
	e := db.Email{ID: s.newID(), Email: addr, CreatedMs: now}
	u, err := s.management.CreateUser(r.ctx(), db.NewUser{
		User:  db.User{ID: s.newID(), Name: name, PasswordHash: hash, CreatedMs: now},
		Email: e,
		Roles: []string{db.RoleUser},
	})
	switch {
	case isDuplicate(err):
		return apiError(http.StatusConflict, CodeDuplicateEmail, "This email address is registered already.")
	case err != nil:
		return err
	}
	// The user exists now: a code that cannot be sent is logged, and the
	// user asks for another (generate-verification) or logs in by code.
	// Anyone may register an address nobody verified, so registrations'
	// mails are bounded (per address, and per address and source) but
	// never refuse the registration: past a bound the
	// account is created without the mail, and the answer is the same,
	// so strangers registering the owner's address cannot block the
	// owner's own registration (nor tell from the answer whether anyone
	// else registered it).
	s.record(r.ctx(), audit.Event{Type: audit.UserCreated, SubjectUserID: u.ID, Data: map[string]string{"referrer": referrer}})
	e.UserID = u.ID
	switch err := s.takeQuotas(r, registrationMailQuotas(s, r.caller.IP, addr)); {
	case errors.Is(err, db.ErrMailLimit):
		s.cfg.Logger.Info("accounts: registration not mailed: mail limit", "user", u.ID, "email", e.ID)
	case err != nil:
		s.logVerificationNotSent(u.ID, e.ID, err)
	default:
		if err := s.sendVerification(r.ctx(), u.ID, e); err != nil {
			s.logVerificationNotSent(u.ID, e.ID, err)
		}
	}
	// A registration with a password logs the user in at once: the answer
	// is the new session (the README's "Login and sessions"). Without a password the user logs in
	// with an emailed code, and the answer is the user.
	if hasPassword {
		return s.startSession(r, u, http.StatusCreated)
	}
	return single(r, http.StatusCreated, userJSON(u))
}

func (s *Service) getUser(r *request) error {
	return single(r, http.StatusOK, userJSON(*r.target.user))
}

// updateUser renames the user.
func (s *Service) updateUser(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	u := *r.target.user
	b.typeIs("users")
	b.idIs(u.ID)
	name := b.str("name", false, MaxNameLength)
	if b.has("name") && name == "" {
		b.obstruct("name", ObstructionRequired, "name may not be empty.")
	}
	banned, setBan := b.boolean("banned", false)
	if err := b.done(); err != nil {
		return err
	}
	// Banning disables an account: only a sysadmin does it, never to
	// themselves, and it ends every session of the user at once.
	if setBan && (!r.caller.userIs(db.RoleSysadmin) || r.caller.self(u.ID)) {
		return apiError(http.StatusForbidden, CodeForbidden, "Only a sysadmin bans or unbans, and never themselves.")
	}
	now := s.nowMs()
	if name != "" {
		if err := s.management.UpdateUserName(r.ctx(), u.ID, name, now); err != nil {
			return err
		}
		u.Name = name
	}
	if setBan {
		if err := s.setBanned(r.ctx(), actorOf(r), &u, banned); err != nil {
			return err
		}
	}
	return single(r, http.StatusOK, userJSON(u))
}

// setBanned bans or unbans the user u and sets u.BannedMs to match; a
// user already in that state is left as it is. A ban ends every session
// of the user at once ("banned"), and the gateways are told (see
// revokeUserIn). Who may do it is the caller's business: the API
// allows a sysadmin acting on another user, the Operator the command
// line's operator.
func (s *Service) setBanned(ctx context.Context, _ actor, u *db.User, banned bool) error {
	now := s.nowMs()
	switch {
	case banned && u.BannedMs == 0:
		if err := s.management.BanUser(ctx, u.ID, now); err != nil {
			return err
		}
		// The ban holds from here (every request reads it), whatever
		// becomes of the revocation: recorded now.
		s.record(ctx, audit.Event{Type: audit.UserBanned, SubjectUserID: u.ID})
		if err := s.revokeUserIn(ctx, u.ID, "banned"); err != nil {
			return err
		}
		u.BannedMs = now
	case !banned && u.BannedMs != 0:
		if err := s.management.UnbanUser(ctx, u.ID, now); err != nil {
			return err
		}
		s.record(ctx, audit.Event{Type: audit.UserUnbanned, SubjectUserID: u.ID})
		u.BannedMs = 0
	}
	return nil
}

// deleteUser soft-deletes the user; in the same transaction its
// addresses are freed and its sessions revoked (the README's "The accounts service"). The gateways
// are told at once (Config.Revoked) besides reading the feed.
//
// A user deleting their own account proves who they are again, as for
// every change to what protects it (see checkProof): a stolen token
// alone must not end the account. A sysadmin deleting another user sends
// no proof and no body is read, as before. The user's verified
// addresses are told once the account is gone (they are read before:
// deleting frees them).
func (s *Service) deleteUser(r *request) error {
	u := *r.target.user
	if r.caller.self(u.ID) {
		proof, err := readProofBody(r, "")
		if err != nil {
			return err
		}
		if err := s.checkProof(r, &u, proof); err != nil {
			return err
		}
	}
	es, err := s.management.ListEmails(r.ctx(), u.ID)
	if err != nil {
		return err
	}
	id, now, expires := u.ID, s.nowMs(), s.revocationExpiresMs()
	if err := s.management.DeleteUser(r.ctx(), id, db.Revoking{AtMs: now, ExpiresMs: expires}); err != nil {
		return err
	}
	s.cfg.Revoked(r.ctx(), db.Revocation{Kind: db.RevokeUser, Subject: id, NotBeforeMs: now, ExpiresMs: expires, CreatedMs: now})
	s.record(r.ctx(), audit.Event{Type: audit.UserDeleted, SubjectUserID: id})
	s.notifyAddresses(r.ctx(), id, es, mailtemplate.AccountDeleted, mailtemplate.View{})
	return null(r)
}

func (s *Service) listUserRoles(r *request) error {
	roles := r.target.user.Roles
	out := make([]userRoleOut, len(roles))
	for i, role := range roles {
		out[i] = userRoleJSON(role)
	}
	return collection(r, out, len(out), db.PageInfo{})
}

// addUserRole gives another user a role (the route admits a sysadmin
// acting on someone else only). A role the user has already is 409
// DUPLICATE. Tokens minted before carry the policies of the old roles
// only: the user gets the new role's at their next refresh or login.
func (s *Service) addUserRole(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	b.typeIs("user-roles")
	role := b.str("id", true, 64)
	if role != "" && !slices.Contains(userRoles, role) {
		b.obstruct("id", ObstructionInvalid, "id must be one of sysadmin, employee, user.")
	}
	if err := b.done(); err != nil {
		return err
	}
	if err := s.grantUserRole(r.ctx(), actorOf(r), r.target.user.ID, role); err != nil {
		return err
	}
	return single(r, http.StatusCreated, userRoleJSON(role))
}

// grantUserRole gives the user userID the role, one of userRoles (the
// caller checked it). A role the user has already is 409 DUPLICATE.
func (s *Service) grantUserRole(ctx context.Context, _ actor, userID, role string) error {
	err := s.management.AddUserRole(ctx, userID, role)
	if isDuplicate(err) {
		return apiError(http.StatusConflict, CodeDuplicate, "The user has this role already.")
	}
	if err == nil {
		s.record(ctx, audit.Event{Type: audit.RoleAdded, SubjectUserID: userID, Data: map[string]string{"role": role}})
	}
	return err
}

// removeUserRole takes a role from another user (the route admits a
// sysadmin acting on someone else only); a role the user lacks, or no
// such role, is 404.
//
// Then every session of the user is revoked ("roles-changed"): the
// user's tokens were minted with the policies of the role taken away and
// would keep them until they expire, so the user logs in again and gets
// tokens for the roles they have now. The two writes are not one
// transaction (the store has no such method): when the revocation fails
// the answer is an error, the role is gone, and a refresh already mints
// tokens without it; only the tokens in hand live to their expiry.
func (s *Service) removeUserRole(r *request) error {
	userID, role := r.target.user.ID, r.Param("roleId")
	if !slices.Contains(userRoles, role) {
		return ErrHidden
	}
	if err := s.takeUserRole(r.ctx(), actorOf(r), userID, role); err != nil {
		return err
	}
	return null(r)
}

// takeUserRole takes the role from the user userID and ends the user's
// sessions ("roles-changed"), as removeUserRole explains. A role the
// user lacks is db.ErrNotFound.
func (s *Service) takeUserRole(ctx context.Context, _ actor, userID, role string) error {
	if err := s.management.RemoveUserRole(ctx, userID, role); err != nil {
		return err
	}
	s.record(ctx, audit.Event{Type: audit.RoleRemoved, SubjectUserID: userID, Data: map[string]string{"role": role}})
	return s.revokeUserIn(ctx, userID, "roles-changed")
}

// changePassword sets the user's password. The user themselves proves
// who they are again (see checkProof): their current password, a TOTP
// code, or, for a user without a password, a login code mailed to a
// verified address; a sysadmin setting another user's password does not,
// and any proof sent is then ignored. Every session of the user is
// revoked ("password-changed"), the caller's own included: whoever knew
// the old password is logged out. The user's verified addresses are told.
func (s *Service) changePassword(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	u := *r.target.user
	self := r.caller.self(u.ID)
	proof := readProof(b, self, "")
	before := len(b.obs)
	newPassword := b.secret("newPassword", true, password.MaxLength)
	if len(b.obs) == before {
		es, err := s.management.ListEmails(r.ctx(), u.ID)
		if err != nil {
			return err
		}
		personal := []string{u.Name}
		for _, e := range es {
			personal = append(personal, e.Email)
		}
		s.checkNewPassword(r, b, "newPassword", newPassword, personal...)
	}
	if err := b.done(); err != nil {
		return err
	}
	if self {
		// A stolen token must not buy unlimited guesses of the current
		// password: the proof is a guess like a login's.
		if err := s.checkProof(r, &u, proof); err != nil {
			s.recordRefusal(r.ctx(), err, audit.PasswordChanged, "", u.ID, map[string]string{"by": "self"})
			return err
		}
	}
	hash, err := s.hashPassword(r, newPassword)
	if err != nil {
		return err
	}
	now := s.nowMs()
	if err := s.management.SetPasswordHash(r.ctx(), u.ID, hash, now); err != nil {
		return err
	}
	by := "admin"
	if self {
		by = "self"
	}
	s.record(r.ctx(), audit.Event{Type: audit.PasswordChanged, SubjectUserID: u.ID, Data: map[string]string{"by": by}})
	if err := s.revokeUser(r, u.ID, "password-changed"); err != nil {
		return err
	}
	s.notifyOwner(r.ctx(), u.ID, mailtemplate.PasswordChanged, "", "")
	return null(r)
}
