package secretfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Mode is the permission of every secret file: its owner's alone.
const Mode fs.FileMode = 0o600

// Create writes data to path, which must not exist yet, at once and with
// mode 0600, and never overwrites: when path exists already (another
// process created it first, even between a caller's check and this
// call), it leaves that file as it is and returns its contents with
// created false. Otherwise it returns data with created true. It errors
// when the directory is not writable or the existing file is unreadable.
func Create(path string, data []byte) (contents []byte, created bool, err error) {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process won
			existing, rerr := os.ReadFile(path)
			if rerr != nil {
				return nil, false, rerr
			}
			return existing, false, nil
		}
		return nil, false, err
	}
	syncDir(filepath.Dir(path))
	return data, true, nil
}

// LoadOrCreate returns the contents of the secret file at path; when
// there is none, it calls generate for new contents and creates the file
// with Create, so that of two processes starting together both return
// the contents of whichever created it first. created reports whether
// this call did. generate may refuse (its error is returned as it is):
// for a secret that must be copied rather than made anew. It errors when
// path exists but cannot be read, or as Create does.
func LoadOrCreate(path string, generate func() ([]byte, error)) (contents []byte, created bool, err error) {
	contents, err = os.ReadFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return contents, false, err
	}
	data, err := generate()
	if err != nil {
		return nil, false, err
	}
	return Create(path, data)
}

// Replace writes data to path at once with mode 0600, replacing the file
// there if any: a reader sees the old contents or the new, never a mix.
// It is for a deliberate rewrite, such as a key ring given a new key;
// secrets made at first start use Create. It errors when the directory
// is not writable.
func Replace(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// writeTemp writes data to a new temporary file of mode 0600 beside
// path, synced and closed, and returns its name; it removes the file
// when it fails.
func writeTemp(path string, data []byte) (name string, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*") // mode 0600
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	// CreateTemp's 0600 is before the umask; say it outright.
	err = f.Chmod(Mode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("writing a secret beside %s: %w", path, err)
	}
	return f.Name(), nil
}

// syncDir makes a new name in dir durable; a failure only weakens
// durability across a crash, so it is not reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
