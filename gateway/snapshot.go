package gateway

import (
	"cmp"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/authgw/authgw/policy/netaddr"
)

// snapshot is the compiled, read-only form of a Snapshot that requests
// read through an atomic pointer: clients by ID, APIs by name and version,
// restrictions parsed once.
type snapshot struct {
	clients map[string]*client
	apis    map[string]*apiFamily
	// hosts are the bound host names (hostKey form), to their API.
	hosts    map[string]hostBinding
	loadedAt time.Time
}

// hostBinding is the API version a host is bound to; the zero value
// refuses the host (bound twice in a snapshot not from the store).
type hostBinding struct {
	name    string
	version int
}

// hostKey is how a request's host is matched against the bindings and
// the gateway's own hosts: lower case, without port, without one trailing
// dot, an IPv6 literal without its brackets. An unparsable value yields
// itself lowered, which no binding holds. So does a port that is not a
// number ("gw.example.com:evil"): net.SplitHostPort takes any text after
// the colon, which would otherwise pass an own name's check and reach the
// backend in X-Forwarded-Host.
func hostKey(host string) string {
	if h, port, ok := splitHostPort(host); ok {
		if !validPort(port) {
			return ""
		}
		host = h
	} else if len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// validPort accepts an empty port (RFC 3986 allows "host:") or one of
// at most five digits.
func validPort(port string) bool {
	if len(port) > 5 {
		return false
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	return true
}

// boundHost returns the API version host is bound to.
func (s *snapshot) boundHost(host string) (hostBinding, bool) {
	if len(s.hosts) == 0 || host == "" {
		return hostBinding{}, false
	}
	b, ok := s.hosts[hostKey(host)]
	return b, ok
}

// client is one live client with its restrictions compiled.
type client struct {
	id         string
	secretHash string // lower-case SHA-256 hex, or a legacy "$2..." bcrypt hash
	reqsPerSec int
	limitKey   string // the rate limiter's key, "c:<id>", made once
	roles      []string
	// Restrictions: a nil slice or map means "no restriction of the type";
	// a non-nil empty one (every stored value unparsable) refuses all.
	ips   []netip.Prefix
	hosts []hostRule
	apis  map[string]bool
}

// hostRule matches a host name: exactly, or, for "*.example.com", any name
// ending in ".example.com" (at any depth, never "example.com" itself).
type hostRule struct {
	name   string // lower case; for a wildcard, ".example.com"
	suffix bool
}

func (h hostRule) match(host string) bool {
	if h.suffix {
		return len(host) > len(h.name) && strings.HasSuffix(host, h.name)
	}
	return host == h.name
}

// apiFamily is every registered version of one API name.
type apiFamily struct {
	versions map[int]*api
	// available lists the active versions, "v1, v2", for the 404 detail.
	available string
}

// api is one registered (name, version).
type api struct {
	name              string
	version           int
	target            *url.URL // nil when the stored URL does not parse
	allowUnidentified bool
	active            bool
	loginRedirect     bool

	// ups are the upstreams, target's first; more than one is balanced
	// (upstreamTransport). next is the round-robin counter.
	ups  []*upstream
	next atomic.Uint32
	// rt carries requests to the upstreams: the gateway's transport for
	// the API's timeouts and protocols. timeout bounds the whole
	// exchange, 0 for none.
	rt      http.RoundTripper
	timeout time.Duration
	spec    SnapshotAPI
}

// compile builds the snapshot, reporting each value it could not parse
// (such values fail closed: see client).
func compile(s Snapshot, now time.Time, problem func(msg string, args ...any)) *snapshot {
	out := &snapshot{clients: make(map[string]*client, len(s.Clients)), apis: map[string]*apiFamily{}, loadedAt: now}
	for i := range s.Clients {
		c := &s.Clients[i]
		cc := &client{id: c.ID, secretHash: c.SecretHash, reqsPerSec: c.ReqsPerSec, limitKey: "c:" + c.ID, roles: c.Roles}
		if !strings.HasPrefix(cc.secretHash, "$2") {
			cc.secretHash = strings.ToLower(cc.secretHash)
		}
		for _, r := range c.Restrictions {
			switch r.Type {
			case RestrictionIP:
				if cc.ips == nil {
					cc.ips = []netip.Prefix{}
				}
				p, err := netaddr.ParseRange(r.Value)
				if err != nil {
					problem("gateway: unparsable ip restriction ignored (fails closed)", "client", c.ID, "restriction", r.ID)
					continue
				}
				cc.ips = append(cc.ips, p)
			case RestrictionHost:
				if cc.hosts == nil {
					cc.hosts = []hostRule{}
				}
				v := strings.ToLower(strings.TrimSuffix(r.Value, "."))
				if rest, ok := strings.CutPrefix(v, "*."); ok && rest != "" {
					cc.hosts = append(cc.hosts, hostRule{name: "." + rest, suffix: true})
				} else if v != "" && !strings.Contains(v, "*") {
					cc.hosts = append(cc.hosts, hostRule{name: v})
				} else {
					problem("gateway: unparsable host restriction ignored (fails closed)", "client", c.ID, "restriction", r.ID)
				}
			case RestrictionAPI:
				if cc.apis == nil {
					cc.apis = map[string]bool{}
				}
				cc.apis[r.Value] = true
			default:
				// An unknown type cannot be honoured: refuse the client
				// everything rather than ignore a restriction.
				problem("gateway: unknown restriction type (client refused)", "client", c.ID, "restriction", r.ID, "type", r.Type)
				cc.apis = map[string]bool{}
			}
		}
		out.clients[c.ID] = cc
	}
	for _, a := range s.APIs {
		fam := out.apis[a.Name]
		if fam == nil {
			fam = &apiFamily{versions: map[int]*api{}}
			out.apis[a.Name] = fam
		}
		ca := &api{name: a.Name, version: a.Version, allowUnidentified: a.AllowUnidentified, active: a.Active, loginRedirect: a.LoginRedirect}
		if u, err := url.Parse(a.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			ca.target = u
		} else if a.Active {
			problem("gateway: API URL does not parse as http(s)://host (requests get 502)", "api", a.Name, "version", a.Version)
		}
		ca.spec = a
		fam.versions[a.Version] = ca
		for _, h := range a.Hosts {
			k := hostKey(h)
			if prev, dup := out.hosts[k]; dup {
				// The store keeps a host unique; two bindings cannot both
				// hold, so the host is refused (the empty binding).
				problem("gateway: host bound to two APIs (both bindings ignored)", "host", k, "api", a.Name, "other", prev.name)
				out.hosts[k] = hostBinding{}
				continue
			}
			if out.hosts == nil {
				out.hosts = map[string]hostBinding{}
			}
			out.hosts[k] = hostBinding{name: a.Name, version: a.Version}
		}
	}

	for _, fam := range out.apis {
		var active []int
		for v, a := range fam.versions {
			if a.active {
				active = append(active, v)
			}
		}
		slices.SortFunc(active, cmp.Compare)
		parts := make([]string, len(active))
		for i, v := range active {
			parts[i] = "v" + strconv.Itoa(v)
		}
		fam.available = strings.Join(parts, ", ")
	}
	return out
}

// lookupAPI returns the active API (name, version), or nil and the 404
// detail.
func (s *snapshot) lookupAPI(name string, version int) (*api, string) {
	fam := s.apis[name]
	if fam == nil {
		return nil, "No API is registered as " + name + "."
	}
	if a := fam.versions[version]; a != nil && a.active {
		return a, ""
	}
	detail := "API " + name + " has no active version v" + strconv.Itoa(version) + "; available: "
	if fam.available == "" {
		return nil, detail + "none."
	}
	return nil, detail + fam.available + "."
}
