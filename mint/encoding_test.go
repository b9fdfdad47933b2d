package mint_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier"
)

// mintGET mints the browser policy's GET token.
func mintGET(t testing.TB) (string, *macaroon.Macaroon) {
	t.Helper()
	toks, err := newMinter(t, testRing(t), nil).Mint(parsePolicies(t, browserPolicy), testSubject())
	if err != nil {
		t.Fatal(err)
	}
	tok := toks.ByMethod["GET"]
	m, err := mint.Decode(tok)
	if err != nil {
		t.Fatal(err)
	}
	return tok, m
}

func TestDecodeAlphabetsAndPadding(t *testing.T) {
	tok, want := mintGET(t)
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatalf("minted token is not unpadded base64url: %v", err)
	}
	std := base64.StdEncoding.EncodeToString(raw)
	if !strings.ContainsAny(std, "+/") || !strings.HasSuffix(std, "=") {
		t.Fatalf("test token %q does not exercise the standard alphabet and padding", std)
	}
	tests := []struct {
		name      string
		whenToken string
		expectErr error
	}{
		{"unpadded base64url", tok, nil},
		{"padded base64url", base64.URLEncoding.EncodeToString(raw), nil},
		{"padded standard", std, nil},
		{"unpadded standard", base64.RawStdEncoding.EncodeToString(raw), nil},
		{"empty", "", mint.ErrBadEncoding},
		{"not base64", "%%%%", mint.ErrBadEncoding},
		{"space inside", tok[:10] + " " + tok[10:], mint.ErrBadEncoding},
		{"mixed alphabets", mixedAlphabets(t, tok), mint.ErrBadEncoding},
		{"truncated", tok[:len(tok)-8], mint.ErrBadEncoding},
		{"impossible length", tok + strings.Repeat("A", (5-len(tok)%4)%4), mint.ErrBadEncoding},
		{"too long", strings.Repeat("A", mint.MaxEncodedSize+4), mint.ErrBadEncoding},
		{"V1 binary", encodeV1(t), mint.ErrBadEncoding},
		{"JSON macaroon", base64.RawURLEncoding.EncodeToString(jsonMacaroon(t, want)), mint.ErrBadEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := mint.Decode(tt.whenToken)
			if tt.expectErr != nil {
				if !errors.Is(err, tt.expectErr) {
					t.Errorf("Decode error = %v, want %v", err, tt.expectErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if string(m.Id()) != string(want.Id()) || string(m.Signature()) != string(want.Signature()) || len(m.Caveats()) != len(want.Caveats()) {
				t.Error("decoded another macaroon")
			}
			if again, err := mint.Encode(m); err != nil || again != tok {
				t.Errorf("Encode(Decode(x)) = %q, %v; want the canonical %q", again, err, tok)
			}
		})
	}
}

// mixedAlphabets returns a valid token, attenuated until its standard
// encoding has two characters outside the URL alphabet, in standard
// base64 with the first of those spelled in the URL alphabet.
func mixedAlphabets(t *testing.T, tok string) string {
	t.Helper()
	for range 50 {
		raw, err := mint.DecodeBase64(tok)
		if err != nil {
			t.Fatal(err)
		}
		std := base64.RawStdEncoding.EncodeToString(raw)
		if strings.Count(std, "+")+strings.Count(std, "/") >= 2 {
			i := strings.IndexAny(std, "+/")
			twin := map[byte]string{'+': "-", '/': "_"}[std[i]]
			return std[:i] + twin + std[i+1:]
		}
		if tok, err = mint.AttenuateText(tok, "ip 127.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("no token with two standard-only characters")
	return ""
}

// TestDecodeAgreesWithVerifier is a differential test of the two token
// decoders: mint.Decode (used by authgw inspect and attenuate) and the
// verifier's own fast path. A text one accepts as a well-formed token the
// other must accept too, or the tools and the gateway disagree about what
// a token is.
func TestDecodeAgreesWithVerifier(t *testing.T) {
	ring := testRing(t)
	tok, _ := mintGET(t)
	raw, err := mint.DecodeBase64(tok)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(verifier.Config{ServerID: testServerID, Keys: ring, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	padTo4 := func(s string) string { return s + strings.Repeat("=", (4-len(s)%4)%4) }
	tests := []struct {
		name      string
		whenToken string
	}{
		{"canonical", tok},
		{"padded standard", base64.StdEncoding.EncodeToString(raw)},
		{"garbage", "%%%%"},
		{"trailing bytes after the signature", base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw), 0, 0, 0))},
		{"trailing EOS after the signature", base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw), 0))},
		{"newline inside", tok[:10] + "\n" + tok[10:]},
		{"CRLF at the end", tok + "\r\n"},
		{"too much padding", padTo4(tok) + "===="},
		{"one = too many", padTo4(tok) + "="},
		{"mixed alphabets", mixedAlphabets(t, tok)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, decodeErr := mint.Decode(tt.whenToken)
			_, verifyErr := v.Verify(tt.whenToken, verifier.Request{Method: "GET", Path: "/notes/v1/x"})
			// The attenuated token carries ip caveats the request lacks: a
			// refusal for that reason still means it was decoded.
			verifierDecoded := !errors.Is(verifyErr, verifier.ErrMalformedToken) && !errors.Is(verifyErr, verifier.ErrBadSignature)
			if (decodeErr == nil) != verifierDecoded {
				t.Errorf("mint.Decode error = %v, verifier.Verify error = %v: the decoders disagree", decodeErr, verifyErr)
			}
		})
	}
}

func encodeV1(t *testing.T) string {
	t.Helper()
	m, err := macaroon.New(make([]byte, 32), []byte("id"), "", macaroon.V1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func jsonMacaroon(t *testing.T, m *macaroon.Macaroon) []byte {
	t.Helper()
	b, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodeRefusesV1(t *testing.T) {
	m, err := macaroon.New(make([]byte, 32), []byte("id"), "", macaroon.V1)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := mint.Encode(m); err == nil {
		t.Errorf("Encode(V1) = %q, want an error", s)
	}
}

func TestAttenuate(t *testing.T) {
	ring := testRing(t)
	tok, orig := mintGET(t)
	base := caveatsOf(t, ring, tok)
	tests := []struct {
		name        string
		whenCaveats []string
		expectErr   bool
	}{
		{"one ip caveat", []string{"ip 127.0.0.1"}, false},
		{"narrower routes and earlier expiry", []string{"routes /notes/v1/**", "time-before 2026-11-22T12:05:00Z"}, false},
		{"nothing", nil, false},
		{"upper-case name", []string{"IP 127.0.0.1"}, true},
		{"no argument", []string{"ip"}, true},
		{"empty argument", []string{"ip "}, true},
		{"empty", []string{""}, true},
		{"newline", []string{"ip 127.0.0.1\nroutes /**"}, true},
		{"NUL", []string{"ip 127.0.0.1\x00"}, true},
		{"invalid UTF-8", []string{"routes /a\xff"}, true},
		{"second caveat bad", []string{"ip 127.0.0.1", "user\tx"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mint.AttenuateText(tok, tt.whenCaveats...)
			if tt.expectErr {
				if err == nil {
					t.Errorf("Attenuate = %q, want an error", got)
				}
				if got != "" {
					t.Errorf("Attenuate returned a token with the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(got, "+/=") {
				t.Error("attenuated token is not unpadded base64url")
			}
			// Signed by the same root key: macaroon.v2 verifies the chain.
			caveats := caveatsOf(t, ring, got)
			if want := append(slices.Clone(base), tt.whenCaveats...); !slices.Equal(caveats, want) {
				t.Errorf("caveats = %q, want %q", caveats, want)
			}
			m, _ := mint.Decode(got)
			if string(m.Id()) != string(orig.Id()) {
				t.Error("attenuation changed the identifier")
			}
			if len(tt.whenCaveats) > 0 && string(m.Signature()) == string(orig.Signature()) {
				t.Error("attenuation kept the signature")
			}
		})
	}
	t.Run("bad token", func(t *testing.T) {
		if _, err := mint.AttenuateText("not a token", "ip 127.0.0.1"); !errors.Is(err, mint.ErrBadEncoding) {
			t.Errorf("error = %v, want ErrBadEncoding", err)
		}
	})
	t.Run("original unchanged", func(t *testing.T) {
		if got := caveatsOf(t, ring, tok); !slices.Equal(got, base) {
			t.Error("Attenuate changed its input")
		}
	})
}

func TestMethods(t *testing.T) {
	if !slices.Equal(mint.Methods(), []string{"GET", "POST", "PUT", "PATCH", "DELETE"}) {
		t.Errorf("Methods = %q", mint.Methods())
	}
	// A caller's change to the returned slice changes nothing.
	m := mint.Methods()
	m[0] = "TRACE"
	if got := mint.Methods(); got[0] != "GET" {
		t.Errorf("after a caller's change, Methods = %q", got)
	}
}
