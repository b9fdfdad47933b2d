package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/notify"
)

// TestMessage_validation runs the shared validation through File, the
// cheaper notifier: a refused message leaves no file, an accepted one
// leaves exactly one.
func TestMessage_validation(t *testing.T) {
	tests := []struct {
		name         string
		givenMessage func(m *notify.Message)
		expectErr    error
	}{
		{name: "valid", givenMessage: func(m *notify.Message) {}},
		{name: "Text of exactly 64 KiB", givenMessage: func(m *notify.Message) { m.Text = strings.Repeat("a", 64<<10) }},
		{name: "Subject of 900 bytes", givenMessage: func(m *notify.Message) { m.Subject = strings.Repeat("ü", 450) }},
		{name: "CR and lone CR in Text", givenMessage: func(m *notify.Message) { m.Text = "line\r\nline\rline" }},
		{name: "HTML of exactly 64 KiB", givenMessage: func(m *notify.Message) { m.HTML = strings.Repeat("a", 64<<10) }},
		{name: "HTML over 64 KiB", givenMessage: func(m *notify.Message) { m.HTML = strings.Repeat("a", 64<<10+1) }, expectErr: notify.ErrInvalidMessage},
		{name: "HTML not UTF-8", givenMessage: func(m *notify.Message) { m.HTML = "<p>\xff</p>" }, expectErr: notify.ErrInvalidMessage},
		{name: "empty To", givenMessage: func(m *notify.Message) { m.To = "" }, expectErr: notify.ErrInvalidMessage},
		{name: "To not an address", givenMessage: func(m *notify.Message) { m.To = "ann" }, expectErr: notify.ErrInvalidMessage},
		{name: "To with a display name", givenMessage: func(m *notify.Message) { m.To = "Ann <ann@example.com>" }, expectErr: notify.ErrInvalidMessage},
		{name: "To in angle brackets", givenMessage: func(m *notify.Message) { m.To = "<ann@example.com>" }, expectErr: notify.ErrInvalidMessage},
		{name: "To with a comment", givenMessage: func(m *notify.Message) { m.To = "ann@example.com (Bcc: x@y.z)" }, expectErr: notify.ErrInvalidMessage},
		{name: "To with two addresses", givenMessage: func(m *notify.Message) { m.To = "ann@example.com, x@y.z" }, expectErr: notify.ErrInvalidMessage},
		{name: "To with CRLF and Bcc", givenMessage: func(m *notify.Message) { m.To = "a@b.c\r\nBcc: x@y.z" }, expectErr: notify.ErrInvalidMessage},
		{name: "To with NUL", givenMessage: func(m *notify.Message) { m.To = "ann@example.com\x00" }, expectErr: notify.ErrInvalidMessage},
		{name: "To not ASCII", givenMessage: func(m *notify.Message) { m.To = "änn@example.com" }, expectErr: notify.ErrInvalidMessage},
		{name: "Subject with LF and Bcc", givenMessage: func(m *notify.Message) { m.Subject = "code\nBcc: x@y.z" }, expectErr: notify.ErrInvalidMessage},
		{name: "Subject with CR", givenMessage: func(m *notify.Message) { m.Subject = "code\r" }, expectErr: notify.ErrInvalidMessage},
		{name: "Subject with TAB", givenMessage: func(m *notify.Message) { m.Subject = "code\there" }, expectErr: notify.ErrInvalidMessage},
		{name: "Subject with a C1 control", givenMessage: func(m *notify.Message) { m.Subject = "code\u0085here" }, expectErr: notify.ErrInvalidMessage},
		{name: "empty Subject", givenMessage: func(m *notify.Message) { m.Subject = "" }, expectErr: notify.ErrInvalidMessage},
		{name: "blank Subject", givenMessage: func(m *notify.Message) { m.Subject = "   " }, expectErr: notify.ErrInvalidMessage},
		{name: "Subject over 900 bytes", givenMessage: func(m *notify.Message) { m.Subject = strings.Repeat("a", 901) }, expectErr: notify.ErrInvalidMessage},
		{name: "Subject not UTF-8", givenMessage: func(m *notify.Message) { m.Subject = "code \xff" }, expectErr: notify.ErrInvalidMessage},
		{name: "empty Text", givenMessage: func(m *notify.Message) { m.Text = "" }, expectErr: notify.ErrInvalidMessage},
		{name: "blank Text", givenMessage: func(m *notify.Message) { m.Text = " \n\t\n" }, expectErr: notify.ErrInvalidMessage},
		{name: "Text over 64 KiB", givenMessage: func(m *notify.Message) { m.Text = strings.Repeat("a", 64<<10+1) }, expectErr: notify.ErrInvalidMessage},
		{name: "Text not UTF-8", givenMessage: func(m *notify.Message) { m.Text = "code \xc3\x28" }, expectErr: notify.ErrInvalidMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			n, err := notify.NewFile(notify.FileConfig{Dir: dir, Now: fixedClock(fileNow)})
			if err != nil {
				t.Fatal(err)
			}
			m := loginMessage
			tt.givenMessage(&m)

			err = n.Send(context.Background(), m)

			if !errors.Is(err, tt.expectErr) || (err != nil) != (tt.expectErr != nil) {
				t.Fatalf("Send error = %v, want %v", err, tt.expectErr)
			}
			if err != nil && (strings.Contains(err.Error(), "x@y.z") || strings.Contains(err.Error(), "493817")) {
				t.Errorf("error %q repeats the message's content", err)
			}
			wantFiles := 1
			if tt.expectErr != nil {
				wantFiles = 0
			}
			if names := readDir(t, dir); len(names) != wantFiles {
				t.Errorf("directory holds %q, want %d file(s)", names, wantFiles)
			}
		})
	}
}
