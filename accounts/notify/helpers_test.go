package notify_test

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/notify"
)

// countingReader is a deterministic random source: 0x00, 0x01, 0x02, …
type countingReader struct{ next byte }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.next
		r.next++
	}
	return len(p), nil
}

// failingReader is a random source that always fails.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// fixedClock returns a clock stuck at t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// firstMessageID is the Message-ID's random part for a fresh
// countingReader: its first 16 bytes.
const firstMessageID = "000102030405060708090a0b0c0d0e0f"

// loginMessage is a message that exercises the encoders: a long
// non-ASCII subject (encoded-words, folded), a line that starts with a
// dot and a line that is only a dot (SMTP dot-stuffing), non-ASCII text,
// trailing spaces, an '=' and a line longer than 76 characters
// (quoted-printable soft breaks).
var loginMessage = notify.Message{
	To:      "ann@example.com",
	Subject: "Ihr Anmeldecode für authgw – Ваш код входа – ログインコード ✓ (gültig 10 Minuten)",
	Text: "Hello Ann,\n\nYour login code is 493817.\n" +
		".This line starts with a dot\n.\n..and this one with two\n" +
		"Grüße aus Köln — 日本語 ✓\ntrailing spaces   \na=b\n" +
		strings.Repeat("0123456789", 12) + "\n",
}

// crlf returns s with its LF line breaks as CRLF, as the message carries
// them.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// expectedMessage is what checkMessage compares a raw message to.
type expectedMessage struct {
	from      string // the From header's address
	to        string
	subject   string
	date      time.Time
	messageID string
	text      string // decoded body, line breaks as in Text
}

// checkMessage parses raw as RFC 5322 and checks its headers, line
// endings, line lengths and decoded body.
func checkMessage(t *testing.T, raw []byte, want expectedMessage) {
	t.Helper()
	if n, m := bytes.Count(raw, []byte("\n")), bytes.Count(raw, []byte("\r\n")); n != m || bytes.Count(raw, []byte("\r")) != m {
		t.Errorf("message has bare CR or LF: %d LF, %d CRLF", n, m)
	}
	head, rawBody, _ := strings.Cut(string(raw), "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if len(line) > 998 {
			t.Errorf("header line of %d characters: %q", len(line), line)
		}
	}
	if want.subject == loginMessage.Subject && !strings.Contains(head, "?=\r\n =?utf-8?q?") {
		t.Errorf("long Subject not folded between encoded-words:\n%s", head)
	}
	for _, line := range strings.Split(rawBody, "\r\n") {
		if len(line) > 76 {
			t.Errorf("body line of %d characters: %q", len(line), line)
		}
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		for _, c := range []byte(line) {
			if c >= 0x80 {
				t.Errorf("non-ASCII byte in line %q", line)
				break
			}
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mail.ReadMessage: %v\n%s", err, raw)
	}
	h := msg.Header
	if from, err := mail.ParseAddress(h.Get("From")); err != nil || from.Address != want.from {
		t.Errorf("From = %q (%v), want address %q", h.Get("From"), err, want.from)
	}
	if got := h.Get("To"); got != want.to {
		t.Errorf("To = %q, want %q", got, want.to)
	}
	if got, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil || got != want.subject {
		t.Errorf("Subject decodes to %q (%v), want %q", got, err, want.subject)
	}
	if got, want := h.Get("Date"), want.date.Format(time.RFC1123Z); got != want {
		t.Errorf("Date = %q, want %q", got, want)
	}
	if got := h.Get("Message-Id"); got != want.messageID {
		t.Errorf("Message-ID = %q, want %q", got, want.messageID)
	}
	for name, value := range map[string]string{
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
	} {
		if got := h.Get(name); got != value {
			t.Errorf("%s = %q, want %q", name, got, value)
		}
	}
	if len(h) != 8 {
		t.Errorf("got %d headers, want 8: %v", len(h), h)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("decoding the body: %v", err)
	}
	if got, want := string(body), crlf(want.text); got != want {
		t.Errorf("decoded body =\n%q\nwant\n%q", got, want)
	}
}
