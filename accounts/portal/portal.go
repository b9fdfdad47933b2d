package portal

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/accounts/oidcrp"
	"github.com/authgw/authgw/accounts/ui"
	"github.com/authgw/authgw/verifier"
)

// Prefix is where the pages are served.
const Prefix = "/accounts/v1/ui"

// LoginPath is the entry page: GET LoginPath?return_to=<URL>.
const LoginPath = Prefix + "/login"

// Config configures New.
type Config struct {
	// API is the accounts JSON API (an *accounts.Service), called
	// in-process with the caller's claims in the request context. It also
	// serves every request of ServeHTTP outside Prefix. Required.
	API http.Handler
	// ClientID is the portal's own API client: the client of the logins,
	// sign-ups and recoveries the pages make. Required.
	ClientID string
	// Renderer renders the pages. Required.
	Renderer *ui.Renderer
	// CSRF issues and checks the token of every form. Required.
	CSRF *ui.CSRF
	// Return resolves return_to. Optional. Default: the gateway's own
	// paths only, falling back to "/".
	Return ui.ReturnPolicy
	// Cookies names the token cookies (and, with the same prefix, the
	// refresh cookie), as configured for the accounts service. Optional.
	Cookies verifier.CookieConfig
	// Logger receives failures the visitor does not see. Never a secret,
	// code or full address. Optional. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// Rand is the source of login states. Optional. Default
	// crypto/rand.Reader.
	Rand io.Reader
	// PasskeyRPID turns on the passkey parts of the pages (sign in with
	// a passkey, and the passkeys of the account page): the accounts
	// service's WebAuthnRPID. The pages show them only to a browser on
	// that host name or under it (on another address, such as
	// 127.0.0.1 for an RP ID of localhost, the browser would refuse the
	// ceremony). Optional. Default "": the pages offer no passkey, but a
	// user who has one still gets its second step at sign-in.
	PasskeyRPID string
	// Federation is the relying party of the external OpenID Connect
	// providers ("Sign in with …", oidcrp.go): the sign-in page offers
	// each, and their sign-ins finish through the login step
	// accounts.StepFederated. Optional. Default nil: none is offered.
	Federation *oidcrp.RP
	// Audit records the pages' own security events (a form refused for
	// its CSRF token) in the audit log. Optional. Default: the recorder
	// of API when it has one (an *accounts.Service: AuditRecorder), else
	// none.
	Audit *audit.Recorder
}

// Portal serves the pages. It is safe for concurrent use.
type Portal struct {
	cfg Config
	mux *http.ServeMux
}

// New checks cfg and returns the Portal.
func New(cfg Config) (*Portal, error) {
	if cfg.API == nil || cfg.Renderer == nil || cfg.CSRF == nil || cfg.ClientID == "" {
		return nil, errors.New("portal: Config.API, ClientID, Renderer and CSRF are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if a, ok := cfg.API.(interface{ AuditRecorder() *audit.Recorder }); ok && cfg.Audit == nil {
		cfg.Audit = a.AuditRecorder()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Portal{cfg: cfg, mux: http.NewServeMux()}
	for _, pg := range pages {
		p.mux.HandleFunc(pg.Method+" "+Prefix+pg.Path, func(w http.ResponseWriter, r *http.Request) { pg.handle(p, w, r) })
	}
	p.mux.HandleFunc(Prefix+"/", p.notFound)
	return p, nil
}

// ServeHTTP serves the pages under Prefix and hands every other request
// to Config.API, so that the gateway can be given the Portal as its
// accounts service.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := verifier.RequestPath(r)
	if path != Prefix && !strings.HasPrefix(path, Prefix+"/") {
		p.cfg.API.ServeHTTP(w, r)
		return
	}
	p.mux.ServeHTTP(w, r)
}

// Page is one page route and whether it needs a signed-in user.
type Page struct {
	// Method and Path (a net/http pattern path under Prefix) name the
	// route. GET routes answer HEAD too.
	Method, Path string
	// Public is true for pages a visitor without a session may open (the
	// gateway lets them through without a token).
	Public bool

	handle func(p *Portal, w http.ResponseWriter, r *http.Request)
}

// Pages returns the page routes.
func Pages() []Page { return append([]Page(nil), pages...) }

// PublicScope is the verifier's public scope of the pages: the routes a
// visitor without a token may open, by method ("*" for a {param}
// segment, "**" for a {rest...} one; the verifier lets HEAD through
// where GET is public). The gateway is configured with it
// beside the accounts service's own.
func PublicScope() map[string][]string {
	scope := map[string][]string{}
	for _, pg := range pages {
		if !pg.Public {
			continue
		}
		segments := strings.Split(pg.Path, "/")
		for i, seg := range segments {
			switch {
			case strings.HasSuffix(seg, "...}"):
				segments[i] = "**"
			case strings.HasPrefix(seg, "{"):
				segments[i] = "*"
			}
		}
		scope[pg.Method] = append(scope[pg.Method], Prefix+strings.Join(segments, "/"))
	}
	return scope
}
