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
func (g *Gateway) secretMatches(c *client, ip, secret string) (ok, throttled bool) {
	sum := sha256.Sum256([]byte(secret))
	if strings.HasPrefix(c.secretHash, "$2") {
		return g.bcrypt.check(c.id, ip, c.secretHash, sum, secret, g.cfg.Now())
	}
	var got [sha256.Size * 2]byte
	hex.Encode(got[:], sum[:])
	return subtle.ConstantTimeCompare(got[:], []byte(c.secretHash)) == 1, false
}

// maxBcryptCache bounds the remembered bcrypt successes (and the clients
// with a bcrypt budget); past it the map starts over.
const maxBcryptCache = 10000

// A client with a legacy bcrypt secret may make the gateway run bcrypt
// (tens of milliseconds of CPU) bcryptPerSecond times a second from one
// IP address, in bursts of bcryptBurst: wrong secrets cannot buy the
// gateway's CPU. The budget is per client and IP, not per client alone,
// so that someone who knows a client's (public) ID cannot keep its budget
// empty and lock the client out of an instance that has not yet
// remembered its secret. A secret that matched once is remembered and
// costs nothing afterwards.
const (
	bcryptPerSecond = 1
	bcryptBurst     = 4
)

// bcryptCache remembers successful bcrypt checks, keyed by client ID and
// the SHA-256 of the presented secret, with the stored hash they matched:
// a changed secret (another stored hash) misses. Failures are not
// remembered; each costs one bcrypt from the client's budget.
type bcryptCache struct {
	mu     sync.RWMutex
	ok     map[bcryptKey]string
	budget map[string]*bcryptBudget
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

func (b *bcryptCache) check(clientID, ip, stored string, sum [sha256.Size]byte, secret string, now time.Time) (ok, throttled bool) {
	k := bcryptKey{clientID, sum}
	b.mu.RLock()
	hit, found := b.ok[k]
	b.mu.RUnlock()
	if found && subtle.ConstantTimeCompare([]byte(hit), []byte(stored)) == 1 {
		return true, false
	}
	if !b.spend(clientID+" "+ip, now) {
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

// spend takes one bcrypt check from the budget of key (client and IP),
// refilled at bcryptPerSecond up to bcryptBurst; false when it is empty.
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
	if elapsed := now.Sub(bb.last).Seconds(); elapsed > 0 {
		bb.tokens = min(bcryptBurst, bb.tokens+elapsed*bcryptPerSecond)
	}
	bb.last = now
	if bb.tokens < 1 {
		return false
	}
	bb.tokens--
	return true
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

// clientIP is SPEC §5.2: the socket address, unless it is a trusted proxy
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
