package notify

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Message is one email: a plain-text body, and optionally an HTML
// alternative of it.
//
// To is a single bare address such as "ann@example.com": display names,
// angle brackets, comments, quoted local parts, lists and non-ASCII
// addresses are refused. Subject is one line of at most 900 bytes of
// UTF-8 without control characters. Text is the UTF-8 body, at most 64 KiB;
// its line breaks (LF, CRLF or CR) are sent as CRLF. HTML, when not
// empty, is the same content as an HTML document (UTF-8, at most 64 KiB,
// already escaped by its author: notify sends it as given); the message
// is then multipart/alternative, the plain text first, so that a reader
// without HTML, and a program, finds the text where it always was.
type Message struct {
	To      string // one address, e.g. "ann@example.com"
	Subject string
	Text    string // plain-text body (UTF-8)
	HTML    string // optional HTML alternative of Text (UTF-8)
}

// Notifier sends messages. Implementations are safe for concurrent use.
type Notifier interface {
	// Send delivers m. It fails with an error wrapping ErrInvalidMessage,
	// before anything is sent, when m is not valid, and with an error
	// wrapping ErrUnavailable when a valid m could not be delivered.
	Send(ctx context.Context, m Message) error
}

// ErrInvalidMessage is wrapped by the error Send returns for a Message
// that is refused before anything is sent: To not a single bare address,
// a control character (CR and LF included) in To or Subject, an empty or
// over-long Subject, an empty Text, a Text over 64 KiB, or text that is
// not UTF-8, or an HTML that is not UTF-8 or over 64 KiB. It is a caller's bug, never a server's.
var ErrInvalidMessage = errors.New("notify: invalid message")

// ErrUnavailable is wrapped by the error Send returns when a valid
// message could not be delivered: the mail server could not be reached,
// did not answer in time, refused TLS, the login or a command (the
// recipient included), or the file could not be written. Callers answer
// 503. When the context ended the send, the error also wraps ctx.Err().
var ErrUnavailable = errors.New("notify: mail server unavailable")

const (
	// maxTextLen bounds Message.Text, in bytes.
	maxTextLen = 64 << 10
	// maxSubjectLen bounds Message.Subject, in bytes, so that even an
	// unfoldable ASCII subject keeps its header line under RFC 5322's
	// 998 octets.
	maxSubjectLen = 900
	// messageIDLen is the number of random bytes in a Message-ID.
	messageIDLen = 16
	// boundaryLen is the number of random bytes in a multipart boundary.
	boundaryLen = 12
)

// invalid returns an error wrapping ErrInvalidMessage. The reason names
// the field and the rule, never the value.
func invalid(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalidMessage, reason)
}

// validate checks m and returns the recipient's address.
func validate(m Message) (string, error) {
	if m.To == "" {
		return "", invalid("To is empty")
	}
	if hasControl(m.To) || !isASCII(m.To) {
		return "", invalid("To contains control or non-ASCII characters")
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil || to.Name != "" || to.Address != m.To {
		return "", invalid("To is not a single bare address such as ann@example.com")
	}
	if !utf8.ValidString(m.Subject) {
		return "", invalid("Subject is not UTF-8")
	}
	if hasControl(m.Subject) {
		return "", invalid("Subject contains control characters")
	}
	if strings.TrimSpace(m.Subject) == "" {
		return "", invalid("Subject is empty")
	}
	if len(m.Subject) > maxSubjectLen {
		return "", invalid(fmt.Sprintf("Subject is longer than %d bytes", maxSubjectLen))
	}
	if !utf8.ValidString(m.Text) {
		return "", invalid("Text is not UTF-8")
	}
	if strings.TrimSpace(m.Text) == "" {
		return "", invalid("Text is empty")
	}
	if len(m.Text) > maxTextLen {
		return "", invalid(fmt.Sprintf("Text is longer than %d bytes", maxTextLen))
	}
	if !utf8.ValidString(m.HTML) {
		return "", invalid("HTML is not UTF-8")
	}
	if len(m.HTML) > maxTextLen {
		return "", invalid(fmt.Sprintf("HTML is longer than %d bytes", maxTextLen))
	}
	return to.Address, nil
}

// parseFrom parses a configured sender. A display name is allowed
// ("Example <noreply@example.com>"); the address itself must be ASCII.
func parseFrom(s string) (*mail.Address, error) {
	if s == "" {
		return nil, errors.New("notify: From is empty")
	}
	if hasControl(s) {
		return nil, errors.New("notify: From contains control characters")
	}
	from, err := mail.ParseAddress(s)
	if err != nil {
		return nil, errors.New("notify: From is not a single email address")
	}
	if !isASCII(from.Address) {
		return nil, errors.New("notify: From address is not ASCII")
	}
	return from, nil
}

// hasControl reports whether s has a control character (C0, DEL or C1;
// CR, LF and TAB included).
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// domainOf returns the domain of addr when it is a plain DNS name, for
// the Message-ID and the SMTP greeting, and "localhost" otherwise (an
// address literal, say).
func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || !isDNSName(addr[at+1:]) {
		return "localhost"
	}
	return strings.ToLower(addr[at+1:])
}

// isDNSName reports whether s is a syntactically valid host name: dot
// separated labels of letters, digits and inner hyphens.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// formatAddress writes a for a header: the bare address without a
// display name, else the RFC 5322 form with an encoded name if needed.
func formatAddress(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.String()
}

// composeMessage writes the RFC 5322 message that both notifiers send:
// headers, a blank line and the quoted-printable body, with CRLF line
// endings; with an HTML alternative, a multipart/alternative body of a
// text/plain and a text/html part, both quoted-printable. m must have
// passed validate, and to is its address.
func composeMessage(from *mail.Address, to string, m Message, now time.Time, rnd *randomSource) ([]byte, error) {
	id, err := rnd.hex(messageIDLen)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow((len(m.Text)+len(m.HTML))*3/2 + 1024)
	writeHeader(&b, "From", formatAddress(from))
	writeHeader(&b, "To", to)
	writeHeader(&b, "Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	writeHeader(&b, "Date", now.Format(time.RFC1123Z))
	writeHeader(&b, "Message-ID", "<"+id+"@"+domainOf(from.Address)+">")
	writeHeader(&b, "MIME-Version", "1.0")
	if m.HTML == "" {
		if err := writePart(&b, "text/plain; charset=utf-8", m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	// "=_" never occurs in quoted-printable output (a "=" there is
	// followed by two hex digits or a line break), so no part can hold
	// the boundary, whatever its text.
	rb, err := rnd.hex(boundaryLen)
	if err != nil {
		return nil, err
	}
	boundary := "=_" + rb
	writeHeader(&b, "Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": boundary}))
	b.WriteString("\r\n")
	for _, p := range []struct{ typ, text string }{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	} {
		b.WriteString("--" + boundary + "\r\n")
		if err := writePart(&b, p.typ, p.text); err != nil {
			return nil, err
		}
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes(), nil
}

// writePart writes a Content-Type and quoted-printable
// Content-Transfer-Encoding header, a blank line and text encoded.
func writePart(b *bytes.Buffer, contentType, text string) error {
	writeHeader(b, "Content-Type", contentType)
	writeHeader(b, "Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(b) // text mode: LF, CRLF and CR become CRLF
	if _, err := qp.Write([]byte(text)); err != nil {
		return err
	}
	return qp.Close()
}

// writeHeader writes "name: value" CRLF, folding the line at spaces so
// that it stays within 78 characters where the value allows. value holds
// no CR or LF (validate and mime.QEncoding see to that). Folding keeps
// every space, and whitespace between encoded-words is ignored by
// decoders, so unfolding restores the value.
func writeHeader(b *bytes.Buffer, name, value string) {
	const lineLen = 78
	b.WriteString(name)
	b.WriteString(":")
	n := len(name) + 1
	for i, word := range strings.Split(value, " ") {
		if i > 0 && word != "" && n+1+len(word) > lineLen && n > len(name)+1 {
			b.WriteString("\r\n")
			n = 0
		}
		b.WriteString(" ")
		b.WriteString(word)
		n += 1 + len(word)
	}
	b.WriteString("\r\n")
}

// randomSource serializes reads from an injected io.Reader, which need
// not be safe for concurrent use, so that the notifiers are.
type randomSource struct {
	mu sync.Mutex
	r  io.Reader
}

// hex returns n random bytes, hex encoded.
func (s *randomSource) hex(n int) (string, error) {
	p := make([]byte, n)
	s.mu.Lock()
	_, err := io.ReadFull(s.r, p)
	s.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("notify: reading randomness: %w", err)
	}
	return hex.EncodeToString(p), nil
}
