package notify_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/notify"
)

// fileNow has milliseconds, so that the file name shows them.
var fileNow = time.Date(2026, 3, 4, 5, 6, 7, 89_000_000, time.UTC)

var emlName = regexp.MustCompile(`^[0-9]+-[0-9a-f]{16}\.eml$`)

// readDir returns the names in dir.
func readDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

func TestFile_Send_writesMessage(t *testing.T) {
	tests := []struct {
		name         string
		givenFrom    string
		expectFrom   string
		expectIDHost string
	}{
		{name: "default sender", givenFrom: "", expectFrom: "authgw@localhost", expectIDHost: "localhost"},
		{name: "sender with a display name", givenFrom: "Authgw Login <login@auth.example.org>", expectFrom: "login@auth.example.org", expectIDHost: "auth.example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "spool", "mail") // missing, parents too
			n, err := notify.NewFile(notify.FileConfig{Dir: dir, From: tt.givenFrom, Now: fixedClock(fileNow), Rand: &countingReader{}})
			if err != nil {
				t.Fatalf("NewFile: %v", err)
			}
			checkMode(t, dir, 0o700)

			if err := n.Send(context.Background(), loginMessage); err != nil {
				t.Fatalf("Send: %v", err)
			}

			// The Message-ID takes the first 16 random bytes, the name the next 8.
			wantName := "1772600767089-1011121314151617.eml"
			if strconv.FormatInt(fileNow.UnixMilli(), 10) != "1772600767089" {
				t.Fatalf("test clock is not %s", wantName)
			}
			if names := readDir(t, dir); len(names) != 1 || names[0] != wantName {
				t.Fatalf("directory holds %q, want [%s]", names, wantName)
			}
			path := filepath.Join(dir, wantName)
			checkMode(t, path, 0o600)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkMessage(t, raw, expectedMessage{
				from:      tt.expectFrom,
				to:        loginMessage.To,
				subject:   loginMessage.Subject,
				date:      fileNow,
				messageID: "<" + firstMessageID + "@" + tt.expectIDHost + ">",
				text:      loginMessage.Text,
			})
		})
	}
}

// TestFile_Send_concurrent sends from 20 goroutines with the real random
// source and one fixed clock: the names differ only by their random part.
func TestFile_Send_concurrent(t *testing.T) {
	const senders = 20
	dir := t.TempDir()
	n, err := notify.NewFile(notify.FileConfig{Dir: dir, Now: fixedClock(fileNow)})
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for i := range senders {
		wg.Go(func() {
			m := loginMessage
			m.Text = fmt.Sprintf("message %02d\n%s", i, loginMessage.Text)
			errs <- n.Send(context.Background(), m)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Send: %v", err)
		}
	}

	names := readDir(t, dir)
	if len(names) != senders {
		t.Fatalf("directory holds %d files, want %d: %q", len(names), senders, names)
	}
	seen := map[string]bool{}
	for _, name := range names {
		if !emlName.MatchString(name) || !strings.HasPrefix(name, "1772600767089-") {
			t.Errorf("unexpected file %q (a temporary file left behind?)", name)
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		_, body, _ := strings.Cut(string(raw), "\r\n\r\n")
		index := strings.TrimPrefix(body[:len("message 00")], "message ")
		if seen[index] {
			t.Errorf("message %s written twice", index)
		}
		seen[index] = true
		checkMessage(t, raw, expectedMessage{
			from:      "authgw@localhost",
			to:        loginMessage.To,
			subject:   loginMessage.Subject,
			date:      fileNow,
			messageID: "<" + messageIDOf(t, raw) + ">",
			text:      "message " + index + "\n" + loginMessage.Text,
		})
	}
	if len(seen) != senders {
		t.Errorf("%d distinct messages, want %d", len(seen), senders)
	}
}

var messageIDHeader = regexp.MustCompile(`\r\nMessage-ID: <([0-9a-f]{32}@localhost)>\r\n`)

// messageIDOf returns the Message-ID of raw without angle brackets,
// failing when it is not 32 hex digits at localhost.
func messageIDOf(t *testing.T, raw []byte) string {
	t.Helper()
	m := messageIDHeader.FindSubmatch(raw)
	if m == nil {
		t.Fatalf("no Message-ID of 32 hex digits in\n%s", raw)
	}
	return string(m[1])
}

// TestFile_Send_failures checks that a failed Send leaves no file, not
// even a temporary one.
func TestFile_Send_failures(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name            string
		givenRand       func() *failingOrCounting
		givenCtx        context.Context
		givenDirRemoved bool
		expectErr       error // nil: any error that is not ErrInvalidMessage
	}{
		{name: "random source fails", givenRand: failing, givenCtx: context.Background()},
		{name: "context already cancelled", givenRand: counting, givenCtx: cancelled, expectErr: context.Canceled},
		{name: "directory removed", givenRand: counting, givenCtx: context.Background(), givenDirRemoved: true, expectErr: notify.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "mail")
			n, err := notify.NewFile(notify.FileConfig{Dir: dir, Now: fixedClock(fileNow), Rand: tt.givenRand()})
			if err != nil {
				t.Fatal(err)
			}
			if tt.givenDirRemoved {
				if err := os.Remove(dir); err != nil {
					t.Fatal(err)
				}
			}

			err = n.Send(tt.givenCtx, loginMessage)

			if err == nil || errors.Is(err, notify.ErrInvalidMessage) {
				t.Fatalf("Send error = %v, want a delivery failure", err)
			}
			if tt.expectErr != nil && !errors.Is(err, tt.expectErr) {
				t.Errorf("Send error = %v, want %v", err, tt.expectErr)
			}
			if strings.Contains(err.Error(), "493817") {
				t.Errorf("error %q contains the code", err)
			}
			if tt.givenDirRemoved {
				if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("directory re-created or still there: %v", err)
				}
				return
			}
			if names := readDir(t, dir); len(names) != 0 {
				t.Errorf("directory holds %q after a failed Send, want nothing", names)
			}
		})
	}
}

// failingOrCounting is a random source for table cases.
type failingOrCounting struct {
	fail bool
	countingReader
}

func (r *failingOrCounting) Read(p []byte) (int, error) {
	if r.fail {
		return failingReader{}.Read(p)
	}
	return r.countingReader.Read(p)
}

func failing() *failingOrCounting  { return &failingOrCounting{fail: true} }
func counting() *failingOrCounting { return &failingOrCounting{} }

func TestNewFile_config(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		givenDir  string
		givenFrom string
		expectErr bool
	}{
		{name: "existing directory", givenDir: t.TempDir()},
		{name: "empty Dir", givenDir: "", expectErr: true},
		{name: "Dir is a file", givenDir: notADir, expectErr: true},
		{name: "Dir under a file", givenDir: filepath.Join(notADir, "mail"), expectErr: true},
		{name: "From not an address", givenDir: t.TempDir(), givenFrom: "not an address", expectErr: true},
		{name: "From with two addresses", givenDir: t.TempDir(), givenFrom: "a@example.com, b@example.com", expectErr: true},
		{name: "From with LF", givenDir: t.TempDir(), givenFrom: "a@example.com\nBcc: x@y.z", expectErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := notify.NewFile(notify.FileConfig{Dir: tt.givenDir, From: tt.givenFrom})

			if (err != nil) != tt.expectErr {
				t.Errorf("NewFile error = %v, want error %v", err, tt.expectErr)
			}
		})
	}
}
