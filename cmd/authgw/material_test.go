package main

import "testing"

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
