package caveat

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authgw/authgw/mint/wire"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/policy/netaddr"
)

// Narrowing says how several caveats of one kind in a token combine.
// Every caveat of a token must hold, so a holder who appends one can
// only narrow the token; Narrowing says what "hold" means when one kind
// appears more than once.
type Narrowing uint8

const (
	// EachHolds: every occurrence is checked against the request on its
	// own (server-id, routes, ip).
	EachHolds Narrowing = iota + 1
	// SameValue: every occurrence must carry the same argument, or the
	// token is refused as self-contradictory (method, user, user-roles,
	// amr, auth-time, client).
	SameValue
	// SameAsIdentifier: every occurrence must equal the identifier's
	// field of the same name (session).
	SameAsIdentifier
	// Earliest: the earliest time wins (time-before).
	Earliest
	// Intersection: an entry counts only when every occurrence lists it
	// (orgs).
	Intersection
)

// String names the narrowing for people (authgw inspect, docs).
func (n Narrowing) String() string {
	switch n {
	case EachHolds:
		return "each must hold"
	case SameValue:
		return "all must be equal"
	case SameAsIdentifier:
		return "must equal the identifier"
	case Earliest:
		return "the earliest wins"
	case Intersection:
		return "only what every one lists"
	}
	return "unknown"
}

// Constrains says which fact of a request a caveat is checked against,
// every time a token is used; None for a caveat that only describes the
// token (user, user-roles, session, orgs), which is checked once, when
// the token is first verified.
type Constrains uint8

const (
	None       Constrains = iota
	Server                // the verifier's server ID
	HTTPMethod            // the request's method (HEAD as GET)
	Path                  // the request's canonical path
	Clock                 // the verifier's clock
	ClientID              // the API client the request was made with
	ClientIP              // the request's client address
)

// Kind is one caveat kind. The kinds are the package's constants
// (ServerID, Method, ...), listed in mint order by Kinds; the zero Kind
// is no kind. A Kind's rules (its name, syntax, whether it is mandatory,
// repeatable, how it narrows and what it constrains) are read through
// its methods from a table inside this package: no caller can change
// them, so no code linked into a process can weaken what the verifier
// requires.
type Kind uint8

// The caveat kinds, in the order a minted token carries them (ip is
// never minted: a holder adds it). Their numbers are not written
// anywhere (a caveat names its kind), so a new kind may go anywhere in
// the list.
const (
	ServerID     Kind = iota + 1 // server-id: the verifier's server ID
	Method                       // method: the HTTP method
	Routes                       // routes: the token route patterns
	ExceptRoutes                 // except-routes: route patterns the token must not reach
	Orgs                         // orgs: the memberships the routes may use
	TimeBefore                   // time-before: the expiry
	AMR                          // amr: how the user authenticated (RFC 8176 values)
	AuthTime                     // auth-time: when the user authenticated
	User                         // user: the user ID
	UserRoles                    // user-roles: the user's roles
	Session                      // session: the identifier's session ID
	Client                       // client: the API client ID
	IP                           // ip: the client address ranges
	endKinds                     // one past the last kind
)

// MaxKinds bounds the number of kinds, so that tables indexed by
// Kind.Index can be arrays that cost no allocation.
const MaxKinds = 16

// rule is what defines one kind. The table of rules is kinds; its entry
// 0 is the zero Kind's, which has no name and parses nothing.
type rule struct {
	name       string
	syntax     string
	mandatory  bool
	repeatable bool
	narrowing  Narrowing
	constrains Constrains
	// mintedOnly: only the mint may write it (see Kind.MintedOnly).
	mintedOnly bool
	// parse checks the argument and returns its typed value. It must not
	// allocate.
	parse func(arg string) (value, bool)
}

// kinds holds the rules of the kinds, indexed by Kind. It is never
// written after initialisation.
var kinds = [endKinds]rule{
	ServerID: {constrains: Server, name: "server-id", syntax: "the verifier's server ID", mandatory: true, repeatable: true, narrowing: EachHolds, parse: anyText},
	Method:   {constrains: HTTPMethod, name: "method", syntax: "GET, POST, PUT, PATCH or DELETE", mandatory: true, repeatable: true, narrowing: SameValue, parse: parseMethod},
	Routes: {constrains: Path, name: "routes", syntax: "token route patterns separated by single spaces (policy.ParseRoutes)", mandatory: true, repeatable: true,
		narrowing: EachHolds, parse: parseRoutes},
	ExceptRoutes: {constrains: Path, name: "except-routes", syntax: "token route patterns separated by single spaces (policy.ParseRoutes), that the request's path must match none of",
		repeatable: true, narrowing: EachHolds, parse: parseRoutes},
	Orgs: {name: "orgs", syntax: "ORGID[:FLAGS] entries (FLAGS of r, e, m, d in that order), each organization once",
		repeatable: true, narrowing: Intersection, parse: parseOrgs},
	TimeBefore: {constrains: Clock, name: "time-before", syntax: "an RFC 3339 UTC time ending in Z", mandatory: true, repeatable: true, narrowing: Earliest, parse: parseTime},
	User:       {name: "user", syntax: "the user ID", mandatory: true, repeatable: true, narrowing: SameValue, parse: anyText},
	UserRoles: {name: "user-roles", syntax: `role names (1 to 64 of [A-Za-z0-9._-]) separated by single spaces, or "-" for none`, mandatory: true,
		repeatable: true, narrowing: SameValue, parse: parseRoles},
	Session: {name: "session", syntax: "the identifier's session ID", mandatory: true, repeatable: true, narrowing: SameAsIdentifier, parse: anyText},
	// amr and auth-time describe the login the token's session began
	// with. They are optional, so that tokens minted before they existed
	// stay valid; a token without them says nothing of how its user
	// authenticated, and a backend must read that as "unknown", never as
	// "two factors". Only the mint may write them (MintedOnly): a holder
	// who could append "amr mfa" to a token minted without one would
	// claim a second factor nobody proved.
	AMR: {name: "amr", syntax: "authentication method references (RFC 8176, 1 to 16 of [a-z0-9]) separated by single spaces, each once",
		repeatable: true, narrowing: SameValue, mintedOnly: true, parse: parseAMR},
	AuthTime: {name: "auth-time", syntax: "an RFC 3339 UTC time ending in Z", repeatable: true, narrowing: SameValue, mintedOnly: true,
		parse: parseTime},
	Client: {constrains: ClientID, name: "client", syntax: "the API client ID", repeatable: true, narrowing: SameValue, parse: anyText},
	IP: {constrains: ClientIP, name: "ip", syntax: "CIDRs without host bits or single addresses, separated by single spaces (netaddr.ParsePrefix)",
		repeatable: true, narrowing: EachHolds, parse: parseIP},
}

// Every kind has an Index below MaxKinds.
var _ [MaxKinds - int(endKinds) + 1]struct{}

// rule returns k's rule; the zero Kind's for a value that is no kind.
func (k Kind) rule() *rule {
	if k >= endKinds {
		k = 0
	}
	return &kinds[k]
}

// Name returns the caveat's name, the text before the space; "" for the
// zero Kind.
func (k Kind) Name() string { return k.rule().name }

// Syntax says how the argument is written, for people.
func (k Kind) Syntax() string { return k.rule().syntax }

// Mandatory reports whether every token the verifier accepts must carry
// a caveat of this kind.
func (k Kind) Mandatory() bool { return k.rule().mandatory }

// Repeatable reports whether a caveat of this kind may appear more than
// once (a holder may append another); Narrowing says how they combine.
func (k Kind) Repeatable() bool { return k.rule().repeatable }

// MintedOnly reports whether a caveat of this kind counts only when the
// mint wrote it: the mint writes it before the token's user caveat (see
// Kinds), and a holder can only append caveats after every caveat the
// mint wrote, so a token whose first caveat of this kind comes after its
// first user caveat was given it by a holder, and the verifier refuses
// it. Later occurrences, equal to the first (SameValue), change nothing.
func (k Kind) MintedOnly() bool { return k.rule().mintedOnly }

// Narrowing says how several caveats of this kind combine; 0 for the
// zero Kind.
func (k Kind) Narrowing() Narrowing { return k.rule().narrowing }

// Constrains says what of a request a caveat of this kind is checked
// against.
func (k Kind) Constrains() Constrains { return k.rule().constrains }

// Index is the kind's position in Kinds, for tables indexed by kind
// (below MaxKinds); -1 for the zero Kind.
func (k Kind) Index() int {
	if k-1 >= endKinds-1 { // the zero Kind wraps round
		return -1
	}
	return int(k) - 1
}

// String returns the kind's name, or "Kind(N)" for a value that is no
// kind.
func (k Kind) String() string {
	if k.Index() < 0 {
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
	return k.Name()
}

// Kinds returns every caveat kind, in mint order, in a new slice: the
// caller may change it without changing the grammar.
func Kinds() []Kind {
	out := mintOrder // a copy
	return out[:]
}

// mintOrder lists the kinds in mint order; Kinds returns copies of it.
var mintOrder = func() (out [endKinds - 1]Kind) {
	for i := range out {
		out[i] = Kind(i + 1)
	}
	return out
}()

// Lookup returns the kind named name, and false when there is none. It
// does not allocate.
func Lookup(name string) (Kind, bool) {
	for k := ServerID; k < endKinds; k++ {
		if kinds[k].name == name {
			return k, true
		}
	}
	return 0, false
}

// NoRoles is the user-roles argument of a user who has no role: a caveat
// argument cannot be empty.
const NoRoles = "-"

// TimeFormat is the layout of a time-before argument.
const TimeFormat = time.RFC3339

// methods are the HTTP methods a method caveat may name, in mint order.
var methods = [...]string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// Methods returns the HTTP methods a method caveat may name, in mint
// order, in a new slice: the caller may change it without changing the
// grammar.
func Methods() []string { return slices.Clone(methods[:]) }

// ValidMethod reports whether a method caveat may name m (one of
// Methods). It does not allocate.
func ValidMethod(m string) bool {
	for _, have := range methods {
		if have == m {
			return true
		}
	}
	return false
}

// Caveat is one first-party caveat, parsed: its kind, its argument as
// written, and the argument's typed value where it has one. Build it
// with Parse, New or the typed constructors; the zero Caveat is no
// caveat.
type Caveat struct {
	kind Kind
	arg  string
	value
}

// value is the typed value of an argument, for the kinds that have one.
type value struct {
	at     time.Time     // TimeBefore
	routes policy.Routes // Routes
}

// Kind returns the caveat's kind.
func (c Caveat) Kind() Kind { return c.kind }

// Arg returns the argument as written.
func (c Caveat) Arg() string { return c.arg }

// String returns the caveat's text, "name argument".
func (c Caveat) String() string {
	if c.kind == 0 {
		return ""
	}
	return c.kind.Name() + " " + c.arg
}

// Time returns a time-before or auth-time caveat's time; the zero time
// for another.
func (c Caveat) Time() time.Time { return c.at }

// Routes returns a routes or except-routes caveat's compiled routes;
// the zero Routes, which matches nothing, for another.
func (c Caveat) Routes() policy.Routes { return c.routes }

// AllowsIP reports whether an ip caveat lets addr through: addr,
// unmapped, is in one of its ranges. An unknown addr is in none. It is
// false for another kind. It does not allocate.
func (c Caveat) AllowsIP(addr netip.Addr) bool {
	if c.kind != IP {
		return false
	}
	in, _ := ipList(c.arg, addr)
	return in
}

// Errors of Parse and New. Each matches ErrBadCaveat.
var (
	ErrBadCaveat = errors.New("malformed caveat")
	// ErrBadText: not "name argument" in printable UTF-8.
	ErrBadText = fmt.Errorf("%w: not of the form \"name argument\" in printable UTF-8", ErrBadCaveat)
	// ErrUnknown: no kind has that name.
	ErrUnknown = fmt.Errorf("%w: unknown caveat", ErrBadCaveat)
	// ErrBadArgument: the argument does not follow the kind's syntax.
	ErrBadArgument = fmt.Errorf("%w: malformed argument", ErrBadCaveat)
)

// Parse reads the text of one first-party caveat. It fails with
// ErrBadText, ErrUnknown or ErrBadArgument (as is, so that it does not
// allocate; Explain says more). It does not allocate when it succeeds.
func Parse(text string) (Caveat, error) {
	if !ValidText(text) {
		return Caveat{}, ErrBadText
	}
	name, arg, _ := strings.Cut(text, " ")
	k, ok := Lookup(name)
	if !ok {
		return Caveat{}, ErrUnknown
	}
	v, ok := kinds[k].parse(arg)
	if !ok {
		return Caveat{}, ErrBadArgument
	}
	return Caveat{kind: k, arg: arg, value: v}, nil
}

// Explain says in words why text is not a caveat the verifier accepts,
// or returns "" when Parse accepts it.
func Explain(text string) string {
	_, err := Parse(text)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrBadText):
		return `not of the form "name argument" in printable UTF-8`
	case errors.Is(err, ErrUnknown):
		name, _, _ := strings.Cut(text, " ")
		return fmt.Sprintf("unknown caveat %q", name)
	}
	name, _, _ := strings.Cut(text, " ")
	k, _ := Lookup(name)
	return fmt.Sprintf("malformed %s caveat: want %s", k.Name(), k.Syntax())
}

// New builds a caveat of kind k from its argument. It fails with a
// message naming the kind's syntax when the argument does not follow it.
func New(k Kind, arg string) (Caveat, error) {
	if k.Index() < 0 {
		return Caveat{}, ErrUnknown
	}
	c, err := Parse(k.Name() + " " + arg)
	if err != nil {
		return Caveat{}, fmt.Errorf("%w: %s %q: want %s", ErrBadArgument, k.Name(), arg, k.Syntax())
	}
	return c, nil
}

// MustNew is New that panics on an error, for arguments fixed in code.
func MustNew(k Kind, arg string) Caveat {
	c, err := New(k, arg)
	if err != nil {
		panic(err)
	}
	return c
}

// NewTimeBefore returns a time-before caveat for t, in UTC, truncated to
// whole seconds (which can only shorten a lifetime).
func NewTimeBefore(t time.Time) Caveat {
	t = t.UTC().Truncate(time.Second)
	return Caveat{kind: TimeBefore, arg: t.Format(TimeFormat), value: value{at: t}}
}

// NewRoutes returns a routes caveat for routes. It fails with
// ErrBadArgument for the zero Routes, which no caveat can carry.
func NewRoutes(routes policy.Routes) (Caveat, error) {
	if routes.String() == "" {
		return Caveat{}, fmt.Errorf("%w: routes: no route", ErrBadArgument)
	}
	return Caveat{kind: Routes, arg: routes.String(), value: value{routes: routes}}, nil
}

// NewIP returns an ip caveat for the ranges, each written as
// netaddr.ParsePrefix reads it back (a full-length prefix as a single
// address). It fails with ErrBadArgument for no range, an invalid one,
// one with host bits set or a zone.
func NewIP(ranges ...netip.Prefix) (Caveat, error) {
	parts := make([]string, len(ranges))
	for i, p := range ranges {
		if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" {
			return Caveat{}, fmt.Errorf("%w: ip: %v is not a masked prefix", ErrBadArgument, p)
		}
		parts[i] = p.String()
		if p.IsSingleIP() {
			parts[i] = p.Addr().String()
		}
	}
	return New(IP, strings.Join(parts, " "))
}

// MaxAMR bounds the values of an amr caveat.
const MaxAMR = 8

// ValidAMRValue reports whether v may stand in an amr caveat: 1 to 16 of
// [a-z0-9] (the RFC 8176 registry's values are short lower-case words).
func ValidAMRValue(v string) bool {
	if len(v) == 0 || len(v) > 16 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// NewAuthTime returns an auth-time caveat for t, in UTC, truncated to
// whole seconds.
func NewAuthTime(t time.Time) Caveat {
	t = t.UTC().Truncate(time.Second)
	return Caveat{kind: AuthTime, arg: t.Format(TimeFormat), value: value{at: t}}
}

// RolesArgument is the user-roles argument for roles: the names joined by
// spaces, or NoRoles when there are none.
func RolesArgument(roles []string) string {
	if len(roles) == 0 {
		return NoRoles
	}
	return strings.Join(roles, " ")
}

// ValidRole reports whether role may stand in a user-roles caveat: 1 to
// 64 of [A-Za-z0-9._-], not NoRoles.
func ValidRole(role string) bool { return role != NoRoles && wire.ValidID(role) }

// ValidText reports whether c has the caveat shape "name argument": a
// lower-case name of [a-z-], one space, a non-empty argument, valid
// UTF-8 and no control characters.
func ValidText(c string) bool {
	name, arg, ok := strings.Cut(c, " ")
	if !ok || name == "" || arg == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !('a' <= name[i] && name[i] <= 'z' || name[i] == '-') {
			return false
		}
	}
	for i := 0; i < len(arg); i++ {
		if c := arg[i]; c < 0x20 || c == 0x7f {
			return false
		} else if c >= 0x80 {
			return validText(arg[i:])
		}
	}
	return true
}

// validText is ValidText's check of non-ASCII text: valid UTF-8 and no
// C0 or C1 control characters.
func validText(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// The argument parsers of the kinds. None allocates when it succeeds.

// anyText accepts any argument ValidText does: the value is compared,
// not read (server-id, user, session, client).
func anyText(string) (value, bool) { return value{}, true }

func parseMethod(arg string) (value, bool) { return value{}, ValidMethod(arg) }

func parseRoutes(arg string) (value, bool) {
	r, err := policy.ParseRoutes(arg)
	return value{routes: r}, err == nil
}

func parseOrgs(arg string) (value, bool) { return value{}, policy.ValidOrgs(arg) }

func parseTime(arg string) (value, bool) {
	if !strings.HasSuffix(arg, "Z") {
		return value{}, false
	}
	t, err := time.Parse(time.RFC3339, arg)
	return value{at: t}, err == nil
}

// parseRoles accepts NoRoles, or role names (each ValidRole) separated
// by single spaces.
func parseRoles(arg string) (value, bool) {
	if arg == NoRoles {
		return value{}, true
	}
	for {
		role, rest, more := strings.Cut(arg, " ")
		if !ValidRole(role) {
			return value{}, false
		}
		if !more {
			return value{}, true
		}
		arg = rest
	}
}

// parseAMR accepts 1 to MaxAMR values (each ValidAMRValue), separated by
// single spaces, none twice.
func parseAMR(arg string) (value, bool) {
	all := arg
	for n := 1; ; n++ {
		v, rest, more := strings.Cut(arg, " ")
		if n > MaxAMR || !ValidAMRValue(v) || amrListed(all[:len(all)-len(arg)], v) {
			return value{}, false
		}
		if !more {
			return value{}, true
		}
		arg = rest
	}
}

// amrListed reports whether the space-separated values of list (each
// followed by one space) include v.
func amrListed(list, v string) bool {
	for list != "" {
		item, rest, _ := strings.Cut(list, " ")
		if item == v {
			return true
		}
		list = rest
	}
	return false
}

func parseIP(arg string) (value, bool) {
	_, ok := ipList(arg, netip.Addr{})
	return value{}, ok
}

// ipList parses a space-separated list of ranges as written
// (netaddr.ParsePrefix: CIDRs without host bits, or single addresses; an
// IPv4-mapped range stays mapped and so matches no client address, which
// is compared unmapped) and reports whether addr is in one of them; ok
// is false when the list is malformed. An unknown addr is in none.
func ipList(list string, addr netip.Addr) (in, ok bool) {
	addr = addr.Unmap()
	if list == "" {
		return false, false
	}
	for list != "" {
		item, rest, cut := strings.Cut(list, " ")
		if cut && rest == "" {
			return false, false
		}
		list = rest
		p, err := netaddr.ParsePrefix(item)
		if err != nil {
			return false, false
		}
		if addr.IsValid() && p.Contains(addr) {
			in = true
		}
	}
	return in, true
}
