package infosign_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
	"github.com/authgw/authgw/verifier/requestinfo/requestinfotest"
)

func TestPrivateKeyPEM(t *testing.T) {
	key := requestinfotest.Keys(t).Gateway
	pkcs8, err := infosign.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	sec1DER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sec1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1DER})
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384DER, err := x509.MarshalPKCS8PrivateKey(p384)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := requestinfo.MarshalPublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		givenPEM    []byte
		expectError bool
	}{
		{name: "PKCS#8 round trip", givenPEM: pkcs8},
		{name: "SEC 1 from openssl", givenPEM: sec1},
		{name: "P-384 key", givenPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p384DER}), expectError: true},
		{name: "public key", givenPEM: pubPEM, expectError: true},
		{name: "not PEM", givenPEM: []byte("not a key"), expectError: true},
		{name: "corrupt DER", givenPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x01}}), expectError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := infosign.ParsePrivateKeyPEM(tt.givenPEM)
			if (err != nil) != tt.expectError {
				t.Fatalf("ParsePrivateKeyPEM error = %v, want error %v", err, tt.expectError)
			}
			if err == nil && !got.Equal(key) {
				t.Error("parsed key differs from the original")
			}
		})
	}
	if block, _ := pem.Decode(pkcs8); block == nil || block.Type != "PRIVATE KEY" {
		t.Errorf("MarshalPrivateKeyPEM wrote %q, want a PRIVATE KEY block", pkcs8)
	}
	if _, err := infosign.MarshalPrivateKeyPEM(p384); err == nil {
		t.Error("MarshalPrivateKeyPEM accepted a P-384 key")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "request-info.pem")

	first, created, err := infosign.LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreateKey = created %v, %v; want created", created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", info.Mode().Perm())
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".authgw-key-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	again, created, err := infosign.LoadOrCreateKey(path)
	if err != nil || created {
		t.Fatalf("second LoadOrCreateKey = created %v, %v; want loaded", created, err)
	}
	if !again.Equal(first) {
		t.Error("second LoadOrCreateKey returned another key")
	}
	loaded, err := infosign.LoadPrivateKey(path)
	if err != nil || !loaded.Equal(first) {
		t.Errorf("LoadPrivateKey = %v; want the created key", err)
	}
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		got     []*ecdsa.PrivateKey
		creates int
	)
	for range n {
		wg.Go(func() {
			k, created, err := infosign.LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			got = append(got, k)
			if created {
				creates++
			}
		})
	}
	wg.Wait()
	if creates != 1 {
		t.Errorf("%d processes created the key, want 1", creates)
	}
	for _, k := range got {
		if !k.Equal(got[0]) {
			t.Fatal("concurrent LoadOrCreateKey returned different keys")
		}
	}
}

func TestLoadPrivateKeyRefuses(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not checked on Windows")
	}
	key := requestinfotest.Keys(t).Gateway
	data, _ := infosign.MarshalPrivateKeyPEM(key)
	dir := t.TempDir()
	write := func(name string, mode os.FileMode, content []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // not subject to umask
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name        string
		givenPath   string
		expectError error
	}{
		{name: "0600 loads", givenPath: write("ok.pem", 0o600, data)},
		{name: "0400 loads", givenPath: write("ro.pem", 0o400, data)},
		{name: "world-readable", givenPath: write("world.pem", 0o644, data), expectError: infosign.ErrKeyFilePermissions},
		{name: "group-readable", givenPath: write("group.pem", 0o640, data), expectError: infosign.ErrKeyFilePermissions},
		{name: "group-writable", givenPath: write("gw.pem", 0o620, data), expectError: infosign.ErrKeyFilePermissions},
		{name: "missing", givenPath: filepath.Join(dir, "none.pem"), expectError: fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := infosign.LoadPrivateKey(tt.givenPath)
			if !errors.Is(err, tt.expectError) {
				t.Errorf("LoadPrivateKey error = %v, want %v", err, tt.expectError)
			}
			if tt.expectError != nil && tt.expectError != fs.ErrNotExist {
				if _, _, err := infosign.LoadOrCreateKey(tt.givenPath); !errors.Is(err, tt.expectError) {
					t.Errorf("LoadOrCreateKey error = %v, want %v", err, tt.expectError)
				}
			}
		})
	}

	t.Run("directory", func(t *testing.T) {
		if _, err := infosign.LoadPrivateKey(dir); err == nil {
			t.Error("LoadPrivateKey accepted a directory")
		}
	})
	t.Run("garbage does not become a new key", func(t *testing.T) {
		p := write("garbage.pem", 0o600, []byte("garbage"))
		if _, _, err := infosign.LoadOrCreateKey(p); err == nil {
			t.Error("LoadOrCreateKey accepted a garbage file")
		}
	})
	t.Run("directory missing", func(t *testing.T) {
		if _, _, err := infosign.LoadOrCreateKey(filepath.Join(dir, "no", "such", "key.pem")); err == nil {
			t.Error("LoadOrCreateKey created a key in a missing directory")
		}
	})
}
