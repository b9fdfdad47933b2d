package notifytest

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"strings"
	"testing"
)

// Mail is one message the file notifier wrote, its parts decoded.
type Mail struct {
	Header mail.Header
	Text   string // the text/plain body or part
	HTML   string // the text/html part; "" for a plain-text message
}

// ReadEML reads the message the file notifier wrote at path and returns
// its header and its decoded plain text: the body of a text/plain
// message, or the text/plain part of a multipart/alternative one. It
// fails t as ReadMail does.
func ReadEML(t testing.TB, path string) (mail.Header, string) {
	t.Helper()
	m := ReadMail(t, path)
	return m.Header, m.Text
}

// ReadMail reads the message the file notifier wrote at path, a
// text/plain message or a multipart/alternative one of a text/plain and
// a text/html part. It fails t when the file cannot be read, is not a
// mail message, has another shape, or a body or part is not
// quoted-printable UTF-8 (as the notifier always writes it).
func ReadMail(t testing.TB, path string) Mail {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mail file %s: %v", path, err)
	}
	out := Mail{Header: msg.Header}
	typ, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("mail file %s: Content-Type: %v", path, err)
	}
	if typ != "multipart/alternative" {
		out.Text = decodePart(t, path, typ, params, msg.Header.Get("Content-Transfer-Encoding"), msg.Body, "text/plain")
		return out
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for i, want := range []string{"text/plain", "text/html"} {
		p, err := mr.NextRawPart()
		if err != nil {
			t.Fatalf("mail file %s: part %d: %v", path, i, err)
		}
		ptyp, pparams, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("mail file %s: part %d Content-Type: %v", path, i, err)
		}
		text := decodePart(t, path, ptyp, pparams, p.Header.Get("Content-Transfer-Encoding"), p, want)
		if want == "text/plain" {
			out.Text = text
		} else {
			out.HTML = text
		}
	}
	if _, err := mr.NextRawPart(); err != io.EOF {
		t.Fatalf("mail file %s: more than two parts (%v)", path, err)
	}
	return out
}

// decodePart checks a body's type and encoding and returns it decoded.
func decodePart(t testing.TB, path, typ string, params map[string]string, cte string, r io.Reader, want string) string {
	t.Helper()
	if typ != want || !strings.EqualFold(params["charset"], "utf-8") {
		t.Fatalf("mail file %s: Content-Type %s charset %q, want %s; charset=utf-8", path, typ, params["charset"], want)
	}
	if cte != "quoted-printable" {
		t.Fatalf("mail file %s: Content-Transfer-Encoding %q", path, cte)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(r))
	if err != nil {
		t.Fatalf("mail file %s: %v", path, err)
	}
	return string(body)
}
