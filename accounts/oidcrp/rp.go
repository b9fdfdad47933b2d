package oidcrp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authgw/authgw/db"
)

// Errors of Start and Finish. Every refusal of a callback wraps
// ErrRefused; a provider that cannot be reached is ErrUnavailable.
var (
	// ErrRefused is the root of every refused sign-in.
	ErrRefused = errors.New("oidcrp: sign-in refused")
	// ErrUnknownProvider: no provider has the ID.
	ErrUnknownProvider = fmt.Errorf("%w: unknown provider", ErrRefused)
	// ErrState: the callback's state is missing, is not the browser's,
	// was used already or expired, or belongs to another provider.
	ErrState = fmt.Errorf("%w: state missing, mismatched, used or expired", ErrRefused)
	// ErrExchange: the provider's token endpoint refused the code.
	ErrExchange = fmt.Errorf("%w: the code exchange failed", ErrRefused)
	// ErrIDToken: the ID token is missing or does not hold (signature,
	// issuer, audience, expiry, nonce, azp).
	ErrIDToken = fmt.Errorf("%w: the ID token does not hold", ErrRefused)
	// ErrUnavailable: the provider's discovery document, token endpoint
	// or keys cannot be reached now.
	ErrUnavailable = errors.New("oidcrp: the provider cannot be reached")
)

// ProviderError is the error a provider sent back to the callback
// (error=..., RFC 6749 section 4.1.2.1), such as access_denied. It wraps
// ErrRefused.
type ProviderError struct {
	// Code is the provider's error code, at most 64 bytes of [a-z_].
	Code string
}

func (e *ProviderError) Error() string { return "oidcrp: the provider answered " + e.Code }

// Unwrap returns ErrRefused.
func (e *ProviderError) Unwrap() error { return ErrRefused }

// FlowStore keeps the sign-ins in progress. *db.DB implements it.
type FlowStore interface {
	SaveOIDCFlow(ctx context.Context, f db.OIDCFlow) error
	TakeOIDCFlow(ctx context.Context, stateHash string, nowMs int64) (db.OIDCFlow, error)
}

var _ FlowStore = (*db.DB)(nil)

// Defaults of Config.
const (
	DefaultFlowTTL       = 10 * time.Minute
	DefaultRetryInterval = 30 * time.Second
	DefaultHTTPTimeout   = 10 * time.Second
)

// CallbackPath returns the path of a provider's callback under the
// public URL: what the operator registers at the provider as the
// redirect URI (with the public URL before it).
func CallbackPath(providerID string) string {
	return "/accounts/v1/ui/login/oidc/" + providerID + "/callback"
}

// Config configures New.
type Config struct {
	// Providers are the configured providers (from ParseSettings).
	// Optional: none offers no button.
	Providers []ProviderSettings
	// PublicURL is the gateway's public URL (scheme and host, and a path
	// prefix if any): the redirect URI is PublicURL + CallbackPath(id).
	// Required when there are providers.
	PublicURL string
	// Flows keeps the sign-ins in progress. Required when there are
	// providers.
	Flows FlowStore
	// HTTPClient calls the providers. Optional. Default: a client with a
	// DefaultHTTPTimeout timeout.
	HTTPClient *http.Client
	// FlowTTL is how long a sign-in may take at the provider. Optional.
	// Default DefaultFlowTTL.
	FlowTTL time.Duration
	// RetryInterval is the least time between two discovery attempts of
	// a provider that could not be reached. Optional. Default
	// DefaultRetryInterval.
	RetryInterval time.Duration
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// Rand is the source of states, nonces and verifiers. Optional.
	// Default crypto/rand.Reader.
	Rand io.Reader
	// Logger logs discovery failures (never a secret, code or token).
	// Optional. Default slog.Default().
	Logger *slog.Logger
}

// Provider is a configured provider as the pages show it.
type Provider struct {
	ID, Name string
}

// RP is the relying party of every configured provider. Its methods are
// safe for concurrent use.
type RP struct {
	cfg       Config
	order     []string
	providers map[string]*provider
}

// provider is one provider and its discovery, done once it succeeds.
type provider struct {
	set ProviderSettings

	mu        sync.Mutex
	disc      *oidc.Provider
	lastTryAt time.Time
}

// New returns the relying party of cfg's providers. It does not contact
// them (discovery happens at first use). It fails when a provider's
// settings do not hold (use ParseSettings), when two share an ID, or
// when PublicURL or Flows is missing while there are providers.
func New(cfg Config) (*RP, error) {
	if cfg.FlowTTL <= 0 {
		cfg.FlowTTL = DefaultFlowTTL
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = DefaultRetryInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	rp := &RP{cfg: cfg, providers: map[string]*provider{}}
	if len(cfg.Providers) == 0 {
		return rp, nil
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("oidcrp: Config.PublicURL must be an absolute http(s) URL")
	}
	rp.cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.Flows == nil {
		return nil, errors.New("oidcrp: Config.Flows is required")
	}
	for i, p := range cfg.Providers {
		if err := p.check(i); err != nil {
			return nil, err
		}
		if rp.providers[p.ID] != nil {
			return nil, fmt.Errorf("%w: provider %q is named twice", ErrSettings, p.ID)
		}
		rp.providers[p.ID] = &provider{set: p}
		rp.order = append(rp.order, p.ID)
	}
	return rp, nil
}

// Providers returns the configured providers in the settings' order.
func (rp *RP) Providers() []Provider {
	out := make([]Provider, 0, len(rp.order))
	for _, id := range rp.order {
		out = append(out, Provider{ID: id, Name: rp.providers[id].set.Name})
	}
	return out
}

// FlowTTL is how long a sign-in started may take at the provider
// (Config.FlowTTL): the lifetime of the browser's state cookie.
func (rp *RP) FlowTTL() time.Duration { return rp.cfg.FlowTTL }

// ProviderName returns the name of the provider id, and whether there
// is one.
func (rp *RP) ProviderName(id string) (string, bool) {
	p, ok := rp.providers[id]
	if !ok {
		return "", false
	}
	return p.set.Name, true
}

// discovered returns the provider's discovery, doing it now if it was not
// done (at most once per RetryInterval while it fails): ErrUnavailable
// while it cannot be done.
func (rp *RP) discovered(ctx context.Context, p *provider) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.disc != nil {
		return p.disc, nil
	}
	now := rp.cfg.Now()
	if !p.lastTryAt.IsZero() && now.Sub(p.lastTryAt) < rp.cfg.RetryInterval {
		return nil, ErrUnavailable
	}
	p.lastTryAt = now
	d, err := oidc.NewProvider(oidc.ClientContext(ctx, rp.cfg.HTTPClient), p.set.Issuer)
	if err != nil {
		rp.cfg.Logger.Warn("oidcrp: discovery failed; retried at a later sign-in", "provider", p.set.ID, "err", err)
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	p.disc = d
	return d, nil
}

func (rp *RP) oauth2Config(p *provider, d *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.set.ClientID, ClientSecret: p.set.ClientSecret,
		Endpoint: d.Endpoint(), RedirectURL: rp.cfg.PublicURL + CallbackPath(p.set.ID),
		Scopes: p.set.Scopes,
	}
}

// random returns 32 bytes of Config.Rand, base64url without padding (43
// characters: also a valid PKCE verifier).
func (rp *RP) random() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rp.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("oidcrp: randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// StateHash is the store's key of a state: its SHA-256, hex.
func StateHash(state string) string {
	h := sha256.Sum256([]byte(state))
	return hex.EncodeToString(h[:])
}

// Started is a sign-in started: the browser goes to URL, and keeps State
// (in a cookie) for the callback to compare.
type Started struct {
	URL   string
	State string
}

// Start begins a sign-in with the provider id that returns to returnTo
// (resolved by the caller against its return policy): it makes a state,
// a nonce and a PKCE verifier, stores them, and returns the provider's
// authorization URL. It fails with ErrUnknownProvider, ErrUnavailable
// (discovery cannot be done now), or the store's error.
func (rp *RP) Start(ctx context.Context, id, returnTo string) (Started, error) {
	p, ok := rp.providers[id]
	if !ok {
		return Started{}, ErrUnknownProvider
	}
	d, err := rp.discovered(ctx, p)
	if err != nil {
		return Started{}, err
	}
	state, err := rp.random()
	if err != nil {
		return Started{}, err
	}
	nonce, err := rp.random()
	if err != nil {
		return Started{}, err
	}
	verifier, err := rp.random()
	if err != nil {
		return Started{}, err
	}
	now := rp.cfg.Now()
	if err := rp.cfg.Flows.SaveOIDCFlow(ctx, db.OIDCFlow{StateHash: StateHash(state), ProviderID: id, Nonce: nonce, Verifier: verifier,
		ReturnTo: returnTo, CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(rp.cfg.FlowTTL).UnixMilli()}); err != nil {
		return Started{}, fmt.Errorf("oidcrp: storing the sign-in: %w", err)
	}
	u := rp.oauth2Config(p, d).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	return Started{URL: u, State: state}, nil
}

// Identity is what a provider vouched for in a verified ID token, with
// the provider's settings.
type Identity struct {
	ProviderID, ProviderName string
	Issuer, Subject          string
	// Email is the token's email claim ("" when none). EmailVerified is
	// true only when email_verified is the JSON boolean true: a string
	// "true", which some providers send, is not taken as verified.
	Email         string
	EmailVerified bool
	// Name is the token's name claim ("" when none).
	Name                      string
	AllowLinking, AllowSignUp bool
}

// Finished is a sign-in the provider vouched for.
type Finished struct {
	Identity Identity
	// ReturnTo is where the sign-in started to return to.
	ReturnTo string
}

// Finish checks the callback of the provider id: query is the callback's
// query, browserState the state the browser kept from Start ("" when
// none). The state must match the browser's (constant time) and name a
// stored sign-in of this provider, which is used up here whatever
// follows; then the code is exchanged with the PKCE verifier, and the ID
// token verified (go-oidc: signature, iss, aud, exp) with its nonce and
// azp (required with several audiences, and always the client when
// present). It fails with an error wrapping
// ErrRefused (ErrUnknownProvider, ErrState, *ProviderError, ErrExchange,
// ErrIDToken), or ErrUnavailable.
func (rp *RP) Finish(ctx context.Context, id string, query url.Values, browserState string) (Finished, error) {
	p, ok := rp.providers[id]
	if !ok {
		return Finished{}, ErrUnknownProvider
	}
	state := query.Get("state")
	if state == "" || len(state) > 128 || subtle.ConstantTimeCompare([]byte(state), []byte(browserState)) != 1 {
		return Finished{}, ErrState
	}
	flow, err := rp.cfg.Flows.TakeOIDCFlow(ctx, StateHash(state), rp.cfg.Now().UnixMilli())
	switch {
	case errors.Is(err, db.ErrNotFound):
		return Finished{}, ErrState
	case err != nil:
		return Finished{}, fmt.Errorf("oidcrp: reading the sign-in: %w", err)
	case flow.ProviderID != id:
		return Finished{}, ErrState
	}
	if e := query.Get("error"); e != "" {
		return Finished{}, &ProviderError{Code: errorCode(e)}
	}
	code := query.Get("code")
	if code == "" {
		return Finished{}, fmt.Errorf("%w: no code", ErrExchange)
	}
	d, err := rp.discovered(ctx, p)
	if err != nil {
		return Finished{}, err
	}
	cctx := oidc.ClientContext(ctx, rp.cfg.HTTPClient)
	tok, err := rp.oauth2Config(p, d).Exchange(cctx, code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			// The provider refused: its error code only (the body may
			// echo what was sent).
			return Finished{}, fmt.Errorf("%w: %d %s", ErrExchange, re.Response.StatusCode, errorCode(re.ErrorCode))
		}
		return Finished{}, fmt.Errorf("%w: token endpoint", ErrUnavailable)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Finished{}, fmt.Errorf("%w: the token answer has no id_token", ErrIDToken)
	}
	// Verifier uses the provider's key set, cached (and fetched again for
	// a key it does not know: rotation), through Config.HTTPClient.
	idt, err := d.Verifier(&oidc.Config{ClientID: p.set.ClientID, Now: rp.cfg.Now}).Verify(cctx, raw)
	if err != nil {
		return Finished{}, fmt.Errorf("%w: %v", ErrIDToken, verifyProblem(err))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(flow.Nonce)) != 1 {
		return Finished{}, fmt.Errorf("%w: nonce mismatch", ErrIDToken)
	}
	var claims struct {
		Email         string          `json:"email"`
		EmailVerified json.RawMessage `json:"email_verified"`
		Name          string          `json:"name"`
		AZP           string          `json:"azp"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Finished{}, fmt.Errorf("%w: claims unreadable", ErrIDToken)
	}
	// azp names the party the token was issued to: with several
	// audiences it must be there and be this client (go-oidc checks
	// neither); with one it must be this client when present (OpenID
	// Connect Core 3.1.3.7, point 5): a token issued to another client
	// of the provider is not this sign-in's.
	if (len(idt.Audience) > 1 || claims.AZP != "") && claims.AZP != p.set.ClientID {
		return Finished{}, fmt.Errorf("%w: azp is not the client", ErrIDToken)
	}
	if idt.Subject == "" || len(idt.Subject) > 255 || strings.TrimSpace(idt.Subject) != idt.Subject {
		return Finished{}, fmt.Errorf("%w: unusable sub", ErrIDToken)
	}
	return Finished{ReturnTo: flow.ReturnTo, Identity: Identity{
		ProviderID: id, ProviderName: p.set.Name, Issuer: idt.Issuer, Subject: idt.Subject,
		Email: claims.Email, EmailVerified: string(claims.EmailVerified) == "true", Name: claims.Name,
		AllowLinking: p.set.AllowLinking, AllowSignUp: p.set.AllowSignUp,
	}}, nil
}

// errorCode returns a provider's error code fit to log and show: at most
// 64 of [a-z_], else "invalid".
func errorCode(s string) string {
	if s == "" || len(s) > 64 || strings.IndexFunc(s, func(r rune) bool { return (r < 'a' || r > 'z') && r != '_' }) >= 0 {
		return "invalid"
	}
	return s
}

// verifyProblem names why go-oidc refused a token without its text
// (which may quote the token's claims): "expired", else "signature,
// issuer or audience".
func verifyProblem(err error) string {
	if _, ok := errors.AsType[*oidc.TokenExpiredError](err); ok {
		return "expired"
	}
	return "signature, issuer or audience"
}
