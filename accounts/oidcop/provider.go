package oidcop

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// Paths of the provider.
const (
	// Path is where the provider is served; the issuer is the public URL
	// followed by it.
	Path = accounts.Prefix + accounts.OIDCPath
	// ConsentPath is the portal's consent page, the clients' login URL
	// (?id=<auth request ID>).
	ConsentPath = accounts.Prefix + "/ui/authorize"
	// LoggedOutPath is where end_session sends a browser that named no
	// post-logout redirect URI.
	LoggedOutPath = accounts.Prefix + "/ui/login"
)

// Defaults of Config.
const (
	DefaultAuthRequestTTL  = 10 * time.Minute
	DefaultCodeTTL         = 60 * time.Second
	DefaultIDTokenLifetime = time.Hour
)

// Store is what the provider uses of the store (*db.DB).
type Store interface {
	GetClient(ctx context.Context, id string) (db.Client, error)
	GetUser(ctx context.Context, id string) (db.User, error)
	ListEmails(ctx context.Context, userID string) ([]db.Email, error)
	GetSession(ctx context.Context, id string) (db.Session, error)
	CreateOIDCAuthRequest(ctx context.Context, r db.OIDCAuthRequest) error
	GetOIDCAuthRequest(ctx context.Context, id string) (db.OIDCAuthRequest, error)
	GetOIDCAuthRequestByCode(ctx context.Context, codeHash string) (db.OIDCAuthRequest, error)
	SetOIDCAuthCode(ctx context.Context, id, codeHash string, codeExpiresMs, nowMs int64) error
	UseOIDCAuthCode(ctx context.Context, id string, nowMs int64) error
	SetOIDCIssuedSession(ctx context.Context, id, sessionID string) error
	MarkOIDCCodeReplayed(ctx context.Context, id string, nowMs int64) error
	GetOIDCGrant(ctx context.Context, sessionID string) (db.OIDCGrant, error)
	ListRestrictions(ctx context.Context, clientID string) ([]db.Restriction, error)
}

var _ Store = (*db.DB)(nil)

// Config configures a Provider.
type Config struct {
	// Accounts mints and ends the grants' sessions. Required.
	Accounts *accounts.Service
	// Store holds clients, users, requests and grants. Required.
	Store Store
	// Keys is the macaroon key ring (userinfo verifies access tokens
	// with it; the codes' encryption key is derived from it). Required.
	Keys *mint.KeyRing
	// ServerID is the macaroons' server ID. Required.
	ServerID string
	// SigningKeys sign ID tokens (the first) and are all published at
	// jwks_uri. Required: at least one RSA key of KeyBits.
	SigningKeys []*rsa.PrivateKey
	// Issuer is the public URL followed by Path, such as
	// "https://auth.example.com/accounts/v1/oidc". Optional. Default: the
	// request's own origin followed by Path (http allowed: for a
	// gateway run without a public URL set, such as the quickstart).
	Issuer string
	// AuthRequestTTL bounds an authorization request's life. Optional.
	// Default DefaultAuthRequestTTL (10 min).
	AuthRequestTTL time.Duration
	// CodeTTL bounds a code's life. Optional. Default DefaultCodeTTL (60 s).
	CodeTTL time.Duration
	// IDTokenLifetime is the ID tokens' lifetime. Optional. Default
	// DefaultIDTokenLifetime (1 h).
	IDTokenLifetime time.Duration
	// Logger receives failures the caller does not see; never a code or
	// token. Optional. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// Rand is the source of request IDs. Optional. Default crypto/rand.Reader.
	Rand io.Reader
}

// Provider is the OpenID Connect provider: an http.Handler for the
// paths under Path. It is safe for concurrent use.
type Provider struct {
	cfg  Config
	keys []signingKey
	// verifier checks the access tokens userinfo is called with; SetKeys
	// replaces it when the key ring is reloaded.
	verifier atomic.Pointer[verifier.Verifier]
	secrets  gateway.SecretChecker
	handler  http.Handler
	legacy   *op.LegacyServer
}

// SetKeys makes userinfo verify access tokens with ring from the next
// request on, as the gateway does after a reload of the key ring (a key
// added verifies at once, a key removed is refused). The authorization
// codes' key stays the one New derived: a code lives a minute and is
// found by its hash. It fails when ring is nil or empty.
func (p *Provider) SetKeys(ring *mint.KeyRing) error {
	v, err := verifier.New(verifier.Config{ServerID: p.cfg.ServerID, Keys: ring, Now: p.cfg.Now, MemoSize: -1, Logger: p.cfg.Logger})
	if err != nil {
		return fmt.Errorf("oidcop: %w", err)
	}
	p.verifier.Store(v)
	return nil
}

// New checks cfg, fills its defaults and returns the Provider. It fails
// when a required field is missing, a key is not RSA of KeyBits, a
// duration is negative, or the issuer is not a URL.
func New(cfg Config) (*Provider, error) {
	if cfg.Accounts == nil || cfg.Store == nil || cfg.Keys == nil || cfg.ServerID == "" || len(cfg.SigningKeys) == 0 {
		return nil, errors.New("oidcop: Config.Accounts, Store, Keys, ServerID and SigningKeys are required")
	}
	if cfg.AuthRequestTTL < 0 || cfg.CodeTTL < 0 || cfg.IDTokenLifetime < 0 {
		return nil, errors.New("oidcop: durations may not be negative")
	}
	if cfg.AuthRequestTTL == 0 {
		cfg.AuthRequestTTL = DefaultAuthRequestTTL
	}
	if cfg.CodeTTL == 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	if cfg.IDTokenLifetime == 0 {
		cfg.IDTokenLifetime = DefaultIDTokenLifetime
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	p := &Provider{cfg: cfg}
	for i, k := range cfg.SigningKeys {
		if k == nil || k.N.BitLen() < KeyBits {
			return nil, fmt.Errorf("oidcop: signing key %d is not an RSA key of %d bits", i+1, KeyBits)
		}
		p.keys = append(p.keys, newSigningKey(k))
	}
	if err := p.SetKeys(cfg.Keys); err != nil {
		return nil, err
	}
	opConfig := &op.Config{
		CryptoKey:                sha256.Sum256(cfg.Keys.PurposeKey("oidc-authorization-codes")),
		CryptoKeyId:              "codes",
		DefaultLogoutRedirectURI: LoggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedScopes:          []string{accounts.ScopeOpenID, accounts.ScopeProfile, accounts.ScopeEmail, accounts.ScopeOfflineAccess},
	}
	issuer := op.StaticIssuer(cfg.Issuer)
	if cfg.Issuer == "" {
		issuer = op.IssuerFromHost(Path)
	}
	provider, err := op.NewProvider(opConfig, &storage{p: p}, issuer, op.WithAllowInsecure(), op.WithLogger(cfg.Logger))
	if err != nil {
		return nil, fmt.Errorf("oidcop: %w", err)
	}
	endpoints := op.Endpoints{
		Authorization: op.NewEndpoint("authorize"),
		Token:         op.NewEndpoint("token"),
		Userinfo:      op.NewEndpoint("userinfo"),
		EndSession:    op.NewEndpoint("end_session"),
		JwksURI:       op.NewEndpoint("keys"),
	}
	p.legacy = op.NewLegacyServer(provider, endpoints)
	srv := &server{LegacyServer: p.legacy, p: p}
	p.handler = http.StripPrefix(Path, op.RegisterLegacyServer(srv, op.AuthorizeCallbackHandler(provider)))
	return p, nil
}

// ServeHTTP serves the provider's endpoints under Path.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	facts := requestFacts{userAgent: r.UserAgent()}
	if claims, ok := requestinfo.ClaimsFrom(r.Context()); ok {
		facts.ip = claims.IP
		if claims.SecretVerified {
			facts.gatewayClient = claims.Client
		}
	}
	if r.URL.Path == Path+"/authorize/callback" && !p.sameBrowser(r) {
		http.Error(w, "This sign-in request was started in another browser; start again from the application.", http.StatusForbidden)
		return
	}
	p.handler.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, facts)))
}

// sameBrowser reports whether the callback request comes from the
// browser that started the authorization request it names (its binding
// cookie), the one that approved it: nobody else gets its code.
func (p *Provider) sameBrowser(r *http.Request) bool {
	id := r.URL.Query().Get("id")
	if id == "" || len(id) > 64 {
		return false
	}
	c, err := r.Cookie(BrowserCookiePrefix + id)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return false
	}
	req, err := p.cfg.Store.GetOIDCAuthRequest(r.Context(), id)
	if err != nil || req.BrowserHash == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(codeHash(c.Value)), []byte(req.BrowserHash)) == 1
}

// codeHash is the stored form of a code.
func codeHash(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// secretMatches checks a client secret as the gateway does.
func (p *Provider) secretMatches(c db.Client, secret string) bool {
	ok, _ := p.secrets.Matches(c.ID, netip.Addr{}, c.SecretHash, secret, p.cfg.Now())
	return ok
}

// Mount serves the provider's paths (under Path) with p and every other
// request with next.
func Mount(p *Provider, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == Path || strings.HasPrefix(r.URL.Path, Path+"/") {
			p.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
