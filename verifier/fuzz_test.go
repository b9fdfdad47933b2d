package verifier_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/caveat"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/policy/policytest"
	"github.com/authgw/authgw/verifier"
)

// Seed corpora live in ../testdata/fuzz/<FuzzName>/, one seed per plain
// file (not Go's corpus format), so they can be read and written by hand.
// How a file maps onto a target's arguments is said at each target.

// seedFiles returns the content of every file in ../testdata/fuzz/name.
var seedFiles = policytest.SeedFiles

// fuzzReq is the request every fuzz target verifies against: one the
// minted GET token of browserPolicy allows.
var fuzzReq = verifier.Request{
	Method:   "GET",
	Path:     userPath(""),
	ClientID: "client-1",
	ClientIP: netip.MustParseAddr("10.1.2.3"),
}

// signatureRefused reports whether err is a refusal that comes before
// the signature holds (decoding, parsing, key lookup, signature).
func signatureRefused(err error) bool {
	return errors.Is(err, verifier.ErrMalformedToken) || errors.Is(err, verifier.ErrUnknownKey) ||
		errors.Is(err, verifier.ErrBadSignature) || errors.Is(err, verifier.ErrMissingToken)
}

// referenceSignature is what macaroon.v2 says of a V2 binary: its
// caveat conditions when the signature holds with the root key the ring
// derives for its identifier. comparable is false for inputs the verifier
// refuses by design although macaroon.v2 reads them: more caveats than
// the verifier's limit.
func referenceSignature(ring *mint.KeyRing, b []byte) (conds []string, ok, comparable bool) {
	if len(b) == 0 || b[0] != 2 {
		return nil, false, true
	}
	var m macaroon.Macaroon
	if m.UnmarshalBinary(b) != nil {
		return nil, false, true
	}
	// UnmarshalBinary ignores what follows the macaroon. Cut the last
	// byte: if what is left still parses, b had trailing bytes.
	var shorter macaroon.Macaroon
	if shorter.UnmarshalBinary(b[:len(b)-1]) == nil {
		return nil, false, true
	}
	for _, c := range m.Caveats() {
		if c.VerificationId != nil || c.Location != "" {
			// A third-party caveat needs a discharge, which these
			// tokens come without, and authgw's own only (tested
			// apart): the verifier must refuse, whatever the signature.
			return nil, false, false
		}
	}
	if len(m.Caveats()) > 64 {
		return nil, false, false
	}
	ident, err := mint.ParseIdentifier(m.Id())
	if err != nil {
		return nil, false, true
	}
	root, err := ring.RootKey(ident.KeyID, m.Id())
	if err != nil {
		return nil, false, true
	}
	conds, err = m.VerifySignature(root, nil)
	return conds, err == nil, true
}

// compareWithReference checks the verifier's answer for the binary b
// against macaroon.v2's and, when the signature holds, its decision
// against the reference rules (expectDecision) and the Identity it
// returns against the caveats (checkIdentity).
func compareWithReference(t *testing.T, ring *mint.KeyRing, v *verifier.Verifier, b []byte) {
	t.Helper()
	tok := base64.RawURLEncoding.EncodeToString(b)
	id, err := v.Verify(tok, fuzzReq)
	if len(tok) > mint.MaxEncodedSize {
		if err == nil {
			t.Fatalf("accepted a %d-byte token", len(tok))
		}
		return
	}
	conds, refOK, comparable := referenceSignature(ring, b)
	if !comparable {
		if err == nil {
			t.Fatalf("accepted a token with more than 64 caveats or with a third-party caveat and no discharge")
		}
		return
	}
	if ours := !signatureRefused(err); ours != refOK {
		t.Fatalf("signature: verifier %v (err %v), macaroon.v2 %v\nbinary %x", ours, err, refOK, b)
	}
	if !refOK {
		return
	}
	ident, _ := mint.ParseIdentifier(b2id(t, b))
	expectDecision(t, err, conds, ident.SessionID, fuzzReq)
	if err != nil {
		return
	}
	checkIdentity(t, id, conds, ident)
}

func b2id(t *testing.T, b []byte) []byte {
	t.Helper()
	var m macaroon.Macaroon
	if err := m.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return m.Id()
}

// referenceCaveats is the request-independent rules of the README's "Caveats", written
// apart from the verifier: it returns the error of the first caveat that
// breaks one (ErrBadCaveat, ErrConflict), ErrMissingCaveat, or nil.
func referenceCaveats(conds []string, sessionID string) error {
	seen := map[string]bool{}
	values := map[string]string{}
	for _, c := range conds {
		name, arg, ok := strings.Cut(c, " ")
		if !ok || !referenceCaveatText(name, arg) {
			return verifier.ErrBadCaveat
		}
		switch name {
		case "server-id":
		case "method":
			if !slices.Contains(mint.Methods(), arg) {
				return verifier.ErrBadCaveat
			}
		case "routes":
			for _, r := range strings.Split(arg, " ") {
				if !policy.ValidRoute(r) {
					return verifier.ErrBadCaveat
				}
			}
		case "time-before":
			if _, ok := referenceTime(arg); !ok {
				return verifier.ErrBadCaveat
			}
		case "user", "client":
		case "user-roles":
			if !referenceRoles(arg) {
				return verifier.ErrBadCaveat
			}
		case "amr", "auth-time":
			if name == "amr" && !referenceAMR(arg) {
				return verifier.ErrBadCaveat
			}
			if _, ok := referenceTime(arg); name == "auth-time" && !ok {
				return verifier.ErrBadCaveat
			}
			// Only the mint writes them, before the user caveat: the
			// first one after a user caveat is a holder's claim.
			if _, ok := values[name]; !ok && seen["user"] {
				return verifier.ErrBadCaveat
			}
		case "session":
			if arg != sessionID {
				return verifier.ErrConflict
			}
		case "ip":
			if _, ok := referenceIP(arg, netip.Addr{}); !ok {
				return verifier.ErrBadCaveat
			}
		case "orgs":
			if _, ok := referenceOrgs(arg); !ok {
				return verifier.ErrBadCaveat
			}
		default:
			return verifier.ErrBadCaveat
		}
		if name == "method" || name == "user" || name == "user-roles" || name == "client" || name == "amr" || name == "auth-time" {
			if have, ok := values[name]; ok && have != arg {
				return verifier.ErrConflict
			}
			values[name] = arg
		}
		seen[name] = true
	}
	for _, name := range []string{"server-id", "method", "routes", "time-before", "user", "user-roles", "session"} {
		if !seen[name] {
			return verifier.ErrMissingCaveat
		}
	}
	return nil
}

// referenceRequest is the request-dependent rules of the README's "Caveats" for
// well-formed caveats at fixedNow with the default skew: the reasons
// that make the token unacceptable (401) and those that make it
// insufficient for this request (403).
func referenceRequest(conds []string, req verifier.Request) (unauthorized, forbidden []error) {
	method := req.Method
	if method == "HEAD" {
		method = "GET"
	}
	var orgs []map[string]string
	for _, c := range conds {
		if name, arg, _ := strings.Cut(c, " "); name == "orgs" {
			m, _ := referenceOrgs(arg)
			orgs = append(orgs, m)
		}
	}
	for _, c := range conds {
		name, arg, _ := strings.Cut(c, " ")
		switch name {
		case "server-id":
			if arg != testServerID {
				unauthorized = append(unauthorized, verifier.ErrWrongServer)
			}
		case "method":
			if arg != method {
				forbidden = append(forbidden, verifier.ErrMethodNotGranted)
			}
		case "routes":
			matched := false
			for _, r := range strings.Split(arg, " ") {
				for _, concrete := range referenceExpand(r, orgs) {
					compiled, err := policy.ParseRoutes(concrete)
					matched = matched || (err == nil && compiled.Match(req.Path))
				}
			}
			if !matched {
				forbidden = append(forbidden, verifier.ErrRouteNotGranted)
			}
		case "time-before":
			at, _ := referenceTime(arg)
			if !fixedNow.Add(-verifier.DefaultSkew).Before(at) {
				unauthorized = append(unauthorized, verifier.ErrExpired)
			}
		case "client":
			if req.ClientID == "" || arg != req.ClientID {
				unauthorized = append(unauthorized, verifier.ErrWrongClient)
			}
		case "ip":
			if in, _ := referenceIP(arg, req.ClientIP); !in {
				unauthorized = append(unauthorized, verifier.ErrIPNotAllowed)
			}
		}
	}
	return unauthorized, forbidden
}

// referenceOrgParam matches an organization parameter of a token route;
// its group is the flag's name ("" for any membership).
var referenceOrgParam = regexp.MustCompile(`:orgId(Read|Edit|Manage|Delete)?`)

// referenceOrgEntry is one entry of an orgs caveat.
var referenceOrgEntry = regexp.MustCompile(`^([A-Za-z0-9.-]{1,64})(?::(r?e?m?d?))?$`)

// referenceOrgs reads an orgs caveat argument into organization ID →
// flag letters; ok is false when it is malformed (an empty entry or
// letter list, letters out of order or repeated, "." or "..", an
// organization twice).
func referenceOrgs(arg string) (map[string]string, bool) {
	out := map[string]string{}
	for _, entry := range strings.Split(arg, " ") {
		m := referenceOrgEntry.FindStringSubmatch(entry)
		if m == nil || m[1] == "." || m[1] == ".." || strings.HasSuffix(entry, ":") {
			return nil, false
		}
		if _, dup := out[m[1]]; dup {
			return nil, false
		}
		out[m[1]] = m[2]
	}
	return out, true
}

// referenceExpand is the old reading of :orgId: the token route with
// every organization parameter replaced by one organization that every
// orgs caveat lists with the parameter's flag, one concrete route per
// such organization. A route without one is itself.
func referenceExpand(route string, orgs []map[string]string) []string {
	params := referenceOrgParam.FindAllStringSubmatch(route, -1)
	if params == nil {
		return []string{route}
	}
	if len(orgs) == 0 {
		return nil
	}
	var out []string
	for id := range orgs[0] {
		ok := true
		for _, p := range params {
			letter := map[string]string{"": "", "Read": "r", "Edit": "e", "Manage": "m", "Delete": "d"}[p[1]]
			for _, caveat := range orgs {
				letters, listed := caveat[id]
				if !listed || !strings.Contains(letters, letter) {
					ok = false
				}
			}
		}
		if ok {
			out = append(out, referenceOrgParam.ReplaceAllLiteralString(route, id))
		}
	}
	return out
}

// expectDecision checks Verify's error for a token whose signature holds
// against the reference rules: a malformed or conflicting caveat first,
// then any 401 reason that applies, then any 403 reason, else allowed.
func expectDecision(t *testing.T, err error, conds []string, sessionID string, req verifier.Request) {
	t.Helper()
	if want := referenceCaveats(conds, sessionID); want != nil {
		if !errors.Is(err, want) {
			t.Fatalf("caveats %q: verifier says %v, want %v", conds, err, want)
		}
		return
	}
	unauthorized, forbidden := referenceRequest(conds, req)
	oneOf := func(reasons []error) bool {
		for _, r := range reasons {
			if errors.Is(err, r) {
				return true
			}
		}
		return false
	}
	switch {
	case len(unauthorized) > 0:
		if !oneOf(unauthorized) {
			t.Fatalf("caveats %q, request %+v: verifier says %v, want one of %v", conds, req, err, unauthorized)
		}
	case len(forbidden) > 0:
		if !oneOf(forbidden) {
			t.Fatalf("caveats %q, request %+v: verifier says %v, want one of %v", conds, req, err, forbidden)
		}
	case err != nil:
		t.Fatalf("caveats %q, request %+v: verifier says %v, want allowed", conds, req, err)
	}
}

// referenceCaveatText: a name of [a-z-], a non-empty argument of
// printable UTF-8 (no C0, DEL, C1 or U+FFFD).
func referenceCaveatText(name, arg string) bool {
	if name == "" || arg == "" || !utf8.ValidString(arg) {
		return false
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && c != '-' {
			return false
		}
	}
	for _, r := range arg {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// referenceRoles: "-", or role names of [A-Za-z0-9._-] (1 to 64 bytes,
// not "-") separated by single spaces.
func referenceRoles(arg string) bool {
	if arg == "-" {
		return true
	}
	for _, role := range strings.Split(arg, " ") {
		if role == "-" || len(role) == 0 || len(role) > 64 {
			return false
		}
		for _, c := range role {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// referenceAMR: 1 to 8 values of 1 to 16 of [a-z0-9], single spaces,
// none twice.
func referenceAMR(arg string) bool {
	values := strings.Split(arg, " ")
	if len(values) > 8 {
		return false
	}
	for i, v := range values {
		if len(v) == 0 || len(v) > 16 || slices.Contains(values[:i], v) {
			return false
		}
		for _, c := range v {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

func referenceTime(arg string) (time.Time, bool) {
	if !strings.HasSuffix(arg, "Z") {
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339, arg)
	return at, err == nil
}

func referenceIP(list string, addr netip.Addr) (in, ok bool) {
	for _, item := range strings.Split(list, " ") {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			a, err := netip.ParseAddr(item)
			if err != nil || a.Zone() != "" || strings.Contains(item, "/") {
				return false, false
			}
			p = netip.PrefixFrom(a, a.BitLen())
		} else if p != p.Masked() {
			return false, false
		}
		if addr.IsValid() && p.Contains(addr.Unmap()) {
			in = true
		}
	}
	return in, true
}

// checkIdentity compares what Verify returned with the caveats.
func checkIdentity(t *testing.T, id verifier.Identity, conds []string, ident mint.Identifier) {
	t.Helper()
	var want verifier.Identity
	var wantRoles []string
	want.SessionID, want.KeyID, want.IssuedAt = ident.SessionID, ident.KeyID, ident.IssuedAt
	var routes string
	var wantAMR []string
	for _, c := range conds {
		name, arg, _ := strings.Cut(c, " ")
		switch name {
		case "amr":
			wantAMR = strings.Split(arg, " ")
		case "auth-time":
			want.AuthTime, _ = referenceTime(arg)
		case "user":
			want.UserID = arg
		case "method":
			want.Method = arg
		case "client":
			want.ClientID = arg
		case "user-roles":
			if arg != "-" {
				wantRoles = strings.Split(arg, " ")
			}
		case "routes":
			if routes == "" {
				routes = arg
			}
		case "time-before":
			at, _ := referenceTime(arg)
			if want.Expires.IsZero() || at.Before(want.Expires) {
				want.Expires = at
			}
		}
	}
	if id.UserID != want.UserID || id.SessionID != want.SessionID || id.KeyID != want.KeyID || id.Method != want.Method ||
		id.ClientID != want.ClientID || !id.Expires.Equal(want.Expires) || !id.IssuedAt.Equal(want.IssuedAt) ||
		!slices.Equal(id.Roles(), wantRoles) || !slices.Equal(id.AMR(), wantAMR) || !id.AuthTime.Equal(want.AuthTime) ||
		id.MultiFactor() != slices.Contains(wantAMR, "mfa") {
		t.Fatalf("identity %+v, caveats say %+v, amr %q", id, want, wantAMR)
	}
	if !slices.Equal(id.Routes(), strings.Fields(routes)) {
		t.Fatalf("identity routes %q, first routes caveat %q", id.Routes(), routes)
	}
}

// FuzzVerify: Verify never panics, and accepts a token only when
// macaroon.v2 (and mint.Decode) decode it and its signature holds with
// the root key.
//
// Seed file: the token; the path is the allowed fuzzReq path.
func FuzzVerify(f *testing.F) {
	ring := testRing(f)
	toks := mintTokens(f, ring, browserPolicy)
	for _, tok := range toks.ByMethod {
		f.Add(tok, fuzzReq.Path)
	}
	get := toks.ByMethod["GET"]
	f.Add(get+"==", fuzzReq.Path)
	f.Add(get[:len(get)/2], fuzzReq.Path)
	f.Add(get, "/accounts/v1/users/%2e%2e")
	f.Add("", "/")
	f.Add("AgJB", "/")
	for _, seed := range seedFiles(f, "FuzzVerify") {
		f.Add(string(seed), fuzzReq.Path)
	}
	v := newVerifier(f, ring, nil)
	f.Fuzz(func(t *testing.T, token, path string) {
		req := fuzzReq
		req.Path = path
		id, err := v.Verify(token, req)
		if policy.CanonicalPath(path) != nil {
			if !errors.Is(err, verifier.ErrNonCanonicalPath) {
				t.Fatalf("non-canonical path %q: %v", path, err)
			}
			return
		}
		if signatureRefused(err) {
			return
		}
		// The signature held: both reference decoders must agree.
		b, decErr := macaroon.Base64Decode([]byte(token))
		if decErr != nil {
			t.Fatalf("signature accepted (%v) but macaroon.Base64Decode refuses %q: %v", err, token, decErr)
		}
		m, decErr := mint.Decode(token)
		if decErr != nil {
			t.Fatalf("signature accepted (%v) but mint.Decode refuses %q: %v", err, token, decErr)
		}
		if m.Version() != macaroon.V2 || !bytes.Equal(b, mustBinary(t, token)) {
			t.Fatalf("signature accepted but the decoders disagree on %q", token)
		}
		conds, ok, _ := referenceSignature(ring, b)
		if !ok {
			t.Fatalf("signature accepted but macaroon.v2 VerifySignature refuses %q", token)
		}
		ident, _ := mint.ParseIdentifier(m.Id())
		expectDecision(t, err, conds, ident.SessionID, req)
		if err == nil {
			checkIdentity(t, id, conds, ident)
			if id.Method != "GET" {
				t.Fatalf("GET request accepted by a %s token", id.Method)
			}
		}
	})
}

func mustBinary(t *testing.T, tok string) []byte {
	t.Helper()
	b, err := mint.DecodeBase64(tok)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDifferential mutates the V2 binary of valid tokens: the verifier's
// fast path must accept a signature exactly when macaroon.v2 does (for V2
// binaries with first-party caveats and no trailing bytes), and read the
// caveats as the reference rules do.
//
// Seed file: a V2 binary macaroon (not base64).
func FuzzDifferential(f *testing.F) {
	ring := testRing(f)
	toks := mintTokens(f, ring, browserPolicy)
	for _, tok := range toks.ByMethod {
		f.Add(binaryOf(f, tok))
	}
	b := binaryOf(f, toks.ByMethod["GET"])
	f.Add(append(bytes.Clone(b), 0))
	f.Add(b[:len(b)-1])
	f.Add([]byte{2})
	for _, seed := range seedFiles(f, "FuzzDifferential") {
		f.Add(seed)
	}
	v := newVerifier(f, ring, func(c *verifier.Config) { c.MemoSize = -1 })
	f.Fuzz(func(t *testing.T, b []byte) {
		compareWithReference(t, ring, v, b)
	})
}

// Flags of FuzzDifferentialBuild.
const (
	buildHeaderLocation = 1 << iota // a location in the header
	buildThirdParty                 // a third-party caveat at the end
	buildWrongKey                   // sign with a root key from another ring
	buildOtherSession               // identifier session differs from the caveats'
	buildTrailingByte               // one byte after the macaroon
	buildKeyK1                      // identifier names k1 (the older key)
)

// FuzzDifferentialBuild builds macaroons with macaroon.v2 from the
// caveat lines of the input (split on "\n"), signed with the ring's root
// key unless the flags say otherwise, and compares the verifier with
// macaroon.v2 as FuzzDifferential does.
//
// Seed file: the caveat lines; flags 0.
func FuzzDifferentialBuild(f *testing.F) {
	ring := testRing(f)
	toks := mintTokens(f, ring, browserPolicy)
	get := partsOf(f, toks.ByMethod["GET"])
	f.Add(strings.Join(get.caveats, "\n"), uint8(0))
	f.Add(strings.Join(get.caveats, "\n")+"\nroutes /**", uint8(0))
	f.Add(strings.Join(get.caveats, "\n")+"\nmethod POST", uint8(buildHeaderLocation))
	f.Add(strings.Join(get.caveats, "\n"), uint8(buildThirdParty))
	f.Add(strings.Join(get.caveats, "\n"), uint8(buildWrongKey))
	f.Add(strings.Join(get.caveats, "\n"), uint8(buildOtherSession))
	f.Add(strings.Join(get.caveats, "\n"), uint8(buildTrailingByte))
	f.Add(strings.Join(get.caveats, "\n"), uint8(buildKeyK1))
	for _, seed := range seedFiles(f, "FuzzDifferentialBuild") {
		f.Add(string(seed), uint8(0))
	}
	other := ringOf(f, "k2", 9, "k1", 8)
	v := newVerifier(f, ring, func(c *verifier.Config) { c.MemoSize = -1 })
	f.Fuzz(func(t *testing.T, lines string, flags uint8) {
		if len(lines) > 8<<10 {
			return
		}
		ident := mint.Identifier{KeyID: "k2", SessionID: testSubject.SessionID, IssuedAt: fixedNow}
		if flags&buildOtherSession != 0 {
			ident.SessionID = "another-session"
		}
		if flags&buildKeyK1 != 0 {
			ident.KeyID = "k1"
		}
		id, err := ident.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		signing := ring
		if flags&buildWrongKey != 0 {
			signing = other
		}
		root, err := signing.RootKey(ident.KeyID, id)
		if err != nil {
			t.Fatal(err)
		}
		loc := ""
		if flags&buildHeaderLocation != 0 {
			loc = "https://auth.example"
		}
		m, err := macaroon.New(root, id, loc, macaroon.V2)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range strings.Split(lines, "\n") {
			if err := m.AddFirstPartyCaveat([]byte(c)); err != nil {
				t.Fatal(err)
			}
		}
		if flags&buildThirdParty != 0 {
			if err := m.AddThirdPartyCaveat(bytes.Repeat([]byte{3}, 32), []byte("tp"), "https://tp.example"); err != nil {
				t.Fatal(err)
			}
		}
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if flags&buildTrailingByte != 0 {
			b = append(b, 0)
		}
		compareWithReference(t, ring, v, b)
	})
}

// FuzzCaveat appends one caveat of arbitrary text, with macaroon.v2 as
// any holder could, to a valid GET token: Verify never panics, refuses
// an unknown or malformed caveat with ErrBadCaveat, and decides as the
// reference reading of the README's "Caveats" (expectDecision) does for fuzzReq.
//
// Seed file: the caveat text.
func FuzzCaveat(f *testing.F) {
	ring := testRing(f)
	tok := mintTokens(f, ring, browserPolicy).ByMethod["GET"]
	for _, c := range []string{
		"method GET", "method POST", "method HEAD", "routes /**", "routes /accounts/v1/users/*/**",
		"routes /notes/v1/**", "routes /accounts//x", "time-before 2026-11-22T12:10:00Z",
		"time-before 2026-11-22T11:10:00Z", "time-before 2026-11-22T12:10:00+00:00", "ip 10.0.0.0/8",
		"ip 10.0.0.1/8", "ip 192.168.0.0/16", "user " + testSubject.UserID, "user someone",
		"session " + testSubject.SessionID, "user-roles -", "user-roles user", "user-roles sysadmin",
		"user-roles user  x", "user-roles - user", "client client-1", "client client-2", "server-id " + testServerID,
		"server-id other", "foo bar", "user a\x00b", "method GET\nroutes /**", "", " ", "routes",
		"orgs org-a:r", "orgs org-a", "orgs org-c:r", "orgs org-a:x", "orgs org-a:r org-a", "orgs org-b:remd",
		"routes /reports/v1/orgs/:orgId/**", "routes /reports/v1/orgs/:orgIdEdit/**", "routes /reports/v1/orgs/:orgIdOwner/**",
		"amr pwd otp mfa", "amr mfa", "amr PWD", "amr pwd pwd", "auth-time 2026-11-22T11:00:00Z", "auth-time 2026-11-22T11:00:00+01:00",
	} {
		f.Add(c)
	}
	for _, seed := range seedFiles(f, "FuzzCaveat") {
		f.Add(string(seed))
	}
	base, err := mint.Decode(tok)
	if err != nil {
		f.Fatal(err)
	}
	var baseConds []string
	for _, c := range base.Caveats() {
		baseConds = append(baseConds, string(c.Id))
	}
	v := newVerifier(f, ring, nil)
	f.Fuzz(func(t *testing.T, caveat string) {
		m := base.Clone()
		if err := m.AddFirstPartyCaveat([]byte(caveat)); err != nil {
			t.Fatal(err)
		}
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		tok := base64.RawURLEncoding.EncodeToString(b)
		_, err = v.Verify(tok, fuzzReq)
		if len(tok) > mint.MaxEncodedSize {
			if !errors.Is(err, verifier.ErrMalformedToken) {
				t.Fatalf("%d-byte token: %v, want ErrMalformedToken", len(tok), err)
			}
			return
		}
		name, arg, cut := strings.Cut(caveat, " ")
		if !(cut && referenceCaveatText(name, arg)) && !errors.Is(err, verifier.ErrBadCaveat) {
			t.Fatalf("malformed caveat %q: %v, want ErrBadCaveat", caveat, err)
		}
		expectDecision(t, err, append(slices.Clone(baseConds), caveat), testSubject.SessionID, fuzzReq)
	})
}

// FuzzDischarge: Verify of a step-up token with one fuzzed discharge
// never panics, and accepts only when macaroon.v2's own Verify of the
// token with that discharge succeeds (its signature, from the caveat's
// key, bound to the token), the discharge's caveats are kinds that
// constrain a request with a time-before still ahead, and a verifier
// without the memo decides the same (the memo keeps discharges by text).
//
// Seed file: the discharge text as sent (base64url or anything else).
// The step-up token is minted afresh each run (its verification ID has a
// random nonce), so a failure prints the token with the discharge.
func FuzzDischarge(f *testing.F) {
	ring := testRing(f)
	su := mintStepUp(f, ring, fixedNow)
	other := mintStepUp(f, ring, fixedNow)
	f.Add(su.discharge)
	f.Add(su.unbound)
	f.Add(other.discharge)
	f.Add(su.token)
	f.Add(padded(su.discharge))
	f.Add(toStd(su.discharge))
	f.Add(attenuateDischarge(f, su.token, su.unbound, "method DELETE", "ip 10.0.0.0/8"))
	f.Add(attenuateDischarge(f, su.token, su.unbound, "user "+testSubject.UserID))
	f.Add(su.discharge[:len(su.discharge)-3])
	f.Add("")
	for _, seed := range seedFiles(f, "FuzzDischarge") {
		f.Add(string(seed))
	}
	tm, err := mint.Decode(su.token)
	if err != nil {
		f.Fatal(err)
	}
	root, err := ring.RootKey(ring.PrimaryID(), tm.Id())
	if err != nil {
		f.Fatal(err)
	}
	req := verifier.Request{Method: "DELETE", Path: userPath(""), ClientIP: netip.MustParseAddr("10.1.2.3")}
	memo := newVerifier(f, ring, nil)
	cold := newVerifier(f, ring, func(c *verifier.Config) { c.MemoSize = -1 })
	f.Fuzz(func(t *testing.T, discharge string) {
		_, err := memo.Verify(su.token, req, discharge)
		_, coldErr := cold.Verify(su.token, req, discharge)
		if (err == nil) != (coldErr == nil) {
			t.Fatalf("memo %v, no memo %v\ntoken %s\ndischarge %q", err, coldErr, su.token, discharge)
		}
		if err != nil {
			if !errors.Is(err, verifier.ErrStepUpRequired) {
				t.Fatalf("refused with %v, want a StepUpError", err)
			}
			return
		}
		b, decErr := mint.DecodeBase64(discharge)
		var dm macaroon.Macaroon
		if decErr != nil || dm.UnmarshalBinary(b) != nil {
			t.Fatalf("accepted a discharge macaroon.v2 cannot decode (%v)\ntoken %s\ndischarge %q", decErr, su.token, discharge)
		}
		var conds []string
		if err := tm.Verify(root, func(c string) error { conds = append(conds, c); return nil }, []*macaroon.Macaroon{&dm}); err != nil {
			t.Fatalf("accepted, but macaroon.v2 Verify refuses: %v\ntoken %s\ndischarge %q", err, su.token, discharge)
		}
		ahead := false
		for _, c := range dm.Caveats() {
			cv, err := caveat.Parse(string(c.Id))
			if err != nil || c.VerificationId != nil || cv.Kind().Constrains() == caveat.None {
				t.Fatalf("accepted a discharge with caveat %q\ndischarge %q", c.Id, discharge)
			}
			if cv.Kind() == caveat.TimeBefore && fixedNow.Add(-verifier.DefaultSkew).Before(cv.Time()) {
				ahead = true
			}
		}
		if !ahead {
			t.Fatalf("accepted a discharge with no time-before ahead\ndischarge %q", discharge)
		}
	})
}
