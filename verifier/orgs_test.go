package verifier_test

import (
	"errors"
	"testing"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier"
)

// TestVerify_organizations checks the :orgId routes of a minted token
// against its orgs caveat, and that attenuation only narrows them: an
// appended orgs caveat intersects, an appended routes caveat with an
// organization parameter cannot reach an organization the token lacks.
func TestVerify_organizations(t *testing.T) {
	ring := testRing(t)
	get := mintTokens(t, ring, browserPolicy).ByMethod["GET"]
	v := newVerifier(t, ring, nil)
	attenuated := func(caveats ...string) string {
		t.Helper()
		tok, err := mint.AttenuateText(get, caveats...)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name      string
		givenTok  string
		whenPath  string
		expectErr error
	}{
		{"member organization", get, "/reports/v1/orgs/org-a/q3", nil},
		{"another member organization", get, "/reports/v1/orgs/org-b/q3", nil},
		{"not a member", get, "/reports/v1/orgs/org-c/q3", verifier.ErrRouteNotGranted},
		{"an ID that runs on", get, "/reports/v1/orgs/org-a.evil/q3", verifier.ErrRouteNotGranted},
		{"narrowed to one organization", attenuated("orgs org-a:r"), "/reports/v1/orgs/org-b/q3", verifier.ErrRouteNotGranted},
		{"narrowed, the one kept", attenuated("orgs org-a:r"), "/reports/v1/orgs/org-a/q3", nil},
		{"an organization added", attenuated("orgs org-a:r org-c:r"), "/reports/v1/orgs/org-c/q3", verifier.ErrRouteNotGranted},
		{"a flag dropped", attenuated("orgs org-a org-b"), "/reports/v1/orgs/org-a/q3", verifier.ErrRouteNotGranted},
		{"a flag added", attenuated("orgs org-a:remd org-b:remd"), "/reports/v1/orgs/org-a/q3", nil},
		{"routes with a wider parameter", attenuated("routes /reports/v1/orgs/:orgId/**"), "/reports/v1/orgs/org-c/q3", verifier.ErrRouteNotGranted},
		{"routes with a parameter, narrowed", attenuated("routes /reports/v1/orgs/:orgIdRead/q3"), "/reports/v1/orgs/org-a/q4", verifier.ErrRouteNotGranted},
		{"malformed orgs caveat", attenuated("orgs org-a:x"), "/reports/v1/orgs/org-a/q3", verifier.ErrBadCaveat},
		{"orgs caveat with an organization twice", attenuated("orgs org-a org-a:r"), "/reports/v1/orgs/org-a/q3", verifier.ErrBadCaveat},
		{"malformed organization parameter", attenuated("routes /reports/v1/orgs/:orgIdOwner/**"), "/reports/v1/orgs/org-a/q3", verifier.ErrBadCaveat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(tt.givenTok, verifier.Request{Method: "GET", Path: tt.whenPath})
			if (tt.expectErr == nil) != (err == nil) || (tt.expectErr != nil && !errors.Is(err, tt.expectErr)) {
				t.Errorf("Verify = %v, want %v", err, tt.expectErr)
			}
		})
	}
}
