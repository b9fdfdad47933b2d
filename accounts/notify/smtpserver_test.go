package notify_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file is a real, if small, ESMTP server for the tests: it listens
// on 127.0.0.1, speaks greeting, EHLO/HELO, STARTTLS, AUTH PLAIN, MAIL,
// RCPT, DATA (with dot-unstuffing), RSET, NOOP and QUIT, and records
// what each client did and each message it accepted.

// serverConfig shapes a test server.
type serverConfig struct {
	offerSTARTTLS bool   // advertise and accept STARTTLS
	implicitTLS   bool   // smtps: TLS from the first byte
	offerAuth     bool   // advertise AUTH PLAIN and require it before MAIL
	user, pass    string // the credentials AUTH PLAIN accepts
	rcptReply     string // reply to RCPT instead of 250, e.g. "554 5.7.1 no"
	closeOnAccept bool   // close each connection without a greeting
	silent        bool   // accept, then never say anything
}

// session is what the server saw of one connection.
type session struct {
	ehloName    string
	tls         bool // the connection is TLS now
	sawSTARTTLS bool
	sawAUTH     bool   // the client sent an AUTH command
	authUser    string // set when AUTH succeeded
	sawMAIL     bool
}

// received is one message the server accepted.
type received struct {
	from     string
	rcpts    []string
	data     []byte // as sent by the client, after dot-unstuffing
	tls      bool
	authUser string
}

type smtpServer struct {
	addr string
	cfg  serverConfig
	tls  *tls.Config
	ln   net.Listener
	wg   sync.WaitGroup

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	accepted int
	sessions []session
	messages []received
}

// startSMTPServer starts a server on 127.0.0.1:0, stopped when the test
// ends.
func startSMTPServer(t *testing.T, cfg serverConfig) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, _ := testTLS(t)
	s := &smtpServer{addr: ln.Addr().String(), cfg: cfg, tls: serverTLS, ln: ln, conns: map[net.Conn]struct{}{}}
	if cfg.implicitTLS {
		s.ln = tls.NewListener(ln, serverTLS)
	}
	s.wg.Add(1)
	go s.acceptLoop()
	t.Cleanup(s.stop)
	return s
}

func (s *smtpServer) acceptLoop() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[conn] = struct{}{}
		s.accepted++
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
				conn.Close()
			}()
			s.serve(conn)
		}()
	}
}

// stop closes the listener and every open connection and waits for the
// goroutines.
func (s *smtpServer) stop() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *smtpServer) serve(conn net.Conn) {
	if s.cfg.closeOnAccept {
		return
	}
	if s.cfg.silent {
		_, _ = io.Copy(io.Discard, conn)
		return
	}
	s.mu.Lock()
	idx := len(s.sessions)
	s.sessions = append(s.sessions, session{tls: s.cfg.implicitTLS})
	sess := s.sessions[idx]
	s.mu.Unlock()

	r := bufio.NewReader(conn)
	// reply publishes the session first, so that a client that has read
	// a reply sees the state that led to it.
	reply := func(lines ...string) bool {
		s.mu.Lock()
		s.sessions[idx] = sess
		s.mu.Unlock()
		for _, l := range lines {
			if _, err := io.WriteString(conn, l+"\r\n"); err != nil {
				return false
			}
		}
		return true
	}
	if !reply("220 test.local ESMTP notify-test") {
		return
	}
	var cur *received
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		var ok bool
		switch strings.ToUpper(verb) {
		case "EHLO":
			sess.ehloName = arg
			lines := []string{"250-test.local"}
			if s.cfg.offerSTARTTLS && !sess.tls {
				lines = append(lines, "250-STARTTLS")
			}
			if s.cfg.offerAuth {
				lines = append(lines, "250-AUTH PLAIN")
			}
			ok = reply(append(lines, "250 HELP")...)
		case "HELO":
			sess.ehloName = arg
			ok = reply("250 test.local")
		case "STARTTLS":
			if !s.cfg.offerSTARTTLS || sess.tls {
				ok = reply("502 5.5.1 not offered")
				break
			}
			sess.sawSTARTTLS = true
			if !reply("220 2.0.0 ready") {
				return
			}
			tlsConn := tls.Server(conn, s.tls)
			if err := tlsConn.Handshake(); err != nil {
				return
			}
			conn, r = tlsConn, bufio.NewReader(tlsConn)
			sess.tls, sess.ehloName, cur = true, "", nil
			ok = true
		case "AUTH":
			sess.sawAUTH = true
			mech, initial, _ := strings.Cut(arg, " ")
			if !s.cfg.offerAuth || !strings.EqualFold(mech, "PLAIN") {
				ok = reply("504 5.5.4 mechanism not supported")
				break
			}
			if initial == "" {
				if !reply("334 ") {
					return
				}
				if initial, err = r.ReadString('\n'); err != nil {
					return
				}
				initial = strings.TrimRight(initial, "\r\n")
			}
			creds, err := base64.StdEncoding.DecodeString(initial)
			parts := strings.Split(string(creds), "\x00")
			if err != nil || len(parts) != 3 || parts[1] != s.cfg.user || parts[2] != s.cfg.pass {
				ok = reply("535 5.7.8 authentication failed")
				break
			}
			sess.authUser = parts[1]
			ok = reply("235 2.7.0 authenticated")
		case "MAIL":
			sess.sawMAIL = true
			if s.cfg.offerAuth && sess.authUser == "" {
				ok = reply("530 5.7.0 authentication required")
				break
			}
			cur = &received{from: angle(arg), tls: sess.tls, authUser: sess.authUser}
			ok = reply("250 2.1.0 ok")
		case "RCPT":
			switch {
			case cur == nil:
				ok = reply("503 5.5.1 MAIL first")
			case s.cfg.rcptReply != "":
				ok = reply(s.cfg.rcptReply)
			default:
				cur.rcpts = append(cur.rcpts, angle(arg))
				ok = reply("250 2.1.5 ok")
			}
		case "DATA":
			if cur == nil || len(cur.rcpts) == 0 {
				ok = reply("503 5.5.1 RCPT first")
				break
			}
			if !reply("354 end with <CRLF>.<CRLF>") {
				return
			}
			var data []byte
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data = append(data, strings.TrimPrefix(l, ".")...) // dot-unstuffing
			}
			cur.data = data
			s.mu.Lock()
			s.messages = append(s.messages, *cur)
			s.mu.Unlock()
			cur = nil
			ok = reply("250 2.0.0 queued")
		case "RSET":
			cur = nil
			ok = reply("250 2.0.0 ok")
		case "NOOP":
			ok = reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			ok = reply("500 5.5.2 unknown command")
		}
		if !ok {
			return
		}
	}
}

// angle returns the address in "FROM:<addr> PARAMS" or "TO:<addr>".
func angle(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	addr, _, _ := strings.Cut(rest, ">")
	return addr
}

func (s *smtpServer) snapshot() (accepted int, sessions []session, messages []received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted, append([]session(nil), s.sessions...), append([]received(nil), s.messages...)
}

// testCert is a self-signed ECDSA certificate for 127.0.0.1 and localhost,
// made once per test binary.
var testCert = sync.OnceValues(func() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "notify test server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
})

// testTLS returns the server's TLS config and a client config that trusts
// the test certificate and nothing else.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	cert, err := testCert()
	if err != nil {
		t.Fatalf("test certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// smtpURL builds a URL for the server.
func (s *smtpServer) url(scheme, userinfo, query string) string {
	u := scheme + "://"
	if userinfo != "" {
		u += userinfo + "@"
	}
	u += s.addr
	if query != "" {
		u += "?" + query
	}
	return u
}
