package oidcop_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/oidcop"
)

// TestParseKeys: a key file is one or more RSA keys of at least 2048
// bits, the first signing; anything else is refused with a reason.
func TestParseKeys(t *testing.T) {
	k1, err := oidcop.NewKeyPEM(nil)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := oidcop.NewKeyPEM(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	short, _ := rsa.GenerateKey(rand.Reader, 1024)
	shortPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(short)})
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})
	tests := []struct {
		name        string
		givenFile   string
		expectKeys  int
		expectError string
	}{
		{name: "one key", givenFile: string(k1), expectKeys: 1},
		{name: "two keys, new first", givenFile: string(k2) + string(k1), expectKeys: 2},
		{name: "empty", givenFile: "", expectError: "no RSA private key"},
		{name: "not PEM", givenFile: "hello", expectError: "no RSA private key"},
		{name: "short key", givenFile: string(shortPEM), expectError: "at least 2048 bits"},
		{name: "EC key", givenFile: string(ecPEM), expectError: "not an RSA key"},
		{name: "certificate block", givenFile: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", expectError: "unexpected PEM block"},
		{name: "too many", givenFile: strings.Repeat(string(k1), 11), expectError: "at most 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := oidcop.ParseKeys([]byte(tt.givenFile))
			switch {
			case tt.expectError != "" && (err == nil || !strings.Contains(err.Error(), tt.expectError)):
				t.Errorf("ParseKeys = %d keys, %v; want an error with %q", len(keys), err, tt.expectError)
			case tt.expectError == "" && (err != nil || len(keys) != tt.expectKeys):
				t.Errorf("ParseKeys = %d keys, %v; want %d", len(keys), err, tt.expectKeys)
			}
		})
	}
}
