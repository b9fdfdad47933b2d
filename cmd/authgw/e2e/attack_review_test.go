package e2e

import (
	"encoding/base64"
	"net/http"
	"testing"
)

// reviewPortalClient is the sign-in pages' client: a fixed, public ID
// without a secret or a rate limit of its own.
const reviewPortalClient = "00000000-0000-7000-8000-000000000002"

// TestAttackReviewPortalClientBudget: anyone can send the sign-in pages'
// client ID in a Basic header. That must not buy an unlimited budget
// against the accounts API: such requests spend the per-IP budget of
// unidentified requests (10 a second by default), so a burst from one
// address is cut off.
func TestAttackReviewPortalClientBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no serve process")
	}
	s := newPlainServe(t)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(reviewPortalClient+":"))
	limited := false
	for i := 0; i < 40 && !limited; i++ {
		req, err := http.NewRequest(http.MethodGet, "http://"+s.addr+"/accounts/v1/openapi.json", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", basic)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		switch res.StatusCode {
		case http.StatusOK:
		case http.StatusTooManyRequests:
			limited = true
		default:
			t.Fatalf("request %d: status %d", i+1, res.StatusCode)
		}
	}
	if !limited {
		t.Fatal("40 requests in a burst with Basic <the pages' client> were never rate limited")
	}
}
