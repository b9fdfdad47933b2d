package secretfile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/authgw/authgw/mint/secretfile"
)

// expectOnlyFile fails unless dir holds exactly the file name: no
// temporary file is left behind.
func expectOnlyFile(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		t.Errorf("directory holds %v; want only %s (temporary files left behind?)", entries, name)
	}
}

// expectSecretMode fails unless path has mode 0600.
func expectSecretMode(t *testing.T, path string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v; want 0600", info.Mode().Perm())
	}
}

// TestCreate: a secret written at first start is 0600, appears whole or
// not at all, and never replaces an existing file; the loser of a race
// reads the winner's.
func TestCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	got, created, err := secretfile.Create(path, []byte("first\n"))
	if err != nil || !created || string(got) != "first\n" {
		t.Fatalf("first Create = %q, %v, %v; want created with its data", got, created, err)
	}
	expectSecretMode(t, path)
	got, created, err = secretfile.Create(path, []byte("second\n"))
	if err != nil || created || string(got) != "first\n" {
		t.Fatalf("second Create = %q, %v, %v; want the first file's contents, not created", got, created, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first\n" {
		t.Fatalf("the file now holds %q: overwritten", b)
	}
	expectOnlyFile(t, dir, "secret")
}

// TestCreate_unwritableDirectory: a directory that cannot be written to
// is an error, not a secret kept only in memory.
func TestCreate_unwritableDirectory(t *testing.T) {
	if _, _, err := secretfile.Create(filepath.Join(t.TempDir(), "missing", "secret"), []byte("x")); err == nil {
		t.Fatal("Create into a missing directory succeeded")
	}
}

// TestLoadOrCreate_firstStartsRace: instances starting together on one
// empty data directory each generate a different secret; every one of
// them must end with the same secret, the one in the file.
func TestLoadOrCreate_firstStartsRace(t *testing.T) {
	const starters = 16
	for round := range 20 {
		dir := t.TempDir()
		path := filepath.Join(dir, "keys.json")
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			results [starters][]byte
			creates [starters]bool
			errs    [starters]error
		)
		for i := range starters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i], creates[i], errs[i] = secretfile.LoadOrCreate(path, func() ([]byte, error) {
					return fmt.Appendf(nil, "secret of starter %d\n", i), nil
				})
			}()
		}
		close(start)
		wg.Wait()
		onDisk, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		winners := 0
		for i := range starters {
			if errs[i] != nil {
				t.Fatalf("round %d, starter %d: %v", round, i, errs[i])
			}
			if string(results[i]) != string(onDisk) {
				t.Fatalf("round %d, starter %d ended with %q; the file holds %q", round, i, results[i], onDisk)
			}
			if creates[i] {
				winners++
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d starters say they created the file; want exactly 1", round, winners)
		}
		expectSecretMode(t, path)
		expectOnlyFile(t, dir, "keys.json")
	}
}

// TestLoadOrCreate_fileAppearsAfterCheck: a file created by another
// starter between the check and the create is read, not overwritten.
func TestLoadOrCreate_fileAppearsAfterCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "totp-key")
	got, created, err := secretfile.LoadOrCreate(path, func() ([]byte, error) {
		if err := os.WriteFile(path, []byte("the other starter's\n"), 0o600); err != nil {
			return nil, err
		}
		return []byte("mine\n"), nil
	})
	if err != nil || created || string(got) != "the other starter's\n" {
		t.Fatalf("LoadOrCreate = %q, %v, %v; want the other starter's secret, not created", got, created, err)
	}
}

// TestLoadOrCreate_existing: an existing file is read and generate is
// not called; generate's refusal is returned as it is.
func TestLoadOrCreate_existing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server-id")
	if err := os.WriteFile(path, []byte("authgw-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, created, err := secretfile.LoadOrCreate(path, func() ([]byte, error) {
		t.Error("generate called for an existing file")
		return nil, nil
	})
	if err != nil || created || string(got) != "authgw-1\n" {
		t.Fatalf("LoadOrCreate = %q, %v, %v; want the file's contents", got, created, err)
	}
	refused := errors.New("refused")
	_, created, err = secretfile.LoadOrCreate(filepath.Join(dir, "other"), func() ([]byte, error) { return nil, refused })
	if !errors.Is(err, refused) || created {
		t.Fatalf("LoadOrCreate with a refusing generate = %v, %v; want the refusal", created, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "other")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused secret left a file: %v", err)
	}
}

// TestReplace: a deliberate rewrite replaces the file whole, mode 0600,
// without temporary files left behind.
func TestReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := secretfile.Replace(path, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new\n" {
		t.Fatalf("the file holds %q; want the new ring", b)
	}
	expectSecretMode(t, path)
	expectOnlyFile(t, dir, "keys.json")
}
