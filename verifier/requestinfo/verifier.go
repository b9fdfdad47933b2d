package requestinfo

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DefaultLeeway is the clock skew a Verifier tolerates by default.
const DefaultLeeway = 5 * time.Second

// DefaultCacheSize is the number of verified tokens a Verifier remembers
// unless VerifierConfig.CacheSize says otherwise.
const DefaultCacheSize = 10000

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// Keys are the gateway's public keys. Required unless Remote is set;
	// ECDSA P-256. Give the new and the old key while the gateway's key is
	// rotated. A token is checked against the key whose thumbprint is its
	// kid, else against each key in turn.
	Keys []*ecdsa.PublicKey
	// Remote fetches the gateway's keys from its JWKS URL and follows its
	// rotations (see RemoteKeys), instead of Keys or besides them (Keys
	// are then tried first). Optional.
	Remote *RemoteKeys
	// Audience is this backend's own API name; tokens for another API are
	// refused. Required.
	Audience string
	// Issuer, when set, must equal the token's iss. Optional. Default
	// unchecked.
	Issuer string
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// Leeway is the clock skew tolerated on exp and iat. Optional. Default
	// DefaultLeeway (5 s); not negative.
	Leeway time.Duration
	// CacheSize bounds how many verified tokens are remembered (as a
	// SHA-256 of the token), so a token the gateway reuses costs one ECDSA
	// verification, not one per request. A remembered token is still
	// refused once expired. Optional. Default DefaultCacheSize (10,000);
	// negative turns it off.
	CacheSize int
}

// Verifier checks X-Auth-Info tokens on the backend side. It is safe for
// concurrent use.
type Verifier struct {
	keys     []verifierKey
	audience string
	issuer   string
	now      func() time.Time
	leeway   time.Duration
	memo     *memo       // nil when off
	remote   *RemoteKeys // nil when the keys are static
}

type verifierKey struct {
	pub *ecdsa.PublicKey
	kid string
}

// algorithms is the one JWS algorithm go-jose is told to accept: a token
// naming any other is refused while it is parsed, before any key is used.
var algorithms = []jose.SignatureAlgorithm{jose.ES256}

// NewVerifier checks cfg, fills its defaults and returns a Verifier. It
// errors for neither Keys nor Remote, a key that is not P-256, an empty audience, or a
// negative leeway.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if len(cfg.Keys) == 0 && cfg.Remote == nil {
		return nil, errors.New("requestinfo: VerifierConfig.Keys or Remote is required")
	}
	if cfg.Audience == "" {
		return nil, errors.New("requestinfo: VerifierConfig.Audience is required")
	}
	if cfg.Leeway < 0 {
		return nil, errors.New("requestinfo: VerifierConfig.Leeway is negative")
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	v := &Verifier{audience: cfg.Audience, issuer: cfg.Issuer, now: cfg.Now, leeway: cfg.Leeway, remote: cfg.Remote}
	if cfg.CacheSize > 0 {
		v.memo = newMemo(cfg.CacheSize)
	}
	for i, pub := range cfg.Keys {
		kid, err := Thumbprint(pub)
		if err != nil {
			return nil, fmt.Errorf("requestinfo: VerifierConfig.Keys[%d]: %w", i, err)
		}
		v.keys = append(v.keys, verifierKey{pub: pub, kid: kid})
	}
	return v, nil
}

// FromRequest verifies the request info of r with v and returns its
// claims: the one call a backend makes. It errors with ErrMissing when r
// has no X-Auth-Info, ErrMalformed when it has several or
// X-Auth-Info-Signed is present and not "1" (unsigned info is never
// accepted), ErrAlgorithm when X-Auth-Info-Algorithm is present and not
// ES256, and otherwise as Verify does.
func FromRequest(r *http.Request, v *Verifier) (Claims, error) {
	values := r.Header.Values(HeaderInfo)
	switch {
	case len(values) == 0 || (len(values) == 1 && values[0] == ""):
		return Claims{}, ErrMissing
	case len(values) > 1:
		return Claims{}, fmt.Errorf("%w: %d %s headers", ErrMalformed, len(values), HeaderInfo)
	}
	if signed := r.Header.Values(HeaderSigned); len(signed) > 1 || (len(signed) == 1 && signed[0] != "1") {
		return Claims{}, fmt.Errorf("%w: %s must be 1", ErrMalformed, HeaderSigned)
	}
	if alg := r.Header.Values(HeaderAlgorithm); len(alg) > 1 || (len(alg) == 1 && alg[0] != Algorithm) {
		return Claims{}, fmt.Errorf("%w: %s must be %s", ErrAlgorithm, HeaderAlgorithm, Algorithm)
	}
	return v.Verify(values[0])
}

// Verify checks token and returns its claims. The signature is checked
// first, then the claims: exp and iat within the leeway, aud equal to the
// configured audience, iss when an issuer is configured. It errors with
// ErrMissing for an empty token; ErrMalformed for anything but three
// canonical base64url parts of JSON, a token over MaxTokenLength, or a
// header with members other than alg, typ (JWT) and kid; ErrAlgorithm for
// any alg but ES256; ErrBadSignature for a signature that is not 64 bytes
// or not made by one of the keys; ErrKeysUnavailable when the keys come
// from Remote and none may be used; ErrExpired, ErrNotYetValid, ErrAudience
// and ErrIssuer for the claims.
func (v *Verifier) Verify(token string) (Claims, error) {
	now := v.now()
	var id [32]byte
	if v.memo != nil && token != "" && len(token) <= MaxTokenLength {
		id = sha256.Sum256([]byte(token))
		if c, ok := v.memo.get(id); ok {
			if err := v.checkClaims(&c, now); err != nil {
				return Claims{}, err
			}
			return c.clone(), nil
		}
	}
	payload, err := v.verifySignature(token)
	if err != nil {
		return Claims{}, err
	}
	c, err := decodeClaims(payload)
	if err != nil {
		return Claims{}, err
	}
	if err := v.checkClaims(&c, now); err != nil {
		return Claims{}, err
	}
	if v.memo != nil {
		v.memo.put(id, c)
		return c.clone(), nil
	}
	return c, nil
}

// verifySignature checks the JWS with go-jose and returns its payload,
// whose claims are still to be checked. go-jose owns the format and the
// cryptography; what is checked here is what go-jose leaves to its
// caller: the token's size, one canonical spelling of each part, and
// which header members a request-info token may have.
func (v *Verifier) verifySignature(token string) ([]byte, error) {
	if token == "" {
		return nil, ErrMissing
	}
	if len(token) > MaxTokenLength {
		return nil, fmt.Errorf("%w: token of %d bytes", ErrMalformed, len(token))
	}
	h, rest, ok1 := strings.Cut(token, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s, ".") {
		return nil, fmt.Errorf("%w: not three parts", ErrMalformed)
	}
	if h == "" || p == "" {
		return nil, fmt.Errorf("%w: empty part", ErrMalformed)
	}
	if !canonicalBase64URL(h) || !canonicalBase64URL(p) {
		return nil, fmt.Errorf("%w: not canonical base64url", ErrMalformed)
	}
	if !canonicalBase64URL(s) {
		return nil, fmt.Errorf("%w: signature is not canonical base64url", ErrBadSignature)
	}
	if err := checkHeaderNames(h); err != nil {
		return nil, err
	}

	unsafeJWS, err := jose.ParseSignedCompact(token, algorithms)
	if err != nil {
		if _, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			return nil, fmt.Errorf("%w: %v", ErrAlgorithm, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	unsafeHeader := unsafeJWS.Signatures[0].Protected
	if err := checkHeader(&unsafeHeader); err != nil {
		return nil, err
	}
	if s == "" {
		return nil, fmt.Errorf("%w: no signature", ErrBadSignature)
	}
	keys := v.keys
	if v.remote != nil && !hasKID(keys, unsafeHeader.KeyID) {
		remote, err := v.remote.keys(unsafeHeader.KeyID)
		if err != nil && len(keys) == 0 {
			return nil, err
		}
		keys = append(keys[:len(keys):len(keys)], remote...)
	}
	for _, k := range keys { // the key the kid names first
		if k.kid == unsafeHeader.KeyID {
			if payload, err := unsafeJWS.Verify(k.pub); err == nil {
				return payload, nil
			}
			return nil, ErrBadSignature
		}
	}
	for _, k := range keys {
		if payload, err := unsafeJWS.Verify(k.pub); err == nil {
			return payload, nil
		}
	}
	return nil, ErrBadSignature
}

// checkHeaderNames refuses a protected header (its base64url part) with
// a member named other than alg, kid and typ, whatever the member's
// value. checkHeader cannot see them all: go-jose drops a member whose
// value is null, so {"crit":null} or {"jwk":null} would reach it as a
// header without crit or jwk.
func checkHeaderNames(unsafeHeaderPart string) error {
	unsafeJSON, err := b64.DecodeString(unsafeHeaderPart)
	if err != nil {
		return fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	var unsafeMembers map[string]json.RawMessage
	if err := json.Unmarshal(unsafeJSON, &unsafeMembers); err != nil {
		return fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	for name := range unsafeMembers {
		switch name {
		case "alg", "kid", "typ":
		default:
			return fmt.Errorf("%w: %q header", ErrMalformed, name)
		}
	}
	return nil
}

// checkHeader refuses every protected header member but alg (already
// checked by go-jose), kid and typ: a key of the token's own (jwk, jku,
// x5u, x5c), crit, b64, and anything unknown. The gateway writes exactly
// those three.
func checkHeader(h *jose.Header) error {
	if h.JSONWebKey != nil {
		return fmt.Errorf("%w: jwk header", ErrMalformed)
	}
	if h.Nonce != "" {
		return fmt.Errorf("%w: nonce header", ErrMalformed)
	}
	// go-jose keeps a parsed x5c only behind Certificates; an empty root
	// pool makes that fail fast instead of verifying a chain.
	if _, err := h.Certificates(x509.VerifyOptions{Roots: x509.NewCertPool()}); !errors.Is(err, jose.ErrMissingX5cHeader) {
		return fmt.Errorf("%w: x5c header", ErrMalformed)
	}
	for name, value := range h.ExtraHeaders {
		if name != jose.HeaderType {
			return fmt.Errorf("%w: %q header", ErrMalformed, string(name))
		}
		if typ, ok := value.(string); !ok || !strings.EqualFold(typ, TokenType) {
			return fmt.Errorf("%w: typ %v", ErrMalformed, value)
		}
	}
	return nil
}

// checkClaims checks the claims of a token whose signature holds at now.
func (v *Verifier) checkClaims(c *Claims, now time.Time) error {
	if now.After(time.Unix(c.Expires, 0).Add(v.leeway)) {
		return fmt.Errorf("%w: at %s", ErrExpired, time.Unix(c.Expires, 0).UTC().Format(time.RFC3339))
	}
	if time.Unix(c.IssuedAt, 0).After(now.Add(v.leeway)) {
		return fmt.Errorf("%w: at %s", ErrNotYetValid, time.Unix(c.IssuedAt, 0).UTC().Format(time.RFC3339))
	}
	if c.Audience != v.audience {
		return fmt.Errorf("%w: %q", ErrAudience, c.Audience)
	}
	if v.issuer != "" && c.Issuer != v.issuer {
		return fmt.Errorf("%w: %q", ErrIssuer, c.Issuer)
	}
	return nil
}

// clone returns a deep copy of c, so callers cannot change claims the
// Verifier remembers.
func (c Claims) clone() Claims {
	c.ClientRoles = slices.Clone(c.ClientRoles)
	if c.User != nil {
		u := *c.User
		u.Roles = slices.Clone(u.Roles)
		c.User = &u
	}
	return c
}
