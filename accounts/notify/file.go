package notify

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/authgw/authgw/mint/secretfile"
)

// FileConfig configures NewFile.
type FileConfig struct {
	// Dir is the directory the messages are written to. Required. It is
	// created with mode 0700 (and missing parents) when missing; an
	// existing directory keeps its mode.
	Dir string
	// From is the sender written in the From header, an address
	// optionally with a display name. Optional. Default "authgw@localhost".
	From string
	// Now is the clock, used for the Date header and the file name.
	// Optional. Default time.Now.
	Now func() time.Time
	// Rand is the random source for the Message-ID and the file name.
	// Optional. Default crypto/rand.Reader.
	Rand io.Reader
}

// defaultFileFrom is the default FileConfig.From.
const defaultFileFrom = "authgw@localhost"

// File is a Notifier that writes each message into a directory as
// <unix-ms>-<16 random hex digits>.eml, mode 0600. The file appears
// complete or not at all: it is written to a hidden temporary file in the
// same directory, synced, then renamed. File is safe for concurrent use.
type File struct {
	dir  string
	from *mail.Address
	now  func() time.Time
	rand *randomSource
}

var _ Notifier = (*File)(nil)

// NewFile returns a File notifier for cfg, creating cfg.Dir if missing.
// It fails when Dir is empty or cannot be created, is not a directory, or
// From is not a valid address.
func NewFile(cfg FileConfig) (*File, error) {
	if cfg.Dir == "" {
		return nil, errors.New("notify: FileConfig.Dir is required")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("notify: creating the mail directory: %w", err)
	}
	if fi, err := os.Stat(cfg.Dir); err != nil {
		return nil, fmt.Errorf("notify: mail directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("notify: mail directory %s is not a directory", cfg.Dir)
	}
	fromText := cfg.From
	if fromText == "" {
		fromText = defaultFileFrom
	}
	from, err := parseFrom(fromText)
	if err != nil {
		return nil, err
	}
	f := &File{dir: cfg.Dir, from: from, now: cfg.Now}
	if f.now == nil {
		f.now = time.Now
	}
	r := cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	f.rand = &randomSource{r: r}
	return f, nil
}

// Send writes m as a new .eml file. It fails with ErrInvalidMessage,
// before writing anything, when m is not valid; with ctx.Err() wrapped in
// ErrUnavailable when ctx has ended; with ErrUnavailable when the file
// cannot be written (a full disk, say), leaving no file behind; and with
// a plain error when the random source fails.
func (f *File) Send(ctx context.Context, m Message) error {
	to, err := validate(m)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	now := f.now()
	msg, err := composeMessage(f.from, to, m, now, f.rand)
	if err != nil {
		return err
	}
	suffix, err := f.rand.hex(8)
	if err != nil {
		return err
	}
	name := strconv.FormatInt(now.UnixMilli(), 10) + "-" + suffix + ".eml"
	// A mail holds a login code: it is written as every secret is
	// (mint/secretfile: 0600, whole or not at all, never over a file).
	_, created, err := secretfile.Create(filepath.Join(f.dir, name), msg)
	if err == nil && !created {
		err = errors.New("a file of that name exists")
	}
	if err != nil {
		return fmt.Errorf("%w: writing %s: %w", ErrUnavailable, name, err)
	}
	return nil
}
