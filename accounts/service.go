package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/authgw/authgw/accounts/passkey"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/accounts/notify"
	"github.com/authgw/authgw/accounts/notify/mailtemplate"
	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/accounts/regulation"
	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
	"github.com/authgw/authgw/verifier/envelope"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config.
const (
	DefaultVerificationTTL = 20 * time.Minute
	// DefaultRecoveryTTL is the lifetime of a password recovery code
	// (see Config.RecoveryTTL).
	DefaultRecoveryTTL = 20 * time.Minute
	// DefaultMailsPerAddress, DefaultMailsPerUser and DefaultMailWindow
	// bound the verification mails (see Config.MailsPerAddress).
	DefaultMailsPerAddress = 5
	DefaultMailsPerUser    = 10
	DefaultMailWindow      = time.Hour
	// DefaultMaxOrganizationsPerUser and DefaultMaxClientsPerOrganization
	// bound self-service creation (see Config.MaxOrganizationsPerUser).
	DefaultMaxOrganizationsPerUser   = 10
	DefaultMaxClientsPerOrganization = 10
	// DefaultRegistrationsPerSource bounds the registrations from one
	// source (see Config.RegistrationsPerSource).
	DefaultRegistrationsPerSource = 100
	DefaultLoginCodeTTL           = 10 * time.Minute
	DefaultSessionTTL             = 24 * time.Hour
	DefaultRefreshGrace           = 10 * time.Second
	DefaultMaxTokenLifetime       = time.Hour
	DefaultBodyTimeout            = 30 * time.Second
	// ClientSecretBytes is the size of a client secret: 256 bits.
	ClientSecretBytes = 32

	// DefaultSessionIdleTimeout ends a session whose refresh token sat
	// unused that long (see Config.SessionIdleTimeout): twice the default
	// token lifetime, so a client that refreshes only when its tokens
	// expire never meets it while in use.
	DefaultSessionIdleTimeout = 2 * time.Hour
	// DefaultMaxPasskeysPerUser bounds a user's passkeys (see
	// Config.MaxPasskeysPerUser).
	DefaultMaxPasskeysPerUser = 10
)

// Config configures a Service.
type Config struct {
	// Store is the SQL store. Required.
	Store Store
	// Notifier sends verification and login codes. Required.
	Notifier notify.Notifier
	// ProductName is the product name the mails name and are signed
	// with: one line of printable text, at most 100 bytes. Optional.
	// Default "authgw" (mailtemplate.DefaultProduct).
	ProductName string
	// Minter mints the per-method tokens of a session. Required.
	Minter *mint.Minter
	// Keys is the key ring the Minter mints with: the discharge endpoint
	// opens step-up caveats with it (any key of the ring, so a rotation
	// keeps the older caveats working until their key leaves). Optional:
	// without it, POST /discharge answers 503.
	Keys *mint.KeyRing
	// Policies are the policy files; login mints from the ones bound to
	// the user's roles. A function, so a reload takes effect at the next
	// login or refresh. Required.
	Policies func() *policy.Set
	// TOTP seals and checks TOTP secrets. Optional. Default: TOTP
	// enrolment answers 503 and users with TOTP enabled cannot log in
	// (fail closed).
	TOTP *totp.TOTP
	// WebAuthnRPID is the passkeys' relying-party ID: the host name (or a
	// registrable domain above it) of the pages that register and use
	// passkeys, such as "auth.example.com" or "localhost"; never an IP
	// address. WebAuthnOrigins are the exact origins those pages run on
	// ("https://auth.example.com"), each on WebAuthnRPID. Optional.
	// Default "": passkeys are off (their routes answer 503, the webauthn
	// login step too).
	WebAuthnRPID    string
	WebAuthnOrigins []string
	// MaxPasskeysPerUser bounds a user's passkeys (409 TOO-MANY-PASSKEYS
	// past it). Optional. Default DefaultMaxPasskeysPerUser (10).
	MaxPasskeysPerUser int
	// RequireSecondFactorRoles names the user roles that must sign in
	// with a second factor (TOTP or a passkey): such a user who has none
	// enrols TOTP at the next sign-in before the login ends (see
	// mfarequired.go). Members of an organization that requires it
	// must too. Each is a valid role name. Optional. Default none.
	RequireSecondFactorRoles []string
	// Regulator counts login failures and bans (the README's "Brute force and enumeration"). Optional.
	// Default: a regulator on Store's SQL tables with its defaults.
	Regulator Regulator
	// Cookies names and flags the per-method token cookies (and the
	// refresh cookie, named with the same prefix). Optional.
	Cookies verifier.CookieConfig
	// Revoked tells every gateway at once that a session or a user's
	// tokens are revoked (a Redis publish); gateways also poll the feed.
	// Optional.
	Revoked func(ctx context.Context, r db.Revocation)
	// SessionTTL is a session's absolute lifetime. Optional. Default
	// DefaultSessionTTL (24 h).
	SessionTTL time.Duration
	// SessionIdleTimeout ends a session whose refresh token has not been
	// used for that long (the inactivity timeout): its next refresh is
	// 401 SESSION-EXPIRED and ends it. Inactivity is counted from the
	// login or the last refresh, the only requests the service sees, and
	// a client refreshes when its tokens expire, so it must be longer
	// than the tokens' lifetime. Optional. Default: the longer of
	// DefaultSessionIdleTimeout (2 h) and twice MaxTokenLifetime. New
	// refuses a value shorter than MaxTokenLifetime, which would end
	// sessions in use.
	SessionIdleTimeout time.Duration
	// LoginCodeTTL is the lifetime of a login or TOTP-flow code.
	// Optional. Default DefaultLoginCodeTTL (10 min).
	LoginCodeTTL time.Duration
	// RefreshGrace is how long after a refresh token was rotated its
	// reuse is taken for a concurrent tab (409, the session lives) rather
	// than a replay (the session is revoked). Optional. Default
	// DefaultRefreshGrace (10 s); a negative value means no grace.
	RefreshGrace time.Duration
	// Announce tells every gateway that clients or APIs changed, so they
	// reload their snapshot at once (a Redis publish). Optional. Default:
	// gateways see changes at their next refresh.
	Announce func(ctx context.Context)
	// MaxTokenLifetime is the longest lifetime of a minted token: a
	// revocation (user deleted, session ended) is kept that long, plus
	// the verifier's default clock skew and a margin. Optional.
	// Default DefaultMaxTokenLifetime (1 h).
	MaxTokenLifetime time.Duration
	// MaxMemberships bounds the organizations a user belongs to, and
	// separately the invitations waiting for them: a membership past it
	// is refused when it is made (409 TOO-MANY-MEMBERSHIPS), so that
	// tokens stay small and no login fails for it. Optional. Default
	// DefaultMaxMemberships.
	MaxMemberships int
	// MaxOrganizationsPerUser bounds the standing organizations a user
	// created through the API (whether or not still a member: leaving
	// frees nothing, deleting the organization does), and
	// MaxClientsPerOrganization the live clients of one organization.
	// Each client has its own request budget at the gateway: unbounded
	// self-service creation would multiply any per-client limit. Past
	// either, the creation answers 409 TOO-MANY-ORGANIZATIONS or
	// TOO-MANY-CLIENTS. Staff (a sysadmin or employee user, a system
	// client with a user, an ISC caller) are exempt. Optional. Defaults
	// DefaultMaxOrganizationsPerUser (10), DefaultMaxClientsPerOrganization
	// (10).
	MaxOrganizationsPerUser, MaxClientsPerOrganization int
	// CodeLoginOff turns off login by an emailed code alone (the email and
	// code steps): the mailbox alone then opens no session. Both steps
	// answer 403 CODE-LOGIN-OFF to everyone, before the address is looked
	// at, so the answer tells nothing about who has an account. With no
	// code mailed, a proof by loginCode is no longer obtainable either: a
	// user without a password needs a sysadmin to set one
	// (POST /users/{id}/change-password). Optional. Default false: code
	// login on.
	CodeLoginOff bool
	// VerificationTTL is the lifetime of an email verification code.
	// Optional. Default DefaultVerificationTTL (20 min).
	VerificationTTL time.Duration
	// RecoveryTTL is the lifetime of a password recovery code (the
	// "forgot password" mail). Optional. Default DefaultRecoveryTTL
	// (20 min).
	RecoveryTTL time.Duration
	// PublicURL is the gateway's external origin, such as
	// "https://auth.example.com" or "http://127.0.0.1:6546": scheme
	// (http or https), host and optional port, nothing else (no path,
	// query, fragment or user info; one trailing "/" is dropped). The
	// recovery and verification mails link to the service's pages there
	// (/accounts/v1/ui/recover?code=..., /accounts/v1/ui/verify?...).
	// Optional. Default "": the mails carry the code alone, no link.
	PublicURL string
	// MailsPerAddress bounds the verification mails sent to one address
	// (whatever its case), and MailsPerUser those one user's requests
	// cause, within MailWindow (mail bombing): past them adding an
	// address and generate-verification answer 429 with Retry-After.
	// Registrations are never refused for it: they have counters of their
	// own (see registrationMailQuotas) and, past them, create the account
	// without mailing. Optional. Defaults DefaultMailsPerAddress (5),
	// DefaultMailsPerUser (10), DefaultMailWindow (1 h).
	MailsPerAddress, MailsPerUser int
	MailWindow                    time.Duration
	// RegistrationsPerSource bounds the accounts one source (an IPv4
	// address or an IPv6 /64) registers within MailWindow, whatever their
	// addresses: past it registration answers 429 TOO-MANY-REGISTRATIONS
	// with Retry-After. It bounds how many accounts strangers pile up on
	// an address nobody verified. Optional. Default
	// DefaultRegistrationsPerSource (100).
	RegistrationsPerSource int
	// Password is the argon2id cost of new password hashes. Optional.
	// Default password.DefaultParams.
	Password password.Params
	// BreachedPasswords, when set, is asked about every new password
	// that passes the policy; a password it reports is refused. Its
	// failures let the password through with a logged warning (see
	// the README). Optional. Default: no breached-password check.
	BreachedPasswords password.BreachedChecker
	// MaxConcurrentHashes bounds the password hashes computed at once
	// (see hashing.go). Optional. Default runtime.GOMAXPROCS(0).
	MaxConcurrentHashes int
	// BodyTimeout bounds the reading of a request's body (at most
	// MaxBodyBytes): a client trickling its body cannot hold a request
	// open longer. Optional. Default DefaultBodyTimeout (30 s).
	BodyTimeout time.Duration
	// Logger receives failures the caller does not see (5xx causes,
	// notifier errors) and the audit log's lines (one "audit" line per
	// security event, see audit.go). Never a secret, code or full email.
	// Optional. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// Rand is the source of IDs, secrets and codes. Optional. Default
	// crypto/rand.Reader.
	Rand io.Reader
	// Metrics receives the service's metrics (login steps, the password
	// hashing queue): the process's registry, served at /metrics.
	// Optional. Default: kept but exported nowhere.
	Metrics prometheus.Registerer

	// WebhookAllowHTTP lets webhook subscriptions use plain http URLs
	// on any host (webhooks.CheckURL). Optional. Default false: https,
	// or http to a loopback address only.
	WebhookAllowHTTP bool
}

// Service is the accounts service. It is safe for concurrent use.
type Service struct {
	cfg Config
	// keys replaces cfg.Keys once SetKeys is called (keyRing).
	keys atomic.Pointer[mint.KeyRing]
	echo *echo.Echo
	// logins and management are cfg.Store as the login flow and the
	// management API each see it; handlers use these, never cfg.Store.
	logins     LoginStore
	management ManagementStore
	// webhookStore is cfg.Store as the webhook endpoints see it.
	webhookStore WebhookStore
	// dummyHash is verified for unknown emails at the password step, so
	// they cost the same time as known ones.
	dummyHash string
	// mailSlots bounds the login-code and recovery emails being sent in
	// the background; background counts them for Close.
	mailSlots  chan struct{}
	background sync.WaitGroup
	// hashSlots bounds the password hashes computed at once.
	hashSlots chan struct{}
	metrics   *serviceMetrics
	// mails writes what the service mails (accounts/notify/mailtemplate).
	mails *mailtemplate.Set
	// publicURL is Config.PublicURL parsed; nil when unset (mails carry
	// no links).
	publicURL *url.URL
	// passkeys runs the WebAuthn ceremonies; nil when passkeys are off.
	passkeys *passkey.Passkeys
	// recorder records the audit log (audit.go); audits lists it.
	recorder *audit.Recorder
	audits   AuditStore
}

// New checks cfg, fills its defaults and returns the Service. It fails
// when Store or Notifier is missing, a duration is negative, the
// password parameters are out of range, ProductName is not one
// printable line, or PublicURL is not an http or https origin.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Notifier == nil || cfg.Minter == nil || cfg.Policies == nil {
		return nil, errors.New("accounts: Config.Store, Notifier, Minter and Policies are required")
	}
	if cfg.MaxTokenLifetime < 0 || cfg.VerificationTTL < 0 || cfg.RecoveryTTL < 0 || cfg.SessionTTL < 0 || cfg.LoginCodeTTL < 0 || cfg.SessionIdleTimeout < 0 {
		return nil, errors.New("accounts: durations may not be negative")
	}
	if cfg.MaxConcurrentHashes < 0 {
		return nil, errors.New("accounts: MaxConcurrentHashes may not be negative")
	}
	if cfg.MaxConcurrentHashes == 0 {
		cfg.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	if cfg.BodyTimeout < 0 {
		return nil, errors.New("accounts: BodyTimeout may not be negative")
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.LoginCodeTTL == 0 {
		cfg.LoginCodeTTL = DefaultLoginCodeTTL
	}
	switch {
	case cfg.RefreshGrace == 0:
		cfg.RefreshGrace = DefaultRefreshGrace
	case cfg.RefreshGrace < 0:
		cfg.RefreshGrace = 0
	}
	if cfg.Revoked == nil {
		cfg.Revoked = func(context.Context, db.Revocation) {}
	}
	if cfg.MaxTokenLifetime == 0 {
		cfg.MaxTokenLifetime = DefaultMaxTokenLifetime
	}
	switch {
	case cfg.SessionIdleTimeout == 0:
		cfg.SessionIdleTimeout = max(DefaultSessionIdleTimeout, 2*cfg.MaxTokenLifetime)
	case cfg.SessionIdleTimeout < cfg.MaxTokenLifetime:
		return nil, fmt.Errorf("accounts: SessionIdleTimeout %v is shorter than the tokens' lifetime %v: sessions in use would end", cfg.SessionIdleTimeout, cfg.MaxTokenLifetime)
	}
	switch {
	case cfg.MaxMemberships < 0:
		return nil, errors.New("accounts: MaxMemberships may not be negative")
	case cfg.MaxMemberships == 0:
		cfg.MaxMemberships = DefaultMaxMemberships
	}
	switch {
	case cfg.MaxOrganizationsPerUser < 0 || cfg.MaxClientsPerOrganization < 0:
		return nil, errors.New("accounts: MaxOrganizationsPerUser and MaxClientsPerOrganization may not be negative")
	}
	if cfg.MaxOrganizationsPerUser == 0 {
		cfg.MaxOrganizationsPerUser = DefaultMaxOrganizationsPerUser
	}
	if cfg.MaxClientsPerOrganization == 0 {
		cfg.MaxClientsPerOrganization = DefaultMaxClientsPerOrganization
	}
	if cfg.MailsPerAddress <= 0 {
		cfg.MailsPerAddress = DefaultMailsPerAddress
	}
	if cfg.MailsPerUser <= 0 {
		cfg.MailsPerUser = DefaultMailsPerUser
	}
	if cfg.RegistrationsPerSource <= 0 {
		cfg.RegistrationsPerSource = DefaultRegistrationsPerSource
	}
	if cfg.MailWindow <= 0 {
		cfg.MailWindow = DefaultMailWindow
	}
	if cfg.VerificationTTL == 0 {
		cfg.VerificationTTL = DefaultVerificationTTL
	}
	if cfg.RecoveryTTL == 0 {
		cfg.RecoveryTTL = DefaultRecoveryTTL
	}
	publicURL, err := parsePublicURL(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	if cfg.Password == (password.Params{}) {
		cfg.Password = password.DefaultParams
	}
	if err := cfg.Password.Validate(); err != nil {
		return nil, fmt.Errorf("accounts: Config.Password: %w", err)
	}
	if cfg.Announce == nil {
		cfg.Announce = func(context.Context) {}
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
	if cfg.Regulator == nil {
		reg, err := regulation.New(regulation.Config{Store: cfg.Store, Now: cfg.Now})
		if err != nil {
			return nil, err
		}
		cfg.Regulator = reg
	}
	mails, err := mailtemplate.New(mailtemplate.Config{Product: cfg.ProductName})
	if err != nil {
		return nil, fmt.Errorf("accounts: Config.ProductName: %w", err)
	}
	dummy, err := password.Hash("not a password of anyone", cfg.Password, cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	if err := checkRequiredRoles(cfg.RequireSecondFactorRoles); err != nil {
		return nil, err
	}
	if cfg.MaxPasskeysPerUser <= 0 {
		cfg.MaxPasskeysPerUser = DefaultMaxPasskeysPerUser
	}
	var passkeys *passkey.Passkeys
	if cfg.WebAuthnRPID != "" {
		if passkeys, err = passkey.New(passkey.Config{RPID: cfg.WebAuthnRPID, DisplayName: mails.Product(), Origins: cfg.WebAuthnOrigins}); err != nil {
			return nil, fmt.Errorf("accounts: Config.WebAuthnRPID, WebAuthnOrigins: %w", err)
		}
	}
	recorder, err := audit.New(audit.Config{Store: cfg.Store, Logger: cfg.Logger, Now: cfg.Now, Rand: cfg.Rand})
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	s := &Service{cfg: cfg, passkeys: passkeys, logins: cfg.Store, management: cfg.Store, webhookStore: cfg.Store, dummyHash: dummy, mailSlots: make(chan struct{}, maxMailsInFlight),
		hashSlots: make(chan struct{}, cfg.MaxConcurrentHashes), mails: mails, publicURL: publicURL, recorder: recorder, audits: cfg.Store}
	if s.metrics, err = newServiceMetrics(cfg.Metrics, s.hashSlots); err != nil {
		return nil, fmt.Errorf("accounts: Config.Metrics: %w", err)
	}
	s.echo = s.router()
	return s, nil
}

// Close waits for the login-code emails still being sent in the
// background (each gives up after its timeout). Call it after the HTTP
// server has stopped handing requests to the service.
func (s *Service) Close() error {
	s.background.Wait()
	return nil
}

// ServeHTTP serves /accounts/v1/...; paths elsewhere are 404. The body
// must arrive within BodyTimeout (a deadline on the connection, so it
// uses the real clock, not Config.Now).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
	s.echo.ServeHTTP(w, r)
}

// router builds the Echo router from the route table.
func (s *Service) router() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.writeError
	for _, rt := range routes {
		e.Add(rt.Method, Prefix+rt.Path, s.endpoint(rt))
	}
	return e
}

// endpoint runs one route: the caller, a user for every non-public
// route, the target (404 when absent or hidden), the rule (403), then the
// handler.
func (s *Service) endpoint(rt Route) echo.HandlerFunc {
	public := rt.Public()
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		caller, err := s.callerFrom(ctx)
		if err != nil {
			return err
		}
		ctx = withActor(ctx, caller)
		c.SetRequest(c.Request().WithContext(ctx))
		if !public && caller.User == nil && !rt.tokenless {
			return ErrLoginRequired
		}
		t, err := s.findTarget(ctx, rt.target, c, caller)
		if err != nil {
			return err
		}
		if !public && !rt.allow(caller, &t) {
			return ErrForbidden
		}
		return rt.handle(s, &request{Context: c, caller: caller, target: t})
	}
}

// writeError is Echo's error handler: every error becomes the JSON
// envelope; causes of 5xx answers are logged, never sent.
func (s *Service) writeError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	var e *envelope.Error
	switch {
	case errors.As(err, &he) && he.Code == http.StatusMethodNotAllowed:
		e = apiError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "This endpoint does not take this method.")
	case errors.As(err, &he) && he.Code == http.StatusNotFound:
		e = apiError(http.StatusNotFound, CodeUnknownEndpoint, "No such endpoint in the accounts service.")
	case errors.As(err, &he):
		e = apiError(he.Code, CodeBadBody, http.StatusText(he.Code))
	default:
		e = httpError(err)
	}
	if e.Status >= 500 {
		s.cfg.Logger.Error("accounts: request failed", "method", c.Request().Method, "path", c.Path(), "err", err)
	}
	envelope.Write(c.Response(), e)
}

// nowMs is the clock in milliseconds.
func (s *Service) nowMs() int64 { return s.cfg.Now().UnixMilli() }

// newID returns a UUIDv7 for a new row.
func (s *Service) newID() string { return db.NewID(s.cfg.Now(), s.cfg.Rand) }

// newClientSecret returns a new 256-bit client secret (base64url) and
// the SHA-256 hex the store keeps.
func (s *Service) newClientSecret() (secret, hash string, err error) {
	b := make([]byte, ClientSecretBytes)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", "", fmt.Errorf("client secret: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	return secret, hex.EncodeToString(sum[:]), nil
}

// revocationMargin is kept on top of the token lifetime and the
// verifier's clock skew, for clocks of instances that drift apart.
const revocationMargin = 30 * time.Second

// revocationExpiresMs is when a revocation made now can be forgotten:
// every token it could refuse has expired by then, and the verifier no
// longer accepts it either, which it does up to its clock skew past the
// token's time-before (verifier.DefaultSkew), plus a margin. Counting the
// lifetime alone, a token revoked just after it was minted worked again
// for the skew after the revocation was dropped.
func (s *Service) revocationExpiresMs() int64 {
	return s.cfg.Now().Add(s.cfg.MaxTokenLifetime + verifier.DefaultSkew + revocationMargin).UnixMilli()
}
