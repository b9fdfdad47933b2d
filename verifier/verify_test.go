package verifier_test

import (
	"errors"
	"testing"

	"github.com/authgw/authgw/verifier"
)

func TestVerifyMintedToken(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	v := newVerifier(t, ring, nil)
	tests := []struct {
		name        string
		givenMethod string
		whenMethod  string
		whenPath    string
		expectErr   error
	}{
		{"own profile", "GET", "GET", userPath(""), nil},
		{"below own profile", "GET", "GET", userPath("/emails/1"), nil},
		{"HEAD counts as GET", "GET", "HEAD", userPath(""), nil},
		{"prefix wildcard", "GET", "GET", "/projects/v1/" + testSubject.UserID + "_x/42", nil},
		{"org expanded", "GET", "GET", "/reports/v1/orgs/org-b/q3", nil},
		{"other org", "GET", "GET", "/reports/v1/orgs/org-c/q3", verifier.ErrRouteNotGranted},
		{"other user", "GET", "GET", "/accounts/v1/users/someone-else", verifier.ErrRouteNotGranted},
		{"GET token on POST", "GET", "POST", "/projects/v1/shared/x", verifier.ErrMethodNotGranted},
		{"POST token on POST", "POST", "POST", "/projects/v1/shared/x", nil},
		{"non-canonical", "GET", "GET", "/notes/v1/../admin", verifier.ErrNonCanonicalPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(toks.ByMethod[tt.givenMethod], verifier.Request{Method: tt.whenMethod, Path: tt.whenPath})
			if !errors.Is(err, tt.expectErr) || (tt.expectErr == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.expectErr)
			}
			if err == nil {
				if id.UserID != testSubject.UserID || id.SessionID != testSubject.SessionID || id.KeyID != "k2" {
					t.Errorf("identity = %+v", id)
				}
				if !id.Expires.Equal(toks.Expires) || id.Method != tt.givenMethod {
					t.Errorf("expires %v method %s, want %v %s", id.Expires, id.Method, toks.Expires, tt.givenMethod)
				}
			}
		})
	}
}
