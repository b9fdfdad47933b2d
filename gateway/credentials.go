package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/authgw/authgw/verifier"
)

// basicCredential finds the Basic credential among Authorization values,
// which may also hold a Macaroon credential ("Basic x, Macaroon y").
// "id:secret" gives both; "id" alone (no colon) or "id:" gives the ID
// without a secret. ok is false for two Basic credentials, bad base64, or
// an empty ID.
func basicCredential(values []string) (id, secret string, hasSecret, found, ok bool) {
	for _, v := range values {
		for cred := range strings.SplitSeq(v, ",") {
			scheme, value, _ := strings.Cut(strings.TrimSpace(cred), " ")
			if !strings.EqualFold(scheme, "Basic") {
				continue
			}
			if found {
				return "", "", false, false, false
			}
			found = true
			// Decoded on the stack when it fits: one string, not two.
			value = strings.TrimSpace(value)
			var buf [256]byte
			raw := buf[:0]
			if n := base64.StdEncoding.DecodedLen(len(value)); n > len(buf) {
				raw = make([]byte, n)
			}
			n, err := base64.StdEncoding.Decode(raw[:cap(raw)], []byte(value))
			if err != nil {
				return "", "", false, false, false
			}
			id, secret, hasSecret = strings.Cut(string(raw[:n]), ":")
			if id == "" {
				return "", "", false, false, false
			}
			hasSecret = hasSecret && secret != ""
		}
	}
	return id, secret, hasSecret, found, true
}

// secretMatches checks a presented secret against the client's stored
// hash: SHA-256 hex compared in constant time, or a legacy bcrypt hash
// ("$2...") verified once and then remembered (see bcryptCache).
// throttled is true, and ok false, when the secret would need a bcrypt
// check the client has no budget left for.
func (g *Gateway) secretMatches(c *client, ip netip.Addr, secret string) (ok, throttled bool) {
	return matchSecret(&g.bcrypt, c.id, ip, c.secretHash, secret, g.cfg.Now())
}

// matchSecret is secretMatches on a stored hash, with the bcrypt cache
// and budgets of b.
func matchSecret(b *bcryptCache, clientID string, ip netip.Addr, stored, secret string, now time.Time) (ok, throttled bool) {
	sum := sha256.Sum256([]byte(secret))
	if strings.HasPrefix(stored, "$2") {
		return b.check(clientID, ip, stored, sum, secret, now)
	}
	var got [sha256.Size * 2]byte
	hex.Encode(got[:], sum[:])
	return subtle.ConstantTimeCompare(got[:], []byte(stored)) == 1, false
}

// SecretChecker checks client secrets exactly as the gateway does, for
// the endpoints that take a client's secret themselves (the OpenID
// Connect token endpoint's client_secret_post): the SHA-256 hex compared
// in constant time, or a legacy bcrypt hash verified under the same
// per-client and per-instance budgets and then remembered. The zero
// value is ready; it is safe for concurrent use.
type SecretChecker struct {
	bcrypt bcryptCache
}

// Matches reports whether secret is the one of stored (a client's
// SecretHash), presented by clientID from ip at now. throttled is true,
// and ok false, when a bcrypt check was needed and the budget is spent.
func (c *SecretChecker) Matches(clientID string, ip netip.Addr, stored, secret string, now time.Time) (ok, throttled bool) {
	return matchSecret(&c.bcrypt, clientID, ip, stored, secret, now)
}

// maxBcryptCache bounds the remembered bcrypt successes (and the clients
// with a bcrypt budget); past it the map starts over.
const maxBcryptCache = 10000

// A client with a legacy bcrypt secret may make the gateway run bcrypt
// (tens of milliseconds of CPU) bcryptPerSecond times a second from one
// source, in bursts of bcryptBurst: wrong secrets cannot buy the gateway's
// CPU. A source is an IPv4 address or an IPv6 /64 (one subscriber's
// network, whose addresses cost nothing to change). The budget is per
// client and source, not per client alone, so that someone who knows a
// client's (public) ID cannot keep its budget empty from one address and
// lock the client out of an instance that has not yet remembered its
// secret. All sources together get bcryptInstancePerSecond, in bursts of
// bcryptInstanceBurst: whoever has many addresses may delay the first
// check of legacy secrets on an instance, but cannot make it spend more
// than about half a core on bcrypt. A secret that matched once is
// remembered and costs nothing afterwards.
const (
	bcryptPerSecond         = 1
	bcryptBurst             = 4
	bcryptInstancePerSecond = 8
	bcryptInstanceBurst     = 16
)

// bcryptCache remembers successful bcrypt checks, keyed by client ID and
// the SHA-256 of the presented secret, with the stored hash they matched:
// a changed secret (another stored hash) misses. Failures are not
// remembered; each costs one bcrypt from the client's budget.
type bcryptCache struct {
	mu     sync.RWMutex
	ok     map[bcryptKey]string
	budget map[string]*bcryptBudget // by client and source
	all    bcryptBudget             // the instance's
}

type bcryptKey struct {
	client string
	secret [sha256.Size]byte
}

// bcryptBudget is a token bucket of bcrypt checks.
type bcryptBudget struct {
	tokens float64
	last   time.Time
}

// take refills b at perSecond up to burst and takes one check from it;
// false when it is empty.
func (b *bcryptBudget) take(now time.Time, perSecond, burst float64) bool {
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(burst, b.tokens+elapsed*perSecond)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *bcryptCache) check(clientID string, ip netip.Addr, stored string, sum [sha256.Size]byte, secret string, now time.Time) (ok, throttled bool) {
	k := bcryptKey{clientID, sum}
	b.mu.RLock()
	hit, found := b.ok[k]
	b.mu.RUnlock()
	if found && subtle.ConstantTimeCompare([]byte(hit), []byte(stored)) == 1 {
		return true, false
	}
	if !b.spend(clientID+" "+source(ip), now) {
		return false, true
	}
	if bcrypt.CompareHashAndPassword([]byte(stored), []byte(secret)) != nil {
		return false, false
	}
	b.mu.Lock()
	if b.ok == nil || len(b.ok) >= maxBcryptCache {
		b.ok = map[bcryptKey]string{}
	}
	b.ok[k] = stored
	b.mu.Unlock()
	return true, false
}

// spend takes one bcrypt check from the budget of key (client and source)
// and then from the instance's; false when either is empty. The source's
// comes first, so one source cannot drain the instance's faster than its
// own refills.
func (b *bcryptCache) spend(key string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.budget == nil || len(b.budget) >= maxBcryptCache {
		b.budget = map[string]*bcryptBudget{}
	}
	bb := b.budget[key]
	if bb == nil {
		bb = &bcryptBudget{tokens: bcryptBurst, last: now}
		b.budget[key] = bb
	}
	if b.all.last.IsZero() {
		b.all = bcryptBudget{tokens: bcryptInstanceBurst, last: now}
	}
	return bb.take(now, bcryptPerSecond, bcryptBurst) && b.all.take(now, bcryptInstancePerSecond, bcryptInstanceBurst)
}

// source is the budget key of a client address: an IPv4 address, or the
// /64 of an IPv6 one. An invalid address (no client IP) is one source.
func source(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().String()
	}
	return ip.String()
}

// ipAllowed reports whether one of the client's prefixes holds ip.
func ipAllowed(c *client, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range c.ips {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// hostAllowed reports whether one of the client's host rules matches.
func hostAllowed(c *client, host string) bool {
	if host == "" {
		return false
	}
	for _, h := range c.hosts {
		if h.match(host) {
			return true
		}
	}
	return false
}

// clientIP is the README's "The gateway": the socket address, unless it is a trusted proxy
// (or, when trustPeer, any peer: the forward-auth caller already passed
// its own trust check); then X-Forwarded-For is walked from the right and
// the first hop that is not a trusted proxy is the client. A hop that does
// not parse ends the walk at the last trusted address. When every hop is
// trusted, the left-most is the client.
func (g *Gateway) clientIP(r *http.Request, trustPeer bool) netip.Addr {
	peer := remoteIP(r)
	if !trustPeer && !g.trusted(peer) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	ip := peer
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return ip
			}
			ip = a.Unmap()
			if !g.trusted(ip) {
				return ip
			}
		}
	}
	return ip
}

func (g *Gateway) trusted(a netip.Addr) bool {
	for _, p := range g.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// remoteIP is the socket peer's address, unmapped.
func remoteIP(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	return verifier.RemoteIP(r)
}

// splitHostPort is net.SplitHostPort returning ok.
func splitHostPort(hostport string) (host, port string, ok bool) {
	h, p, err := net.SplitHostPort(hostport)
	return h, p, err == nil
}
