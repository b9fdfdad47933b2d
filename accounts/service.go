package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/authgw/authgw/accounts/notify"
	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/verifier/envelope"
)

// Defaults of Config.
const (
	DefaultVerificationTTL  = 20 * time.Minute
	DefaultMaxTokenLifetime = time.Hour
	// ClientSecretBytes is the size of a client secret: 256 bits.
	ClientSecretBytes = 32
)

// Config configures a Service.
type Config struct {
	// Store is the SQL store. Required.
	Store Store
	// Notifier sends verification and login codes. Required.
	Notifier notify.Notifier
	// Announce tells every gateway that clients or APIs changed, so they
	// reload their snapshot at once (a Redis publish). Optional. Default:
	// gateways see changes at their next refresh.
	Announce func(ctx context.Context)
	// MaxTokenLifetime is the longest lifetime of a minted token: a
	// revocation (user deleted, session ended) is kept that long. Optional.
	// Default DefaultMaxTokenLifetime (1 h).
	MaxTokenLifetime time.Duration
	// VerificationTTL is the lifetime of an email verification code.
	// Optional. Default DefaultVerificationTTL (20 min).
	VerificationTTL time.Duration
	// Password is the argon2id cost of new password hashes. Optional.
	// Default password.DefaultParams.
	Password password.Params
	// Logger receives failures the caller does not see (5xx causes,
	// notifier errors). Never a secret, code or full email. Optional.
	// Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// Rand is the source of IDs, secrets and codes. Optional. Default
	// crypto/rand.Reader.
	Rand io.Reader
}

// Service is the accounts service. It is safe for concurrent use.
type Service struct {
	cfg  Config
	echo *echo.Echo
}

// New checks cfg, fills its defaults and returns the Service. It fails
// when Store or Notifier is missing, a duration is negative, or the
// password parameters are out of range.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Notifier == nil {
		return nil, errors.New("accounts: Config.Store and Config.Notifier are required")
	}
	if cfg.MaxTokenLifetime < 0 || cfg.VerificationTTL < 0 {
		return nil, errors.New("accounts: durations may not be negative")
	}
	if cfg.MaxTokenLifetime == 0 {
		cfg.MaxTokenLifetime = DefaultMaxTokenLifetime
	}
	if cfg.VerificationTTL == 0 {
		cfg.VerificationTTL = DefaultVerificationTTL
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
	s := &Service{cfg: cfg}
	s.echo = s.router()
	return s, nil
}

// ServeHTTP serves /accounts/v1/...; paths elsewhere are 404.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// router builds the Echo router from the route table.
func (s *Service) router() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.writeError
	for _, rt := range routes {
		e.Add(rt.Method, Prefix+rt.Path, s.endpoint(rt))
	}
	e.RouteNotFound("/*", func(echo.Context) error {
		return apiError(http.StatusNotFound, CodeUnknownEndpoint, "No such endpoint in the accounts service.")
	})
	return e
}

// endpoint runs one route: the caller, a user for every non-public
// route, the target (404 when absent or hidden), the rule (403), then the
// handler.
func (s *Service) endpoint(rt Route) echo.HandlerFunc {
	public := rt.allow == nil
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		caller, err := s.callerFrom(ctx)
		if err != nil {
			return err
		}
		if !public && caller.User == nil {
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

// revocationExpiresMs is when a revocation made now can be forgotten:
// every token it could refuse has expired by then.
func (s *Service) revocationExpiresMs() int64 {
	return s.cfg.Now().Add(s.cfg.MaxTokenLifetime).UnixMilli()
}
