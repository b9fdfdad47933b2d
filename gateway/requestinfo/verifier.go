package requestinfo

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"
)

// DefaultLeeway is the clock skew a Verifier tolerates by default.
const DefaultLeeway = 5 * time.Second

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// Keys are the gateway's public keys. Required; ECDSA P-256. Give the
	// new and the old key while the gateway's key is rotated. A token is
	// checked against the key whose thumbprint is its kid, else against
	// each key in turn.
	Keys []*ecdsa.PublicKey
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
	cache    *cache[Claims] // nil when off
}

type verifierKey struct {
	pub *ecdsa.PublicKey
	kid string
}

// NewVerifier checks cfg, fills its defaults and returns a Verifier. It
// errors for no key, a key that is not P-256, an empty audience, or a
// negative leeway.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("requestinfo: VerifierConfig.Keys is required")
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
	v := &Verifier{audience: cfg.Audience, issuer: cfg.Issuer, now: cfg.Now, leeway: cfg.Leeway}
	if cfg.CacheSize > 0 {
		v.cache = newCache[Claims](cfg.CacheSize)
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
// base64url parts of JSON, a token over MaxTokenLength, a crit header or
// a typ other than JWT; ErrAlgorithm for any alg but ES256;
// ErrBadSignature for a signature that is not 64 bytes or not made by one
// of the keys; ErrExpired, ErrNotYetValid, ErrAudience and ErrIssuer for
// the claims.
func (v *Verifier) Verify(token string) (Claims, error) {
	now := v.now()
	var id [32]byte
	if v.cache != nil && token != "" && len(token) <= MaxTokenLength {
		id = sha256.Sum256([]byte(token))
		if c, ok := v.cache.get(id, now); ok {
			if err := v.checkClaims(&c, now); err != nil {
				return Claims{}, err
			}
			return c.clone(), nil
		}
	}
	unsafePayload, err := v.verifySignature(token)
	if err != nil {
		return Claims{}, err
	}
	c, err := decodeClaims(unsafePayload)
	if err != nil {
		return Claims{}, err
	}
	if err := v.checkClaims(&c, now); err != nil {
		return Claims{}, err
	}
	if v.cache != nil {
		// Kept until a while after it can no longer pass checkClaims.
		v.cache.put(id, c, time.Time{}, time.Unix(c.Expires, 0).Add(v.leeway+time.Second))
		return c.clone(), nil
	}
	return c, nil
}

// verifySignature checks the JWS and returns its payload, still to be
// checked.
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

	unsafeHeaderJSON, err := b64.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	var unsafeHeader jwsHeader
	if err := json.Unmarshal(unsafeHeaderJSON, &unsafeHeader); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if unsafeHeader.Alg != Algorithm {
		return nil, fmt.Errorf("%w: alg %q", ErrAlgorithm, unsafeHeader.Alg)
	}
	if unsafeHeader.Crit != nil {
		return nil, fmt.Errorf("%w: crit header", ErrMalformed)
	}
	if unsafeHeader.Typ != "" && !strings.EqualFold(unsafeHeader.Typ, "JWT") {
		return nil, fmt.Errorf("%w: typ %q", ErrMalformed, unsafeHeader.Typ)
	}

	if s == "" {
		return nil, fmt.Errorf("%w: no signature", ErrBadSignature)
	}
	sig, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: signature encoding: %v", ErrBadSignature, err)
	}
	if len(sig) != 64 {
		return nil, fmt.Errorf("%w: signature of %d bytes, want 64", ErrBadSignature, len(sig))
	}
	digest := sha256.Sum256([]byte(token[:len(h)+1+len(p)]))
	r := new(big.Int).SetBytes(sig[:32])
	ss := new(big.Int).SetBytes(sig[32:])
	if !v.verifyDigest(unsafeHeader.Kid, digest[:], r, ss) {
		return nil, ErrBadSignature
	}

	payload, err := b64.DecodeString(p)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	return payload, nil
}

// verifyDigest tries the key named by kid, else every key.
func (v *Verifier) verifyDigest(kid string, digest []byte, r, s *big.Int) bool {
	for _, k := range v.keys {
		if k.kid == kid {
			return ecdsa.Verify(k.pub, digest, r, s)
		}
	}
	for _, k := range v.keys {
		if ecdsa.Verify(k.pub, digest, r, s) {
			return true
		}
	}
	return false
}

// decodeClaims decodes a payload whose signature holds.
func decodeClaims(payload []byte) (Claims, error) {
	var w wireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if w.T != 0 {
		return Claims{}, fmt.Errorf("%w: role encoding t=%d", ErrMalformed, w.T)
	}
	if w.Expires == 0 || w.IssuedAt == 0 {
		return Claims{}, fmt.Errorf("%w: no exp or iat", ErrMalformed)
	}
	return w.Claims, nil
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
