package infosign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authgw/authgw/verifier/requestinfo"
)

// DefaultTTL is the life of a token unless SignerConfig.TTL says
// otherwise: the exp of the README's "Request info for backends".
const DefaultTTL = 30 * time.Second

// DefaultCacheSize is the number of identities a Signer's cache holds
// unless SignerConfig.CacheSize says otherwise.
const DefaultCacheSize = 10000

// SignerConfig configures a Signer.
type SignerConfig struct {
	// Key signs the tokens. Required; ECDSA P-256.
	Key *ecdsa.PrivateKey
	// Issuer is the iss claim, the gateway's name. Required.
	Issuer string
	// TTL is the life of a token, exp minus iat. Optional. Default
	// DefaultTTL (30 s); at least one second.
	TTL time.Duration
	// Reuse is how long a token is handed out again for the same identity
	// (every claim but iat, exp and iss) instead of signing anew, so a token
	// reaches a backend with at least TTL-Reuse left. Optional. Default
	// TTL/2; negative turns reuse off; must be below TTL.
	Reuse time.Duration
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// KeyID is the "kid" of the JWS header. Optional. Default the RFC 7638
	// thumbprint of the public key (requestinfo.Thumbprint), which
	// requestinfo.Verifier matches.
	KeyID string
	// CacheSize bounds the identities whose tokens are kept for reuse; when
	// full, a stale entry or else a random one is evicted. Optional.
	// Default DefaultCacheSize (10,000), rounded up to a multiple of 32.
	CacheSize int
	// Previous are public keys published beside Key's (Signer.JWKS) but
	// never used to sign: the key rotated out (KeySet.Previous), so that
	// backends keep verifying its tokens. Optional; ECDSA P-256.
	Previous []*ecdsa.PublicKey
}

// Signer turns requestinfo.Claims into signed X-Auth-Info tokens. It is
// safe for concurrent use.
type Signer struct {
	issuer    string
	ttl       time.Duration
	reuse     time.Duration
	now       func() time.Time
	cacheSize int
	// keys is what SetKeys replaces: the signing key, the published
	// keys and the tokens signed with them, swapped together.
	keys atomic.Pointer[signerKeys]
}

// signerKeys is a Signer's key material and the tokens signed with it.
type signerKeys struct {
	jws   jose.Signer // ES256 with the key, typ JWT and kid
	jwks  []byte      // the published keys, a JWKS document
	cache *cache[string]
}

// NewSigner checks cfg, fills its defaults and returns a Signer. It errors
// for a missing or non-P-256 key or Previous key, an empty issuer, a TTL under a second, a
// Reuse not below TTL, or a negative CacheSize.
func NewSigner(cfg SignerConfig) (*Signer, error) {
	if cfg.Key == nil || cfg.Key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("infosign: SignerConfig.Key: %w", requestinfo.ErrNotP256)
	}
	if cfg.Issuer == "" {
		return nil, errors.New("infosign: SignerConfig.Issuer is required")
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.TTL < time.Second {
		return nil, fmt.Errorf("infosign: SignerConfig.TTL %v is under a second", cfg.TTL)
	}
	if cfg.Reuse == 0 {
		cfg.Reuse = cfg.TTL / 2
	}
	if cfg.Reuse >= cfg.TTL {
		return nil, fmt.Errorf("infosign: SignerConfig.Reuse %v must be below TTL %v", cfg.Reuse, cfg.TTL)
	}
	if cfg.CacheSize < 0 {
		return nil, errors.New("infosign: SignerConfig.CacheSize is negative")
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Signer{
		issuer:    cfg.Issuer,
		ttl:       cfg.TTL,
		reuse:     cfg.Reuse,
		now:       cfg.Now,
		cacheSize: cfg.CacheSize,
	}
	keys, err := s.newKeys(cfg.Key, cfg.KeyID, cfg.Previous)
	if err != nil {
		return nil, err
	}
	s.keys.Store(keys)
	return s, nil
}

// newKeys makes the key material of key (kid keyID, else its thumbprint)
// and the Previous keys, with an empty token cache.
func (s *Signer) newKeys(key *ecdsa.PrivateKey, keyID string, previous []*ecdsa.PublicKey) (*signerKeys, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("infosign: SignerConfig.Key: %w", requestinfo.ErrNotP256)
	}
	if keyID == "" {
		kid, err := requestinfo.Thumbprint(&key.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("infosign: SignerConfig.Key: %w", err)
		}
		keyID = kid
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: keyID}},
		(&jose.SignerOptions{}).WithType(requestinfo.TokenType),
	)
	if err != nil {
		return nil, fmt.Errorf("infosign: SignerConfig.Key: %w", err)
	}
	jwks, err := requestinfo.PublicJWKS(append([]*ecdsa.PublicKey{&key.PublicKey}, previous...)...)
	if err != nil {
		return nil, fmt.Errorf("infosign: SignerConfig.Previous: %w", err)
	}
	k := &signerKeys{jws: signer, jwks: jwks}
	if s.reuse > 0 {
		k.cache = newCache[string](s.cacheSize)
	}
	return k, nil
}

// SetKeys replaces the signing key and the Previous keys (a rotation of
// the request-info key file read again while serving): the next token is
// signed with key, its kid the key's thumbprint, and JWKS publishes the
// new keys. Tokens kept for reuse are dropped. On error (a key not
// P-256) the Signer keeps its keys. It is safe to call while signing.
func (s *Signer) SetKeys(key *ecdsa.PrivateKey, previous []*ecdsa.PublicKey) error {
	keys, err := s.newKeys(key, "", previous)
	if err != nil {
		return err
	}
	s.keys.Store(keys)
	return nil
}

// JWKS returns the JWKS document of the keys backends verify with: the
// signing key first, then the Previous keys, each with its RFC 7638
// thumbprint as kid, use "sig" and alg ES256, and no private member. The
// caller must not change it.
func (s *Signer) JWKS() []byte { return s.keys.Load().jwks }

// Sign returns the compact JWS of c with iat set to now, exp to now+TTL
// and iss to the configured issuer (the values c has there are ignored).
// When the same identity was signed less than Reuse ago, that token is
// returned again, its iat and exp unchanged. Nil role lists are sent as
// [] (see requestinfo.MarshalPayload). It errors when c has no Audience,
// when signing fails, and when the token would exceed
// requestinfo.MaxTokenLength.
func (s *Signer) Sign(c requestinfo.Claims) (string, error) {
	if c.Audience == "" {
		return "", errors.New("infosign: claims have no audience")
	}
	now := s.now()
	keys := s.keys.Load()
	var id [32]byte
	if keys.cache != nil {
		id = identityKey(&c)
		if token, ok := keys.cache.get(id, now); ok {
			return token, nil
		}
	}
	c.Issuer = s.issuer
	c.IssuedAt = now.Unix()
	c.Expires = now.Add(s.ttl).Unix()
	token, err := s.sign(keys.jws, c)
	if err != nil {
		return "", err
	}
	if keys.cache != nil {
		keys.cache.put(id, token, now, now.Add(s.reuse))
	}
	return token, nil
}

// sign encodes and signs c with go-jose, with no cache.
func (s *Signer) sign(jws jose.Signer, c requestinfo.Claims) (string, error) {
	payload, err := requestinfo.MarshalPayload(c)
	if err != nil {
		return "", err
	}
	if n := base64.RawURLEncoding.EncodedLen(len(payload)); n > requestinfo.MaxTokenLength {
		return "", fmt.Errorf("infosign: payload of %d bytes encoded exceeds MaxTokenLength", n)
	}
	signed, err := jws.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("infosign: signing: %w", err)
	}
	token, err := signed.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("infosign: serializing: %w", err)
	}
	if len(token) > requestinfo.MaxTokenLength {
		return "", fmt.Errorf("infosign: token of %d bytes exceeds MaxTokenLength", len(token))
	}
	return token, nil
}

// identityDomain separates identity hashes from any other SHA-256 use.
const identityDomain = "authgw/requestinfo identity v1\x00"

// identityKey hashes every claim Sign does not set (all but iat, exp and
// iss) in an unambiguous length-prefixed encoding. Only the hash is kept
// in the cache, so it holds no client IDs, IPs or session IDs in the
// clear. A nil and an empty role list hash alike, as they are sent alike.
func identityKey(c *requestinfo.Claims) [32]byte {
	var stack [256]byte
	b := append(stack[:0], identityDomain...)
	b = appendString(b, c.Client)
	if c.SecretVerified {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = appendStrings(b, c.ClientRoles)
	b = appendString(b, c.IP)
	b = appendString(b, c.Audience)
	if c.User == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = appendString(b, c.User.ID)
		b = appendString(b, c.User.SessionID)
		b = appendStrings(b, c.User.Roles)
		// How and when the user authenticated: two logins of one user
		// (or a token and its refresh, which keep them) must not share a
		// signed header unless these agree.
		b = appendStrings(b, c.User.AMR)
		b = appendLength(b, int(c.User.AuthTime>>32))
		b = appendLength(b, int(c.User.AuthTime))
	}
	return sha256.Sum256(b)
}

func appendString(b []byte, s string) []byte {
	b = appendLength(b, len(s))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = appendLength(b, len(ss))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

func appendLength(b []byte, n int) []byte {
	return append(b, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}
