package password

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// BreachedChecker says whether a password appears in a corpus of
// passwords known from breaches. It is a supplementary check, applied
// after CheckPolicy to a new password.
type BreachedChecker interface {
	// Breached reports whether pw is in the corpus. It fails when the
	// corpus cannot be read; the error never holds pw or its hash.
	Breached(ctx context.Context, pw string) (bool, error)
}

// ErrBreached means the password appears in a breached-password corpus.
// Callers of a BreachedChecker return it as their refusal.
var ErrBreached = fmt.Errorf("%w: found in a corpus of breached passwords", ErrPolicy)

// ErrCorpus means a breached-password corpus cannot be used: the
// directory is missing or unreadable, holds no range files, or a range
// file cannot be read or parsed.
var ErrCorpus = errors.New("password: breached-password corpus unusable")

// CorpusError is the ErrCorpus NewRangeDir returns, saying why in Reason
// (the directory, then what is wrong with it) for a message that names
// the setting itself: read it with errors.As, never by cutting the text.
type CorpusError struct{ Reason string }

// Error returns ErrCorpus's text, ": ", and Reason.
func (e *CorpusError) Error() string { return ErrCorpus.Error() + ": " + e.Reason }

// Unwrap returns ErrCorpus.
func (e *CorpusError) Unwrap() error { return ErrCorpus }

// RangeDirConfig configures NewRangeDir.
type RangeDirConfig struct {
	// Dir is the directory of range files: one file per five-hex-digit
	// prefix of the SHA-1 of the passwords, named by that prefix ("ABCDE"
	// or "ABCDE.txt", in upper or lower case), holding lines
	// "SUFFIX:COUNT" where SUFFIX is the other 35 hex digits. This is the
	// format of the k-anonymity range answers of the Pwned Passwords
	// service, and of the directory its downloader writes. Required.
	Dir string
	// MinCount is the least count for which a listed hash counts as
	// breached. Optional. Default 1 (the padding lines of count 0 that
	// the range answers may hold are never a match).
	MinCount int64
}

// RangeDir is a BreachedChecker over a directory of range files. A
// lookup reads one file of a few tens of kilobytes; nothing is loaded
// at start. It is safe for concurrent use.
type RangeDir struct {
	dir   string
	ext   string // "" or ".txt"
	upper bool   // file names in upper-case hex
	// caseKnown is false when the sampled names were all digits: then a
	// lookup tries upper case, and lower case when that file is missing.
	caseKnown bool
	minCount  int64
}

var _ BreachedChecker = (*RangeDir)(nil)

// rangeSuffixLen is the length of the hex suffix on each line.
const rangeSuffixLen = sha1.Size*2 - rangePrefixLen

// rangePrefixLen is the length of the hex prefix naming each file.
const rangePrefixLen = 5

// maxRangeLine bounds a line of a range file (35 hex digits, ":", a
// count): a longer one is a corrupt file, not a reason to buffer more.
const maxRangeLine = 128

// filesToSample is how many directory entries NewRangeDir reads to find
// a range file; a full corpus has about a million files.
const filesToSample = 64

// NewRangeDir checks cfg and returns the RangeDir. It fails with
// ErrCorpus when Dir is empty, is not a readable directory, or does not
// start with a range file whose first line parses; it reads a few
// directory entries and one line, not the whole corpus.
func NewRangeDir(cfg RangeDirConfig) (*RangeDir, error) {
	if cfg.Dir == "" {
		return nil, &CorpusError{Reason: "no directory given"}
	}
	if cfg.MinCount < 0 {
		return nil, &CorpusError{Reason: "MinCount may not be negative"}
	}
	if cfg.MinCount == 0 {
		cfg.MinCount = 1
	}
	d, err := os.Open(cfg.Dir)
	if err != nil {
		return nil, &CorpusError{Reason: fmt.Sprintf("%s: %v", cfg.Dir, pathless(err))}
	}
	defer d.Close()
	entries, err := d.ReadDir(filesToSample)
	if err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty directory
		return nil, &CorpusError{Reason: fmt.Sprintf("%s: not a readable directory: %v", cfg.Dir, pathless(err))}
	}
	var rd *RangeDir
	for _, e := range entries {
		name, ext := e.Name(), ""
		if base, ok := strings.CutSuffix(name, ".txt"); ok {
			name, ext = base, ".txt"
		}
		if !e.Type().IsRegular() || !isHex(name, rangePrefixLen) {
			continue
		}
		if rd == nil {
			rd = &RangeDir{dir: cfg.Dir, ext: ext, minCount: cfg.MinCount}
			if err := rd.checkFirstLine(e.Name()); err != nil {
				return nil, err
			}
		}
		// The case of the names shows only in a name with a hex letter.
		if upper, lower := strings.ToUpper(name), strings.ToLower(name); upper != lower {
			rd.upper, rd.caseKnown = name == upper, true
			break
		}
	}
	if rd != nil {
		return rd, nil
	}
	return nil, &CorpusError{Reason: fmt.Sprintf("%s: no range file (named by a 5-hex-digit SHA-1 prefix, lines SUFFIX:COUNT) among its first entries", cfg.Dir)}
}

// checkFirstLine parses the first line of the range file name.
func (rd *RangeDir) checkFirstLine(name string) error {
	f, err := os.Open(filepath.Join(rd.dir, name))
	if err != nil {
		return &CorpusError{Reason: fmt.Sprintf("%s: %v", rd.dir, pathless(err))}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, maxRangeLine), maxRangeLine)
	if !sc.Scan() {
		return &CorpusError{Reason: fmt.Sprintf("%s: range file %s is empty or unreadable", rd.dir, name)}
	}
	if _, _, err := parseRangeLine(sc.Text()); err != nil {
		return &CorpusError{Reason: fmt.Sprintf("%s: range file %s: %v", rd.dir, name, err)}
	}
	return nil
}

// Breached reports whether the SHA-1 of pw is listed with a count of at
// least MinCount. A range file that does not exist means no listed hash
// has that prefix (a partial corpus): not breached. It fails with
// ErrCorpus when the file cannot be read or a line does not parse, and
// with the context's error when ctx is done; no error names the file,
// whose name is five hex digits of the password's hash.
func (rd *RangeDir) Breached(ctx context.Context, pw string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	sum := sha1.Sum([]byte(pw))
	hash := strings.ToUpper(hex.EncodeToString(sum[:]))
	prefix, suffix := hash[:rangePrefixLen], hash[rangePrefixLen:]
	if rd.caseKnown && !rd.upper {
		prefix = strings.ToLower(prefix)
	}
	f, err := os.Open(filepath.Join(rd.dir, prefix+rd.ext))
	if !rd.caseKnown && errors.Is(err, fs.ErrNotExist) {
		if lower := strings.ToLower(prefix); lower != prefix {
			f, err = os.Open(filepath.Join(rd.dir, lower+rd.ext))
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, &CorpusError{Reason: fmt.Sprintf("%s: opening a range file: %v", rd.dir, pathless(err))}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, maxRangeLine), maxRangeLine)
	for sc.Scan() {
		lineSuffix, count, err := parseRangeLine(sc.Text())
		if err != nil {
			return false, &CorpusError{Reason: fmt.Sprintf("%s: a range file: %v", rd.dir, err)}
		}
		if strings.EqualFold(lineSuffix, suffix) {
			return count >= rd.minCount, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, &CorpusError{Reason: fmt.Sprintf("%s: reading a range file: %v", rd.dir, pathless(err))}
	}
	return false, nil
}

// parseRangeLine parses "SUFFIX:COUNT" (a trailing "\r" is allowed).
func parseRangeLine(line string) (suffix string, count int64, err error) {
	line = strings.TrimSuffix(line, "\r")
	suffix, countText, ok := strings.Cut(line, ":")
	if !ok || !isHex(suffix, rangeSuffixLen) {
		return "", 0, errors.New("a line is not SUFFIX:COUNT with a 35-hex-digit suffix")
	}
	count, err = strconv.ParseInt(countText, 10, 64)
	if err != nil || count < 0 {
		return "", 0, errors.New("a line's count is not a non-negative number")
	}
	return suffix, count, nil
}

// isHex reports whether s is n hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// pathless drops the path from an *fs.PathError: a range file's name is
// part of a password's hash, kept out of errors and logs.
func pathless(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}
