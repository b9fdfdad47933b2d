package notify_test

import (
	"bytes"
	"context"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/notify"
	"github.com/authgw/authgw/accounts/notify/notifytest"
)

// htmlMessage is loginMessage with an HTML alternative. Its Text tries to
// end the plain part early: a line that looks like a boundary of this
// message (the counting random source makes the real one predictable),
// headers and a blank line after it. Its HTML exercises the encoders as
// loginMessage's Text does.
var htmlMessage = func() notify.Message {
	m := loginMessage
	m.Text += "\n--=_101112131415161718191a1b\nContent-Type: text/html\nBcc: x@y.z\n\n<script>alert(1)</script>\n"
	m.HTML = "<!DOCTYPE html>\n<html><body>\n<p style=\"color:#333\">Hello Ann, your code:</p>\n" +
		".<p>dot first</p>\n.\n<p>Grüße aus Köln — 日本語 ✓</p>   \n" +
		"<p>" + strings.Repeat("0123456789", 12) + "</p>\n</body></html>\n"
	return m
}()

// TestSend_multipart sends a message with an HTML alternative through
// both notifiers: each writes one multipart/alternative message of a
// quoted-printable text/plain part then a text/html part, whose decoded
// parts are exactly Text and HTML, and whose Text cannot add a header or
// a part.
func TestSend_multipart(t *testing.T) {
	tests := []struct {
		name string
		// whenSent sends m and returns the raw message written or received.
		whenSent func(t *testing.T, m notify.Message) []byte
	}{
		{name: "file", whenSent: func(t *testing.T, m notify.Message) []byte {
			dir := t.TempDir()
			n, err := notify.NewFile(notify.FileConfig{Dir: dir, Now: fixedClock(fileNow), Rand: &countingReader{}})
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			names := readDir(t, dir)
			if len(names) != 1 {
				t.Fatalf("directory holds %q, want one file", names)
			}
			raw, err := os.ReadFile(filepath.Join(dir, names[0]))
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}},
		{name: "smtp", whenSent: func(t *testing.T, m notify.Message) []byte {
			srv := startSMTPServer(t, serverConfig{})
			n := newSMTP(t, notify.SMTPConfig{URL: srv.url("smtp", "", "from=noreply@example.com")})
			if err := n.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			_, _, messages := srv.snapshot()
			if len(messages) != 1 {
				t.Fatalf("server received %d messages, want 1", len(messages))
			}
			return messages[0].data
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.whenSent(t, htmlMessage)

			if n, m := bytes.Count(raw, []byte("\n")), bytes.Count(raw, []byte("\r\n")); n != m || bytes.Count(raw, []byte("\r")) != m {
				t.Errorf("message has bare CR or LF: %d LF, %d CRLF", n, m)
			}
			for _, line := range strings.Split(string(raw), "\r\n") {
				if len(line) > 998 {
					t.Errorf("line of %d characters", len(line))
				}
				if strings.IndexFunc(line, func(r rune) bool { return r >= 0x80 }) >= 0 {
					t.Errorf("non-ASCII line %q", line)
				}
			}
			msg, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			typ, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			if err != nil || typ != "multipart/alternative" || !strings.HasPrefix(params["boundary"], "=_") {
				t.Fatalf("Content-Type = %q (%v), want multipart/alternative with a =_ boundary", msg.Header.Get("Content-Type"), err)
			}
			if got := msg.Header.Get("MIME-Version"); got != "1.0" {
				t.Errorf("MIME-Version = %q", got)
			}
			if msg.Header.Get("Content-Transfer-Encoding") != "" || msg.Header.Get("Bcc") != "" {
				t.Errorf("unexpected top-level headers: %v", msg.Header)
			}
			if n := strings.Count(string(raw), "--"+params["boundary"]); n != 3 {
				t.Errorf("boundary occurs %d times, want 3 (two parts and the end)", n)
			}

			path := filepath.Join(t.TempDir(), "m.eml")
			if err := os.WriteFile(path, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			got := notifytest.ReadMail(t, path) // exactly two quoted-printable UTF-8 parts, plain first
			if want := crlf(htmlMessage.Text); got.Text != want {
				t.Errorf("plain part =\n%q\nwant\n%q", got.Text, want)
			}
			if want := crlf(htmlMessage.HTML); got.HTML != want {
				t.Errorf("HTML part =\n%q\nwant\n%q", got.HTML, want)
			}
		})
	}
}
