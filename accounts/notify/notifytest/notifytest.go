package notifytest

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"testing"
)

// ReadEML reads the message the file notifier wrote at path and returns
// its header and its decoded body. It fails t when the file cannot be
// read, is not a mail message, or its body is not quoted-printable (as
// the notifier always writes it).
func ReadEML(t testing.TB, path string) (mail.Header, string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mail file %s: %v", path, err)
	}
	if cte := msg.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("mail file %s: Content-Transfer-Encoding %q", path, cte)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("mail file %s: %v", path, err)
	}
	return msg.Header, string(body)
}
