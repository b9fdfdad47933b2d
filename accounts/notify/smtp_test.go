package notify_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/notify"
)

const (
	testUser = "relay-user"
	testPass = "s3cretPW" // must never appear in an error
)

var smtpNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// newSMTP builds a notifier with a fixed clock and counting randomness.
func newSMTP(t *testing.T, cfg notify.SMTPConfig) *notify.SMTP {
	t.Helper()
	cfg.Now = fixedClock(smtpNow)
	cfg.Rand = &countingReader{}
	n, err := notify.NewSMTP(cfg)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return n
}

func TestSMTP_Send_delivers(t *testing.T) {
	_, trusting := testTLS(t)
	tests := []struct {
		name           string
		givenServer    serverConfig
		givenScheme    string
		givenUserinfo  string
		givenQuery     string
		expectTLS      bool
		expectAuthUser string
	}{
		{
			name:        "clear text relay without STARTTLS",
			givenServer: serverConfig{},
			givenScheme: "smtp",
		},
		{
			name:        "STARTTLS is used when offered",
			givenServer: serverConfig{offerSTARTTLS: true},
			givenScheme: "smtp",
			expectTLS:   true,
		},
		{
			name:        "starttls=required with a server offering it",
			givenServer: serverConfig{offerSTARTTLS: true},
			givenScheme: "smtp",
			givenQuery:  "starttls=required",
			expectTLS:   true,
		},
		{
			name:           "AUTH PLAIN over STARTTLS",
			givenServer:    serverConfig{offerSTARTTLS: true, offerAuth: true, user: testUser, pass: testPass},
			givenScheme:    "smtp",
			givenUserinfo:  testUser + ":" + testPass,
			expectTLS:      true,
			expectAuthUser: testUser,
		},
		{
			name:           "AUTH PLAIN over implicit TLS",
			givenServer:    serverConfig{implicitTLS: true, offerAuth: true, user: testUser, pass: testPass},
			givenScheme:    "smtps",
			givenUserinfo:  testUser + ":" + testPass,
			expectTLS:      true,
			expectAuthUser: testUser,
		},
		{
			name:           "AUTH in clear text only with insecure=1",
			givenServer:    serverConfig{offerAuth: true, user: testUser, pass: testPass},
			givenScheme:    "smtp",
			givenUserinfo:  testUser + ":" + testPass,
			givenQuery:     "insecure=1",
			expectAuthUser: testUser,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTPServer(t, tt.givenServer)
			// The sender comes from the URL; its '+' must survive.
			query := "from=noreply+login@example.com"
			if tt.givenQuery != "" {
				query += "&" + tt.givenQuery
			}
			n := newSMTP(t, notify.SMTPConfig{URL: srv.url(tt.givenScheme, tt.givenUserinfo, query), TLSConfig: trusting})

			if err := n.Send(context.Background(), loginMessage); err != nil {
				t.Fatalf("Send: %v", err)
			}

			_, sessions, messages := srv.snapshot()
			if len(messages) != 1 {
				t.Fatalf("server received %d messages, want 1", len(messages))
			}
			got := messages[0]
			if got.from != "noreply+login@example.com" {
				t.Errorf("MAIL FROM = %q, want noreply+login@example.com", got.from)
			}
			if len(got.rcpts) != 1 || got.rcpts[0] != "ann@example.com" {
				t.Errorf("RCPT TO = %q, want [ann@example.com]", got.rcpts)
			}
			if got.tls != tt.expectTLS {
				t.Errorf("message sent over TLS = %v, want %v", got.tls, tt.expectTLS)
			}
			if got.authUser != tt.expectAuthUser {
				t.Errorf("authenticated as %q, want %q", got.authUser, tt.expectAuthUser)
			}
			if len(sessions) != 1 || sessions[0].ehloName != "example.com" {
				t.Errorf("sessions = %+v, want one greeting as example.com", sessions)
			}
			checkMessage(t, got.data, expectedMessage{
				from:      "noreply+login@example.com",
				to:        "ann@example.com",
				subject:   loginMessage.Subject,
				date:      smtpNow,
				messageID: "<" + firstMessageID + "@example.com>",
				text:      loginMessage.Text,
			})
		})
	}
}

// TestSMTP_Send_refused covers servers that do not let the message
// through. A recipient refused with 554 is an ErrUnavailable like the
// rest (the caller cannot tell a relay's policy from a bad mailbox), with
// the server's reply available as a *textproto.Error.
func TestSMTP_Send_refused(t *testing.T) {
	_, trusting := testTLS(t)
	tests := []struct {
		name          string
		givenServer   serverConfig
		givenUserinfo string
		givenQuery    string
		givenTLS      *tls.Config
		expectSawAUTH bool
		expectCode    int // the server's reply code in the error, 0 for none
	}{
		{
			name:          "password never sent when STARTTLS is not offered",
			givenServer:   serverConfig{offerAuth: true, user: testUser, pass: testPass},
			givenUserinfo: testUser + ":" + testPass,
			expectSawAUTH: false,
		},
		{
			name:        "starttls=required and not offered",
			givenServer: serverConfig{},
			givenQuery:  "starttls=required",
		},
		{
			name:          "wrong password",
			givenServer:   serverConfig{offerSTARTTLS: true, offerAuth: true, user: testUser, pass: "other"},
			givenUserinfo: testUser + ":" + testPass,
			expectSawAUTH: true,
			expectCode:    535,
		},
		{
			name:        "untrusted certificate: no fallback to clear text",
			givenServer: serverConfig{offerSTARTTLS: true},
			givenTLS:    &tls.Config{MinVersion: tls.VersionTLS12}, // system roots only
		},
		{
			name:        "recipient refused with 554",
			givenServer: serverConfig{rcptReply: "554 5.7.1 relay access denied"},
			expectCode:  554,
		},
		{
			name:        "server closes the connection at once",
			givenServer: serverConfig{closeOnAccept: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTPServer(t, tt.givenServer)
			tlsConfig := trusting
			if tt.givenTLS != nil {
				tlsConfig = tt.givenTLS
			}
			n := newSMTP(t, notify.SMTPConfig{
				URL:       srv.url("smtp", tt.givenUserinfo, tt.givenQuery),
				From:      "authgw@example.com",
				TLSConfig: tlsConfig,
			})

			err := n.Send(context.Background(), loginMessage)

			if !errors.Is(err, notify.ErrUnavailable) {
				t.Fatalf("Send error = %v, want ErrUnavailable", err)
			}
			if strings.Contains(err.Error(), testPass) || strings.Contains(err.Error(), "493817") {
				t.Errorf("error %q leaks the password or the code", err)
			}
			gotCode := 0
			var tpErr *textproto.Error
			if errors.As(err, &tpErr) {
				gotCode = tpErr.Code
			}
			if gotCode != tt.expectCode {
				t.Errorf("error %v: server reply code %d, want %d", err, gotCode, tt.expectCode)
			}
			accepted, sessions, messages := srv.snapshot()
			if accepted != 1 {
				t.Errorf("server accepted %d connections, want 1", accepted)
			}
			if len(messages) != 0 {
				t.Errorf("server received %d messages, want none", len(messages))
			}
			for _, s := range sessions {
				if s.sawAUTH != tt.expectSawAUTH {
					t.Errorf("server saw AUTH = %v, want %v", s.sawAUTH, tt.expectSawAUTH)
				}
				if s.sawMAIL && !s.tls && tt.givenServer.offerSTARTTLS {
					t.Error("client fell back to MAIL in clear text after STARTTLS failed")
				}
			}
		})
	}
}

func TestSMTP_Send_serverDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	n := newSMTP(t, notify.SMTPConfig{URL: "smtp://" + addr, From: "authgw@example.com", Timeout: 2 * time.Second})

	err = n.Send(context.Background(), loginMessage)

	if !errors.Is(err, notify.ErrUnavailable) {
		t.Fatalf("Send error = %v, want ErrUnavailable", err)
	}
}

// TestSMTP_Send_deadlines checks that a silent server or an ended context
// stops Send within about the Timeout or the context's end.
func TestSMTP_Send_deadlines(t *testing.T) {
	tests := []struct {
		name           string
		givenTimeout   time.Duration
		givenCtx       func() (context.Context, context.CancelFunc)
		expectErr      error
		expectMinDelay time.Duration
		expectMaxDelay time.Duration
		expectConns    int
	}{
		{
			name:           "server silent beyond Timeout",
			givenTimeout:   300 * time.Millisecond,
			givenCtx:       func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			expectErr:      context.DeadlineExceeded,
			expectMinDelay: 250 * time.Millisecond,
			expectMaxDelay: 2 * time.Second,
			expectConns:    1,
		},
		{
			name:         "ctx cancelled while the server is silent",
			givenTimeout: 30 * time.Second,
			givenCtx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(300*time.Millisecond, cancel)
				return ctx, cancel
			},
			expectErr:      context.Canceled,
			expectMinDelay: 250 * time.Millisecond,
			expectMaxDelay: 2 * time.Second,
			expectConns:    1,
		},
		{
			name:         "ctx deadline shorter than Timeout",
			givenTimeout: 30 * time.Second,
			givenCtx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 300*time.Millisecond)
			},
			expectErr:      context.DeadlineExceeded,
			expectMinDelay: 250 * time.Millisecond,
			expectMaxDelay: 2 * time.Second,
			expectConns:    1,
		},
		{
			name:         "ctx already cancelled: no connection",
			givenTimeout: 30 * time.Second,
			givenCtx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			expectErr:      context.Canceled,
			expectMaxDelay: time.Second, // no dial: at once, unless the machine is loaded
			expectConns:    0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTPServer(t, serverConfig{silent: true})
			n := newSMTP(t, notify.SMTPConfig{URL: srv.url("smtp", "", ""), From: "authgw@example.com", Timeout: tt.givenTimeout})
			// The clock starts before the context's timers do, so a pause
			// in between cannot make Send look early.
			start := time.Now()
			ctx, cancel := tt.givenCtx()
			defer cancel()
			err := n.Send(ctx, loginMessage)
			took := time.Since(start)

			if !errors.Is(err, notify.ErrUnavailable) || !errors.Is(err, tt.expectErr) {
				t.Errorf("Send error = %v, want ErrUnavailable and %v", err, tt.expectErr)
			}
			if took < tt.expectMinDelay || took > tt.expectMaxDelay {
				t.Errorf("Send returned after %v, want %v to %v", took, tt.expectMinDelay, tt.expectMaxDelay)
			}
			// The server counts a connection when its accept goroutine
			// runs, which a loaded machine may delay past Send's return.
			accepted, _, _ := srv.snapshot()
			for wait := time.Now(); accepted < tt.expectConns && time.Since(wait) < 2*time.Second; accepted, _, _ = srv.snapshot() {
				time.Sleep(10 * time.Millisecond)
			}
			if accepted != tt.expectConns {
				t.Errorf("server accepted %d connections, want %d", accepted, tt.expectConns)
			}
		})
	}
}

// TestSMTP_Send_invalidMessage checks that header injection and other
// invalid messages fail before any connection is made.
func TestSMTP_Send_invalidMessage(t *testing.T) {
	tests := []struct {
		name         string
		givenMessage func(m *notify.Message)
	}{
		{name: "Bcc injected into To", givenMessage: func(m *notify.Message) { m.To = "a@b.c\r\nBcc: x@y.z" }},
		{name: "LF in To", givenMessage: func(m *notify.Message) { m.To = "a@b.c\nBcc: x@y.z" }},
		{name: "Bcc injected into Subject with LF", givenMessage: func(m *notify.Message) { m.Subject = "Your code\nBcc: x@y.z" }},
		{name: "CR in Subject", givenMessage: func(m *notify.Message) { m.Subject = "Your code\rBcc: x@y.z" }},
		{name: "two recipients", givenMessage: func(m *notify.Message) { m.To = "a@b.c, x@y.z" }},
		{name: "empty Text", givenMessage: func(m *notify.Message) { m.Text = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTPServer(t, serverConfig{})
			n := newSMTP(t, notify.SMTPConfig{URL: srv.url("smtp", "", ""), From: "authgw@example.com"})
			m := loginMessage
			tt.givenMessage(&m)

			err := n.Send(context.Background(), m)

			if !errors.Is(err, notify.ErrInvalidMessage) {
				t.Errorf("Send error = %v, want ErrInvalidMessage", err)
			}
			if strings.Contains(err.Error(), "x@y.z") {
				t.Errorf("error %q repeats the injected text", err)
			}
			if accepted, _, _ := srv.snapshot(); accepted != 0 {
				t.Errorf("server accepted %d connections, want none", accepted)
			}
		})
	}
}

func TestNewSMTP_config(t *testing.T) {
	tests := []struct {
		name      string
		givenURL  string
		givenFrom string
		givenTime time.Duration
		expectErr bool
	}{
		{name: "smtp with from parameter", givenURL: "smtp://mail.example.com?from=a@example.com"},
		{name: "smtps with port and From", givenURL: "smtps://u:" + testPass + "@mail.example.com:2465", givenFrom: "Example <a@example.com>"},
		{name: "From wins over from=", givenURL: "smtp://h?from=not-an-address", givenFrom: "a@example.com"},
		{name: "IPv6 host", givenURL: "smtp://[::1]:2525?from=a@example.com"},
		{name: "wrong scheme", givenURL: "http://u:" + testPass + "@mail.example.com?from=a@example.com", expectErr: true},
		{name: "port not a number", givenURL: "smtp://u:" + testPass + "@mail.example.com:abc?from=a@example.com", expectErr: true},
		{name: "port out of range", givenURL: "smtp://u:" + testPass + "@mail.example.com:70000?from=a@example.com", expectErr: true},
		{name: "no host", givenURL: "smtp://u:" + testPass + "@?from=a@example.com", expectErr: true},
		{name: "opaque URL", givenURL: "smtp:u:" + testPass + "@mail.example.com", expectErr: true},
		{name: "bad escape in password", givenURL: "smtp://u:" + testPass + "%zz@mail.example.com?from=a@example.com", expectErr: true},
		{name: "control character", givenURL: "smtp://u:" + testPass + "@mail.example.com\n?from=a@example.com", expectErr: true},
		{name: "user without password", givenURL: "smtp://u@mail.example.com?from=a@example.com", expectErr: true},
		{name: "path", givenURL: "smtp://u:" + testPass + "@mail.example.com/x?from=a@example.com", expectErr: true},
		{name: "unknown parameter", givenURL: "smtp://u:" + testPass + "@mail.example.com?from=a@example.com&tls=yes", expectErr: true},
		{name: "misspelt starttls value", givenURL: "smtp://u:" + testPass + "@mail.example.com?from=a@example.com&starttls=require", expectErr: true},
		{name: "starttls with smtps", givenURL: "smtps://u:" + testPass + "@mail.example.com?from=a@example.com&starttls=required", expectErr: true},
		{name: "repeated from", givenURL: "smtp://u:" + testPass + "@mail.example.com?from=a@example.com&from=b@example.com", expectErr: true},
		{name: "no sender", givenURL: "smtp://u:" + testPass + "@mail.example.com", expectErr: true},
		{name: "bad from parameter", givenURL: "smtp://u:" + testPass + "@mail.example.com?from=" + testPass, expectErr: true},
		{name: "From with CRLF", givenURL: "smtp://u:" + testPass + "@mail.example.com", givenFrom: "a@example.com\r\nBcc: x@y.z", expectErr: true},
		{name: "negative Timeout", givenURL: "smtp://u:" + testPass + "@mail.example.com?from=a@example.com", givenTime: -time.Second, expectErr: true},
		{name: "empty URL", givenURL: "", givenFrom: "a@example.com", expectErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := notify.NewSMTP(notify.SMTPConfig{URL: tt.givenURL, From: tt.givenFrom, Timeout: tt.givenTime})

			if (err != nil) != tt.expectErr {
				t.Fatalf("NewSMTP error = %v, want error %v", err, tt.expectErr)
			}
			if err != nil && strings.Contains(err.Error(), testPass) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}
