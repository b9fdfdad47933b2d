package mint

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/mint/caveat"
	"github.com/authgw/authgw/policy"
)

// MaxTokenSize is the default limit on an encoded token: a cookie holds
// about 4 KiB with its name and attributes.
const MaxTokenSize = 3800

// MaxRoles bounds a subject's roles: they travel in every token and, from
// there, in the request info sent to backends.
const MaxRoles = 16

// ErrNoGrants is returned by Mint when the policies grant nothing.
var ErrNoGrants = errors.New("the policies grant no route")

// ErrWrongServer is returned by Mint for a policy whose serverId is not
// the Minter's.
var ErrWrongServer = errors.New("policy is for another server")

// ErrBadSubject is returned by Mint when the subject lacks a required
// value or holds one that cannot stand in a caveat.
var ErrBadSubject = errors.New("bad subject")

// TooLargeError is returned by Mint when a token would exceed the size
// limit. Policy names the policy that contributed the most routes.
type TooLargeError struct {
	Method string
	Size   int
	Limit  int
	Policy string
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s token would be %d bytes encoded, over the %d-byte limit: policy %q grants the most routes to %s",
		e.Method, e.Size, e.Limit, e.Policy, e.Method)
}

// Config configures a Minter.
type Config struct {
	// Keys is the key ring; its first key mints. Required.
	Keys *KeyRing
	// ServerID is written in every token's server-id caveat. Required.
	ServerID string
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// Rand is the source of identifier nonces. Optional. Default crypto/rand.Reader.
	Rand io.Reader
	// MaxTokenSize limits an encoded token. Optional. Default MaxTokenSize.
	MaxTokenSize int
}

// Minter turns policies and a subject into per-method tokens. It is safe
// for concurrent use when its Rand is.
type Minter struct {
	cfg Config
	// keys is cfg.Keys until SetKeys replaces it.
	keys atomic.Pointer[KeyRing]
}

// New checks the configuration, fills the defaults and returns a Minter.
// It fails when Keys is nil or ServerID is not 1 to 64 of [A-Za-z0-9._-].
func New(cfg Config) (*Minter, error) {
	if cfg.Keys == nil || len(cfg.Keys.keys) == 0 {
		return nil, errors.New("mint: Keys is required")
	}
	if !validID(cfg.ServerID) {
		return nil, fmt.Errorf("mint: ServerID %q must be 1 to 64 of [A-Za-z0-9._-]", cfg.ServerID)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.MaxTokenSize == 0 {
		cfg.MaxTokenSize = MaxTokenSize
	}
	m := &Minter{cfg: cfg}
	m.keys.Store(cfg.Keys)
	return m, nil
}

// SetKeys makes the Minter mint with ring's first key from the next
// token on (the key ring read again while serving). It fails, keeping
// the keys, when ring holds no key. It is safe to call while minting.
func (m *Minter) SetKeys(ring *KeyRing) error {
	if ring == nil || len(ring.keys) == 0 {
		return errors.New("mint: SetKeys: the ring holds no key")
	}
	m.keys.Store(ring)
	return nil
}

// Membership is one organization a subject belongs to, with its flags.
type Membership struct {
	OrgID  string
	Read   bool
	Edit   bool
	Manage bool
	Delete bool
}

// Has reports whether the membership carries the flag;
// policy.AnyMembership means any membership.
func (m Membership) Has(flag policy.MembershipFlag) bool {
	switch flag {
	case policy.AnyMembership:
		return true
	case policy.FlagRead:
		return m.Read
	case policy.FlagEdit:
		return m.Edit
	case policy.FlagManage:
		return m.Manage
	case policy.FlagDelete:
		return m.Delete
	}
	return false
}

// Subject is who the tokens are for.
type Subject struct {
	// UserID goes in the user caveat and replaces :userId. Required.
	UserID string
	// SessionID goes in the identifier and session caveat and replaces
	// :sessionId. Required.
	SessionID string
	// ClientID replaces :clientId and is bound with a client caveat when a
	// policy says bindClient. Optional unless one of those needs it.
	ClientID string
	// Roles are the user's roles, carried in the user-roles caveat so that
	// the gateway can tell backends (X-Auth-Info u.r) without a database.
	// Each is 1 to 64 of [A-Za-z0-9._-]. Optional: none is written as
	// NoRoles. Policies are chosen by the caller, not from these.
	Roles []string
	// Memberships are the organizations :orgId routes stand for, listed
	// in an orgs caveat. Optional.
	Memberships []Membership
	// TTL shortens the lifetime below the policies' expires. Optional.
	TTL time.Duration
	// IssuedAt is the issue time written in the tokens' identifiers,
	// which a user revocation's not-before is compared with: the time
	// the roles and memberships were read, so a change after that read
	// refuses the tokens even when they are minted after the change.
	// Optional. Default: the Minter's clock. The lifetime counts from the
	// clock, not from IssuedAt.
	IssuedAt time.Time
	// AMR says how the user authenticated at the login the session began
	// with (RFC 8176 values, see authn.go), carried in an amr caveat.
	// Optional: none writes no caveat.
	AMR []string
	// AuthTime is when that login happened, carried in an auth-time
	// caveat (whole seconds, UTC). Optional: the zero time writes none.
	AuthTime time.Time
}

// Tokens is the result of a mint: one encoded token per granted method.
type Tokens struct {
	// ByMethod maps GET, POST, PUT, PATCH, DELETE to a token; a method
	// with no grant has no entry.
	ByMethod map[string]string
	// Routes maps each method to the routes its token grants.
	Routes map[string][]string
	// Expires is every token's time-before.
	Expires time.Time
	// StepUp maps a method to its step-up token: the routes of the
	// scopes with a stepUp, kept out of ByMethod's token, in a token
	// with a third-party caveat that only a discharge (Discharge, bound
	// to the token) satisfies. A method with no such route has no entry.
	StepUp map[string]string
	// StepUpRoutes maps each method to the routes its step-up token grants.
	StepUpRoutes map[string][]string
}

// Mint binds the policies' scopes to the subject and mints one token per
// method that has at least one route. The lifetime is the shortest expires
// of the policies (and Subject.TTL when shorter).
//
// A route with :orgId stays a pattern, its parameter naming the scope's
// membership flag (policy.Pattern.Bind), and is kept only when a
// membership has that flag. A token with such routes carries one orgs
// caveat: each organization of the subject with the flags that token's
// routes ask for, so the token grows by one short entry per organization,
// not by one route per organization.
//
// It fails with ErrNoGrants when nothing is granted, ErrWrongServer for a
// policy with another serverId, ErrBadSubject for a missing or unusable
// ID or a TTL under one second, policy.ErrBadParamValue from binding or
// for an organization ID that cannot stand in a route,
// policy.ErrTooManyOrgs past policy.MaxOrgExpansion memberships, and
// *TooLargeError past the size limit.
func (m *Minter) Mint(policies []*policy.Policy, s Subject) (Tokens, error) {
	if !validID(s.UserID) || !validID(s.SessionID) || (s.ClientID != "" && !validID(s.ClientID)) {
		return Tokens{}, fmt.Errorf("%w: user, session and client IDs must be 1 to 64 of [A-Za-z0-9._-]", ErrBadSubject)
	}
	if len(s.Roles) > MaxRoles {
		return Tokens{}, fmt.Errorf("%w: %d roles, at most %d", ErrBadSubject, len(s.Roles), MaxRoles)
	}
	for _, role := range s.Roles {
		if !validRole(role) {
			return Tokens{}, fmt.Errorf("%w: role %q is not 1 to 64 of [A-Za-z0-9._-]", ErrBadSubject, role)
		}
	}
	if err := checkAuthn(s); err != nil {
		return Tokens{}, err
	}
	if s.TTL < 0 || (s.TTL > 0 && s.TTL < time.Second) {
		return Tokens{}, fmt.Errorf("%w: TTL %v is under one second", ErrBadSubject, s.TTL)
	}
	memberships := checkMemberships(s.Memberships)
	// g collects the ordinary routes, up the routes of scopes with a
	// stepUp, each method's step-up window the shortest of its scopes'.
	g, up := newGrants(), newGrants()
	window := map[string]time.Duration{}
	var lifetime time.Duration
	bind := false
	for _, p := range policies {
		if p.ServerID != "" && p.ServerID != m.cfg.ServerID {
			return Tokens{}, fmt.Errorf("%w: policy %q is for server %q, not %q", ErrWrongServer, p.Name, p.ServerID, m.cfg.ServerID)
		}
		if lifetime == 0 || p.Lifetime() < lifetime {
			lifetime = p.Lifetime()
		}
		bind = bind || p.BindClient
		for _, sc := range p.Scopes {
			g := g // the scope's routes go to the ordinary tokens, or
			if sc.StepUp > 0 {
				g = up // to the step-up tokens
				for _, method := range sc.Methods {
					if w, ok := window[method]; !ok || sc.StepUpWindow() < w {
						window[method] = sc.StepUpWindow()
					}
				}
			}
			params := policy.Params{UserID: s.UserID, SessionID: s.SessionID, ClientID: s.ClientID}
			for _, pat := range sc.Patterns() {
				if pat.Uses(policy.ParamClientID) && s.ClientID == "" {
					return Tokens{}, fmt.Errorf("%w: policy %q uses :clientId but the subject has no client", ErrBadSubject, p.Name)
				}
				if !pat.Uses(policy.ParamOrgID) {
					routes, err := pat.Expand(params)
					if err != nil {
						return Tokens{}, fmt.Errorf("policy %q scope %q: %w", p.Name, sc.Name, err)
					}
					for _, method := range sc.Methods {
						g.add(method, p.Name, routes)
					}
					continue
				}
				if !anyHas(memberships, sc.Membership) {
					continue // no organization for it: the route would match nothing
				}
				route, err := pat.Bind(params, sc.Membership)
				if err != nil {
					return Tokens{}, fmt.Errorf("policy %q scope %q: %w", p.Name, sc.Name, err)
				}
				for _, method := range sc.Methods {
					g.add(method, p.Name, []string{route})
					g.needOrgs(method, sc.Membership)
				}
			}
		}
	}
	if bind && s.ClientID == "" {
		return Tokens{}, fmt.Errorf("%w: a policy binds the client but the subject has none", ErrBadSubject)
	}
	// A route that a step-up scope names needs the step-up, even where
	// another scope grants it without one: what is dangerous stays so.
	g.drop(up)
	// The memberships matter only to tokens with organization routes.
	if len(g.orgs) > 0 || len(up.orgs) > 0 {
		if err := checkOrgIDs(memberships); err != nil {
			return Tokens{}, err
		}
	}
	if s.TTL > 0 && s.TTL < lifetime {
		lifetime = s.TTL
	}
	now := m.cfg.Now().UTC()
	expires := now.Add(lifetime).Truncate(time.Second)
	issued := now
	if !s.IssuedAt.IsZero() {
		issued = s.IssuedAt.UTC()
	}
	out := Tokens{ByMethod: map[string]string{}, Routes: map[string][]string{}, Expires: expires,
		StepUp: map[string]string{}, StepUpRoutes: map[string][]string{}}
	for _, method := range Methods() {
		for _, step := range []struct {
			g      *grants
			window time.Duration
			tokens map[string]string
			routes map[string][]string
		}{{g, 0, out.ByMethod, out.Routes}, {up, window[method], out.StepUp, out.StepUpRoutes}} {
			routes := step.g.routes[method]
			if len(routes) == 0 {
				continue
			}
			var except []string // the ordinary token must not reach a step-up route
			if step.window == 0 {
				except = up.routes[method]
			}
			caveats, err := m.caveats(method, routes, step.g.orgs[method], memberships, expires, s, bind, except)
			if err != nil {
				return Tokens{}, err
			}
			var claim *StepUpClaim
			if step.window > 0 {
				claim = &StepUpClaim{UserID: s.UserID, SessionID: s.SessionID, Window: step.window}
			}
			tok, err := m.token(s.SessionID, issued, caveats, claim)
			if err != nil {
				return Tokens{}, err
			}
			if len(tok) > m.cfg.MaxTokenSize {
				return Tokens{}, &TooLargeError{Method: method, Size: len(tok), Limit: m.cfg.MaxTokenSize, Policy: step.g.largest(method)}
			}
			step.tokens[method] = tok
			step.routes[method] = routes
		}
	}
	if len(out.ByMethod) == 0 && len(out.StepUp) == 0 {
		return Tokens{}, ErrNoGrants
	}
	return out, nil
}

// caveats returns the caveats of one minted token, in mint order
// (caveat.Kinds). need is the membership flags the token's organization
// routes ask for, nil when it has none; except the routes the token must
// not reach, because a step-up scope names them (routes may still match
// them: "/a/**" matches what a step-up "/a/:userId" names).
func (m *Minter) caveats(method string, routes []string, need map[policy.MembershipFlag]bool, memberships []Membership, expires time.Time,
	s Subject, bind bool, except []string) ([]caveat.Caveat, error) {
	out := make([]caveat.Caveat, 0, 12)
	var err error
	add := func(k caveat.Kind, arg string) {
		if err == nil {
			var c caveat.Caveat
			c, err = caveat.New(k, arg)
			out = append(out, c)
		}
	}
	add(caveat.ServerID, m.cfg.ServerID)
	add(caveat.Method, method)
	add(caveat.Routes, strings.Join(routes, " "))
	if len(except) > 0 {
		add(caveat.ExceptRoutes, strings.Join(except, " "))
	}
	if need != nil {
		add(caveat.Orgs, orgsArgument(memberships, need))
	}
	out = append(out, caveat.NewTimeBefore(expires))
	out = appendAuthn(out, s) // before the user caveat: caveat.Kind.MintedOnly
	add(caveat.User, s.UserID)
	add(caveat.UserRoles, caveat.RolesArgument(s.Roles))
	add(caveat.Session, s.SessionID)
	if bind {
		add(caveat.Client, s.ClientID)
	}
	if err != nil {
		return nil, fmt.Errorf("mint: %w", err)
	}
	return out, nil
}

// checkMemberships drops repeated organizations (the first wins).
func checkMemberships(ms []Membership) []Membership {
	out := make([]Membership, 0, len(ms))
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		if !seen[m.OrgID] {
			seen[m.OrgID] = true
			out = append(out, m)
		}
	}
	return out
}

// checkOrgIDs checks the memberships a token will list: each ID must
// stand in a route, and there may be at most policy.MaxOrgExpansion.
func checkOrgIDs(ms []Membership) error {
	for _, m := range ms {
		if !policy.ValidOrgID(m.OrgID) {
			return fmt.Errorf("%w: organization ID %q", policy.ErrBadParamValue, m.OrgID)
		}
	}
	if len(ms) > policy.MaxOrgExpansion {
		return fmt.Errorf("%w: %d memberships", policy.ErrTooManyOrgs, len(ms))
	}
	return nil
}

// anyHas reports whether a membership has the flag (AnyMembership for any).
func anyHas(ms []Membership, flag policy.MembershipFlag) bool {
	for _, m := range ms {
		if m.Has(flag) {
			return true
		}
	}
	return false
}

// orgsArgument is the orgs caveat of a token whose organization routes
// need the flags of need (the empty flag: any membership): every
// membership with one of those flags, or every membership when one route
// takes any, each with the letters of the needed flags it holds.
func orgsArgument(ms []Membership, need map[policy.MembershipFlag]bool) string {
	var b strings.Builder
	for _, m := range ms {
		var letters []byte
		for _, flag := range policy.MembershipFlags() {
			if need[flag] && m.Has(flag) {
				l, _ := policy.FlagLetter(flag)
				letters = append(letters, l)
			}
		}
		if len(letters) == 0 && !need[policy.AnyMembership] {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(policy.OrgEntry(m.OrgID, string(letters)))
	}
	return b.String()
}

// token builds and encodes one macaroon; with a claim, a step-up token:
// its last caveat a third-party caveat addressed to DischargePath, with a
// fresh root key sealed in its identifier.
func (m *Minter) token(sessionID string, now time.Time, caveats []caveat.Caveat, claim *StepUpClaim) (string, error) {
	keys := m.keys.Load()
	keyID := keys.PrimaryID()
	ident, err := NewIdentifier(keyID, sessionID, now, m.cfg.Rand)
	if err != nil {
		return "", err
	}
	id, err := ident.MarshalBinary()
	if err != nil {
		return "", err
	}
	root, err := keys.RootKey(keyID, id)
	if err != nil {
		return "", err
	}
	mac, err := macaroon.New(root, id, "", macaroon.V2)
	if err != nil {
		return "", fmt.Errorf("mint: %w", err)
	}
	for _, c := range caveats {
		if err := mac.AddFirstPartyCaveat([]byte(c.String())); err != nil {
			return "", fmt.Errorf("mint: %w", err)
		}
	}
	if claim != nil {
		if _, err := io.ReadFull(m.cfg.Rand, claim.rootKey[:]); err != nil {
			return "", fmt.Errorf("mint: step-up root key: %w", err)
		}
		cid, err := keys.sealStepUp(keyID, *claim, m.cfg.Rand)
		if err != nil {
			return "", err
		}
		if err := mac.AddThirdPartyCaveat(claim.rootKey[:], cid, DischargePath); err != nil {
			return "", fmt.Errorf("mint: %w", err)
		}
	}
	return Encode(mac)
}

// grants collects routes per method, without duplicates, in the order the
// policies list them, and how many bytes each policy contributed.
type grants struct {
	routes map[string][]string
	seen   map[string]map[string]bool
	bytes  map[string]map[string]int
	// orgs holds, per method with organization routes, the membership
	// flags those routes need (AnyMembership for any membership).
	orgs map[string]map[policy.MembershipFlag]bool
}

func newGrants() *grants {
	return &grants{routes: map[string][]string{}, seen: map[string]map[string]bool{}, bytes: map[string]map[string]int{},
		orgs: map[string]map[policy.MembershipFlag]bool{}}
}

// needOrgs records that a route of method needs the membership flag.
func (g *grants) needOrgs(method string, flag policy.MembershipFlag) {
	if g.orgs[method] == nil {
		g.orgs[method] = map[policy.MembershipFlag]bool{}
	}
	g.orgs[method][flag] = true
}

func (g *grants) add(method, policyName string, routes []string) {
	if g.seen[method] == nil {
		g.seen[method] = map[string]bool{}
		g.bytes[method] = map[string]int{}
	}
	for _, r := range routes {
		if g.seen[method][r] {
			continue
		}
		g.seen[method][r] = true
		g.routes[method] = append(g.routes[method], r)
		g.bytes[method][policyName] += len(r) + 1
	}
}

// drop removes from g every route that other holds for the same method.
func (g *grants) drop(other *grants) {
	for method, seen := range other.seen {
		g.routes[method] = slices.DeleteFunc(g.routes[method], func(r string) bool { return seen[r] })
	}
}

func (g *grants) largest(method string) string {
	best, most := "", -1
	for name, n := range g.bytes[method] {
		if n > most || (n == most && name < best) {
			best, most = name, n
		}
	}
	return best
}
