package password_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/password"
)

// rangeFile is one line of a generated range file.
type rangeLine struct {
	pw    string
	count int
}

// writeRangeDir writes range files for the lines into a new temporary
// directory, in the layout of the Pwned Passwords range answers: one
// file per SHA-1 prefix, named name(prefix), with "SUFFIX:COUNT" lines
// (CRLF-terminated, as the range answers are) and a filler line before
// each real one.
func writeRangeDir(t *testing.T, name func(prefix string) string, lines ...rangeLine) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]*strings.Builder{}
	for _, l := range lines {
		sum := sha1.Sum([]byte(l.pw))
		h := strings.ToUpper(hex.EncodeToString(sum[:]))
		b := files[h[:5]]
		if b == nil {
			b = &strings.Builder{}
			files[h[:5]] = b
		}
		fmt.Fprintf(b, "%s:%d\r\n", strings.Repeat("0", 35), 3)
		fmt.Fprintf(b, "%s:%d\r\n", h[5:], l.count)
	}
	for prefix, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name(prefix)), []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func upperTxt(prefix string) string { return prefix + ".txt" }

func TestRangeDirBreached(t *testing.T) {
	lines := []rangeLine{{"P@ssw0rd-of-a-breach", 12}, {"padding only", 0}, {"seen twice", 2}}
	tests := []struct {
		name          string
		givenName     func(string) string
		givenMinCount int64
		whenPassword  string
		expectBreach  bool
	}{
		{name: "listed", givenName: upperTxt, whenPassword: "P@ssw0rd-of-a-breach", expectBreach: true},
		{name: "listed, lower-case names without .txt", givenName: strings.ToLower, whenPassword: "P@ssw0rd-of-a-breach", expectBreach: true},
		{name: "another case is another password", givenName: upperTxt, whenPassword: "p@ssw0rd-of-a-breach"},
		{name: "padding line of count 0", givenName: upperTxt, whenPassword: "padding only"},
		{name: "under MinCount", givenName: upperTxt, givenMinCount: 3, whenPassword: "seen twice"},
		{name: "at MinCount", givenName: upperTxt, givenMinCount: 2, whenPassword: "seen twice", expectBreach: true},
		{name: "no range file for the prefix", givenName: upperTxt, whenPassword: "never breached, no file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeRangeDir(t, tt.givenName, lines...)
			rd, err := password.NewRangeDir(password.RangeDirConfig{Dir: dir, MinCount: tt.givenMinCount})
			if err != nil {
				t.Fatalf("NewRangeDir: %v", err)
			}
			got, err := rd.Breached(context.Background(), tt.whenPassword)
			if err != nil || got != tt.expectBreach {
				t.Errorf("Breached = %v, %v; want %v, nil", got, err, tt.expectBreach)
			}
		})
	}
}

// TestRangeDirSameFileMiss checks a hash absent from a range file that
// exists: the file of a listed password, asked for another suffix.
func TestRangeDirSameFileMiss(t *testing.T) {
	dir := writeRangeDir(t, upperTxt, rangeLine{"listed", 5})
	sum := sha1.Sum([]byte("listed"))
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	// The password's range file exists but lists only another suffix.
	f := filepath.Join(dir, h[:5]+".txt")
	if err := os.WriteFile(f, []byte(strings.Repeat("F", 35)+":9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rd, err := password.NewRangeDir(password.RangeDirConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rd.Breached(context.Background(), "listed"); got || err != nil {
		t.Errorf("Breached = %v, %v; want false, nil", got, err)
	}
}

func TestRangeDirErrors(t *testing.T) {
	sum := sha1.Sum([]byte("broken"))
	prefix := strings.ToUpper(hex.EncodeToString(sum[:]))[:5]
	tests := []struct {
		name  string
		given func(t *testing.T) string
	}{
		{name: "no path", given: func(*testing.T) string { return "" }},
		{name: "missing", given: func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }},
		{name: "a file, not a directory", given: func(t *testing.T) string {
			f := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			return f
		}},
		{name: "empty", given: func(t *testing.T) string { return t.TempDir() }},
		{name: "no range file", given: func(t *testing.T) string {
			d := t.TempDir()
			if err := os.WriteFile(filepath.Join(d, "README"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{name: "first line not SUFFIX:COUNT", given: func(t *testing.T) string {
			d := t.TempDir()
			if err := os.WriteFile(filepath.Join(d, "ABCDE.txt"), []byte("not a range line\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return d
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.given(t)
			_, err := password.NewRangeDir(password.RangeDirConfig{Dir: dir})
			if !errors.Is(err, password.ErrCorpus) {
				t.Fatalf("NewRangeDir = %v, want ErrCorpus", err)
			}
			// The reason a setting's message shows is read as a value.
			ce, ok := errors.AsType[*password.CorpusError](err)
			if !ok || ce.Reason == "" || err.Error() != password.ErrCorpus.Error()+": "+ce.Reason {
				t.Errorf("NewRangeDir = %v, want a *CorpusError with its reason", err)
			}
		})
	}

	t.Run("a corrupt range file at lookup", func(t *testing.T) {
		dir := writeRangeDir(t, upperTxt, rangeLine{"fine", 1})
		// The first line parses (NewRangeDir may sample this file), the
		// second does not.
		corrupt := strings.Repeat("0", 35) + ":1\r\ngarbage\r\n"
		if err := os.WriteFile(filepath.Join(dir, prefix+".txt"), []byte(corrupt), 0o600); err != nil {
			t.Fatal(err)
		}
		rd, err := password.NewRangeDir(password.RangeDirConfig{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		_, err = rd.Breached(context.Background(), "broken")
		if !errors.Is(err, password.ErrCorpus) {
			t.Fatalf("Breached = %v, want ErrCorpus", err)
		}
		if strings.Contains(strings.ToUpper(err.Error()), prefix) {
			t.Errorf("the error names the hash prefix: %v", err)
		}
	})
	t.Run("an unreadable range file at lookup", func(t *testing.T) {
		dir := writeRangeDir(t, upperTxt, rangeLine{"fine", 1})
		// A directory where the file should be: opens, fails to read.
		if err := os.Mkdir(filepath.Join(dir, prefix+".txt"), 0o700); err != nil {
			t.Fatal(err)
		}
		rd, err := password.NewRangeDir(password.RangeDirConfig{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		_, err = rd.Breached(context.Background(), "broken")
		if !errors.Is(err, password.ErrCorpus) {
			t.Fatalf("Breached = %v, want ErrCorpus", err)
		}
		if strings.Contains(strings.ToUpper(err.Error()), prefix) {
			t.Errorf("the error names the hash prefix: %v", err)
		}
	})
}

// TestRangeDirCaseFromDigitsOnly: when the files NewRangeDir samples are
// named with digits only, the case of the names is unknown; a lookup
// then finds a lower-case file too.
func TestRangeDirCaseFromDigitsOnly(t *testing.T) {
	const pw = "lower-case corpus"
	sum := sha1.Sum([]byte(pw))
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	if strings.ToLower(h[:5]) == h[:5] {
		t.Fatalf("the test password's prefix %s has no hex letter", h[:5])
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "12345"), []byte(strings.Repeat("a", 35)+":1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rd, err := password.NewRangeDir(password.RangeDirConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, strings.ToLower(h[:5])), []byte(strings.ToLower(h[5:])+":8\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := rd.Breached(context.Background(), pw); !got || err != nil {
		t.Errorf("Breached = %v, %v; want true, nil", got, err)
	}
}
