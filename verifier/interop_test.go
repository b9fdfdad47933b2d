package verifier_test

import (
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier"
	"github.com/authgw/authgw/verifier/nodetest"
)

// interopDir holds the Node.js side of the cross-implementation test: a
// package.json pinning the npm `macaroon` package, its lock file, and
// attenuate.js.
const interopDir = "../testdata/interop"

// jsRequest is what attenuate.js reads on stdin.
type jsRequest struct {
	Token   string   `json:"token"`
	Caveats []string `json:"caveats,omitempty"`
	Forge   *jsForge `json:"forge,omitempty"`
}

// jsForge asks attenuate.js to change the caveat list without re-signing.
type jsForge struct {
	Append []string `json:"append,omitempty"`
	Drop   []string `json:"drop,omitempty"`
}

// jsResult is what attenuate.js writes on stdout.
type jsResult struct {
	// ExportShim tells that attenuate.js had to work around the
	// exportBinary bug of the installed macaroon package (see there).
	ExportShim      bool     `json:"exportShim"`
	Version         int      `json:"version"`
	Identifier      string   `json:"identifier"` // hex
	Location        string   `json:"location"`
	SignatureBefore string   `json:"signatureBefore"` // hex
	SignatureAfter  string   `json:"signatureAfter"`  // hex
	DecodedCaveats  []string `json:"decodedCaveats"`
	Caveats         []string `json:"caveats"`
	Token           string   `json:"token"`
}

// setupNode finds node and makes sure the pinned npm macaroon package is
// installed (npm ci from the committed lock file). It returns the node
// binary and the installed macaroon version.
func setupNode(t *testing.T) (node, version string) {
	t.Helper()
	return nodetest.Setup(t, interopDir, "macaroon", "attenuate.js", "package-lock.json")
}

// runAttenuate passes a request through attenuate.js.
func runAttenuate(t *testing.T, node string, req jsRequest) jsResult {
	t.Helper()
	var res jsResult
	nodetest.Run(t, node, interopDir, "attenuate.js", req, &res, 30*time.Second)
	return res
}

// interopCheck is one request made with the token JS attenuated, and the
// same request made with the original token as a control.
type interopCheck struct {
	method string        // default GET
	path   string        // canonical request path
	ip     string        // client IP; "" for unknown
	after  time.Duration // the verifier's clock is fixedNow+after
	want   error         // nil: allowed
	// origWant is what the original (unattenuated) token gets; nil:
	// allowed. A check where want != origWant shows the caveat JS added
	// is what decided.
	origWant error
}

func TestInteropNodeMacaroon(t *testing.T) {
	node, _ := setupNode(t)
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	orig := toks.ByMethod["GET"]
	if orig == "" {
		t.Fatal("no GET token minted")
	}
	goMac, err := mint.Decode(orig)
	if err != nil {
		t.Fatal(err)
	}
	var origCaveats []string
	for _, c := range goMac.Caveats() {
		origCaveats = append(origCaveats, string(c.Id))
	}
	// The caveats the mint wrote, which the JS side must have decoded.
	wantDecoded := []string{
		"server-id " + testServerID,
		"method GET",
		"routes " + strings.Join(toks.Routes["GET"], " "),
		"orgs org-a:r org-b:r",
		"time-before " + toks.Expires.Format(time.RFC3339),
		"user " + testSubject.UserID,
		"user-roles user employee",
		"session " + testSubject.SessionID,
	}
	if !slices.Equal(origCaveats, wantDecoded) {
		t.Fatalf("minted caveats (macaroon.v2) = %q, want %q", origCaveats, wantDecoded)
	}

	verifiers := map[time.Duration]*verifier.Verifier{}
	verifierAt := func(after time.Duration) *verifier.Verifier {
		v, ok := verifiers[after]
		if !ok {
			now := fixedNow.Add(after)
			v = newVerifier(t, ring, func(c *verifier.Config) { c.Now = func() time.Time { return now } })
			verifiers[after] = v
		}
		return v
	}
	verify := func(token string, c interopCheck) error {
		req := verifier.Request{Method: cmp.Or(c.method, "GET"), Path: c.path}
		if c.ip != "" {
			req.ClientIP = netip.MustParseAddr(c.ip)
		}
		_, err := verifierAt(c.after).Verify(token, req)
		return err
	}

	skew := verifier.DefaultSkew
	notes := "/notes/v1/public/x"
	tests := []struct {
		name    string
		caveats []string
		forge   *jsForge
		checks  []interopCheck
	}{
		{
			name: "round trip without caveat keeps the signature",
			checks: []interopCheck{
				{path: userPath("")},
				{path: "/notes/v1/private"},
				{path: "/reports/v1/orgs/org-a/q3"},
				{method: "POST", path: "/notes/v1/private", want: verifier.ErrMethodNotGranted, origWant: verifier.ErrMethodNotGranted},
				{path: "/admin/v1/x", want: verifier.ErrRouteNotGranted, origWant: verifier.ErrRouteNotGranted},
			},
		},
		{
			name:    "routes narrowed",
			caveats: []string{"routes /notes/v1/public/**"},
			checks: []interopCheck{
				{path: notes},
				{path: "/notes/v1/public"},
				{method: "HEAD", path: "/notes/v1/public/a/b"},
				{path: "/notes/v1/private", want: verifier.ErrRouteNotGranted},
				{path: userPath(""), want: verifier.ErrRouteNotGranted},
				{path: "/reports/v1/orgs/org-a/q3", want: verifier.ErrRouteNotGranted},
			},
		},
		{
			name:    "organizations narrowed",
			caveats: []string{"orgs org-a:r"},
			checks: []interopCheck{
				{path: "/reports/v1/orgs/org-a/q3"},
				{path: "/reports/v1/orgs/org-b/q3", want: verifier.ErrRouteNotGranted},
				{path: notes},
			},
		},
		{
			name:    "an organization added is not granted",
			caveats: []string{"orgs org-a:r org-b:r org-x:r"},
			checks: []interopCheck{
				{path: "/reports/v1/orgs/org-b/q3"},
				{path: "/reports/v1/orgs/org-x/q3", want: verifier.ErrRouteNotGranted, origWant: verifier.ErrRouteNotGranted},
			},
		},
		{
			name:    "time-before narrowed",
			caveats: []string{"time-before " + fixedNow.Add(time.Minute).Format(time.RFC3339)},
			checks: []interopCheck{
				{path: notes},
				{path: notes, after: time.Minute + skew - time.Second},
				{path: notes, after: time.Minute + skew, want: verifier.ErrExpired},
				{path: notes, after: 5 * time.Minute, want: verifier.ErrExpired},
			},
		},
		{
			name:    "ip narrowed",
			caveats: []string{"ip 10.0.0.0/8"},
			checks: []interopCheck{
				{path: notes, ip: "10.1.2.3"},
				{path: userPath(""), ip: "10.255.0.1"},
				{path: notes, ip: "192.168.1.1", want: verifier.ErrIPNotAllowed},
				{path: notes, ip: "11.0.0.1", want: verifier.ErrIPNotAllowed},
				{path: notes, want: verifier.ErrIPNotAllowed},
			},
		},
		{
			name:    "unknown caveat fails closed",
			caveats: []string{"color blue"},
			checks: []interopCheck{
				{path: notes, want: verifier.ErrBadCaveat},
				{path: userPath(""), want: verifier.ErrBadCaveat},
			},
		},
		{
			name:    "non-ASCII caveat text is UTF-8 on both sides",
			caveats: []string{"color bleu-\u00e9\u2603"},
			checks: []interopCheck{
				{path: notes, want: verifier.ErrBadCaveat},
			},
		},
		{
			name:    "several caveats all hold",
			caveats: []string{"routes /notes/v1/public/**", "ip 10.0.0.0/8", "time-before " + fixedNow.Add(2*time.Minute).Format(time.RFC3339)},
			checks: []interopCheck{
				{path: notes, ip: "10.1.2.3"},
				{path: notes, ip: "192.168.1.1", want: verifier.ErrIPNotAllowed},
				{path: "/notes/v1/private", ip: "10.1.2.3", want: verifier.ErrRouteNotGranted},
				{path: notes, ip: "10.1.2.3", after: 10 * time.Minute, want: verifier.ErrExpired},
			},
		},
		{
			name:    "wider routes do not widen",
			caveats: []string{"routes /**"},
			checks: []interopCheck{
				{path: notes},
				{path: "/admin/v1/x", want: verifier.ErrRouteNotGranted, origWant: verifier.ErrRouteNotGranted},
			},
		},
		{
			name:    "later time-before does not extend",
			caveats: []string{"time-before 2099-01-01T00:00:00Z"},
			checks: []interopCheck{
				{path: notes},
				{path: notes, after: 20 * time.Minute, want: verifier.ErrExpired, origWant: verifier.ErrExpired},
			},
		},
		{
			name:    "second method caveat conflicts",
			caveats: []string{"method POST"},
			checks: []interopCheck{
				{path: notes, want: verifier.ErrConflict},
				{method: "POST", path: notes, want: verifier.ErrConflict, origWant: verifier.ErrMethodNotGranted},
			},
		},
		// The reverse: JS changes the caveats without re-signing.
		{
			name:  "forged: narrowing caveat appended without re-signing",
			forge: &jsForge{Append: []string{"routes /notes/v1/public/**"}},
			checks: []interopCheck{
				{path: notes, want: verifier.ErrBadSignature},
			},
		},
		{
			name:  "forged: time-before dropped",
			forge: &jsForge{Drop: []string{"time-before"}},
			checks: []interopCheck{
				{path: notes, want: verifier.ErrBadSignature},
				{path: notes, after: time.Hour, want: verifier.ErrBadSignature, origWant: verifier.ErrExpired},
			},
		},
		{
			name:    "forged: added ip caveat replaced by a wider one",
			caveats: []string{"ip 10.0.0.0/8"},
			forge:   &jsForge{Drop: []string{"ip"}, Append: []string{"ip 0.0.0.0/0"}},
			checks: []interopCheck{
				{path: notes, ip: "10.1.2.3", want: verifier.ErrBadSignature},
				{path: notes, ip: "192.168.1.1", want: verifier.ErrBadSignature},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runAttenuate(t, node, jsRequest{Token: orig, Caveats: tt.caveats, Forge: tt.forge})

			// The JS side decoded the authgw token: same identifier,
			// signature and caveats as macaroon.v2 sees.
			if res.Version != 2 || res.Location != "" {
				t.Errorf("JS decoded version %d location %q, want 2 and none", res.Version, res.Location)
			}
			if res.Identifier != hex.EncodeToString(goMac.Id()) {
				t.Errorf("JS identifier %s, want %x", res.Identifier, goMac.Id())
			}
			if res.SignatureBefore != hex.EncodeToString(goMac.Signature()) {
				t.Errorf("JS signature %s, want %x", res.SignatureBefore, goMac.Signature())
			}
			if !slices.Equal(res.DecodedCaveats, wantDecoded) {
				t.Errorf("JS decoded caveats %q, want %q", res.DecodedCaveats, wantDecoded)
			}

			// The JS output is V2 binary in unpadded base64url, and
			// macaroon.v2 reads the same caveats and signature from it.
			raw, err := base64.RawURLEncoding.Strict().DecodeString(res.Token)
			if err != nil || strings.ContainsAny(res.Token, "=+/") {
				t.Fatalf("JS token %q is not unpadded base64url: %v", res.Token, err)
			}
			if len(raw) == 0 || raw[0] != 2 {
				t.Fatalf("JS token is not V2 binary: first byte %#x", raw[:min(1, len(raw))])
			}
			jsMac, err := mint.Decode(res.Token)
			if err != nil {
				t.Fatalf("macaroon.v2 cannot decode the JS token: %v", err)
			}
			var jsCaveats []string
			for _, c := range jsMac.Caveats() {
				if c.VerificationId != nil || c.Location != "" {
					t.Errorf("JS wrote a third-party caveat %q", c.Id)
				}
				jsCaveats = append(jsCaveats, string(c.Id))
			}
			if !slices.Equal(jsCaveats, res.Caveats) {
				t.Errorf("macaroon.v2 reads caveats %q, JS reported %q", jsCaveats, res.Caveats)
			}
			if hex.EncodeToString(jsMac.Signature()) != res.SignatureAfter {
				t.Errorf("macaroon.v2 reads signature %x, JS reported %s", jsMac.Signature(), res.SignatureAfter)
			}

			// An independent signature check with macaroon.v2 itself, not
			// the verifier's fast path.
			root, err := ring.RootKey(ring.PrimaryID(), goMac.Id())
			if err != nil {
				t.Fatal(err)
			}
			_, sigErr := jsMac.VerifySignature(root, nil)

			if tt.forge == nil {
				want := slices.Concat(origCaveats, tt.caveats)
				if !slices.Equal(res.Caveats, want) {
					t.Errorf("JS caveats after adding %q, want %q", res.Caveats, want)
				}
				if sigErr != nil {
					t.Errorf("macaroon.v2 VerifySignature of the JS token: %v", sigErr)
				}
				// HMAC chaining is deterministic: the JS attenuation must
				// be byte-for-byte the Go one (for no caveat: the original).
				goTok, err := mint.AttenuateText(orig, tt.caveats...)
				if err != nil {
					t.Fatal(err)
				}
				if res.Token != goTok {
					t.Errorf("JS token differs from mint.Attenuate:\n js %s\n go %s", res.Token, goTok)
				}
			} else {
				if sigErr == nil {
					t.Errorf("macaroon.v2 VerifySignature accepted the forged token")
				}
				if res.SignatureAfter != res.SignatureBefore && len(tt.caveats) == 0 {
					t.Errorf("forging changed the signature %s -> %s", res.SignatureBefore, res.SignatureAfter)
				}
				if slices.Equal(res.Caveats, slices.Concat(origCaveats, tt.caveats)) {
					t.Errorf("forge left the caveats unchanged: %q", res.Caveats)
				}
			}

			for _, c := range tt.checks {
				err := verify(res.Token, c)
				if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
					t.Errorf("%s %s from %q at +%v with JS token: %v, want %v", cmp.Or(c.method, "GET"), c.path, c.ip, c.after, err, c.want)
				}
				err = verify(orig, c)
				if !errors.Is(err, c.origWant) || (c.origWant == nil && err != nil) {
					t.Errorf("%s %s from %q at +%v with the original token (control): %v, want %v", cmp.Or(c.method, "GET"), c.path, c.ip, c.after, err, c.origWant)
				}
			}
		})
	}
}
