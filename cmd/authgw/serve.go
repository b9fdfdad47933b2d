package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/notify"
	"github.com/authgw/authgw/accounts/notify/mailtemplate"
	"github.com/authgw/authgw/accounts/oidcop"
	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/accounts/portal"
	"github.com/authgw/authgw/accounts/regulation"
	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/gatewaystore"
	"github.com/authgw/authgw/db/sharedmaterial"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/changes"
	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/gateway/ratelimit"
	"github.com/authgw/authgw/gateway/revocation"
	"github.com/authgw/authgw/gateway/revocation/broadcast"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/policy/netaddr"
	"github.com/authgw/authgw/verifier"
	"github.com/prometheus/client_golang/prometheus"
)

const serveUsage = `Usage: authgw serve [--listen ADDR] [--admin-listen ADDR] [--database DSN]
                    [--data-dir DIR] [--server-id ID] [--keys FILE] [--policies DIR]
                    [--redis URL] [--trusted-proxies CIDRS] [--allowed-origins ORIGINS]
                    [--forward-auth-callers CIDRS] [--forward-auth-dialect nginx|forwarded]
                    [--gateway-hosts NAMES]
                    [--cookie-secure BOOL] [--smtp URL] [--totp-key FILE]
                    [--breached-passwords DIR] [--code-login BOOL]
                    [--require-second-factor ROLES]
                    [--product-name NAME] [--public-url URL] [--ui-templates DIR]
                    [--logo-url URL] [--accent-colour #RRGGBB] [--return-to-default URL]
                    [--webauthn-rp-id HOST|off] [--webauthn-origins ORIGINS]
                    [--info-key FILE] [--oidc-keys FILE] [--oidc-providers FILE]
                    [--demo-listen ADDR|off]
                    [--session-idle-timeout DURATION]
                    [--webhook-workers N] [--webhook-allow-http BOOL]
                    [--replace-shared-material BOOL] [--reload-interval DURATION]
                    [--log-format text|json] [--log-level debug|info|warn|error]
                    [--otel-endpoint URL] [--trace-sampling RATIO]
                    [--config FILE]

Runs the gateway and the accounts service. Every request to
/<api>/v<N>/... is checked (client credentials, restrictions, rate limit,
macaroon) and proxied to the backend registered for it (authgw apis add);
/accounts/v1/... is checked the same way and served in-process: login
(POST /accounts/v1/sessions/login/{email,code,password,totp}), sessions,
users, organizations, clients and the API registry. Its tokens are minted
from the policies.

On first start with the defaults it creates, in the data directory, the
SQLite database, a key ring (keys.json), a server ID (server-id), the
request-info signing key (info-key.pem), the TOTP secret key (totp-key),
the example policies (policies/) and, without --smtp, the mail directory
(mail/), and says so. Every later start reuses them.

Several instances on one database must share the server ID, the key
ring, the TOTP key and the request-info key: the database keeps a
fingerprint of each (never the material), recorded by the first
instance, and an instance whose material differs, or that has none yet,
stops with one line saying which. Copy the four files from the first
instance's data directory, or set the four settings. A key ring may add
keys (a rotation): the new key's fingerprint is recorded; so is a
rotation of the request-info key by authgw keys rotate-info. After a
deliberate change of the server ID (it revokes every token), the TOTP
key or the request-info key, start one instance with
--replace-shared-material true: its material becomes the one to share.

Revoked sessions and users (logout, password change, deleted users) are
read from the database every second by every gateway; with --redis they
are also published there and take effect on every gateway at once.

Settings (flag, else AUTHGW_<NAME>, else the config file, else the default):
  --listen ADDR            gateway listener (default 127.0.0.1:6546)
  --admin-listen ADDR      /healthz, /readyz, /metrics and /forward-auth
                           (default 127.0.0.1:6547; keep it internal)
  --database DSN           sqlite:PATH or mysql:DSN (default sqlite:DATA-DIR/authgw.db);
                           migrated up at start
  --data-dir DIR           (default ./authgw-data)
  --server-id ID           (default: DATA-DIR/server-id, generated once)
  --keys FILE              key ring (default: DATA-DIR/keys.json, generated once;
                           AUTHGW_KEYS may also hold the ring's JSON itself)
  --policies DIR           policy files, checked at start and read again while
                           serving (default DATA-DIR/policies)
  --redis URL              redis://... : shared rate limits and login regulation,
                           revocations and snapshot reloads announced to every
                           gateway at once (default: in-process limits,
                           regulation in the database, revocations polled every
                           1 s, reload every 5 s)
  --trusted-proxies CIDRS  comma-separated; X-Forwarded-For is honoured only from them
  --forward-auth-callers CIDRS
                           comma-separated; the only peers /forward-auth answers, others
                           get 403, loopback included (default: --trusted-proxies)
  --forward-auth-dialect D the headers /forward-auth reads the original request from:
                           nginx (X-Original-Method, X-Original-URI) or forwarded
                           (Traefik, Caddy: X-Forwarded-Method, X-Forwarded-Uri); both
                           also X-Forwarded-Host, -Proto and -For (default nginx);
                           /forward-auth/nginx, /caddy, /traefik, /haproxy and
                           /envoy/ (ext_authz path_prefix) answer in their
                           proxy's dialect whatever this says
  --gateway-hosts LIST     comma-separated host names (or IP addresses) of the
                           gateway itself, where paths /<api>/v<N>/... are
                           routed; a request for a host neither listed nor bound
                           to an API is refused 421 UNKNOWN-HOST (403 in
                           forward-auth); * serves every host (default: the
                           --public-url host, with localhost, 127.0.0.1 and ::1
                           when it is one of them)
  --allowed-origins LIST   comma-separated origins for CORS and cookie CSRF checks
  --cookie-secure BOOL     Secure, __Host- token cookies (default true)
  --session-idle-timeout DURATION
                           a session whose refresh token sat unused this long
                           ends (Go duration: 2h, 90m); at least the longest
                           policy "expires" (default: 2h, or twice the longest
                           "expires" when that is longer)
  --breached-passwords DIR a directory of breached-password range files (one file
                           per 5-hex-digit SHA-1 prefix, lines SUFFIX:COUNT, as the
                           Pwned Passwords downloader writes them): new passwords
                           found there are refused; checked at start (default: off)
  --code-login BOOL        login by an emailed code alone (the email and code steps);
                           false: both answer 403 CODE-LOGIN-OFF to everyone, and
                           only the password step logs in (default true)
  --require-second-factor ROLES
                           user roles (comma-separated) that must sign in with a
                           second factor (TOTP or a passkey): such a user who has
                           none enrols TOTP at the next sign-in, and cannot remove
                           the last one; organizations can require it of their
                           members too (default: none)
  --product-name NAME      the product name the mails (login codes, verification,
                           account notices) name and are signed with: one line of
                           printable text, at most 100 bytes (default authgw);
                           the browser pages show it too
  --public-url URL         the gateway's origin as browsers reach it, where the
                           links in mails lead (default http:// and --listen)
  --ui-templates DIR       *.html files replacing the pages' templates of the same
                           name; a broken one stops start-up (default: none)
  --logo-url URL           the pages' logo: a path on the gateway or an https://
                           URL (default: none)
  --accent-colour COLOUR   the pages' buttons and links, #rgb or #rrggbb
                           (default #1d70b8)
  --webauthn-rp-id HOST|off
                           the passkeys' relying-party ID: the site's host name,
                           or a domain above it; off turns passkeys off (default:
                           the --public-url host; localhost for a loopback IP
                           such as the default 127.0.0.1; off for another IP
                           address, or plain http other than localhost)
  --webauthn-origins LIST  comma-separated origins the pages that use passkeys
                           run on, each https (or http://localhost) on the RP ID
                           (default: the --public-url origin, http://localhost:PORT
                           for a loopback IP)
  --return-to-default URL  where a browser goes after signing in when return_to is
                           missing or refused: a path, or a URL on an
                           --allowed-origins origin (default /accounts/v1/ui/settings)
  --purge-interval DURATION
                           how often data past its retention is deleted: ended
                           sessions, expired codes, old login failures, mail
                           counters and revocations (Go duration or days: 1h,
                           1d; 0 turns it off; default 1h)
  --personal-data-retention DURATION
                           the IP address and user agent of a session are
                           cleared once it has not been used this long (720h,
                           30d; default 30d, the look-back of the known-source
                           check of code login)
  --audit-retention DURATION
                           how long audit events are kept (720h, 365d; default
                           400d: a year of security history, with a margin)
  --webhook-workers N      webhook deliveries this instance sends at once, from
                           the queue in the database (0: none from this instance;
                           default 4; see authgw webhooks --help)
  --webhook-allow-http BOOL
                           webhook URLs may be plain http on any host (default
                           false: https, or http to a loopback address only)
  --smtp URL               mail server for login and verification codes:
                           smtp://[user:pass@]host[:port]?from=ADDR (STARTTLS),
                           or smtps://... (default: each message written as an
                           .eml file to DATA-DIR/mail)
  --totp-key FILE          key sealing the users' TOTP secrets: 64 hex digits,
                           or a key ring {"keys":[{"id":..,"secret":..}]}
                           whose first key seals (see authgw totp --help)
                           (default DATA-DIR/totp-key, generated once; back it
                           up: another key makes every enrolled secret unreadable)
  --info-key FILE          request-info signing key, PEM (default DATA-DIR/info-key.pem,
                           generated once); during a rotation a second key follows,
                           published but not signing (authgw keys rotate-info). The
                           public keys are served at /accounts/v1/request-info/jwks.json
  --oidc-keys FILE         RSA private keys (PEM) signing the OpenID Connect
                           provider's ID tokens: the first signs, all are
                           published at its jwks_uri (default
                           DATA-DIR/oidc-keys.pem, generated once; add a key in
                           front with authgw oidc-keygen --add)
  --oidc-providers FILE    the external OpenID Connect providers people may sign in
                           with ("Sign in with ..."): JSON {"providers":[{"id",
                           "name","issuer","clientId","clientSecret" or
                           "clientSecretFile","scopes","allowLinking",
                           "allowSignUp"}]}; AUTHGW_OIDC_PROVIDERS may hold the
                           file or the JSON itself (default none)
  --demo-listen ADDR|off   the demo backend, a small service to try tokens on; NOT for
                           production: off turns it off (default 127.0.0.1:6548). It
                           accepts only requests carrying the gateway's signed
                           X-Auth-Info and keeps notes in memory. When no API named
                           demo is registered, serve registers it as demo v1; it
                           never changes an existing demo
  --replace-shared-material BOOL
                           record this instance's server ID, key ring, TOTP key
                           and request-info key as the ones every instance on the
                           database must share (default false)
  --log-format text|json   the log on stderr: text (key=value) or json (one object
                           a line) (default text)
  --log-level LEVEL        debug, info, warn or error; debug adds why each refused
                           request was refused (the refusal's code and detail, a
                           token's reason) (default info)
  --otel-endpoint URL      send OpenTelemetry traces (OTLP over HTTP) to this base
                           URL, e.g. http://collector:4318 (spans go to
                           URL/v1/traces); OTEL_EXPORTER_OTLP_HEADERS and the
                           other standard exporter variables apply (default:
                           off; OTEL_EXPORTER_OTLP_ENDPOINT alone does not turn
                           it on)
  --trace-sampling RATIO   share of requests traced, 0 to 1, when no trusted proxy
                           sent a traceparent; a trusted proxy's sampled flag is
                           followed, a client's traceparent is ignored (default 0.1)
  --config FILE            JSON config file with the keys above (else AUTHGW_CONFIG)

It reads the policies, the key ring (--keys as a file), the request-info
key file and the TOTP key file again on SIGHUP and when their contents change:
a broken file, or one whose keys the instances do not share, is logged
(one line naming the setting) and refused, the last good one staying in
use; /readyz then says "degraded" (still 200) and names it.
  --reload-interval DURATION
                           how often those files are looked at for changes
                           (Go duration; 0: only on SIGHUP; default 3s)

It stops on SIGINT or SIGTERM, draining requests in flight for up to 30 s.
Unless GOGC is set, it runs the garbage collector at GOGC=400; unless
GOMEMLIMIT is set, with a soft memory limit of 64 MiB plus 38 MiB a core.
`

// Defaults of serve's settings (the README's "Configuration").
const (
	defaultListen      = "127.0.0.1:6546"
	defaultAdminListen = "127.0.0.1:6547"
	infoKeyFile        = "info-key.pem"
	examplePoliciesDir = "policies"
	drainTimeout       = 30 * time.Second
	gcPercent          = 400
	// memoryBase is the soft memory limit's allowance for everything but
	// password hashing: snapshot, caches, buffers, requests in flight.
	memoryBase  = 64 << 20
	totpKeyFile = "totp-key"
	mailDir     = "mail"
	totpIssuer  = "authgw"
	// announceTimeout bounds the accounts service's publish of a change
	// of clients or APIs.
	announceTimeout = 500 * time.Millisecond
	// reloadTimeout bounds the snapshot reload a change of clients or
	// APIs makes before its answer.
	reloadTimeout = 2 * time.Second
	// minTokenLifetime is the least time a revocation is kept, whatever
	// the policies say.
	minTokenLifetime = time.Minute
)

// serveCommand is "authgw serve".
type serveCommand struct {
	settings
	// shared holds the fingerprints of the key material the instances on
	// this database share (package db/sharedmaterial), read before the data
	// directory is filled: material they share is never generated anew.
	shared map[string]db.Fingerprint
}

func (s *serveCommand) flagSet() *flag.FlagSet {
	// newFlagSet: --help prints serveUsage alone, not the flag
	// package's own list of flags first.
	fs := newFlagSet("serve")
	for _, name := range []string{"listen", "admin-listen", "database", "data-dir", "server-id", "keys",
		"policies", "redis", "trusted-proxies", "allowed-origins", "cookie-secure", "smtp", "totp-key", "info-key", "demo-listen",
		"forward-auth-callers", "forward-auth-dialect"} {
		s.define(fs, name, name)
	}
	s.define(fs, gatewayHostsSetting, "the gateway's own host names (optional)")
	s.define(fs, sessionIdleSetting, "inactivity timeout of a session (optional)")
	s.define(fs, "replace-shared-material", "replace-shared-material")
	s.define(fs, breachedSetting, "directory of breached-password range files (optional)")
	s.define(fs, "code-login", "code-login")
	s.define(fs, requireSecondFactorSetting, "user roles that must sign in with a second factor (optional)")
	s.define(fs, productNameSetting, "product name in the mails and pages (optional)")
	for _, name := range []string{publicURLSetting, uiTemplatesSetting, logoURLSetting, accentColourSetting, returnDefaultSetting,
		webauthnRPIDSetting, webauthnOriginsSetting} {
		s.define(fs, name, name+" (optional)")
	}
	s.define(fs, oidcProvidersSetting, "JSON file of the external OpenID Connect sign-in providers (optional)")
	s.define(fs, purgeIntervalSetting, "how often data past its retention is deleted (optional)")
	s.define(fs, oidcKeysSetting, "PEM file of the OpenID Connect signing keys (optional)")
	s.define(fs, personalDataSetting, "how long session IPs and user agents are kept (optional)")
	s.define(fs, auditRetentionSetting, "how long audit events are kept (optional)")
	s.define(fs, reloadIntervalSetting, "how often the policies and key files are looked at for changes (optional)")
	for _, name := range []string{otelEndpointSetting, traceSamplingSetting, logFormatSetting, logLevelSetting} {
		s.define(fs, name, name+" (optional)")
	}
	s.define(fs, webhookWorkersSetting, "webhook deliveries sent at once by this instance (optional)")
	s.define(fs, webhookAllowHTTPSetting, "webhook URLs may be plain http on any host (optional)")
	s.defineConfig(fs)
	return fs
}

// serveConfig is every setting of serve, resolved.
type serveConfig struct {
	listen, adminListen string
	// oidcKeys sign the OpenID Connect provider's ID tokens.
	oidcKeys           []*rsa.PrivateKey
	dataDir            string
	serverID           string
	keys               *mint.KeyRing
	policies           *policy.Set
	redisURL           string
	trustedProxies     []netip.Prefix
	forwardAuthCallers []netip.Prefix
	forwardAuthDialect gateway.ForwardAuthDialect
	allowedOrigins     []string
	gatewayHosts       []string
	cookieSecure       bool
	infoKeyPath        string
	// notifier is the --smtp notifier, else the file notifier of the
	// data directory's mail folder.
	notifier notify.Notifier
	totpKeys []totp.Key
	// demoListen is the demo backend's address, "" when it is off.
	demoListen string
	// sessionIdle is --session-idle-timeout, 0 for the default.
	sessionIdle time.Duration
	// replaceShared records this instance's key material as the one the
	// instances on the database share (package db/sharedmaterial).
	replaceShared bool
	// breached is the --breached-passwords corpus, nil when unset.
	breached password.BreachedChecker
	// codeLogin is --code-login: login by an emailed code alone.
	codeLogin bool
	// requireSecondFactor is --require-second-factor: the user roles
	// that must sign in with a second factor.
	requireSecondFactor []string
	// productName is --product-name, "" for the default (authgw).
	productName string
	// purge is --purge-interval and --personal-data-retention.
	purge purgeSettings
	// webhooks is --webhook-workers and --webhook-allow-http.
	webhooks webhookSettings
	// pages are the browser pages' settings.
	pages pageSettings
	// reloadInterval is --reload-interval: how often the reloadable
	// settings' files are looked at; 0 only on SIGHUP.
	reloadInterval time.Duration
	// reload reads the policies, the key ring, the request-info key and
	// the TOTP key again while serving (reload.go); nil outside serve's run.
	reload *reloader
}

// run is serve's start-up story, one named step each: settings, the
// database and the data directory, the request-info key, the sign-in
// pages' client, Redis, the
// revocation feed and change notices, the accounts service and the
// gateway, the demo backend, the first loads, the listeners, and serving
// until stopped.
func (s *serveCommand) run(c *cli, args []string) error {
	if len(args) > 0 {
		return usagef("serve takes no arguments, got %q", args[0])
	}
	logger, err := s.newLogger(c, c.stderr)
	if err != nil {
		return err
	}
	if c.ownProcess {
		slog.SetDefault(logger)
	}
	r := &serveRun{c: c, logger: logger, metrics: newProcessMetrics()}
	tuneRuntime(c)
	// Every setting is read and checked before anything is written:
	// a bad one leaves no data directory, key or policy behind.
	if r.cfg, err = s.resolve(c, r.logger); err != nil {
		return err
	}
	telemetry, err := s.resolveTelemetry(c)
	if err != nil {
		return err
	}
	ctx, cancel := stopContext(c)
	defer cancel()
	// Traces (off without --otel-endpoint): flushed when serve returns.
	tp, stopTracing, err := startTracing(ctx, telemetry, r.logger)
	if err != nil {
		return err
	}
	defer stopTracing()
	if tp != nil {
		r.tracer = tp
	}
	// Each step that opens something is closed when serve returns, even
	// when the step fails after opening it.
	err = s.openDatabase(ctx, r)
	if r.store != nil {
		defer r.store.Close()
	}
	if err != nil {
		return err
	}
	if err := s.loadInfoKey(ctx, r); err != nil {
		return err
	}
	if r.portalClientID, err = r.ensurePortalClient(ctx); err != nil {
		return err
	}
	r.cfg.reload, err = s.newReloader(c, r.cfg, r.infoKeys, r.store, r.logger)
	if err != nil {
		return err
	}
	err = r.connectRedis(ctx)
	if r.redis != nil {
		defer r.redis.Close()
	}
	if err != nil {
		return err
	}
	// Background work (snapshot refresh, revocation feed, the Redis
	// subscriptions) stops when serve returns.
	background, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	if err := r.startFeeds(background); err != nil {
		return err
	}
	// The listeners open before the gateway is built: the links in mails
	// lead to the address the gateway listens on unless --public-url
	// says otherwise, and with --listen HOST:0 only the listener knows it.
	err = r.listen()
	defer r.closeListeners()
	if err != nil {
		return err
	}
	if err := r.newGateway(); err != nil {
		return err
	}
	err = r.startDemo(ctx)
	if r.demo != nil {
		defer r.demo.listener.Close()
	}
	if err != nil {
		return err
	}
	if err := r.firstLoads(ctx); err != nil {
		return err
	}
	r.newServers()
	go r.gw.Run(background)
	go r.poller.Run(background)
	r.cfg.reload.start(background)
	if err := startPurge(background, c, r.cfg.purge, r.store, r.logger); err != nil {
		return err
	}
	// The webhook dispatcher opens secrets with the accounts service's
	// TOTP sealer (the reloader's: a reloaded key ring reaches both).
	stopWebhooks, err := startWebhooks(background, c, r.cfg.webhooks, r.store, r.cfg.reload.totp, r.logger, r.metrics.registry)
	if err != nil {
		return err
	}
	defer stopWebhooks()
	return r.serve(ctx)
}

// serveRun is what serve's start-up steps build, in the order run
// builds it.
type serveRun struct {
	c      *cli
	logger *slog.Logger
	// tracer makes the spans; nil when tracing is off.
	tracer trace.TracerProvider
	cfg    serveConfig

	store   *db.DB
	infoKey *ecdsa.PrivateKey
	// infoKeys is the request-info key file as loaded at start.
	infoKeys infosign.KeySet
	signer   *infosign.Signer

	// redis is nil without --redis; limiter is then nil too (the
	// gateway's local limits).
	redis   *redis.Client
	limiter ratelimit.Limiter

	revoked *verifier.RevocationSet
	poller  *revocation.Poller
	// metrics is the registry /metrics serves; everything that exports
	// metrics registers with metrics.registry.
	metrics *processMetrics
	// changes reloads this gateway's snapshot in the background: with
	// Redis, when any writer announces a change, and when the reload
	// after a change made here failed.
	changes chan struct{}

	// portalClientID is the client the sign-in pages log in through
	// (ensurePortalClient); "" when an operator deleted it.
	portalClientID string

	accounts *accounts.Service
	gw       *gateway.Gateway
	demo     *demoServer // nil when off or not listening

	servers   []*http.Server
	listeners []net.Listener
}

// tuneRuntime sets serve's garbage-collector defaults, unless GOGC or
// GOMEMLIMIT in the environment sets them.
func tuneRuntime(c *cli) {
	if _, set := c.lookupEnv("GOGC"); !set {
		// A gateway's live heap is small and nearly all its garbage is
		// per request: collecting at 5× the live heap instead of 2× cuts
		// the collector's share of the CPU for a few tens of MB more.
		// GOGC in the environment overrides it.
		debug.SetGCPercent(gcPercent)
	}
	if _, set := c.lookupEnv("GOMEMLIMIT"); !set {
		// GOGC=400 lets the heap grow to 5× what is live; argon2id hashes
		// make bursts of 19 MiB each (the accounts service runs at most
		// one per core at a time). A soft limit keeps the process near
		// what is live, whatever the garbage: the collector runs earlier
		// when the heap nears it. GOMEMLIMIT in the environment overrides.
		debug.SetMemoryLimit(softMemoryLimit(runtime.GOMAXPROCS(0)))
	}
}

// stopContext is the context that stops serve: the test's, else one
// ended by SIGINT or SIGTERM.
func stopContext(c *cli) (context.Context, context.CancelFunc) {
	if c.stop != nil {
		return c.stop, func() {}
	}
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// openDatabase opens and migrates the database, then fills the data
// directory (prepare). A malformed DSN is a usage error and an
// unreachable database a failure, both before the data directory is
// filled.
func (s *serveCommand) openDatabase(ctx context.Context, r *serveRun) error {
	dbs := databaseSettings{settings: s.settings}
	var opts []db.Option
	if r.tracer != nil {
		opts = append(opts, db.WithTracing(r.tracer))
	}
	store, err := dbs.open(ctx, r.c, opts...)
	if err != nil {
		return err
	}
	r.store = store
	// Migrated before the data directory is filled, so that the shared
	// material's fingerprints can be read (package db/sharedmaterial); said after it,
	// so that a bad file there is the only line.
	applied, err := store.MigrateUp(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if s.shared, err = store.SharedMaterial(ctx); err != nil {
		return fmt.Errorf("reading the shared key material's fingerprints: %w", err)
	}
	if err := s.prepare(r.c, &r.cfg, r.logger); err != nil {
		return err
	}
	if len(applied) > 0 {
		r.logger.Info("database migrated", "applied", fmt.Sprint(applied))
	}
	if ids, err := store.EmailKeyCollisions(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	} else if len(ids) > 0 {
		r.logger.Warn(emailCollisionWarning, "email_ids", strings.Join(ids, ","))
	}
	return nil
}

// loadInfoKey loads (or, at first start, creates) the request-info
// signing key, checks this instance's key material against the
// database's fingerprints, and makes the signer.
func (s *serveCommand) loadInfoKey(ctx context.Context, r *serveRun) error {
	cfg := r.cfg
	if _, err := os.Stat(cfg.infoKeyPath); errors.Is(err, fs.ErrNotExist) {
		if err := s.missingMaterial("--info-key", sharedmaterial.InfoKey); err != nil {
			return err
		}
	}
	keys, created, err := infosign.LoadOrCreateKeySet(cfg.infoKeyPath)
	if err != nil {
		return fmt.Errorf("--info-key: %w", err)
	}
	if created {
		r.logger.Warn("created a request-info signing key; back it up with the data directory", "file", cfg.infoKeyPath)
	}
	if err := checkSharedInfoKeys(ctx, r.store, cfg, keys, cfg.replaceShared, r.c.now(), r.logger); err != nil {
		return err
	}
	r.infoKey, r.infoKeys = keys.Signing, keys
	r.signer, err = infosign.NewSigner(infosign.SignerConfig{Key: keys.Signing, Issuer: "authgw:" + cfg.serverID, Previous: previousInfoKeys(keys)})
	return err
}

// ensurePortalClient finds, or at the first start creates, the client
// the sign-in pages log in through, and logs its ID (no secret). A
// deleted one is not made again: serve then warns and goes on without.
func (r *serveRun) ensurePortalClient(ctx context.Context) (string, error) {
	id, err := ensurePortalClient(ctx, r.store, r.c.now().UnixMilli())
	if errors.Is(err, errPortalClientDeleted) {
		r.logger.Warn("the sign-in pages cannot log anyone in: their client was deleted", "client", portalClientID)
		return "", nil
	}
	if err != nil {
		return "", err
	}
	r.logger.Info("the sign-in pages log in through their own client", "client", id)
	return id, nil
}

// connectRedis connects the --redis client and its shared rate limiter,
// warmed up before serving; without --redis it does nothing.
func (r *serveRun) connectRedis(ctx context.Context) error {
	if r.cfg.redisURL == "" {
		return nil
	}
	client, err := newRedisClient(r.cfg.redisURL)
	if err != nil { // checked by resolve already
		return &usageError{msg: fmt.Sprintf("--redis: %v", err)}
	}
	r.redis = client
	if r.tracer != nil {
		if err := traceRedis(client, r.tracer); err != nil {
			return err
		}
	}
	// 250 ms: a call slower than that falls back to the local limiter
	// for a second (ratelimit's Cooldown), so a loaded Redis costs at
	// most one slow request a second, not a burst of over-admission.
	redisLimiter, err := ratelimit.NewRedis(ratelimit.RedisConfig{Client: client, Logger: r.logger, Timeout: 250 * time.Millisecond})
	if err != nil {
		return err
	}
	r.limiter = redisLimiter
	// Connect and load the script before serving, so the first
	// requests do not pay for it.
	warm, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(warm).Err(); err != nil {
		r.logger.Warn("Redis is not answering; rate limits stay local until it does", "err", err)
	} else {
		_, _ = redisLimiter.Allow(warm, "warm-up:"+r.cfg.serverID, ratelimit.MaxPerSecond)
	}
	return nil
}

// startFeeds makes the revocation set and its poller of the database's
// feed and, with Redis, subscribes to change notices and revocations
// published by the other gateways, until background ends.
func (r *serveRun) startFeeds(background context.Context) error {
	r.changes = make(chan struct{}, 1)
	if r.redis != nil {
		changes.Forward(background, r.redis, r.changes)
	}
	revoked := verifier.NewRevocationSet()
	poller, err := revocation.New(revocation.Config{Feed: gatewaystore.New(r.store), Set: revoked, Now: r.c.now, Logger: r.logger,
		Lag: r.metrics.revocationLag})
	if err != nil {
		return err
	}
	r.revoked, r.poller = revoked, poller
	if r.redis != nil {
		return broadcast.Subscribe(background, broadcast.Config{Set: revoked, Client: r.redis, Logger: r.logger, Now: r.c.now})
	}
	return nil
}

// newGateway builds the accounts service and the gateway that serves
// it.
func (r *serveRun) newGateway() error {
	oidcIssuerOrigin := r.cfg.pages.publicURL // "" unless set: the OIDC issuer then follows the request's host
	if r.cfg.pages.publicURL == "" {
		r.cfg.pages.publicURL = defaultPublicURL(r.listeners[0].Addr().String())
	}
	if err := r.cfg.pages.resolvePasskeys(r.logger); err != nil {
		return err
	}
	var err error
	if r.cfg.pages.federation, err = newFederation(r.c, r.cfg.pages, r.store, r.logger); err != nil {
		return err
	}
	c, cfg, logger := r.c, r.cfg, r.logger
	// reload refreshes this gateway's snapshot before the accounts service
	// answers a change of clients or APIs, so that a client created here
	// works here in the next request and a deleted one is refused (other
	// gateways get the change through Redis or at their next refresh).
	// gw is set below, before any request can arrive.
	var gw *gateway.Gateway
	reload := func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reloadTimeout)
		defer cancel()
		if err := gw.Refresh(ctx); err != nil {
			logger.Warn("could not reload the snapshot after a change; retrying in the background", "err", err)
			select {
			case r.changes <- struct{}{}:
			default:
			}
		}
	}
	accountsService, err := newAccounts(c, cfg, r.store, r.redis, r.revoked, reload, logger, r.metrics.registry)
	if err != nil {
		return err
	}
	// The browser pages sit in front of the accounts API and hand it
	// every other request; without their client (an operator deleted it)
	// the API is served alone.
	var accountsHandler http.Handler = accountsService
	public := accounts.PublicScope()
	if r.portalClientID != "" {
		pages, err := newPortal(c, cfg.pages, cfg.keys, cfg.cookieSecure, cfg.allowedOrigins, accountsService, r.portalClientID, logger)
		if err != nil {
			return err
		}
		accountsHandler = pages
		for method, routes := range portal.PublicScope() {
			public[method] = append(public[method], routes...)
		}
	}
	oidcProvider, err := newOIDCProvider(c, cfg, r.store, accountsService, oidcIssuerOrigin, logger)
	if err != nil {
		return err
	}
	accountsHandler = oidcop.Mount(oidcProvider, accountsHandler)
	gw, err = gateway.New(gateway.Config{
		Snapshots:      gatewaystore.New(r.store),
		Keys:           cfg.keys,
		ServerID:       cfg.serverID,
		Public:         public,
		Revocations:    r.revoked,
		Limiter:        r.limiter,
		Signer:         r.signer,
		Accounts:       accountsHandler,
		PublicURL:      r.cfg.pages.publicURL,
		Hosts:          cfg.gatewayHosts,
		BrowserClient:  r.portalClientID,
		PrivateCookies: pagesPrivateCookies,
		TrustedProxies: cfg.trustedProxies,
		// Who may call /forward-auth, and which headers it reads.
		ForwardAuthCallers: cfg.forwardAuthCallers,
		ForwardAuthDialect: cfg.forwardAuthDialect,
		AllowedOrigins:     cfg.allowedOrigins,
		Cookies:            verifier.CookieConfig{Insecure: !cfg.cookieSecure},
		Changes:            r.changes,
		Logger:             logger,
		Tracer:             r.tracer,
		Now:                c.now,
		Rand:               c.random,
		Health:             []func() string{r.poller.Degraded, r.cfg.reload.Degraded},
		Settings:           r.cfg.reload.Settings,
		Registry:           r.metrics.registry,
	})
	if err != nil {
		return err
	}
	r.cfg.reload.accounts, r.cfg.reload.gw, r.cfg.reload.signer = accountsService, gw, r.signer
	r.cfg.reload.oidc = oidcProvider
	r.accounts, r.gw = accountsService, gw
	return nil
}

// startDemo starts the demo backend unless --demo-listen is off, and
// registers it before the first snapshot, so that the gateway serves
// /demo/v1 at once.
func (r *serveRun) startDemo(ctx context.Context) error {
	if r.cfg.demoListen == "" {
		return nil
	}
	d, err := startDemo(r.cfg.demoListen, &r.infoKey.PublicKey, "authgw:"+r.cfg.serverID, r.logger)
	if err != nil || d == nil {
		return err
	}
	r.demo = d
	if err := d.register(ctx, r.c, r.store, r.logger); err != nil {
		return fmt.Errorf("--demo-listen: registering the API demo v1: %w", err)
	}
	return nil
}

// firstLoads loads the first snapshot and polls the revocation feed
// once, before serving.
func (r *serveRun) firstLoads(ctx context.Context) error {
	if err := r.gw.Refresh(ctx); err != nil {
		return fmt.Errorf("first snapshot: %w", err)
	}
	if err := r.poller.Poll(ctx); err != nil {
		return fmt.Errorf("revocation feed: %w", err)
	}
	return nil
}

// listen opens the gateway's and the admin listeners; one that fails
// closes those opened and names its setting.
func (r *serveRun) listen() error {
	for i, addr := range []string{r.cfg.listen, r.cfg.adminListen} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			name := "--listen"
			if i == 1 {
				name = "--admin-listen"
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		r.listeners = append(r.listeners, l)
	}
	return nil
}

// closeListeners closes the listeners when serve stops before serving
// (serving's shutdown closes them otherwise; closing twice is harmless).
func (r *serveRun) closeListeners() {
	for _, l := range r.listeners {
		l.Close()
	}
}

// newServers makes the HTTP servers of the listeners: the gateway, the
// admin endpoints with forward-auth, and the demo backend when it runs.
func (r *serveRun) newServers() {
	admin := r.gw.ForwardAuthEndpoints(r.gw.Admin())
	r.servers = []*http.Server{
		newServer(r.cfg.listen, r.gw, r.logger),
		newServer(r.cfg.adminListen, admin, r.logger),
	}
	if r.demo != nil {
		r.servers = append(r.servers, r.demo.server)
		r.listeners = append(r.listeners, r.demo.listener)
	}
}

// serve serves every listener, says so with the next steps, and waits
// until ctx ends or a listener fails; then it drains the servers and
// closes the accounts service.
func (r *serveRun) serve(ctx context.Context) error {
	errs := make(chan error, len(r.servers))
	for i, srv := range r.servers {
		go func() { errs <- srv.Serve(r.listeners[i]) }()
	}
	r.announceStart(ctx)

	// A listener that fails stops serve with an error (exit 1), after the
	// others drained, so that a supervisor restarts it.
	var failed error
	select {
	case <-ctx.Done():
	case failed = <-errs:
		r.logger.Error("listener failed", "err", failed)
		failed = fmt.Errorf("a listener failed: %w", failed)
	}
	drain, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	for _, srv := range r.servers {
		if err := srv.Shutdown(drain); err != nil {
			r.logger.Warn("shutdown did not drain every request", "addr", srv.Addr, "err", err)
		}
	}
	// Login codes still being mailed in the background are sent before
	// the store closes.
	_ = r.accounts.Close()
	fmt.Fprintln(r.c.stdout, "authgw stopped")
	return failed
}

// announceStart writes the serving line and the next steps, in one
// write, so that a reader of the first line has the next steps too.
func (r *serveRun) announceStart(ctx context.Context) {
	var start strings.Builder
	fmt.Fprintf(&start, "authgw %s serving on http://%s (admin http://%s), data in %s\n",
		r.cfg.serverID, r.listeners[0].Addr(), r.listeners[1].Addr(), r.cfg.dataDir)
	users, _, usersErr := r.store.ListUsers(ctx, db.Page{Size: 1})
	writeNextSteps(&start, r.cfg, r.listeners[0].Addr().String(), r.demo, usersErr == nil && len(users) > 0)
	io.WriteString(r.c.stdout, start.String())
}

// writeNextSteps writes what to do after the start: bootstrap (unless
// the database has users already), log in, and call the demo backend
// through the gateway at gatewayAddr (or register a backend when the
// demo is off or not routed).
func writeNextSteps(w io.Writer, cfg serveConfig, gatewayAddr string, demo *demoServer, bootstrapped bool) {
	gatewayURL := "http://" + gatewayAddr
	if demo != nil {
		fmt.Fprintf(w, "demo backend on %s (a demo, not for production; --demo-listen off turns it off)", demo.url)
		if demo.routed {
			fmt.Fprintf(w, ", through the gateway: %s/demo/v1/\n", gatewayURL)
		} else {
			fmt.Fprintln(w, ", not routed: another API named demo is registered")
		}
	}
	step := "next:"
	if !bootstrapped {
		fmt.Fprintf(w, "%s echo PASSWORD | authgw bootstrap --org ORG --email EMAIL --name NAME --password-stdin --data-dir %s\n", step, cfg.dataDir)
		fmt.Fprintln(w, "        (prints the system client's CLIENT_ID and CLIENT_SECRET, once)")
		step = "     "
	}
	fmt.Fprintf(w, "%s curl -u CLIENT_ID:CLIENT_SECRET --json '{\"data\":{\"email\":\"EMAIL\",\"password\":\"PASSWORD\",\"state\":\"STATE\"}}' %s/accounts/v1/sessions/login/password\n", step, gatewayURL)
	fmt.Fprintln(w, "        (STATE: 32 hex digits, e.g. from openssl rand -hex 16; the answer holds a token per method)")
	if demo != nil && demo.routed {
		fmt.Fprintf(w, "      curl -H \"Authorization: Basic $(printf %%s CLIENT_ID:CLIENT_SECRET | base64 -w0), Macaroon GET_TOKEN\" %s/demo/v1/hello\n", gatewayURL)
	} else {
		fmt.Fprintf(w, "      authgw apis add --name NAME --version 1 --url http://BACKEND --data-dir %s, then %s/NAME/v1/...\n", cfg.dataDir, gatewayURL)
	}
	fmt.Fprintln(w, "      (the README's Quickstart walks through these steps)")
}

// newAccounts builds the accounts service on the store: tokens minted
// with the key ring for this server ID from the policies, mail through
// cfg.notifier, TOTP secrets sealed with cfg.totpKeys, login regulation
// shared through Redis when there is one (else in the database),
// revocations applied to this gateway's set at once and published to the
// others, and changes of clients and APIs reloading this gateway's
// snapshot at once and announced to the others.
func newAccounts(c *cli, cfg serveConfig, store *db.DB, redisClient *redis.Client, revoked *verifier.RevocationSet,
	reload func(context.Context), logger *slog.Logger, metrics prometheus.Registerer) (*accounts.Service, error) {
	minter, err := mint.New(mint.Config{Keys: cfg.keys, ServerID: cfg.serverID, Now: c.now, Rand: c.random})
	if err != nil {
		return nil, err
	}
	sealer, err := totp.New(totp.Config{Issuer: totpIssuer, Keys: cfg.totpKeys, Now: c.now, Rand: c.random})
	if err != nil {
		return nil, err
	}
	regCfg := regulation.Config{Store: store, Now: c.now, Rand: c.random}
	if redisClient != nil {
		regCfg.Redis = redisClient
	}
	regulator, err := regulation.New(regCfg)
	if err != nil {
		return nil, err
	}
	announce := func(ctx context.Context) {
		reload(ctx)
		if redisClient == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceTimeout)
		defer cancel()
		if err := changes.Announce(ctx, redisClient, "accounts"); err != nil {
			logger.Warn("could not announce a change on Redis; other gateways see it at their next refresh", "err", err)
		}
	}
	publisher, err := broadcast.NewPublisher(broadcast.Config{Set: revoked, Client: redisClient, Logger: logger, Now: c.now})
	if err != nil {
		return nil, err
	}
	policies := cfg.policies
	currentPolicies := func() *policy.Set { return policies }
	if cfg.reload != nil {
		// The policies read again while serving, and the minter given
		// a reloaded key ring.
		currentPolicies, cfg.reload.minter, cfg.reload.totp = cfg.reload.currentPolicies, minter, sealer
	}
	return accounts.New(accounts.Config{
		// 0 without --session-idle-timeout: the accounts default.
		SessionIdleTimeout: cfg.sessionIdle,

		Store:            store,
		Notifier:         cfg.notifier,
		Minter:           minter,
		Keys:             cfg.keys,
		Policies:         currentPolicies,
		TOTP:             sealer,
		Regulator:        regulator,
		Cookies:          verifier.CookieConfig{Insecure: !cfg.cookieSecure},
		Revoked:          func(ctx context.Context, rv db.Revocation) { publisher.Revoked(ctx, gatewaystore.Entry(rv)) },
		Announce:         announce,
		MaxTokenLifetime: longestTokenLifetime(policies),
		Logger:           logger,
		Metrics:          metrics,
		Now:              c.now,
		Rand:             c.random,
		// nil without --breached-passwords: no breached-password check.
		BreachedPasswords: cfg.breached,
		CodeLoginOff:      !cfg.codeLogin,
		ProductName:       cfg.productName,
		PublicURL:         cfg.pages.publicURL,
		// Both empty when passkeys are off: the routes answer 503.
		WebAuthnRPID:    cfg.pages.rpID,
		WebAuthnOrigins: cfg.pages.rpOrigins,

		// nil without --require-second-factor: no role must.
		RequireSecondFactorRoles: cfg.requireSecondFactor,

		WebhookAllowHTTP: cfg.webhooks.allowHTTP,
	})
}

// longestTokenLifetime is the longest "expires" of the policies, at
// least minTokenLifetime: how long a revocation must be kept for every
// token it refuses to have expired.
func longestTokenLifetime(set *policy.Set) time.Duration {
	longest := minTokenLifetime
	for _, p := range set.All() {
		longest = max(longest, time.Duration(p.Expires)*time.Second)
	}
	return longest
}

// softMemoryLimit is serve's default soft memory limit for procs cores:
// memoryBase plus twice the memory of one argon2id hash per core (one
// hashing, one being collected).
func softMemoryLimit(procs int) int64 {
	return memoryBase + 2*int64(procs)*int64(password.DefaultParams.Memory)<<10
}

// newServer returns an HTTP server with timeouts that hold against slow
// clients: headers must arrive within 10 s; bodies stream without a
// total limit (uploads pass through), idle connections close after 2 min.
func newServer(addr string, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// resolve reads and checks every setting, writing nothing: a bad value
// is a usage error naming the setting, in plain words. prepare then
// creates what a first start needs.
func (s *serveCommand) resolve(c *cli, logger *slog.Logger) (serveConfig, error) {
	var cfg serveConfig
	var err error
	str := func(name, def string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = resolveSetting(c, &s.settings, name, def, asString)
		return v
	}
	cfg.listen = str("listen", defaultListen)
	cfg.adminListen = str("admin-listen", defaultAdminListen)
	cfg.dataDir = str("data-dir", defaultData)
	cfg.redisURL = str("redis", "")
	if err != nil {
		return cfg, err
	}
	if cfg.redisURL != "" {
		if _, err := redisOptions(cfg.redisURL); err != nil {
			_, label, _, _ := s.lookup(c, "redis")
			return cfg, &usageError{msg: fmt.Sprintf("%s: %v", label, err)}
		}
	}
	for _, a := range []struct{ name, addr string }{{"--listen", cfg.listen}, {"--admin-listen", cfg.adminListen}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			return cfg, &usageError{msg: fmt.Sprintf("%s: %v", a.name, err)}
		}
	}
	if cfg.demoListen, err = resolveDemoListen(c, &s.settings); err != nil {
		return cfg, err
	}
	if cfg.cookieSecure, err = resolveSetting(c, &s.settings, "cookie-secure", true, parseBool); err != nil {
		return cfg, err
	}
	if cfg.replaceShared, err = resolveSetting(c, &s.settings, "replace-shared-material", false, parseBool); err != nil {
		return cfg, err
	}
	if cfg.codeLogin, err = resolveSetting(c, &s.settings, "code-login", true, parseBool); err != nil {
		return cfg, err
	}
	if cfg.requireSecondFactor, err = resolveSetting(c, &s.settings, requireSecondFactorSetting, nil, parseRoleList); err != nil {
		return cfg, err
	}
	if cfg.productName, err = resolveSetting(c, &s.settings, productNameSetting, "", parseProductName); err != nil {
		return cfg, err
	}
	if cfg.purge, err = s.resolvePurge(c); err != nil {
		return cfg, err
	}
	if cfg.webhooks, err = s.resolveWebhooks(c); err != nil {
		return cfg, err
	}
	if cfg.trustedProxies, err = resolveSetting(c, &s.settings, "trusted-proxies", nil, parsePrefixes); err != nil {
		return cfg, err
	}
	if cfg.gatewayHosts, err = resolveSetting(c, &s.settings, gatewayHostsSetting, nil, parseGatewayHosts); err != nil {
		return cfg, err
	}
	if cfg.allowedOrigins, err = resolveSetting(c, &s.settings, "allowed-origins", nil, parseOrigins); err != nil {
		return cfg, err
	}
	if cfg.pages, err = s.resolvePages(c, cfg.productName, cfg.allowedOrigins); err != nil {
		return cfg, err
	}
	if cfg.pages.oidcProviders, err = s.resolveOIDCProviders(c); err != nil {
		return cfg, err
	}
	if cfg.pages.webauthn, err = s.resolveWebAuthn(c, cfg.pages.publicURL, cfg.listen); err != nil {
		return cfg, err
	}
	if cfg.forwardAuthCallers, err = resolveSetting(c, &s.settings, "forward-auth-callers", cfg.trustedProxies, parsePrefixes); err != nil {
		return cfg, err
	}
	if cfg.forwardAuthDialect, err = resolveSetting(c, &s.settings, "forward-auth-dialect", gateway.DialectNginx, gateway.ParseForwardAuthDialect); err != nil {
		return cfg, err
	}
	// NewSMTP only parses: it neither connects nor puts the URL's
	// password in its errors.
	if cfg.sessionIdle, err = resolveSetting(c, &s.settings, sessionIdleSetting, time.Duration(0), parseIdleTimeout); err != nil {
		return cfg, err
	}
	smtpNotifier, err := resolveSetting(c, &s.settings, "smtp", nil, func(v string) (*notify.SMTP, error) {
		return notify.NewSMTP(notify.SMTPConfig{URL: v, Now: c.now, Rand: c.random})
	})
	if err != nil {
		return cfg, err
	}
	if smtpNotifier != nil {
		cfg.notifier = smtpNotifier
	}
	if cfg.breached, err = resolveBreachedPasswords(c, &s.settings); err != nil {
		return cfg, err
	}
	// Settings given explicitly are checked before anything is created
	// in the data directory, so a typo leaves no half-made directory.
	if err := s.checkGiven(c); err != nil {
		return cfg, err
	}
	cfg.infoKeyPath = str("info-key", "")
	if err != nil {
		return cfg, err
	}
	cfg.reloadInterval, err = resolveSetting(c, &s.settings, reloadIntervalSetting, defaultReloadInterval, parseIdleTimeout)
	return cfg, err
}

// prepare creates in the data directory what a first start needs (the
// directory, the TOTP key, the server ID, the key ring, the example
// policies, the mail folder) and loads them into cfg. It fails with a
// usage error naming the setting when one found there is bad.
func (s *serveCommand) prepare(c *cli, cfg *serveConfig, logger *slog.Logger) error {
	var err error
	if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
		return &usageError{msg: fmt.Sprintf("--data-dir: %v", err)}
	}
	// The TOTP key first: a bad one in the data directory stops start-up
	// before anything else is created there.
	if cfg.totpKeys, err = s.totpKey(c, cfg.dataDir, logger); err != nil {
		return err
	}
	if cfg.serverID, err = s.serverID(c, cfg.dataDir, logger); err != nil {
		return err
	}
	if cfg.keys, err = s.keyRing(c, cfg.dataDir, logger); err != nil {
		return err
	}
	if cfg.oidcKeys, err = s.oidcKeys(c, cfg.dataDir, logger); err != nil {
		return err
	}
	if cfg.infoKeyPath == "" {
		cfg.infoKeyPath = filepath.Join(cfg.dataDir, infoKeyFile)
	}
	if cfg.policies, err = s.policies(c, *cfg, logger); err != nil {
		return err
	}
	if cfg.notifier == nil {
		dir := filepath.Join(cfg.dataDir, mailDir)
		if cfg.notifier, err = notify.NewFile(notify.FileConfig{Dir: dir, Now: c.now, Rand: c.random}); err != nil {
			return &usageError{msg: fmt.Sprintf("--smtp (default: files in %s): %v", dir, err)}
		}
		logger.Info("no --smtp: login codes and verification emails are written as .eml files", "dir", dir)
	}
	return nil
}

// checkGiven loads the key ring, server ID and policies when they are
// set explicitly, only to report a bad one before any file is created.
func (s *serveCommand) checkGiven(c *cli) error {
	if _, _, found, err := s.lookup(c, "keys"); err != nil || found {
		if err != nil {
			return err
		}
		if _, err := s.keyRing(c, "", nil); err != nil {
			return err
		}
	}
	if id, label, found, err := s.lookup(c, "server-id"); err != nil {
		return err
	} else if found && !mint.ValidID(id) {
		return &usageError{msg: fmt.Sprintf("%s: server ID %q must be 1 to 64 of [A-Za-z0-9._-]", label, id)}
	}
	// A request-info key named explicitly must exist: a typo would
	// otherwise give this instance a signing key of its own, which the
	// backends reject. Only the data directory's default is created.
	if path, label, found, err := s.lookup(c, "info-key"); err != nil {
		return err
	} else if found {
		if _, err := os.Stat(path); err != nil {
			return &usageError{msg: fmt.Sprintf("%s: %v (only the data directory's %s is created when missing)", label, err, infoKeyFile)}
		}
	}
	if dir, label, found, err := s.lookup(c, "policies"); err != nil {
		return err
	} else if found {
		if _, err := policy.LoadDir(dir); err != nil {
			return &usageError{msg: fmt.Sprintf("%s: %v", label, err)}
		}
	}
	if _, _, found, err := s.lookup(c, "totp-key"); err != nil || found {
		if err != nil {
			return err
		}
		if _, err := s.totpKey(c, "", nil); err != nil {
			return err
		}
	}
	return nil
}

// serverID is --server-id, else the server-id file in the data
// directory, created once with a random ID.
func (s *serveCommand) serverID(c *cli, dir string, logger *slog.Logger) (string, error) {
	id, label, found, err := s.lookup(c, "server-id")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, serverIDFile)
	if !found {
		b, created, err := dataDirSecret("--server-id", path, func() ([]byte, error) {
			if err := s.missingMaterial("--server-id", sharedmaterial.ServerID); err != nil {
				return nil, err
			}
			var buf [6]byte
			if _, err := io.ReadFull(c.random, buf[:]); err != nil {
				return nil, err
			}
			return []byte("authgw-" + hex.EncodeToString(buf[:]) + "\n"), nil
		})
		if err != nil {
			return "", err
		}
		id, label = strings.TrimSpace(string(b)), path
		if created {
			logger.Warn("created a server ID", "file", path, "server_id", id)
		}
	}
	if !mint.ValidID(id) {
		return "", &usageError{msg: fmt.Sprintf("%s: server ID %q must be 1 to 64 of [A-Za-z0-9._-]", label, id)}
	}
	return id, nil
}

// keyRing is --keys (a file, or with AUTHGW_KEYS also the ring's JSON),
// else keys.json in the data directory, created once with one key.
func (s *serveCommand) keyRing(c *cli, dir string, logger *slog.Logger) (*mint.KeyRing, error) {
	v, label, found, err := s.lookup(c, "keys")
	if err != nil {
		return nil, err
	}
	if found {
		var ring *mint.KeyRing
		if strings.HasPrefix(strings.TrimSpace(v), "{") {
			ring, err = mint.ParseKeyRing([]byte(v))
		} else {
			ring, err = mint.LoadKeyRing(v)
		}
		if err != nil {
			return nil, &usageError{msg: fmt.Sprintf("%s: %v", label, err)}
		}
		return ring, nil
	}
	path := filepath.Join(dir, keysFile)
	b, created, err := dataDirSecret("--keys", path, func() ([]byte, error) {
		if err := s.missingMaterial("--keys", sharedmaterial.TokenKey); err != nil {
			return nil, err
		}
		ring, err := mint.GenerateKeyRing("k1", c.random)
		if err != nil {
			return nil, err
		}
		b, err := ring.MarshalJSON()
		return append(b, '\n'), err
	})
	if err != nil {
		return nil, err
	}
	ring, err := mint.ParseKeyRing(b)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("--keys (from the data directory): %s: %v", path, err)}
	}
	if created {
		logger.Warn("created a key ring: it signs every token; back it up and keep it secret", "file", path)
	}
	return ring, nil
}

// totpKey reads the TOTP sealing key: --totp-key, else the data
// directory's totp-key file, created once with 32 random bytes. The file
// holds the key as 64 hex digits, or a key ring (totpring.go). A key
// given but missing, unreadable or malformed is a usage error naming the
// setting, never showing the file's contents.
func (s *serveCommand) totpKey(c *cli, dir string, logger *slog.Logger) ([]totp.Key, error) {
	path, label, found, err := s.lookup(c, "totp-key")
	if err != nil {
		return nil, err
	}
	var b []byte
	if found {
		if b, err = os.ReadFile(path); err != nil {
			return nil, &usageError{msg: fmt.Sprintf("%s: %v", label, err)}
		}
	} else {
		path, label = filepath.Join(dir, totpKeyFile), "--totp-key (from the data directory)"
		var created bool
		b, created, err = dataDirSecret("--totp-key", path, func() ([]byte, error) {
			if err := s.missingMaterial("--totp-key", sharedmaterial.TOTPKey); err != nil {
				return nil, err
			}
			key := make([]byte, totp.KeySize)
			if _, err := io.ReadFull(c.random, key); err != nil {
				return nil, err
			}
			return []byte(hex.EncodeToString(key) + "\n"), nil
		})
		if err != nil {
			return nil, err
		}
		if created {
			logger.Warn("created a TOTP key: it seals the users' TOTP secrets; back it up and keep it secret", "file", path)
		}
	}
	keys, err := totp.ParseKeyFile(b)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("%s: %s: %v", label, path, err)}
	}
	return keys, nil
}

// policies loads --policies, else the data directory's policies folder,
// filled with the example policies when it does not exist yet.
func (s *serveCommand) policies(c *cli, cfg serveConfig, logger *slog.Logger) (*policy.Set, error) {
	dir, label, found, err := s.lookup(c, "policies")
	if err != nil {
		return nil, err
	}
	if !found {
		dir = filepath.Join(cfg.dataDir, examplePoliciesDir)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			if err := writeExamplePolicies(dir); err != nil {
				return nil, fmt.Errorf("--policies: %w", err)
			}
			logger.Warn("wrote the example policies", "dir", dir)
		}
	}
	set, err := policy.LoadDir(dir)
	if err == nil {
		err = set.CheckServerID(cfg.serverID)
	}
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("%s: %v", label, err)}
	}
	return set, nil
}

func writeExamplePolicies(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := examplePolicies.ReadDir("examples")
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := examplePolicies.ReadFile("examples/" + e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// parseList splits a comma-separated setting, dropping empty items.
func parseList(v string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out, nil
}

// parsePrefixes reads comma-separated CIDRs or single addresses. Its
// errors say what is wrong in plain words, not in the netip package's.
// Peers are compared unmapped, so an IPv4-mapped address or prefix of /96
// or longer is read as IPv4 (::ffff:10.0.0.0/104 is 10.0.0.0/8); a
// shorter mapped prefix would match no peer and is refused.
func parsePrefixes(v string) ([]netip.Prefix, error) {
	items, _ := parseList(v)
	out := make([]netip.Prefix, 0, len(items))
	for _, item := range items {
		p, err := netaddr.ParseRange(item)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// parseBool reads a true/false setting; its error names the values
// accepted, not strconv's.
func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%q is not true or false", v)
	}
	return b, nil
}

// parseOrigins reads comma-separated origins: scheme://host[:port], the
// scheme http or https, nothing after the host. The gateway compares
// them with the Origin header byte for byte, so anything else could
// never match and is refused here, naming the setting.
func parseOrigins(v string) ([]string, error) {
	items, _ := parseList(v)
	for _, o := range items {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.User != nil || u.Fragment != "" || u.Opaque != "" || u.ForceQuery {
			return nil, fmt.Errorf("%q is not an origin: want scheme://host[:port] with the scheme http or https and no path, such as https://app.example.com", o)
		}
	}
	return items, nil
}

// gatewayHostsSetting lists the gateway's own host names
// (gateway.Config.Hosts).
const gatewayHostsSetting = "gateway-hosts"

// parseGatewayHosts reads --gateway-hosts: "*", or host names and IP
// addresses without port.
func parseGatewayHosts(v string) ([]string, error) {
	items, _ := parseList(v)
	for _, h := range items {
		if h == "*" && len(items) > 1 {
			return nil, fmt.Errorf("* serves every host and stands alone")
		}
		if h != "*" {
			if err := gateway.CheckHost(h); err != nil {
				return nil, err
			}
		}
	}
	return items, nil
}

// sessionIdleSetting is the inactivity timeout of sessions.
const sessionIdleSetting = "session-idle-timeout"

// productNameSetting is the setting of the product name the mails name
// (accounts.Config.ProductName).
const productNameSetting = "product-name"

// parseProductName reads --product-name: what the mails' templates
// take (one printable line of at most 100 bytes).
func parseProductName(v string) (string, error) {
	if _, err := mailtemplate.New(mailtemplate.Config{Product: v}); err != nil {
		return "", errors.New(strings.TrimPrefix(err.Error(), "mailtemplate: "))
	}
	return v, nil
}

// parseIdleTimeout reads --session-idle-timeout: a positive Go duration
// ("0" is the default).
func parseIdleTimeout(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 2h or 90m", v)
	}
	return d, nil
}
