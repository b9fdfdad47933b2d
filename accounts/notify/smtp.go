package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// SMTPConfig configures NewSMTP.
type SMTPConfig struct {
	// URL is the mail server. Required. Either
	//
	//	smtp://[user:pass@]host[:port][?query]   (port default 25)
	//	smtps://[user:pass@]host[:port][?query]  (implicit TLS, port default 465)
	//
	// With smtp://, STARTTLS is used whenever the server offers it, and
	// required (the send fails rather than going on in clear text) when
	// the query has starttls=required or the URL has user info. User info
	// means AUTH PLAIN with that user and password (percent-encoded in
	// the URL); the password is never sent in clear text unless the query
	// has insecure=1, meant for tests and local relays. Query parameters
	// (percent-decoded; a '+' stays a '+'):
	//
	//	from=addr          the sender when From is empty
	//	starttls=required  smtp:// only
	//	insecure=1         smtp:// only: allow AUTH without TLS
	URL string
	// From is the sender, used for the envelope and the From header: an
	// address, optionally with a display name ("Example <noreply@example.com>").
	// Optional. Default the URL's from= parameter; one of them is required.
	From string
	// TLSConfig is used for STARTTLS and smtps://. Optional. Default the
	// system roots, TLS 1.2 or later; when its ServerName is empty, the
	// URL's host is used.
	TLSConfig *tls.Config
	// Timeout bounds each Send: dialing, the TLS handshake and the whole
	// SMTP conversation. The ctx passed to Send bounds it too. Optional.
	// Default 10 s.
	Timeout time.Duration
	// Now is the clock, used for the Date header only. Optional. Default
	// time.Now.
	Now func() time.Time
	// Rand is the random source for the Message-ID. Optional. Default
	// crypto/rand.Reader.
	Rand io.Reader
}

// defaultSMTPTimeout is the default SMTPConfig.Timeout.
const defaultSMTPTimeout = 10 * time.Second

// SMTP is a Notifier that hands each message to a mail server over a new
// connection. It is safe for concurrent use.
type SMTP struct {
	addr        string // host:port to dial
	host        string // for TLS ServerName
	implicitTLS bool
	requireTLS  bool // STARTTLS must succeed before MAIL
	user, pass  string
	hasAuth     bool
	insecure    bool // allow AUTH without TLS
	from        *mail.Address
	helloName   string
	tlsConfig   *tls.Config
	timeout     time.Duration
	now         func() time.Time
	rand        *randomSource
}

var _ Notifier = (*SMTP)(nil)

// NewSMTP returns an SMTP notifier for cfg. It fails when the URL does
// not parse, has another scheme, a bad port, a path, fragment or unknown
// query parameter, user info without a password, or when neither From
// nor from= gives a valid sender, or Timeout is negative. The error never
// contains the URL's password.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	s := &SMTP{timeout: cfg.Timeout, now: cfg.Now}
	// url.Parse's errors quote the whole URL, password included, so
	// they are never passed on.
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, errors.New("notify: SMTP URL does not parse (want smtp://[user:pass@]host[:port] or smtps://…, percent-encoded)")
	}
	var defaultPort string
	switch u.Scheme {
	case "smtp":
		defaultPort = "25"
	case "smtps":
		defaultPort = "465"
		s.implicitTLS = true
	default:
		return nil, errors.New("notify: SMTP URL scheme must be smtp or smtps")
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("notify: SMTP URL has no host (want smtp://host[:port])")
	}
	if u.Path != "" && u.Path != "/" || u.Fragment != "" {
		return nil, errors.New("notify: SMTP URL must not have a path or fragment")
	}
	s.host = u.Hostname()
	port := u.Port()
	if port == "" {
		port = defaultPort
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, errors.New("notify: SMTP URL port must be 1 to 65535")
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		pass, ok := u.User.Password()
		if u.User.Username() == "" || !ok || pass == "" {
			return nil, errors.New("notify: SMTP URL user info needs both a user and a password")
		}
		s.user, s.pass, s.hasAuth = u.User.Username(), pass, true
	}
	query, err := parseQuery(u.RawQuery)
	if err != nil {
		return nil, err
	}
	fromParam := query["from"]
	for name, value := range query {
		switch name {
		case "from":
		case "starttls":
			if s.implicitTLS || value != "required" {
				return nil, errors.New("notify: SMTP URL starttls= must be \"required\", with smtp:// only")
			}
			s.requireTLS = true
		case "insecure":
			if s.implicitTLS || value != "1" {
				return nil, errors.New("notify: SMTP URL insecure= must be \"1\", with smtp:// only")
			}
			s.insecure = true
		default:
			return nil, fmt.Errorf("notify: SMTP URL has an unknown parameter %q (want from, starttls or insecure)", name)
		}
	}
	if s.hasAuth && !s.insecure {
		s.requireTLS = true
	}

	from := cfg.From
	if from == "" {
		from = fromParam
	}
	if from == "" {
		return nil, errors.New("notify: SMTP sender missing: set From or the URL's from= parameter")
	}
	if s.from, err = parseFrom(from); err != nil {
		return nil, err
	}
	s.helloName = domainOf(s.from.Address)

	if cfg.TLSConfig != nil {
		s.tlsConfig = cfg.TLSConfig.Clone()
	} else {
		s.tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if s.tlsConfig.ServerName == "" {
		s.tlsConfig.ServerName = s.host
	}
	switch {
	case s.timeout < 0:
		return nil, errors.New("notify: SMTP Timeout must not be negative")
	case s.timeout == 0:
		s.timeout = defaultSMTPTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	s.rand = &randomSource{r: r}
	return s, nil
}

// parseQuery splits a URL query into single-valued parameters. Unlike
// url.ParseQuery it keeps '+' (common in addresses) as '+'. Its errors
// name the parameter, never a value.
func parseQuery(raw string) (map[string]string, error) {
	query := map[string]string{}
	if raw == "" {
		return query, nil
	}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := url.PathUnescape(rawName)
		if err != nil {
			return nil, errors.New("notify: SMTP URL query has a malformed parameter name")
		}
		value, err := url.PathUnescape(rawValue)
		if err != nil {
			return nil, fmt.Errorf("notify: SMTP URL parameter %q is not percent-encoded properly", name)
		}
		if _, dup := query[name]; dup {
			return nil, fmt.Errorf("notify: SMTP URL parameter %q is repeated", name)
		}
		query[name] = value
	}
	return query, nil
}

// Send delivers m to the mail server over a new connection: greeting,
// EHLO, STARTTLS (when offered or required), AUTH PLAIN (when the URL has
// user info), MAIL, RCPT, DATA and QUIT. It fails with ErrInvalidMessage
// before connecting when m is not valid, and with a plain error when Rand
// fails. Every other failure wraps ErrUnavailable: the server cannot be reached, is silent beyond Timeout
// or ctx's end (the error then also wraps ctx.Err()), offers no STARTTLS
// where TLS is required, fails the TLS handshake, refuses the login, or
// answers any command with an error (a refused recipient included; the
// server's reply is then available as a *textproto.Error). Once the
// server has accepted the message data, Send succeeds even if QUIT fails,
// so that a retry does not send the message twice.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := validate(m)
	if err != nil {
		return err
	}
	msg, err := composeMessage(s.from, to, m, s.now(), s.rand)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}

	rawConn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return s.failed(ctx, "connecting", err)
	}
	defer rawConn.Close()
	// The deadline bounds every read and write of the conversation; the
	// AfterFunc cuts it short when ctx ends first (a cancellation).
	deadline, _ := ctx.Deadline()
	if err := rawConn.SetDeadline(deadline); err != nil {
		return s.failed(ctx, "connecting", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = rawConn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	conn := rawConn
	if s.implicitTLS {
		tlsConn := tls.Client(rawConn, s.tlsConfig)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			return s.failed(ctx, "TLS handshake", err)
		}
		conn = tlsConn
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return s.failed(ctx, "reading the greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.helloName); err != nil {
		return s.failed(ctx, "EHLO", err)
	}
	if !s.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig); err != nil {
				return s.failed(ctx, "STARTTLS", err)
			}
		} else if s.requireTLS {
			return fmt.Errorf("%w: the server does not offer STARTTLS, which this URL requires (user info or starttls=required)", ErrUnavailable)
		}
	}
	if s.hasAuth {
		if ok, mechs := c.Extension("AUTH"); !ok || !hasWord(mechs, "PLAIN") {
			return fmt.Errorf("%w: the server does not offer AUTH PLAIN", ErrUnavailable)
		}
		if err := c.Auth(&plainAuth{user: s.user, pass: s.pass, insecure: s.insecure}); err != nil {
			return s.failed(ctx, "AUTH", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return s.failed(ctx, "MAIL FROM", err)
	}
	if err := c.Rcpt(to); err != nil {
		return s.failed(ctx, "RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return s.failed(ctx, "DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return s.failed(ctx, "sending the message", err)
	}
	if err := w.Close(); err != nil {
		return s.failed(ctx, "sending the message", err)
	}
	_ = c.Quit() // the message is accepted; see the doc comment
	return nil
}

// failed wraps err from step in ErrUnavailable. When ctx has ended, its
// error replaces err, which is then only the symptom (a forced deadline).
// The connection's only deadline is ctx's, so a deadline error means ctx
// expired even if its timer has not fired yet.
func (s *SMTP) failed(ctx context.Context, step string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = ctxErr
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		err = context.DeadlineExceeded
	}
	return fmt.Errorf("%w: %s %s: %w", ErrUnavailable, step, s.addr, err)
}

// hasWord reports whether the space-separated list has word, ignoring case.
func hasWord(list, word string) bool {
	for _, w := range strings.Fields(list) {
		if strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}

// plainAuth is AUTH PLAIN (RFC 4616). Unlike smtp.PlainAuth it allows
// clear text to any host when insecure is set, and refuses it otherwise,
// whatever the host: the TLS policy is checked before AUTH too, this is
// the second lock.
type plainAuth struct {
	user, pass string
	insecure   bool
}

// Start sends the credentials at once, as PLAIN allows, unless the
// connection is in clear text and insecure is not set.
func (a *plainAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !a.insecure {
		return "", nil, errors.New("notify: refusing to send the SMTP password without TLS")
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

// Next accepts no further challenge: PLAIN is one step.
func (a *plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("notify: unexpected challenge after AUTH PLAIN")
	}
	return nil, nil
}
