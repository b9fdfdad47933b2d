package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCreateSecretFile (issue 12, point 15): a secret written at first
// start is 0600, appears whole or not at all, and never replaces an
// existing file; the loser of a race reads the winner's.
func TestCreateSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	created, existing, err := createSecretFile(path, []byte("first\n"))
	if err != nil || !created || existing != nil {
		t.Fatalf("first createSecretFile = %v, %q, %v; want created", created, existing, err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	created, existing, err = createSecretFile(path, []byte("second\n"))
	if err != nil || created || string(existing) != "first\n" {
		t.Fatalf("second createSecretFile = %v, %q, %v; want the first file's contents, not created", created, existing, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first\n" {
		t.Fatalf("the file now holds %q: overwritten", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// TestFingerprintHidesMaterial: a fingerprint is stable, differs by
// name and by material, and is not the material.
func TestFingerprintHidesMaterial(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	fp := fingerprint(materialTOTPKey, secret)
	if len(fp) != 64 || fp == fingerprint(materialInfoKey, secret) || fp != fingerprint(materialTOTPKey, secret) {
		t.Fatalf("fingerprint %q: want 64 hex digits, stable, and distinct per name", fp)
	}
	if fp == fingerprint(materialTOTPKey, append([]byte{}, secret[:31]...)) {
		t.Fatal("different material, same fingerprint")
	}
}
