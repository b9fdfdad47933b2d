package infosign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"

	"github.com/authgw/authgw/mint/secretfile"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// maxKeyFileSize bounds what LoadPrivateKey reads; a P-256 PEM key is
// about 240 bytes.
const maxKeyFileSize = 64 << 10

// ErrKeyFilePermissions is returned by LoadPrivateKey and LoadOrCreateKey
// for a key file that group or others may read or write (fix: chmod 600).
var ErrKeyFilePermissions = errors.New("infosign: private key file is accessible by group or others")

// GenerateKey returns a new P-256 signing key. Since Go 1.26 ECDSA always
// draws from the system's secure random source (tests may fix it with
// testing/cryptotest.SetGlobalRandom), so no io.Reader is taken. It errors
// only if that source fails.
func GenerateKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// MarshalPrivateKeyPEM encodes key as a PKCS#8 "PRIVATE KEY" PEM block. It
// errors for a key that is not P-256.
func MarshalPrivateKeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, requestinfo.ErrNotP256
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("infosign: encoding private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKeyPEM decodes the first PEM block of data, PKCS#8 ("PRIVATE
// KEY") or SEC 1 ("EC PRIVATE KEY", as openssl ecparam writes it), for
// keys taken from an environment variable. It errors when there is no such
// block or the key is not ECDSA P-256.
func ParsePrivateKeyPEM(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("infosign: no PEM block in private key data")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("infosign: PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("infosign: parsing private key: %w", err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, requestinfo.ErrNotP256
	}
	return ec, nil
}

// LoadPrivateKey reads a PEM private key file (see ParsePrivateKeyPEM). It
// refuses, with ErrKeyFilePermissions, a file that group or others may
// read or write, as ssh does: whoever reads the key can speak for the
// gateway to every backend. The check is skipped on Windows, whose file
// modes do not express this. It errors with fs.ErrNotExist when the file is
// missing, and for anything but a regular file.
func LoadPrivateKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	key, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return key, nil
}

// readKeyFile reads a private key file with the checks LoadPrivateKey
// documents.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("infosign: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("infosign: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("infosign: %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v, want 0600", ErrKeyFilePermissions, path, info.Mode().Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("infosign: reading %s: %w", path, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("infosign: %s is too large for a key file", path)
	}
	return data, nil
}

// LoadOrCreateKey loads the private key at path, or, when there is no file
// there, generates one and writes it as PKCS#8 PEM with mode 0600 through
// mint/secretfile (written beside and hard-linked into place, which never
// replaces a file); created reports which. Of two processes starting
// together, both end with the key of the one that created the file. It
// errors as LoadPrivateKey does for an existing file, and when the
// directory is not writable.
func LoadOrCreateKey(path string) (key *ecdsa.PrivateKey, created bool, err error) {
	key, err = LoadPrivateKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	if key, err = GenerateKey(); err != nil {
		return nil, false, err
	}
	data, err := MarshalPrivateKeyPEM(key)
	if err != nil {
		return nil, false, err
	}
	if _, created, err = secretfile.Create(path, data); err != nil {
		return nil, false, fmt.Errorf("infosign: creating key file: %w", err)
	}
	if !created { // another process won the race: use its key
		key, err = LoadPrivateKey(path)
		return key, false, err
	}
	return key, true, nil
}
