package verifier

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/caveat"
	"github.com/authgw/authgw/mint/wire"
	"github.com/authgw/authgw/policy"
)

// DefaultSkew is how long after its time-before a token is still accepted,
// for clocks that disagree a little.
const DefaultSkew = 30 * time.Second

// Config configures a Verifier and its middleware.
type Config struct {
	// ServerID must equal every server-id caveat. Required.
	ServerID string
	// Keys verify tokens; any key in the ring may have minted one. Required.
	Keys *mint.KeyRing
	// Public maps a method to concrete route patterns that need no token
	// (HEAD uses GET's). Optional. Default: none.
	Public map[string][]string
	// Revocations is consulted for every verified token. Optional.
	// Default: nothing is revoked.
	Revocations Revocations
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// Skew is the tolerance on time-before. Optional. Default DefaultSkew;
	// a negative value means none.
	Skew time.Duration
	// Cookies names the per-method cookies read for browsers. Optional.
	// Default: secure cookies named __Host-authgw-get and so on.
	Cookies CookieConfig
	// AllowedOrigins may send unsafe requests carried by cookie, besides
	// the request's own host, e.g. "https://app.example.com". Optional.
	AllowedOrigins []string
	// ClientID tells which API client made the request, for tokens bound
	// with a client caveat. Optional. Default: none, so bound tokens fail.
	ClientID func(*http.Request) string
	// ClientIP tells the request's client IP, for ip caveats. Optional.
	// Default: the socket's remote address.
	ClientIP func(*http.Request) netip.Addr
	// Scheme tells how the client reached the server, "http" or "https",
	// for the CSRF check's own origin (scheme, host and port). Optional.
	// Default: "https" when the request came over TLS, else "http". A
	// server behind a proxy that ends TLS sets it from the proxy's
	// X-Forwarded-Proto.
	Scheme func(*http.Request) string
	// Logger receives deny reasons at debug level. Optional. Default slog.Default().
	Logger *slog.Logger
	// MemoSize bounds how many verified tokens are remembered so their
	// next uses skip the signature chain. Optional. Default
	// DefaultMemoSize; a negative value disables the memo.
	MemoSize int
}

// Revocations tells whether a verified token has been revoked: its
// session, or every token of its user issued before some time. It is
// called on every request and must not perform I/O.
type Revocations interface {
	Revoked(sessionID, userID string, issuedAt time.Time) bool
}

// Request holds the facts about an HTTP request that caveats are checked
// against.
type Request struct {
	// Method is the HTTP method; HEAD is checked as GET.
	Method string
	// Path is the raw (still percent-encoded) request path.
	Path string
	// ClientID is the API client the request was made with, "" if none.
	ClientID string
	// ClientIP is the client's address; the zero Addr if unknown.
	ClientIP netip.Addr
}

// Identity is what a verified token says about its holder.
type Identity struct {
	UserID    string
	SessionID string
	// ClientID is the client the token is bound to, "" when unbound.
	ClientID string
	// KeyID names the master key that minted the token.
	KeyID string
	// Method is the method the token grants.
	Method string
	// IssuedAt is when the token was minted.
	IssuedAt time.Time
	// Expires is the earliest time-before of the token.
	Expires time.Time
	// StepUp is true when the token is a step-up token and the request
	// carried a valid discharge of its third-party caveat: the user
	// proved a factor again within the scope's stepUp.
	StepUp bool
	// AuthTime is when the user authenticated at the login the token's
	// session began with (its auth-time caveat); the zero time when the
	// token does not say (one minted before authgw wrote it).
	AuthTime time.Time
	routes   string
	roles    string // the user-roles argument; "" for none
	amr      string // the amr argument; "" when the token has none
}

// Routes returns the routes the token was minted with. Attenuation may
// have narrowed them further; the verifier enforced every routes caveat.
func (id Identity) Routes() []string { return strings.Fields(id.routes) }

// Roles returns the user's roles when the token was minted (its user-roles
// caveat), nil for none; a new slice each call, so a caller may keep or
// change it.
func (id Identity) Roles() []string { return strings.Fields(id.roles) }

// Verifier checks tokens. It is safe for concurrent use.
type Verifier struct {
	cfg     Config
	public  map[string]policy.Routes
	origins map[string]bool
	pool    sync.Pool
	// expand holds, per key ID, the HMAC states of the key's HKDF
	// pseudo-random key, so deriving a root key is one short HMAC.
	expand map[string]*fixedKey
	// keyGen holds the states of the macaroon key-generator key.
	keyGen *fixedKey
	// zeroKey holds the states of the all-zero key with which a discharge
	// is bound to its token (macaroon.v2's Bind).
	zeroKey *fixedKey
	memo    *memo[verifiedToken]
	// cookies holds, per method (HEAD too), the names of its token,
	// step-up and discharge cookies, so a request builds none.
	cookies map[string]*[3]string
	// discharges remembers verified discharges, each with the signature
	// of the token it is bound to.
	discharges *memo[verifiedDischarge]
}

// hkdfCounter ends HKDF-Expand's first (and only needed) block.
var hkdfCounter = []byte{1}

// state is the per-verification scratch space, pooled.
type state struct {
	chain
	buf       [mint.MaxEncodedSize * 3 / 4]byte
	tok       wire.UnsafeToken
	root, sig [sha256.Size]byte
	texts     [wire.MaxCaveats]string
	// cavKey, h1 and h2 are scratch space for a third-party caveat.
	cavKey, h1, h2 [sha256.Size]byte
	open           [sha256.Size]byte
}

// New checks the configuration, fills the defaults and returns a
// Verifier. It fails when ServerID or Keys is missing, a public pattern is
// malformed or an allowed origin is not scheme://host[:port].
func New(cfg Config) (*Verifier, error) {
	if !mint.ValidID(cfg.ServerID) {
		return nil, fmt.Errorf("verifier: ServerID %q must be 1 to 64 of [A-Za-z0-9._-]", cfg.ServerID)
	}
	if cfg.Keys == nil || len(cfg.Keys.IDs()) == 0 {
		return nil, errors.New("verifier: Keys is required and must hold a key")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Skew == 0 {
		cfg.Skew = DefaultSkew
	} else if cfg.Skew < 0 {
		cfg.Skew = 0
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = RemoteIP
	}
	if cfg.Scheme == nil {
		cfg.Scheme = tlsScheme
	}
	cfg.Cookies = cfg.Cookies.withDefaults()
	v := &Verifier{cfg: cfg, public: map[string]policy.Routes{}, origins: map[string]bool{}}
	for method, patterns := range cfg.Public {
		if !caveat.ValidMethod(method) {
			return nil, fmt.Errorf("verifier: public scope: unknown method %q", method)
		}
		set, err := policy.NewRoutes(patterns...)
		if err != nil {
			return nil, fmt.Errorf("verifier: public scope: %w", err)
		}
		v.public[method] = set
	}
	for _, o := range cfg.AllowedOrigins {
		if !validOrigin(o) {
			return nil, fmt.Errorf("verifier: allowed origin %q must be scheme://host[:port]", o)
		}
		v.origins[o] = true
	}
	v.pool.New = func() any { return &state{chain: *newChain()} }
	v.expand = map[string]*fixedKey{}
	for _, keyID := range cfg.Keys.IDs() {
		prk, _ := cfg.Keys.ExtractedKey([]byte(keyID))
		k, err := newFixedKey(prk[:])
		if err != nil {
			return nil, fmt.Errorf("verifier: %w", err)
		}
		v.expand[keyID] = k
	}
	var err error
	if v.keyGen, err = newFixedKey(keyGenerator); err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}
	if v.zeroKey, err = newFixedKey(make([]byte, sha256.Size)); err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}
	v.cookies = map[string]*[3]string{}
	for _, m := range append(mint.Methods(), http.MethodHead) {
		v.cookies[m] = &[3]string{cfg.Cookies.Name(m), cfg.Cookies.StepUpName(m), cfg.Cookies.DischargeName(m)}
	}
	v.memo = newMemo[verifiedToken](cfg.MemoSize)
	v.discharges = newMemo[verifiedDischarge](cfg.MemoSize)
	return v, nil
}

// IsPublic reports whether the public scope lets the request through
// without a token. path must be canonical.
func (v *Verifier) IsPublic(method, path string) bool {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	return v.public[method].Match(path)
}

// Verify decodes token, checks its signature, then every caveat against
// req, then the revocation set. It returns the token's Identity, or an
// error wrapping ErrBadRequest (non-canonical path), ErrUnauthorized or
// ErrForbidden, with the reason as one of this package's sentinels.
// It reads no clock but Config.Now and performs no I/O.
//
// A step-up token (one with a third-party caveat) also needs, among
// discharges, the discharge of that caveat bound to it (macaroon.v2's
// Bind): its signature, from the caveat's root key, and its caveats are
// checked like the token's. Without a valid one the error is a
// *StepUpError (ErrStepUpRequired), which tells where to get one.
// Discharges are ignored for a token without a third-party caveat.
//
// A token whose signature held is remembered (by its exact text, in a
// bounded in-memory memo), so that its next uses skip the HMAC chain;
// its caveats and the revocation set are checked on every call.
func (v *Verifier) Verify(token string, req Request, discharges ...string) (Identity, error) {
	if err := policy.CanonicalPath(req.Path); err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrNonCanonicalPath, err)
	}
	return v.verifyCanonical(token, req, discharges...)
}

// verifyCanonical is Verify for a request whose path is known to be
// canonical (Authorize has checked it), so the check is not run twice.
func (v *Verifier) verifyCanonical(token string, req Request, discharges ...string) (Identity, error) {
	if token == "" {
		return Identity{}, ErrMissingToken
	}
	vt, ok := v.memo.get(token)
	if !ok {
		var err error
		if vt, err = v.verifySignature(token); err != nil {
			return Identity{}, err
		}
		v.memo.put(token, vt)
	}
	// A revoked token is refused as such (401) even where its caveats
	// would only make it insufficient (403).
	err := v.checkCaveats(vt, req)
	if err != nil && !errors.Is(err, ErrForbidden) {
		return Identity{}, err
	}
	id := vt.identity
	if v.cfg.Revocations != nil && v.cfg.Revocations.Revoked(id.SessionID, id.UserID, id.IssuedAt) {
		return Identity{}, ErrRevoked
	}
	if err != nil {
		return Identity{}, err
	}
	if vt.third != nil {
		if err := v.checkDischarge(vt, req, discharges); err != nil {
			return Identity{}, err
		}
		id.StepUp = true
	}
	return id, nil
}

// verifiedToken is a token whose signature holds and whose caveats are
// well-formed; what they require of a request is still to be checked.
type verifiedToken struct {
	identity Identity
	caveats  []caveat.Caveat
	// orgs are the arguments of the orgs caveats, for the routes'
	// organization parameters; nil when there are none. They start in
	// orgsBuf, so the usual one or two take no allocation of their own.
	orgs    policy.OrgGrants
	orgsBuf [2]string
	// sig is the token's signature, to which a discharge is bound.
	sig [sha256.Size]byte
	// third is the token's third-party caveat, nil when it has none.
	third *thirdParty
}

// verifySignature decodes the token and checks its signature, and nothing
// else: the caveats come back unchecked.
func (v *Verifier) verifySignature(token string) (*verifiedToken, error) {
	if len(token) > mint.MaxEncodedSize {
		return nil, ErrMalformedToken
	}
	s := v.pool.Get().(*state)
	defer v.pool.Put(s)
	b, ok := wire.AppendBase64(s.buf[:0], token)
	if !ok || !wire.SplitV2(b, &s.tok) {
		return nil, ErrMalformedToken
	}
	unsafeID := s.tok.ID.In(b)
	raw, err := wire.ParseIdentifier(b, s.tok.ID)
	if err != nil {
		return nil, ErrMalformedToken
	}
	expand, ok := v.expand[string(raw.KeyID.In(b))]
	if !ok {
		return nil, ErrUnknownKey
	}
	root, sig := &s.root, &s.sig
	s.macFixed(expand, unsafeID, hkdfCounter, root) // HKDF-Expand, first block
	s.macFixed(v.keyGen, root[:], nil, sig)
	s.mac(sig[:], unsafeID, nil, sig)
	for i := 0; i < s.tok.N; i++ {
		if i != s.tok.Third {
			s.mac(sig[:], s.tok.Caveats[i].In(b), nil, sig)
			continue
		}
		// A third-party caveat: its verification ID seals the caveat's
		// root key with the signature so far; then the signature goes on
		// over both IDs (macaroon.v2's keyedHash2).
		vid := s.tok.VID.In(b)
		if !s.openVID(sig, vid) {
			return nil, ErrBadSignature
		}
		s.mac(sig[:], vid, nil, &s.h1)
		s.mac(sig[:], s.tok.Caveats[i].In(b), nil, &s.h2)
		s.mac(sig[:], s.h1[:], s.h2[:], sig)
	}
	if subtle.ConstantTimeCompare(sig[:], s.tok.Sig.In(b)) != 1 {
		return nil, ErrBadSignature
	}
	// The token is ours: copy what the caveat checks need out of the
	// pooled buffer, into one string the Identity's fields point into.
	text := string(b)
	vt := &verifiedToken{caveats: make([]caveat.Caveat, 0, s.tok.N)}
	vt.identity = Identity{
		KeyID:     spanOf(text, raw.KeyID),
		SessionID: spanOf(text, raw.SessionID),
		IssuedAt:  time.UnixMilli(raw.IssuedAtMs).UTC(),
	}
	vt.sig = *sig
	texts := s.texts[:0]
	for i := 0; i < s.tok.N; i++ {
		if i != s.tok.Third {
			texts = append(texts, spanOf(text, s.tok.Caveats[i]))
		}
	}
	err = compileCaveats(vt, texts)
	clear(texts)
	if err != nil {
		return nil, err
	}
	if s.tok.Third >= 0 {
		// The only third party authgw knows is its accounts service: a
		// third-party caveat it did not seal, for this user and session,
		// is refused, so a holder cannot add one of their own and
		// discharge it themselves to pass for stepped up.
		claim, err := mint.OpenStepUp(v.cfg.Keys, s.tok.Caveats[s.tok.Third].In(b))
		if err != nil {
			return nil, ErrBadCaveat
		}
		if claim.UserID != vt.identity.UserID || claim.SessionID != vt.identity.SessionID {
			return nil, ErrConflict
		}
		// The key the verification ID holds is the one whoever added the
		// caveat chose: it must be the sealed one, or a holder could copy
		// the sealed identifier into a caveat keyed their own way and
		// discharge it themselves. The location is not signed (macaroon
		// format): only the discharge endpoint is accepted, so that a
		// refusal never points a client elsewhere.
		key := claim.CaveatKey()
		s.macFixed(v.keyGen, key[:], nil, &s.h1)
		clear(key[:])
		if subtle.ConstantTimeCompare(s.h1[:], s.cavKey[:]) != 1 || string(s.tok.Location.In(b)) != mint.DischargePath {
			return nil, ErrBadCaveat
		}
		vt.third = &thirdParty{
			id:       spanOf(text, s.tok.Caveats[s.tok.Third]),
			location: mint.DischargePath,
			key:      s.cavKey,
		}
	}
	return vt, nil
}

// spanOf returns the part of text that s locates, without copying.
func spanOf(text string, s wire.Span) string { return text[s.Off : s.Off+s.N] }
