package accounts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/policy/netaddr"
)

// Limits of a client's reqsPerSec.
const (
	// DefaultReqsPerSec is the rate limit of a client created without
	// one.
	DefaultReqsPerSec = 10
	// MaxReqsPerSec is the highest rate limit a client may be given;
	// db.UnlimitedReqsPerSec (-1) lifts the limit and 0 refuses every
	// request of the client.
	MaxReqsPerSec = 1_000_000
)

// clientOut is a client as the API shows it. Secret is set only in the
// answers of create and refresh-secret: it is shown once.
type clientOut struct {
	Type         string   `json:"type"`
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	ReqsPerSec   int      `json:"reqsPerSec"`
	CreatedMs    int64    `json:"createdMs"`
	Organization ref      `json:"organization"`
	Roles        []string `json:"roles"`
	Secret       string   `json:"secret,omitempty"`
	clientOIDCOut
}

func clientJSON(c db.Client) clientOut {
	roles := c.Roles
	if roles == nil {
		roles = []string{}
	}
	return clientOut{Type: "clients", ID: c.ID, Name: c.Name, ReqsPerSec: c.ReqsPerSec, CreatedMs: c.CreatedMs,
		Organization: refTo("organizations", c.OrganizationID), Roles: roles, clientOIDCOut: clientOIDCJSON(c)}
}

func clientsJSON(cs []db.Client) []clientOut {
	out := make([]clientOut, len(cs))
	for i, c := range cs {
		out[i] = clientJSON(c)
	}
	return out
}

// readReqsPerSec reads the optional reqsPerSec field. Setting it needs
// STAFF: anyone else who sends it gets 403, whatever its value.
func readReqsPerSec(r *request, b *body) (n int, given bool, err error) {
	if !b.has("reqsPerSec") {
		return 0, false, nil
	}
	if !r.caller.staff() {
		return 0, false, apiError(http.StatusForbidden, CodeForbidden,
			"Only staff may set reqsPerSec (a system client with a user, or an internal client with a sysadmin or employee).")
	}
	v, ok := b.integer("reqsPerSec", false, db.UnlimitedReqsPerSec, MaxReqsPerSec)
	return int(v), ok, nil
}

func (s *Service) listClients(r *request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	cs, info, err := s.management.ListClients(r.ctx(), r.target.org.ID, p)
	if err != nil {
		return err
	}
	return collection(r, clientsJSON(cs), p.Size, info)
}

// createClient creates a client of the organization with the role
// external and a new secret, which the answer shows once. reqsPerSec is
// DefaultReqsPerSec unless STAFF set it. An organization with
// Config.MaxClientsPerOrganization live clients gets 409 TOO-MANY-CLIENTS
// (staff are exempt).
func (s *Service) createClient(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	b.typeIs("clients")
	name := b.str("name", true, MaxNameLength)
	rate, given, err := readReqsPerSec(r, b)
	if err != nil {
		return err
	}
	oidcIn := readClientOIDC(b)
	if err := b.done(); err != nil {
		return err
	}
	if !given {
		rate = DefaultReqsPerSec
	}
	limit := s.cfg.MaxClientsPerOrganization
	if r.caller.staff() || r.caller.privileged() {
		limit = 0
	}
	c, secret, err := s.addClient(r.ctx(), actorOf(r), db.Client{OrganizationID: r.target.org.ID, Name: name, ReqsPerSec: rate}, oidcIn, limit)
	if err != nil {
		return err
	}
	out := clientJSON(c)
	out.Secret = secret
	return single(r, http.StatusCreated, out)
}

// addClient creates the client nc (its organization, name and
// reqsPerSec, checked by the caller) with a new ID and secret, the OIDC
// settings of oidcIn, and the role external; it returns the client and
// its secret, which is shown once and stored only as its hash. limit
// bounds the organization's live clients (0: none): past it, 409
// TOO-MANY-CLIENTS. The gateways are told.
func (s *Service) addClient(ctx context.Context, _ actor, nc db.Client, oidcIn clientOIDCIn, limit int) (db.Client, string, error) {
	secret, hash, err := s.newClientSecret()
	if err != nil {
		return db.Client{}, "", err
	}
	nc.ID, nc.SecretHash, nc.CreatedMs = s.newID(), hash, s.nowMs()
	oidcIn.apply(&nc)
	c, err := s.management.CreateClientWithin(ctx, nc, limit)
	if errors.Is(err, db.ErrClientLimit) {
		return db.Client{}, "", apiError(http.StatusConflict, CodeTooManyClients,
			"The organization has as many clients as allowed; delete one first.")
	}
	if err != nil {
		return db.Client{}, "", err
	}
	s.record(ctx, audit.Event{Type: audit.ClientCreated, OrgID: c.OrganizationID, Data: map[string]string{"client": c.ID}})
	s.cfg.Announce(ctx)
	return c, secret, nil
}

func (s *Service) getClient(r *request) error {
	return single(r, http.StatusOK, clientJSON(*r.target.client))
}

// updateClient sets the client's name and, for STAFF, its reqsPerSec.
func (s *Service) updateClient(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	c := *r.target.client
	b.typeIs("clients")
	b.idIs(c.ID)
	name := b.str("name", false, MaxNameLength)
	if b.has("name") && name == "" {
		b.obstruct("name", ObstructionRequired, "name may not be empty.")
	}
	rate, given, err := readReqsPerSec(r, b)
	if err != nil {
		return err
	}
	oidcIn := readClientOIDC(b)
	if err := b.done(); err != nil {
		return err
	}
	if oidcIn.given() {
		oidcIn.apply(&c)
		if err := s.saveClientOIDC(r.ctx(), c, oidcIn); err != nil {
			return err
		}
		if name == "" && !given {
			s.cfg.Announce(r.ctx())
		}
	}
	if name == "" && !given {
		return single(r, http.StatusOK, clientJSON(c))
	}
	if name != "" {
		c.Name = name
	}
	if given {
		c.ReqsPerSec = rate
	}
	if err := s.management.UpdateClient(r.ctx(), c.ID, c.Name, c.ReqsPerSec, s.nowMs()); err != nil {
		return err
	}
	s.cfg.Announce(r.ctx())
	return single(r, http.StatusOK, clientJSON(c))
}

// deleteClient soft-deletes the client and revokes the sessions made with
// it.
func (s *Service) deleteClient(r *request) error {
	if err := s.management.DeleteClient(r.ctx(), r.target.client.ID, db.Revoking{AtMs: s.nowMs(), ExpiresMs: s.revocationExpiresMs()}); err != nil {
		return err
	}
	s.record(r.ctx(), audit.Event{Type: audit.ClientDeleted, OrgID: r.target.client.OrganizationID, Data: map[string]string{"client": r.target.client.ID}})
	s.cfg.Announce(r.ctx())
	return null(r)
}

// refreshClientSecret gives the client a new secret, shown once in the
// answer. The old secret stops working when the gateways reload their
// snapshot (at once when the announcement reaches them).
func (s *Service) refreshClientSecret(r *request) error {
	c := *r.target.client
	secret, err := s.rotateClientSecret(r.ctx(), actorOf(r), c)
	if err != nil {
		return err
	}
	out := clientJSON(c)
	out.Secret = secret
	return single(r, http.StatusOK, out)
}

// rotateClientSecret gives the client c a new secret, stores its
// hash, tells the gateways and returns the secret, to be shown once.
func (s *Service) rotateClientSecret(ctx context.Context, _ actor, c db.Client) (string, error) {
	secret, hash, err := s.newClientSecret()
	if err != nil {
		return "", err
	}
	if err := s.management.SetClientSecretHash(ctx, c.ID, hash, s.nowMs()); err != nil {
		return "", err
	}
	s.record(ctx, audit.Event{Type: audit.ClientSecretRotated, OrgID: c.OrganizationID, Data: map[string]string{"client": c.ID}})
	s.cfg.Announce(ctx)
	return secret, nil
}

// roleOut is a client role as the API shows it.
type roleOut struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

var clientRoles = []string{db.ClientRoleSystem, db.ClientRoleInternal, db.ClientRoleExternal}

func (s *Service) listClientRoles(r *request) error {
	roles, err := s.management.ClientRoles(r.ctx(), r.target.client.ID)
	if err != nil {
		return err
	}
	out := make([]roleOut, len(roles))
	for i, role := range roles {
		out[i] = roleOut{Type: "client-roles", ID: role}
	}
	return collection(r, out, len(out), db.PageInfo{})
}

// addClientRole gives the client one of the roles system, internal and
// external; a role it has already is 409 DUPLICATE.
func (s *Service) addClientRole(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	b.typeIs("client-roles")
	role := b.str("id", true, 64)
	if role != "" && !slices.Contains(clientRoles, role) {
		b.obstruct("id", ObstructionInvalid, "id must be one of system, internal and external.")
	}
	if err := b.done(); err != nil {
		return err
	}
	if err := s.management.AddClientRole(r.ctx(), r.target.client.ID, role); err != nil {
		return err
	}
	s.record(r.ctx(), audit.Event{Type: audit.ClientRoleAdded, OrgID: r.target.client.OrganizationID,
		Data: map[string]string{"client": r.target.client.ID, "role": role}})
	s.cfg.Announce(r.ctx())
	return single(r, http.StatusCreated, roleOut{Type: "client-roles", ID: role})
}

// removeClientRole takes a role from the client; a role it does not have
// is 404.
func (s *Service) removeClientRole(r *request) error {
	if err := s.management.RemoveClientRole(r.ctx(), r.target.client.ID, r.Param("roleId")); err != nil {
		return err
	}
	s.record(r.ctx(), audit.Event{Type: audit.ClientRoleRemoved, OrgID: r.target.client.OrganizationID,
		Data: map[string]string{"client": r.target.client.ID, "role": r.Param("roleId")}})
	s.cfg.Announce(r.ctx())
	return null(r)
}

// restrictionSuffix makes a restriction's API type from its store type:
// "ip" is "ip-access-restrictions".
const restrictionSuffix = "-access-restrictions"

// restrictionOut is an access restriction as the API shows it.
type restrictionOut struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	Value     string `json:"value"`
	CreatedMs int64  `json:"createdMs"`
	Client    ref    `json:"client"`
}

func restrictionJSON(x db.Restriction) restrictionOut {
	return restrictionOut{Type: x.Type + restrictionSuffix, ID: x.ID, Value: x.Value, CreatedMs: x.CreatedMs,
		Client: refTo("clients", x.ClientID)}
}

// mayRestrictAPI is the extra rule of api restrictions: ISC or a
// sysadmin user.
func mayRestrictAPI(c *Caller) bool { return c.isc() || c.userIs(db.RoleSysadmin) }

func (s *Service) listRestrictions(r *request) error {
	xs, err := s.management.ListRestrictions(r.ctx(), r.target.client.ID)
	if err != nil {
		return err
	}
	out := make([]restrictionOut, len(xs))
	for i, x := range xs {
		out[i] = restrictionJSON(x)
	}
	return collection(r, out, len(out), db.PageInfo{})
}

// addRestriction adds an access restriction. The body's type says its
// kind (ip-, host- or api-access-restrictions) and is required; the
// value is checked and stored in the form the gateway matches (see
// normalizeIPRestriction, normalizeHostRestriction), so a duplicate is
// caught however it is written. An api restriction also needs ISC or a
// sysadmin, and names a registered API (or "accounts").
func (s *Service) addRestriction(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	typ := ""
	switch t := b.str("type", true, 64); t {
	case "":
	case db.RestrictionIP + restrictionSuffix, db.RestrictionHost + restrictionSuffix, db.RestrictionAPI + restrictionSuffix:
		typ = strings.TrimSuffix(t, restrictionSuffix)
	default:
		b.obstruct("type", ObstructionInvalid, "type must be ip-access-restrictions, host-access-restrictions or api-access-restrictions.")
	}
	if typ == db.RestrictionAPI && !mayRestrictAPI(r.caller) {
		return apiError(http.StatusForbidden, CodeForbidden, "Only ISC or a sysadmin may add api restrictions.")
	}
	n := len(b.obs)
	value := b.str("value", true, 255)
	if len(b.obs) == n && typ != "" {
		var problem string
		value, problem, err = s.normalizeRestriction(r.ctx(), typ, value)
		if err != nil {
			return err
		}
		if problem != "" {
			b.obstruct("value", ObstructionInvalid, problem)
		}
	}
	if err := b.done(); err != nil {
		return err
	}
	x, err := s.addClientRestriction(r.ctx(), actorOf(r), r.target.client.ID, typ, value)
	if err != nil {
		return err
	}
	return single(r, http.StatusCreated, restrictionJSON(x))
}

// normalizeRestriction checks a restriction value of the type typ (one
// of db.RestrictionIP, RestrictionHost and RestrictionAPI) and returns it
// in the form the gateway matches; problem says why a value is refused.
// It fails only when the registry of APIs cannot be read.
func (s *Service) normalizeRestriction(ctx context.Context, typ, value string) (normalized, problem string, err error) {
	switch typ {
	case db.RestrictionIP:
		normalized, problem = normalizeIPRestriction(value)
	case db.RestrictionHost:
		normalized, problem = normalizeHostRestriction(value)
	case db.RestrictionAPI:
		return s.checkAPIRestriction(ctx, value)
	default:
		problem = "type must be ip, host or api."
	}
	return normalized, problem, nil
}

// addClientRestriction stores the restriction (typ, value) of the client
// clientID, value as normalizeRestriction returned it, and tells the
// gateways. The same restriction twice is db.ErrDuplicate.
func (s *Service) addClientRestriction(ctx context.Context, _ actor, clientID, typ, value string) (db.Restriction, error) {
	x := db.Restriction{ID: s.newID(), ClientID: clientID, Type: typ, Value: value, CreatedMs: s.nowMs()}
	if err := s.management.AddRestriction(ctx, x); err != nil {
		return db.Restriction{}, err
	}
	s.cfg.Announce(ctx)
	return x, nil
}

// deleteRestriction deletes a restriction of this client (one of another
// client is 404); an api restriction also needs ISC or a sysadmin.
func (s *Service) deleteRestriction(r *request) error {
	if err := s.removeClientRestriction(r.ctx(), actorOf(r), r.target.client.ID, r.Param("restrictionId"), mayRestrictAPI(r.caller)); err != nil {
		return err
	}
	return null(r)
}

// removeClientRestriction deletes the restriction id of the client
// clientID (one of another client is ErrHidden) and tells the gateways;
// an api restriction needs mayAPI (see mayRestrictAPI), else 403.
func (s *Service) removeClientRestriction(ctx context.Context, _ actor, clientID, id string, mayAPI bool) error {
	xs, err := s.management.ListRestrictions(ctx, clientID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(xs, func(x db.Restriction) bool { return x.ID == id })
	if i < 0 {
		return ErrHidden
	}
	if xs[i].Type == db.RestrictionAPI && !mayAPI {
		return apiError(http.StatusForbidden, CodeForbidden, "Only ISC or a sysadmin may remove api restrictions.")
	}
	if err := s.management.DeleteRestriction(ctx, clientID, id); err != nil {
		return err
	}
	s.cfg.Announce(ctx)
	return nil
}

// normalizeIPRestriction reads an ip restriction value as the gateway
// does (netaddr.ParseRange): a CIDR or a single address, IPv4-mapped
// IPv6 unmapped, and returns it as a masked prefix (a single address is
// a /32 or /128). problem says why a value is refused.
func normalizeIPRestriction(v string) (normalized, problem string) {
	v = strings.TrimSpace(v)
	if strings.Contains(v, "%") {
		return "", "value may not carry an IPv6 zone (%...)."
	}
	p, err := netaddr.ParseRange(v)
	if _, ok := errors.AsType[*netaddr.ShortMappedError](err); ok {
		return "", fmt.Sprintf("value %q is an IPv4-mapped prefix shorter than /96, which matches no client; write it as IPv4.", v)
	}
	if err != nil && strings.Contains(v, "/") {
		return "", fmt.Sprintf("value %q is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32.", v)
	}
	if err != nil {
		return "", fmt.Sprintf("value %q is not an IP address or a CIDR such as 10.0.0.0/8.", v)
	}
	return p.String(), ""
}

// maxHostLength is the longest DNS name.
const maxHostLength = 253

// normalizeHostRestriction reads a host restriction value as the gateway
// matches it against the request's Origin host, else its Host
// (gateway/pipeline.go requestHost): a host name without scheme, port or
// path, lower case, without a trailing dot. A name is ASCII letters,
// digits and hyphens in labels of 1 to 63 characters (an internationalized
// name is given in its xn-- form, as browsers send it). An IPv6 address
// is accepted in its canonical form. The gateway supports one wildcard:
// "*.example.com" matches every name under example.com at any depth, not
// example.com itself; so "*." is allowed only as the whole first label,
// followed by a name of at least two labels ("*.com" would restrict
// nothing worth the name). problem says why a value is refused.
func normalizeHostRestriction(v string) (normalized, problem string) {
	v = strings.ToLower(strings.TrimSpace(v))
	switch {
	case strings.Contains(v, "://"):
		return "", "value is a host name such as app.example.com, without a scheme (https://)."
	case strings.ContainsAny(v, "/?#"):
		return "", "value is a host name such as app.example.com, without a path."
	case strings.HasPrefix(v, "[") || strings.Count(v, ":") > 1:
		a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(v, "["), "]"))
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", fmt.Sprintf("value %q is not a host name or an IPv6 address.", v)
		}
		return a.String(), ""
	case strings.Contains(v, ":"):
		return "", "value is a host name without a port."
	}
	v = strings.TrimSuffix(v, ".")
	name, wildcard := strings.CutPrefix(v, "*.")
	if strings.Contains(name, "*") {
		return "", `value may hold a wildcard only as its first label, as in "*.example.com".`
	}
	if len(v) > maxHostLength {
		return "", fmt.Sprintf("value is longer than %d characters.", maxHostLength)
	}
	labels := strings.Split(name, ".")
	if wildcard && len(labels) < 2 {
		return "", `a wildcard needs a name of at least two labels after it, as in "*.example.com".`
	}
	for _, l := range labels {
		if !validLabel(l) {
			return "", fmt.Sprintf("value %q is not a host name: labels are 1 to 63 of a-z, 0-9 and - (not first or last); give an internationalized name in its xn-- form.", v)
		}
	}
	return v, ""
}

// validLabel reports whether l is a DNS label of letters, digits and
// hyphens (not at either end), 1 to 63 long; l is lower case.
func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkAPIRestriction checks an api restriction value: the name of an
// API in the registry (any version, active or not), or "accounts", the
// in-process accounts service, which the gateway restricts like any API
// (a client restricted to other APIs cannot call it). The gateway
// compares names exactly, so nothing is normalized but white space.
func (s *Service) checkAPIRestriction(ctx context.Context, v string) (name, problem string, err error) {
	v = strings.TrimSpace(v)
	if v == db.ReservedAPIName {
		return v, "", nil
	}
	apis, err := s.management.ListAPIs(ctx)
	if err != nil {
		return "", "", err
	}
	if !slices.ContainsFunc(apis, func(a db.API) bool { return a.Name == v }) {
		return "", fmt.Sprintf("value %q is not the name of a registered API.", v), nil
	}
	return v, "", nil
}
