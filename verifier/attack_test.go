package verifier_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/caveat"
	"github.com/authgw/authgw/mint/minttest"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
)

// This file attacks the verifier as a token holder would: tampered bytes,
// tampered caveats, widened attenuations, odd encodings and path tricks.
// Every case states the error it expects, so each can fail.

// mintFor mints the policy src for subject s with the fixed clock and
// randomness of mintTokens.
func mintFor(t testing.TB, ring *mint.KeyRing, src string, s mint.Subject) mint.Tokens {
	t.Helper()
	m, err := mint.New(mint.Config{Keys: ring, ServerID: testServerID, Now: clock, Rand: bytes.NewReader(bytes.Repeat([]byte{7}, 1024))})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := m.Mint([]*policy.Policy{parsePolicy(t, src)}, s)
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

// binaryOf returns the V2 binary of an encoded token.
func binaryOf(t testing.TB, tok string) []byte {
	t.Helper()
	b, err := mint.DecodeBase64(tok)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encodeBinary(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// tokenParts is a token taken apart, so that a test can put it back
// together differently without knowing any key.
type tokenParts struct {
	id      []byte
	caveats []string
	sig     []byte
}

func partsOf(t testing.TB, tok string) tokenParts {
	t.Helper()
	m, err := mint.Decode(tok)
	if err != nil {
		t.Fatal(err)
	}
	p := tokenParts{id: bytes.Clone(m.Id()), sig: bytes.Clone(m.Signature())}
	for _, c := range m.Caveats() {
		p.caveats = append(p.caveats, string(c.Id))
	}
	return p
}

// appendPacket appends one V2 packet (libmacaroons doc/format.txt).
func appendPacket(b []byte, fieldType int, data []byte) []byte {
	b = binary.AppendUvarint(b, uint64(fieldType))
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

// binary encodes the parts as a V2 binary macaroon, signature as given.
func (p tokenParts) binary() []byte {
	b := []byte{2}
	b = appendPacket(b, 2, p.id)
	b = append(b, 0)
	for _, c := range p.caveats {
		b = appendPacket(b, 2, []byte(c))
		b = append(b, 0)
	}
	b = append(b, 0)
	return appendPacket(b, 6, p.sig)
}

func (p tokenParts) encode() string { return encodeBinary(p.binary()) }

// rootKeyOf derives a token's root key from the ring, as only the
// issuer can.
func rootKeyOf(t testing.TB, ring *mint.KeyRing, id []byte) []byte {
	t.Helper()
	ident, err := mint.ParseIdentifier(id)
	if err != nil {
		t.Fatal(err)
	}
	root, err := ring.RootKey(ident.KeyID, id)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// signWith builds a V2 macaroon with macaroon.v2 from the root key.
func signWith(t testing.TB, root, id []byte, caveats []string) *macaroon.Macaroon {
	t.Helper()
	m, err := macaroon.New(root, id, "", macaroon.V2)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range caveats {
		if err := m.AddFirstPartyCaveat([]byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// resign rebuilds a token from id and caveats with the real root key, as
// the issuer could.
func resign(t testing.TB, ring *mint.KeyRing, id []byte, caveats []string) string {
	t.Helper()
	return encodeMacaroon(t, signWith(t, rootKeyOf(t, ring, id), id, caveats))
}

func encodeMacaroon(t testing.TB, m *macaroon.Macaroon) string {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return encodeBinary(b)
}

// attenuate adds caveats as any holder can, through mint.Attenuate.
func attenuate(t testing.TB, tok string, caveats ...string) string {
	t.Helper()
	out, err := mint.AttenuateText(tok, caveats...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// appendRaw adds caveats with macaroon.v2 directly, bypassing the text
// check of mint.Attenuate, as another implementation could.
func appendRaw(t testing.TB, tok string, caveats ...string) string {
	t.Helper()
	m, err := mint.Decode(tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range caveats {
		if err := m.AddFirstPartyCaveat([]byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	return encodeMacaroon(t, m)
}

func without(caveats []string, i int) []string {
	out := append([]string(nil), caveats[:i]...)
	return append(out, caveats[i+1:]...)
}

// caveatIndex finds the first caveat with the given name.
func caveatIndex(t testing.TB, caveats []string, name string) int {
	t.Helper()
	for i, c := range caveats {
		if strings.HasPrefix(c, name+" ") {
			return i
		}
	}
	t.Fatalf("no %s caveat in %q", name, caveats)
	return -1
}

// expectVerify checks one Verify outcome: allowed when expectErr is nil,
// else an error matching expectErr under exactly one of the three roots.
func expectVerify(t testing.TB, v *verifier.Verifier, tok string, req verifier.Request, expectErr error) verifier.Identity {
	t.Helper()
	id, err := v.Verify(tok, req)
	if expectErr == nil {
		if err != nil {
			t.Fatalf("Verify(%s %s) = %v, want allowed", req.Method, req.Path, err)
		}
		return id
	}
	if !errors.Is(err, expectErr) {
		t.Fatalf("Verify(%s %s) = %v, want %v", req.Method, req.Path, err, expectErr)
	}
	roots := 0
	for _, root := range []error{verifier.ErrUnauthorized, verifier.ErrForbidden, verifier.ErrBadRequest} {
		if errors.Is(err, root) {
			roots++
		}
	}
	if roots != 1 {
		t.Fatalf("Verify error %v wraps %d of the 401/403/400 roots, want exactly 1", err, roots)
	}
	return id
}

func getReq(path string) verifier.Request {
	return verifier.Request{Method: "GET", Path: path}
}

func TestAttack_bitFlipsNeverAccepted(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	v := newVerifier(t, ring, nil)
	tests := []struct {
		name        string
		givenMethod string
		whenReq     verifier.Request
	}{
		{"GET token", "GET", getReq(userPath(""))},
		{"POST token", "POST", verifier.Request{Method: "POST", Path: "/projects/v1/shared/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := toks.ByMethod[tt.givenMethod]
			expectVerify(t, v, tok, tt.whenReq, nil) // the original is good
			b := binaryOf(t, tok)
			for bit := 0; bit < len(b)*8; bit++ {
				flipped := bytes.Clone(b)
				flipped[bit/8] ^= 1 << (bit % 8)
				_, err := v.Verify(encodeBinary(flipped), tt.whenReq)
				if err == nil {
					t.Fatalf("bit %d (byte %d) flipped: accepted", bit, bit/8)
				}
				if !errors.Is(err, verifier.ErrUnauthorized) {
					t.Fatalf("bit %d flipped: %v, want a 401 reason: the signature cannot hold", bit, err)
				}
			}
		})
	}
}

func TestAttack_caveatTampering(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	get := toks.ByMethod["GET"]
	parts := partsOf(t, get)
	expires := toks.Expires
	otherRing, err := mint.GenerateKeyRing("k2", bytes.NewReader(bytes.Repeat([]byte{9}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		givenToken func(t *testing.T) string
		whenReq    verifier.Request
		expectErr  error
	}{
		{
			name:       "untouched token",
			givenToken: func(*testing.T) string { return get },
			whenReq:    getReq(userPath("")),
		},
		{
			name: "caveat removed, old signature kept",
			givenToken: func(*testing.T) string {
				p := parts
				p.caveats = without(parts.caveats, caveatIndex(t, parts.caveats, caveat.Routes.Name()))
				return p.encode()
			},
			whenReq:   getReq("/admin/v1/x"),
			expectErr: verifier.ErrBadSignature,
		},
		{
			name: "last caveat removed, old signature kept",
			givenToken: func(*testing.T) string {
				p := parts
				p.caveats = parts.caveats[:len(parts.caveats)-1]
				return p.encode()
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrBadSignature,
		},
		{
			name: "caveat removed, chain re-signed with a root key from another ring",
			givenToken: func(t *testing.T) string {
				caveats := without(parts.caveats, caveatIndex(t, parts.caveats, caveat.TimeBefore.Name()))
				return encodeMacaroon(t, signWith(t, rootKeyOf(t, otherRing, parts.id), parts.id, caveats))
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrBadSignature,
		},
		{
			name: "caveat removed, chain re-signed with an all-zero root key",
			givenToken: func(t *testing.T) string {
				caveats := without(parts.caveats, caveatIndex(t, parts.caveats, caveat.Method.Name()))
				return encodeMacaroon(t, signWith(t, make([]byte, 32), parts.id, caveats))
			},
			whenReq:   verifier.Request{Method: "POST", Path: userPath("")},
			expectErr: verifier.ErrBadSignature,
		},
		{
			name: "two caveats swapped",
			givenToken: func(*testing.T) string {
				p := parts
				p.caveats = append([]string(nil), parts.caveats...)
				p.caveats[1], p.caveats[2] = p.caveats[2], p.caveats[1]
				return p.encode()
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrBadSignature,
		},
		{
			name: "caveat appended without a new signature",
			givenToken: func(*testing.T) string {
				p := parts
				p.caveats = append(append([]string(nil), parts.caveats...), "routes /**")
				return p.encode()
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrBadSignature,
		},
		{
			name: "caveat text changed: routes widened in place",
			givenToken: func(t *testing.T) string {
				p := parts
				p.caveats = append([]string(nil), parts.caveats...)
				p.caveats[caveatIndex(t, p.caveats, caveat.Routes.Name())] = "routes /**"
				return p.encode()
			},
			whenReq:   getReq("/admin/v1/x"),
			expectErr: verifier.ErrBadSignature,
		},
		{
			name: "signature of the POST token on the GET token's caveats",
			givenToken: func(t *testing.T) string {
				p := parts
				p.sig = partsOf(t, toks.ByMethod["POST"]).sig
				return p.encode()
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrBadSignature,
		},
		{
			name: "identifier session changed, caveats and signature kept",
			givenToken: func(t *testing.T) string {
				p := parts
				ident, err := mint.ParseIdentifier(parts.id)
				if err != nil {
					t.Fatal(err)
				}
				ident.SessionID = "another-session"
				if p.id, err = ident.MarshalBinary(); err != nil {
					t.Fatal(err)
				}
				return p.encode()
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrBadSignature,
		},
		{
			name: "identifier names another key of the ring, signature kept",
			givenToken: func(t *testing.T) string {
				p := parts
				ident, err := mint.ParseIdentifier(parts.id)
				if err != nil {
					t.Fatal(err)
				}
				ident.KeyID = "k1"
				if p.id, err = ident.MarshalBinary(); err != nil {
					t.Fatal(err)
				}
				return p.encode()
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrBadSignature,
		},
		{
			name: "identifier of an unknown version, re-signed by the issuer",
			givenToken: func(t *testing.T) string {
				id := bytes.Clone(parts.id)
				id[0] = 2
				root, err := ring.RootKey("k2", id)
				if err != nil {
					t.Fatal(err)
				}
				return encodeMacaroon(t, signWith(t, root, id, parts.caveats))
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrMalformedToken,
		},
		{
			name: "identifier session disagrees with the session caveat, re-signed by the issuer",
			givenToken: func(t *testing.T) string {
				ident, err := mint.ParseIdentifier(parts.id)
				if err != nil {
					t.Fatal(err)
				}
				ident.SessionID = "another-session"
				id, err := ident.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				return resign(t, ring, id, parts.caveats)
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrConflict,
		},
		{
			name: "all caveats removed, re-signed by the issuer",
			givenToken: func(t *testing.T) string {
				return resign(t, ring, parts.id, nil)
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrMissingCaveat,
		},
		{
			name:       "routes /** appended: the original routes still bind",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "routes /**") },
			whenReq:    getReq("/admin/v1/x"),
			expectErr:  verifier.ErrRouteNotGranted,
		},
		{
			name:       "routes /** appended: a granted route stays granted",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "routes /**") },
			whenReq:    getReq(userPath("/emails")),
		},
		{
			name:       "narrower routes appended: the original grant no longer suffices",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "routes /notes/v1/**") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrRouteNotGranted,
		},
		{
			name:       "narrower routes appended: inside both",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "routes /notes/v1/**") },
			whenReq:    getReq("/notes/v1/a"),
		},
		{
			name:       "method POST appended to a GET token, used for POST",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "method POST") },
			whenReq:    verifier.Request{Method: "POST", Path: "/projects/v1/shared/x"},
			expectErr:  verifier.ErrConflict,
		},
		{
			name:       "method POST appended to a GET token, used for GET",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "method POST") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrConflict,
		},
		{
			name:       "method GET repeated",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "method GET") },
			whenReq:    getReq(userPath("")),
		},
		{
			name:       "second server-id that disagrees",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "server-id other-server") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrUnauthorized, // ErrConflict or ErrWrongServer: it fails closed
		},
		{
			name:       "second user that disagrees",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "user someone-else") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrConflict,
		},
		{
			name:       "roles widened by a second user-roles caveat",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "user-roles user employee sysadmin") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrConflict,
		},
		{
			name:       "roles claimed as none by a second user-roles caveat",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "user-roles -") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrConflict,
		},
		{
			name:       "roles in another order",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "user-roles employee user") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrConflict,
		},
		{
			name:       "user-roles caveat with an empty role",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "user-roles user  employee") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "the same user-roles caveat again: harmless",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "user-roles user employee") },
			whenReq:    getReq(userPath("")),
			expectErr:  nil,
		},
		{
			name:       "second session that disagrees",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "session another-session") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrConflict,
		},
		{
			name:       "two client caveats that disagree",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "client client-1", "client client-2") },
			whenReq:    verifier.Request{Method: "GET", Path: userPath(""), ClientID: "client-1"},
			expectErr:  verifier.ErrConflict,
		},
		{
			name:       "unknown caveat name",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "admin true") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "caveat name in upper case",
			givenToken: func(t *testing.T) string { return appendRaw(t, get, "Routes /**") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "caveat without an argument",
			givenToken: func(t *testing.T) string { return appendRaw(t, get, "routes") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "caveat with an empty argument",
			givenToken: func(t *testing.T) string { return appendRaw(t, get, "routes ") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "empty caveat",
			givenToken: func(t *testing.T) string { return appendRaw(t, get, "") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "caveat with a NUL",
			givenToken: func(t *testing.T) string { return appendRaw(t, get, "user "+testSubject.UserID+"\x00admin") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "caveat with a newline smuggling a second caveat",
			givenToken: func(t *testing.T) string { return appendRaw(t, get, "method GET\nroutes /**") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "caveat with a tab",
			givenToken: func(t *testing.T) string { return appendRaw(t, get, "routes\t/**") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "caveat with DEL",
			givenToken: func(t *testing.T) string { return appendRaw(t, get, "method GET\x7f") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "caveat with a C1 control (U+0085)",
			givenToken: func(t *testing.T) string { return appendRaw(t, get, "user a\u0085b") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "caveat with invalid UTF-8",
			givenToken: func(t *testing.T) string { return appendRaw(t, get, "user \xff") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "time-before with an offset instead of Z",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "time-before 2026-11-22T12:10:00+00:00") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "time-before with a later local offset",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "time-before 2026-11-22T23:10:00+11:00") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "time-before with a lower-case z",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "time-before 2026-11-22T12:10:00z") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "time-before as a Unix time",
			givenToken: func(t *testing.T) string { return attenuate(t, get, fmt.Sprintf("time-before %d", expires.Unix())) },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "earlier time-before appended, now past it",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "time-before 2026-11-22T11:00:00Z") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrExpired,
		},
		{
			name:       "earlier time-before appended, still ahead",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "time-before 2026-11-22T12:05:00Z") },
			whenReq:    getReq(userPath("")),
		},
		{
			name:       "method caveat HEAD is not a grantable method",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "method HEAD") },
			whenReq:    verifier.Request{Method: "HEAD", Path: userPath("")},
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "method caveat in lower case",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "method get") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "routes with an empty segment",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "routes /accounts//**") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "routes with a doubled space",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "routes /notes/v1/**  /**") },
			whenReq:    getReq("/notes/v1/a"),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "routes with a trailing space",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "routes /notes/v1/** ") },
			whenReq:    getReq("/notes/v1/a"),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "routes with ** before the end",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "routes /**/admin") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "routes with an unexpanded parameter",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "routes /accounts/v1/users/:userId") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "routes with a relative pattern",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "routes notes/v1/**") },
			whenReq:    getReq("/notes/v1/a"),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "routes with a percent sign",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "routes /notes/v1/%2F") },
			whenReq:    getReq("/notes/v1/a"),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "ip with a prefix longer than the address",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "ip 10.0.0.0/33") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "ip with host bits set",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "ip 10.0.0.1/8") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name:       "ip that is a host name",
			givenToken: func(t *testing.T) string { return attenuate(t, get, "ip localhost") },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrBadCaveat,
		},
		{
			name: "third-party caveat of another third party, re-signed by the issuer",
			givenToken: func(t *testing.T) string {
				m := signWith(t, rootKeyOf(t, ring, parts.id), parts.id, parts.caveats)
				if err := m.AddThirdPartyCaveat(bytes.Repeat([]byte{3}, 32), []byte("third-party"), "https://tp.example"); err != nil {
					t.Fatal(err)
				}
				return encodeMacaroon(t, m)
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrBadCaveat,
		},
		{
			name: "first-party caveat carrying a location",
			givenToken: func(t *testing.T) string {
				b := []byte{2}
				b = appendPacket(b, 2, parts.id)
				b = append(b, 0)
				for i, c := range parts.caveats {
					if i == 0 {
						b = appendPacket(b, 1, []byte("https://elsewhere.example"))
					}
					b = appendPacket(b, 2, []byte(c))
					b = append(b, 0)
				}
				b = append(b, 0)
				return encodeBinary(appendPacket(b, 6, parts.sig))
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrMalformedToken,
		},
		{
			name: "a location in the header is not signed and is ignored",
			givenToken: func(t *testing.T) string {
				m, err := macaroon.New(rootKeyOf(t, ring, parts.id), parts.id, "https://auth.example", macaroon.V2)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range parts.caveats {
					if err := m.AddFirstPartyCaveat([]byte(c)); err != nil {
						t.Fatal(err)
					}
				}
				return encodeMacaroon(t, m)
			},
			whenReq: getReq(userPath("")),
		},
		{
			name: "V1 binary macaroon, signed by the issuer",
			givenToken: func(t *testing.T) string {
				id := []byte("v1-identifier")
				root, err := ring.RootKey("k2", id)
				if err != nil {
					t.Fatal(err)
				}
				m, err := macaroon.New(root, id, "", macaroon.V1)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range parts.caveats {
					if err := m.AddFirstPartyCaveat([]byte(c)); err != nil {
						t.Fatal(err)
					}
				}
				return encodeMacaroon(t, m)
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrMalformedToken,
		},
		{
			name: "V2 JSON macaroon",
			givenToken: func(t *testing.T) string {
				m, err := mint.Decode(get)
				if err != nil {
					t.Fatal(err)
				}
				js, err := m.MarshalJSON()
				if err != nil {
					t.Fatal(err)
				}
				return base64.RawURLEncoding.EncodeToString(js)
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrMalformedToken,
		},
		{
			name:       "one trailing zero byte",
			givenToken: func(t *testing.T) string { return encodeBinary(append(binaryOf(t, get), 0)) },
			whenReq:    getReq(userPath("")),
			expectErr:  verifier.ErrMalformedToken,
		},
		{
			name: "a second macaroon after the first",
			givenToken: func(t *testing.T) string {
				b := binaryOf(t, get)
				return encodeBinary(append(b, binaryOf(t, toks.ByMethod["POST"])...))
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrMalformedToken,
		},
		{
			name: "65 caveats, over the verifier's limit",
			givenToken: func(t *testing.T) string {
				return attenuate(t, get, slicesRepeat("method GET", 65-len(parts.caveats))...)
			},
			whenReq:   getReq(userPath("")),
			expectErr: verifier.ErrMalformedToken,
		},
		{
			name: "64 caveats, at the verifier's limit",
			givenToken: func(t *testing.T) string {
				return attenuate(t, get, slicesRepeat("method GET", 64-len(parts.caveats))...)
			},
			whenReq: getReq(userPath("")),
		},
	}
	v := newVerifier(t, ring, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectVerify(t, v, tt.givenToken(t), tt.whenReq, tt.expectErr)
		})
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestAttack_mandatoryCaveatRemoved re-signs a token with its real root
// key minus one caveat: only the mandatory-caveat rule stops it.
func TestAttack_mandatoryCaveatRemoved(t *testing.T) {
	ring := testRing(t)
	parts := partsOf(t, mintTokens(t, ring, browserPolicy).ByMethod["GET"])
	v := newVerifier(t, ring, nil)
	mandatory := []string{caveat.ServerID.Name(), caveat.Method.Name(), caveat.Routes.Name(), caveat.TimeBefore.Name(), caveat.User.Name(), caveat.UserRoles.Name(), caveat.Session.Name()}
	for _, name := range mandatory {
		t.Run("without "+name, func(t *testing.T) {
			caveats := without(parts.caveats, caveatIndex(t, parts.caveats, name))
			expectVerify(t, v, resign(t, ring, parts.id, caveats), getReq(userPath("")), verifier.ErrMissingCaveat)
		})
		t.Run("without "+name+", old signature", func(t *testing.T) {
			p := parts
			p.caveats = without(parts.caveats, caveatIndex(t, parts.caveats, name))
			expectVerify(t, v, p.encode(), getReq(userPath("")), verifier.ErrBadSignature)
		})
	}
	t.Run("re-signed with every caveat: control", func(t *testing.T) {
		expectVerify(t, v, resign(t, ring, parts.id, parts.caveats), getReq(userPath("")), nil)
	})
}

func TestAttack_requests(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	expires := toks.Expires
	tests := []struct {
		name        string
		givenMethod string
		givenConfig func(*verifier.Config)
		whenReq     verifier.Request
		expectErr   error
	}{
		{"GET token for GET", "GET", nil, getReq(userPath("")), nil},
		{"GET token for HEAD", "GET", nil, verifier.Request{Method: "HEAD", Path: userPath("")}, nil},
		{"GET token for POST", "GET", nil, verifier.Request{Method: "POST", Path: "/projects/v1/shared/x"}, verifier.ErrMethodNotGranted},
		{"GET token for DELETE", "GET", nil, verifier.Request{Method: "DELETE", Path: "/accounts/v1/sessions/" + testSubject.SessionID}, verifier.ErrMethodNotGranted},
		{"GET token for OPTIONS", "GET", nil, verifier.Request{Method: "OPTIONS", Path: userPath("")}, verifier.ErrMethodNotGranted},
		{"GET token for lower-case get", "GET", nil, verifier.Request{Method: "get", Path: userPath("")}, verifier.ErrMethodNotGranted},
		{"POST token for HEAD", "POST", nil, verifier.Request{Method: "HEAD", Path: "/projects/v1/shared/x"}, verifier.ErrMethodNotGranted},
		{"DELETE token for DELETE", "DELETE", nil, verifier.Request{Method: "DELETE", Path: "/accounts/v1/sessions/" + testSubject.SessionID}, nil},
		{"wrong server ID", "GET", func(c *verifier.Config) { c.ServerID = "other-server" }, getReq(userPath("")), verifier.ErrWrongServer},
		{"server ID differs in case", "GET", func(c *verifier.Config) { c.ServerID = "Test-Server" }, getReq(userPath("")), verifier.ErrWrongServer},
		{"at expiry, within the default skew", "GET", at(expires), getReq(userPath("")), nil},
		{"29 s after expiry", "GET", at(expires.Add(29 * time.Second)), getReq(userPath("")), nil},
		{"just inside expiry + skew", "GET", at(expires.Add(verifier.DefaultSkew - time.Nanosecond)), getReq(userPath("")), nil},
		{"at expiry + skew", "GET", at(expires.Add(verifier.DefaultSkew)), getReq(userPath("")), verifier.ErrExpired},
		{"an hour after expiry", "GET", at(expires.Add(time.Hour)), getReq(userPath("")), verifier.ErrExpired},
		{"expired and for the wrong method: 401 wins", "GET", at(expires.Add(time.Hour)), verifier.Request{Method: "POST", Path: "/admin"}, verifier.ErrExpired},
		{"no skew, just before expiry", "GET", func(c *verifier.Config) { c.Now = fixed(expires.Add(-time.Nanosecond)); c.Skew = -1 }, getReq(userPath("")), nil},
		{"no skew, at expiry", "GET", func(c *verifier.Config) { c.Now = fixed(expires); c.Skew = -1 }, getReq(userPath("")), verifier.ErrExpired},
		{"5 min skew, 4 min after expiry", "GET", func(c *verifier.Config) { c.Now = fixed(expires.Add(4 * time.Minute)); c.Skew = 5 * time.Minute }, getReq(userPath("")), nil},
		{"empty token", "", nil, getReq(userPath("")), verifier.ErrMissingToken},
		{"non-canonical path beats a missing token", "", nil, getReq("/a/../b"), verifier.ErrNonCanonicalPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, ring, tt.givenConfig)
			expectVerify(t, v, toks.ByMethod[tt.givenMethod], tt.whenReq, tt.expectErr)
		})
	}
}

func fixed(now time.Time) func() time.Time { return func() time.Time { return now } }

func at(now time.Time) func(*verifier.Config) {
	return func(c *verifier.Config) { c.Now = fixed(now) }
}

// ringOf builds a ring from (id, fill byte) pairs, the first minting.
func ringOf(t testing.TB, keys ...any) *mint.KeyRing {
	t.Helper()
	var ring *mint.KeyRing
	for i := len(keys) - 2; i >= 0; i -= 2 {
		id, fill := keys[i].(string), keys[i+1].(int)
		random := bytes.NewReader(bytes.Repeat([]byte{byte(fill)}, 32))
		var err error
		if ring == nil {
			ring, err = mint.GenerateKeyRing(id, random)
		} else {
			ring, err = ring.WithNewKey(id, random)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return ring
}

func TestAttack_keyRings(t *testing.T) {
	k2Token := mintTokens(t, ringOf(t, "k2", 2, "k1", 1), browserPolicy).ByMethod["GET"]
	k3Token := mintTokens(t, ringOf(t, "k3", 3, "k2", 2, "k1", 1), browserPolicy).ByMethod["GET"]
	tests := []struct {
		name       string
		givenToken string
		givenRing  *mint.KeyRing
		expectErr  error
	}{
		{"minting ring verifies", k2Token, ringOf(t, "k2", 2, "k1", 1), nil},
		{"rotated ring k3,k2,k1 verifies a k2 token", k2Token, ringOf(t, "k3", 3, "k2", 2, "k1", 1), nil},
		{"ring k3,k1 refuses a k2 token", k2Token, ringOf(t, "k3", 3, "k1", 1), verifier.ErrUnknownKey},
		{"ring k2,k1 refuses a k3 token", k3Token, ringOf(t, "k2", 2, "k1", 1), verifier.ErrUnknownKey},
		{"ring k3,k2,k1 verifies a k3 token", k3Token, ringOf(t, "k3", 3, "k2", 2, "k1", 1), nil},
		{"another ring with other key IDs", k2Token, ringOf(t, "x9", 9), verifier.ErrUnknownKey},
		{"another ring with the same key IDs", k2Token, ringOf(t, "k2", 9, "k1", 1), verifier.ErrBadSignature},
		{"k2 secret filed under k1", k2Token, ringOf(t, "k1", 2), verifier.ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, tt.givenRing, nil)
			expectVerify(t, v, tt.givenToken, getReq(userPath("")), tt.expectErr)
		})
	}
}

// validPadded returns a valid token (the GET token, attenuated if need
// be) whose unpadded base64url length is not a multiple of 4 and whose
// text holds at least two of "-" and "_", so that padding, the standard
// alphabet and a mix of both alphabets all change it.
func validPadded(t testing.TB, tok string) string {
	t.Helper()
	for i := 0; i < 8; i++ {
		if len(tok)%4 != 0 && strings.Count(tok, "-")+strings.Count(tok, "_") >= 2 {
			return tok
		}
		tok = attenuate(t, tok, "method GET")
	}
	t.Fatal("no token with padding and URL-only characters")
	return ""
}

func toStd(tok string) string {
	return strings.NewReplacer("-", "+", "_", "/").Replace(tok)
}

func padded(tok string) string {
	return tok + strings.Repeat("=", (4-len(tok)%4)%4)
}

func TestAttack_encodings(t *testing.T) {
	ring := testRing(t)
	tok := validPadded(t, mintTokens(t, ring, browserPolicy).ByMethod["GET"])
	v := newVerifier(t, ring, nil)
	tests := []struct {
		name       string
		givenToken string
		expectErr  error
	}{
		{"base64url unpadded", tok, nil},
		{"base64url padded", padded(tok), nil},
		{"standard alphabet unpadded", toStd(tok), nil},
		{"standard alphabet padded", padded(toStd(tok)), nil},
		{"one = too many", padded(tok) + "=", verifier.ErrMalformedToken},
		{"padding on a length that needs none", padded(tok)[:len(tok)/4*4] + "==", verifier.ErrMalformedToken},
		{"empty", "", verifier.ErrMissingToken},
		{"not base64", "!!!!", verifier.ErrMalformedToken},
		{"scheme left on", "Macaroon " + tok, verifier.ErrMalformedToken},
		{"leading space", " " + tok, verifier.ErrMalformedToken},
		{"trailing newline", tok + "\n", verifier.ErrMalformedToken},
		{"newline inside", tok[:40] + "\n" + tok[40:], verifier.ErrMalformedToken},
		{"= inside", tok[:40] + "=" + tok[40:], verifier.ErrMalformedToken},
		{"hex instead of base64", fmt.Sprintf("%x", binaryOf(t, tok)), verifier.ErrMalformedToken},
		{"oversized garbage", strings.Repeat("A", mint.MaxEncodedSize+1), verifier.ErrMalformedToken},
		{"oversized: valid token padded with A", tok + strings.Repeat("A", mint.MaxEncodedSize), verifier.ErrMalformedToken},
		{"base64 of nothing but the version byte", encodeBinary([]byte{2}), verifier.ErrMalformedToken},
		{"non-zero trailing bits", flipLastBit(tok), verifier.ErrMalformedToken},
		// the README's "Carriage" allows base64url or standard base64; a token mixing
		// both alphabets is neither, and macaroon.v2's decoder and
		// mint.Decode refuse it.
		{"alphabets mixed in one token", mixAlphabets(tok), verifier.ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectVerify(t, v, tt.givenToken, getReq(userPath("")), tt.expectErr)
		})
	}
	t.Run("oversized valid token", func(t *testing.T) {
		big := tok
		for len(big) <= mint.MaxEncodedSize {
			big = attenuate(t, big, "routes /"+strings.Repeat("a", 1000))
		}
		if _, err := mint.Decode(big); err == nil {
			t.Fatalf("mint.Decode accepts a %d-byte token", len(big))
		}
		expectVerify(t, v, big, getReq(userPath("")), verifier.ErrMalformedToken)
	})
	t.Run("every truncation", func(t *testing.T) {
		for n := 0; n < len(tok); n++ {
			want := verifier.ErrMalformedToken
			if n == 0 {
				want = verifier.ErrMissingToken
			}
			_, err := v.Verify(tok[:n], getReq(userPath("")))
			if !errors.Is(err, want) {
				t.Fatalf("first %d of %d characters: %v, want %v", n, len(tok), err, want)
			}
		}
	})
	t.Run("every truncation of the binary", func(t *testing.T) {
		b := binaryOf(t, tok)
		for n := 0; n < len(b); n++ {
			want := verifier.ErrMalformedToken
			if n == 0 {
				want = verifier.ErrMissingToken
			}
			_, err := v.Verify(encodeBinary(b[:n]), getReq(userPath("")))
			if !errors.Is(err, want) {
				t.Fatalf("first %d of %d bytes: %v, want %v", n, len(b), err, want)
			}
		}
	})
}

// flipLastBit changes the unused low bits of the last character of an
// unpadded token whose length is not a multiple of 4.
func flipLastBit(tok string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	return tok[:len(tok)-1] + string(alphabet[last^1])
}

// mixAlphabets turns the first URL-only character of tok, which holds at
// least two, into its standard counterpart, so that both alphabets
// appear.
func mixAlphabets(tok string) string {
	i := strings.IndexAny(tok, "-_")
	return tok[:i] + toStd(tok[i:i+1]) + tok[i+1:]
}

const trapPolicy = `{
  "name": "traps",
  "appliesTo": {"userRoles": ["user"]},
  "expires": 900,
  "scopes": [
    {"name": "own user", "routes": ["/users/:userId/**"], "methods": ["GET"]},
    {"name": "files", "routes": ["/files/:userId_*"], "methods": ["GET"]}
  ]
}`

func TestAttack_routeTraps(t *testing.T) {
	ring := testRing(t)
	tok := mintFor(t, ring, trapPolicy, mint.Subject{UserID: "42", SessionID: "s-42"}).ByMethod["GET"]
	v := newVerifier(t, ring, nil)
	tests := []struct {
		name      string
		whenPath  string
		expectErr error
	}{
		{"the prefix itself", "/users/42", nil},
		{"below the prefix", "/users/42/a/b", nil},
		{"one below", "/users/42/a", nil},
		{"encoded digit decodes to 42 (documented)", "/users/4%32", nil},
		{"encoded letter below", "/users/42/%61", nil},
		{"percent-encoded UTF-8 below", "/users/42/%C3%A9", nil},
		{"other user sharing a prefix", "/users/420", verifier.ErrRouteNotGranted},
		{"other user with a suffix", "/users/42-admin", verifier.ErrRouteNotGranted},
		{"other user", "/users/43", verifier.ErrRouteNotGranted},
		{"parent", "/users", verifier.ErrRouteNotGranted},
		{"root", "/", verifier.ErrRouteNotGranted},
		{"case differs", "/Users/42", verifier.ErrRouteNotGranted},
		{"encoded upper-case letter", "/%55sers/42", verifier.ErrRouteNotGranted},
		{"path parameter on the user segment", "/users/42;x", verifier.ErrRouteNotGranted},
		{"encoded ; on the user segment", "/users/42%3Bx", verifier.ErrRouteNotGranted},
		{"encoded ? on the user segment", "/users/42%3F", verifier.ErrRouteNotGranted},
		{"encoded space", "/users/42%20", verifier.ErrRouteNotGranted},
		{"encoded % on the user segment", "/users/42%25", verifier.ErrRouteNotGranted},
		{"prefix wildcard: own file", "/files/42_report", nil},
		{"prefix wildcard: needs a character after _", "/files/42_", verifier.ErrRouteNotGranted},
		{"prefix wildcard: other user", "/files/420_report", verifier.ErrRouteNotGranted},
		{"prefix wildcard: encoded _", "/files/42%5Freport", nil},
		{"prefix wildcard: one segment only", "/files/42_a/b", verifier.ErrRouteNotGranted},
		{"leading double slash", "//users/42", verifier.ErrNonCanonicalPath},
		{"double slash below", "/users/42//x", verifier.ErrNonCanonicalPath},
		{"trailing slash", "/users/42/", verifier.ErrNonCanonicalPath},
		{"dot segment", "/users/./42", verifier.ErrNonCanonicalPath},
		{"dot-dot to another user", "/users/42/../43", verifier.ErrNonCanonicalPath},
		{"dot-dot with a path parameter", "/users/42/..;/43", verifier.ErrNonCanonicalPath},
		{"trailing dot", "/users/42/.", verifier.ErrNonCanonicalPath},
		{"encoded slash", "/users/42%2Fx", verifier.ErrNonCanonicalPath},
		{"encoded slash, lower case", "/users/42%2fx", verifier.ErrNonCanonicalPath},
		{"encoded dot-dot", "/users/%2e%2e/43", verifier.ErrNonCanonicalPath},
		{"encoded dot-dot below", "/users/42/%2E%2E/43", verifier.ErrNonCanonicalPath},
		{"encoded backslash", "/users/42%5Cx", verifier.ErrNonCanonicalPath},
		{"raw backslash", "/users/42\\..\\43", verifier.ErrNonCanonicalPath},
		{"encoded NUL", "/users/42%00", verifier.ErrNonCanonicalPath},
		{"raw NUL", "/users/42\x00", verifier.ErrNonCanonicalPath},
		{"encoded newline", "/users/42/%0A", verifier.ErrNonCanonicalPath},
		{"encoded DEL", "/users/42/%7F", verifier.ErrNonCanonicalPath},
		{"overlong dot", "/users/42/%C0%AE", verifier.ErrNonCanonicalPath},
		{"overlong dot-dot", "/users/42/%C0%AE%C0%AE/43", verifier.ErrNonCanonicalPath},
		{"three-byte overlong dot", "/users/42/%E0%80%AE", verifier.ErrNonCanonicalPath},
		{"lone UTF-8 lead byte", "/users/42/%C3", verifier.ErrNonCanonicalPath},
		// CanonicalPath's doc: a path that "decodes to invalid UTF-8" is
		// refused. "/users/42/%C3/%A9" decodes to "/users/42/\xC3/\xA9":
		// two segments that are each invalid UTF-8.
		{"UTF-8 sequence split across segments", "/users/42/%C3/%A9", verifier.ErrNonCanonicalPath},
		{"raw non-ASCII byte", "/users/42/\xc3\xa9", verifier.ErrNonCanonicalPath},
		{"raw space", "/users/42/a b", verifier.ErrNonCanonicalPath},
		{"raw ?", "/users/42?x", verifier.ErrNonCanonicalPath},
		{"raw #", "/users/42#x", verifier.ErrNonCanonicalPath},
		{"truncated escape", "/users/42%2", verifier.ErrNonCanonicalPath},
		{"bad hex escape", "/users/42%zz", verifier.ErrNonCanonicalPath},
		{"relative path", "users/42", verifier.ErrNonCanonicalPath},
		{"empty path", "", verifier.ErrNonCanonicalPath},
		{"absolute URL", "http://x/users/42", verifier.ErrNonCanonicalPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectVerify(t, v, tok, getReq(tt.whenPath), tt.expectErr)
		})
	}
}

func TestAttack_revocation(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	later := toks.Expires.Add(time.Hour)
	tests := []struct {
		name        string
		givenRevoke func(*verifier.RevocationSet)
		whenReq     verifier.Request
		expectErr   error
	}{
		{"nothing revoked", func(*verifier.RevocationSet) {}, getReq(userPath("")), nil},
		{"session revoked", func(s *verifier.RevocationSet) { s.RevokeSession(testSubject.SessionID, later) }, getReq(userPath("")), verifier.ErrRevoked},
		{"another session revoked", func(s *verifier.RevocationSet) { s.RevokeSession("another-session", later) }, getReq(userPath("")), nil},
		{"user revoked after issue", func(s *verifier.RevocationSet) {
			s.RevokeUserBefore(testSubject.UserID, fixedNow.Add(time.Second), later)
		}, getReq(userPath("")), verifier.ErrRevoked},
		{"user revoked 1 ms after issue", func(s *verifier.RevocationSet) {
			s.RevokeUserBefore(testSubject.UserID, fixedNow.Add(time.Millisecond), later)
		}, getReq(userPath("")), verifier.ErrRevoked},
		{"user revoked before issue", func(s *verifier.RevocationSet) {
			s.RevokeUserBefore(testSubject.UserID, fixedNow.Add(-time.Second), later)
		}, getReq(userPath("")), nil},
		{"another user revoked", func(s *verifier.RevocationSet) {
			s.RevokeUserBefore("someone-else", fixedNow.Add(time.Hour), later)
		}, getReq(userPath("")), nil},
		{"later revocation of the user wins", func(s *verifier.RevocationSet) {
			s.RevokeUserBefore(testSubject.UserID, fixedNow.Add(-time.Hour), later)
			s.RevokeUserBefore(testSubject.UserID, fixedNow.Add(time.Hour), later)
		}, getReq(userPath("")), verifier.ErrRevoked},
		{"earlier revocation does not undo a later one", func(s *verifier.RevocationSet) {
			s.RevokeUserBefore(testSubject.UserID, fixedNow.Add(time.Hour), later)
			s.RevokeUserBefore(testSubject.UserID, fixedNow.Add(-time.Hour), later)
		}, getReq(userPath("")), verifier.ErrRevoked},
		{"revoked session pruned after its expiry", func(s *verifier.RevocationSet) {
			s.RevokeSession(testSubject.SessionID, fixedNow.Add(-time.Minute))
			s.Prune(fixedNow)
		}, getReq(userPath("")), nil},
		{"revoked session not pruned before its expiry", func(s *verifier.RevocationSet) {
			s.RevokeSession(testSubject.SessionID, later)
			s.Prune(fixedNow)
		}, getReq(userPath("")), verifier.ErrRevoked},
		// the README's "Library use": 401 when revoked, 403 only when the token is valid;
		// checkCaveats' own rule: a 401 reason wins over a 403 one.
		{"revoked session, route not granted: 401 wins", func(s *verifier.RevocationSet) {
			s.RevokeSession(testSubject.SessionID, later)
		}, getReq("/admin/v1/x"), verifier.ErrRevoked},
		{"revoked session, method not granted: 401 wins", func(s *verifier.RevocationSet) {
			s.RevokeSession(testSubject.SessionID, later)
		}, verifier.Request{Method: "POST", Path: userPath("")}, verifier.ErrRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := verifier.NewRevocationSet()
			tt.givenRevoke(set)
			v := newVerifier(t, ring, func(c *verifier.Config) { c.Revocations = set })
			expectVerify(t, v, toks.ByMethod["GET"], tt.whenReq, tt.expectErr)
		})
	}
}

const boundPolicy = `{
  "name": "bound",
  "appliesTo": {"userRoles": ["user"]},
  "expires": 900,
  "bindClient": true,
  "scopes": [{"name": "own", "routes": ["/accounts/v1/users/:userId/**"], "methods": ["GET"]}]
}`

func TestAttack_clientAndIP(t *testing.T) {
	ring := testRing(t)
	bound := mintTokens(t, ring, boundPolicy).ByMethod["GET"]
	unbound := mintTokens(t, ring, browserPolicy).ByMethod["GET"]
	ip8 := attenuate(t, unbound, "ip 10.0.0.0/8")
	addr := netip.MustParseAddr
	tests := []struct {
		name       string
		givenToken string
		whenClient string
		whenIP     netip.Addr
		expectErr  error
	}{
		{"bound token, its client", bound, "client-1", netip.Addr{}, nil},
		{"bound token, no client", bound, "", netip.Addr{}, verifier.ErrWrongClient},
		{"bound token, another client", bound, "client-2", netip.Addr{}, verifier.ErrWrongClient},
		{"bound token, client differing in case", bound, "Client-1", netip.Addr{}, verifier.ErrWrongClient},
		{"bound token, client with a suffix", bound, "client-10", netip.Addr{}, verifier.ErrWrongClient},
		{"unbound token, any client", unbound, "client-2", netip.Addr{}, nil},
		{"bound by attenuation", attenuate(t, unbound, "client client-9"), "client-1", netip.Addr{}, verifier.ErrWrongClient},
		{"ip caveat, address inside", ip8, "", addr("10.1.2.3"), nil},
		{"ip caveat, IPv4-mapped address inside", ip8, "", addr("::ffff:10.1.2.3"), nil},
		{"ip caveat, address outside", ip8, "", addr("11.0.0.1"), verifier.ErrIPNotAllowed},
		{"ip caveat, unknown address", ip8, "", netip.Addr{}, verifier.ErrIPNotAllowed},
		{"ip caveat, IPv6 address", ip8, "", addr("2001:db8::1"), verifier.ErrIPNotAllowed},
		{"ip caveat with two ranges", attenuate(t, unbound, "ip 192.168.0.0/16 10.0.0.0/8"), "", addr("10.9.9.9"), nil},
		{"two ip caveats must both hold", attenuate(t, ip8, "ip 192.168.0.0/16"), "", addr("10.1.2.3"), verifier.ErrIPNotAllowed},
		{"single address", attenuate(t, unbound, "ip 10.1.2.3"), "", addr("10.1.2.3"), nil},
		{"single address, neighbour", attenuate(t, unbound, "ip 10.1.2.3"), "", addr("10.1.2.4"), verifier.ErrIPNotAllowed},
		{"IPv6 range", attenuate(t, unbound, "ip 2001:db8::/32"), "", addr("2001:db8::1"), nil},
		{"IPv4-mapped range refuses plain IPv4", attenuate(t, unbound, "ip ::ffff:10.0.0.0/104"), "", addr("10.1.2.3"), verifier.ErrIPNotAllowed},
	}
	v := newVerifier(t, ring, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := verifier.Request{Method: "GET", Path: userPath("/x"), ClientID: tt.whenClient, ClientIP: tt.whenIP}
			id := expectVerify(t, v, tt.givenToken, req, tt.expectErr)
			if tt.expectErr == nil && tt.givenToken == bound && id.ClientID != "client-1" {
				t.Errorf("identity client = %q, want client-1", id.ClientID)
			}
		})
	}
}

// TestAttack_memo checks that remembering an accepted token lets nothing
// else through, and that what depends on the request or the clock is
// still checked on a memo hit.
func TestAttack_memo(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	tok := toks.ByMethod["GET"]
	clk := minttest.NewClock(fixedNow)
	set := verifier.NewRevocationSet()
	v := newVerifier(t, ring, func(c *verifier.Config) { c.Now = clk.Now; c.Revocations = set })
	req := getReq(userPath(""))

	expectVerify(t, v, tok, req, nil)
	expectVerify(t, v, tok, req, nil) // memo hit

	b := binaryOf(t, tok)
	for bit := 0; bit < len(b)*8; bit++ {
		flipped := bytes.Clone(b)
		flipped[bit/8] ^= 1 << (bit % 8)
		if _, err := v.Verify(encodeBinary(flipped), req); err == nil {
			t.Fatalf("after a memo entry for the original, bit %d flipped: accepted", bit)
		}
	}
	for n := 0; n < len(tok); n++ {
		if _, err := v.Verify(tok[:n], req); err == nil {
			t.Fatalf("after a memo entry for the original, its first %d characters: accepted", n)
		}
	}
	if _, err := v.Verify(tok+"A", req); err == nil {
		t.Fatal("after a memo entry for the original, original+\"A\": accepted")
	}

	// Request-dependent caveats on a hit.
	expectVerify(t, v, tok, verifier.Request{Method: "POST", Path: userPath("")}, verifier.ErrMethodNotGranted)
	expectVerify(t, v, tok, getReq("/admin/v1/x"), verifier.ErrRouteNotGranted)
	expectVerify(t, v, tok, getReq("/a/../b"), verifier.ErrNonCanonicalPath)

	// Expiry on a hit.
	clk.Set(toks.Expires.Add(verifier.DefaultSkew - time.Second))
	expectVerify(t, v, tok, req, nil)
	clk.Set(toks.Expires.Add(verifier.DefaultSkew))
	expectVerify(t, v, tok, req, verifier.ErrExpired)
	clk.Set(fixedNow)
	expectVerify(t, v, tok, req, nil)

	// Revocation on a hit.
	set.RevokeSession(testSubject.SessionID, toks.Expires.Add(time.Hour))
	expectVerify(t, v, tok, req, verifier.ErrRevoked)

	// A memoized token does not make a differently configured verifier
	// accept it.
	other := newVerifier(t, ring, func(c *verifier.Config) { c.ServerID = "other-server"; c.Now = clk.Now })
	expectVerify(t, other, tok, req, verifier.ErrWrongServer)
}

// TestAttack_attenuationNeverWidens is a property test: whatever caveats a
// holder adds, the attenuated token allows nothing the original denies.
func TestAttack_attenuationNeverWidens(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	uid, sid := testSubject.UserID, testSubject.SessionID
	patterns := []string{
		"/", "/*", "/**", "/accounts/**", "/accounts/v1/**", "/accounts/v1/users/*",
		"/accounts/v1/users/" + uid, "/accounts/v1/users/" + uid + "/**", "/accounts/v1/users/*/**",
		"/accounts/v1/users/0190*/**", "/accounts/v1/sessions/*", "/projects/v1/*/*", "/projects/v1/**",
		"/projects/v1/" + uid + "_*/*", "/projects/v1/shared/**", "/notes/v1/**", "/notes/v1/a*",
		"/notes/*", "/reports/v1/orgs/org-a/**", "/reports/v1/orgs/*/q3", "/reports/**", "/admin/**",
		"/acc*/v1/**", "/x",
	}
	paths := []string{
		"/", "/x", "/admin/v1/x", "/accounts", "/accounts/v1", "/accounts/v1/users",
		userPath(""), userPath("/emails"), userPath("/emails/1/verify"), "/accounts/v1/users/someone-else",
		"/accounts/v1/users/" + uid + "0", "/accounts/v1/sessions/" + sid, "/accounts/v1/sessions/other",
		"/projects/v1/" + uid + "_x/42", "/projects/v1/" + uid + "_x", "/projects/v1/" + uid + "_/42",
		"/projects/v1/other_x/42", "/projects/v1/shared", "/projects/v1/shared/a/b",
		"/notes/v1", "/notes/v1/a", "/notes/v1/abc/d", "/reports/v1/orgs/org-a/q3", "/reports/v1/orgs/org-b",
		"/reports/v1/orgs/org-c/q3", "/accounts/v1/users/%30190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
		"/notes/v1/../admin", "/notes/v1//a", "/notes/v1/%2e%2e/admin", "/notes/v1/a/",
	}
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	ips := []netip.Addr{{}, netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("192.168.7.7"), netip.MustParseAddr("2001:db8::1")}
	cidrs := []string{"10.0.0.0/8", "10.1.2.3", "192.168.0.0/16", "0.0.0.0/0", "2001:db8::/32", "::/0", "10.0.0.0/8 192.168.0.0/16"}
	clients := []string{"", "client-1", "client-2"}
	offsets := []time.Duration{-time.Hour, 0, 5 * time.Minute, 14 * time.Minute, 15 * time.Minute, 15*time.Minute + 29*time.Second,
		15*time.Minute + verifier.DefaultSkew, 16 * time.Minute, 2 * time.Hour}

	var granted []string
	for _, m := range mint.Methods() {
		if toks.ByMethod[m] != "" {
			granted = append(granted, m)
		}
	}
	r := rand.New(rand.NewPCG(2026, 11))
	pick := func(list []string) string { return list[r.IntN(len(list))] }
	randomCaveat := func() string {
		switch r.IntN(8) {
		case 0, 1, 2:
			n := 1 + r.IntN(3)
			ps := make([]string, n)
			for i := range ps {
				ps[i] = pick(patterns)
			}
			return "routes " + strings.Join(ps, " ")
		case 3:
			return "time-before " + fixedNow.Add(time.Duration(r.IntN(40)-10)*time.Minute).Format(time.RFC3339)
		case 4:
			return "ip " + pick(cidrs)
		case 5:
			return "method " + pick([]string{"GET", "POST", "PUT", "PATCH", "DELETE"})
		case 6:
			// Claims of how the user authenticated constrain no request
			// and, appended by a holder, are refused.
			return pick([]string{"amr pwd otp mfa", "amr hwk mfa", "auth-time " + fixedNow.Format(time.RFC3339)})
		default:
			return "client " + pick([]string{"client-1", "client-2"})
		}
	}

	clk := minttest.NewClock(fixedNow)
	v := newVerifier(t, ring, func(c *verifier.Config) { c.Now = clk.Now })
	var allowedAfter, deniedBefore, narrowed int
	const iterations, requestsEach = 3000, 8
	for i := 0; i < iterations; i++ {
		method := pick(granted)
		original := toks.ByMethod[method]
		caveats := make([]string, 1+r.IntN(4))
		for j := range caveats {
			caveats[j] = randomCaveat()
		}
		attenuated := attenuate(t, original, caveats...)
		for k := 0; k < requestsEach; k++ {
			// Mostly requests the original allows in part, so that
			// both outcomes are common.
			req := verifier.Request{Method: method, Path: pick(paths), ClientID: pick(clients), ClientIP: ips[r.IntN(len(ips))]}
			if r.IntN(4) == 0 {
				req.Method = pick(methods)
			}
			if r.IntN(4) == 0 {
				req.Path = randomPath(r, uid)
			}
			clk.Set(fixedNow)
			if r.IntN(2) == 0 {
				clk.Set(fixedNow.Add(offsets[r.IntN(len(offsets))]))
			}
			_, errBefore := v.Verify(original, req)
			_, errAfter := v.Verify(attenuated, req)
			if errBefore != nil && errAfter == nil {
				t.Fatalf("attenuation widened access at %v:\n  caveats %q\n  request %+v\n  original: %v", clk.Now(), caveats, req, errBefore)
			}
			if errAfter == nil {
				allowedAfter++
			}
			if errBefore != nil {
				deniedBefore++
			} else if errAfter != nil {
				narrowed++
			}
		}
	}
	// The property is vacuous unless attenuated tokens are sometimes
	// accepted and originals sometimes refused.
	if allowedAfter < 100 || deniedBefore < 100 || narrowed < 100 {
		t.Fatalf("too few interesting cases: %d allowed after attenuation, %d denied before, %d narrowed", allowedAfter, deniedBefore, narrowed)
	}
	t.Logf("%d requests: %d allowed after attenuation, %d denied by the original, %d narrowed", iterations*requestsEach, allowedAfter, deniedBefore, narrowed)
}

// randomPath builds a path from segments likely to meet the patterns.
func randomPath(r *rand.Rand, uid string) string {
	segs := []string{"accounts", "v1", "users", uid, uid + "_x", "projects", "shared", "notes", "a", "abc", "reports", "orgs", "org-a", "q3", "sessions", "%61", "*", "..", "", "x;y"}
	var b strings.Builder
	for n := 1 + r.IntN(6); n > 0; n-- {
		b.WriteByte('/')
		b.WriteString(segs[r.IntN(len(segs))])
	}
	return b.String()
}
