package infosign_test

import (
	"encoding/base64"
	"strconv"
	"testing"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// newSigner returns a Signer for cfg, with issuer "authgw" unless cfg
// names one.
func newSigner(t testing.TB, cfg infosign.SignerConfig) *infosign.Signer {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = "authgw"
	}
	s, err := infosign.NewSigner(cfg)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

func sign(t testing.TB, s *infosign.Signer, c requestinfo.Claims) string {
	t.Helper()
	tok, err := s.Sign(c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return tok
}

var enc = base64.RawURLEncoding

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
