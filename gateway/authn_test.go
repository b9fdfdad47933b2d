package gateway_test

import (
	"slices"
	"testing"
	"time"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
)

// TestProxy_authnInRequestInfo: X-Auth-Info's u carries the amr and
// auth_time of the token, and nothing of them for a token without (as
// before they existed); the signature cache never gives one the other's.
func TestProxy_authnInRequestInfo(t *testing.T) {
	e, id, _ := proxyEnv(t, nil)
	p, err := policy.Parse("demo.json", []byte(demoPolicy))
	if err != nil {
		t.Fatal(err)
	}
	m, err := mint.New(mint.Config{Keys: e.ring, ServerID: serverID, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	authAt := fixedNow.Add(-time.Minute)
	mintWith := func(amr []string, at time.Time) string {
		t.Helper()
		toks, err := m.Mint([]*policy.Policy{p}, mint.Subject{UserID: "user-1", SessionID: "session-1", Roles: []string{"user", "employee"},
			AMR: amr, AuthTime: at})
		if err != nil {
			t.Fatal(err)
		}
		return toks.ByMethod["GET"]
	}
	tests := []struct {
		name           string
		givenToken     string
		expectAMR      []string
		expectAuthTime int64
	}{
		{name: "two factors", givenToken: mintWith([]string{"pwd", "otp", "mfa"}, authAt), expectAMR: []string{"pwd", "otp", "mfa"}, expectAuthTime: authAt.Unix()},
		{name: "password only, same user and session", givenToken: mintWith([]string{"pwd"}, authAt), expectAMR: []string{"pwd"}, expectAuthTime: authAt.Unix()},
		{name: "a token without", givenToken: mintWith(nil, time.Time{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := e.send("GET", "/demo/v1/items", header("Authorization", authz(id, "s3cret", tt.givenToken)), nil)
			if res.StatusCode != 200 {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			got := decodeEcho(t, body)
			if got.Claims == nil || got.Claims.User == nil {
				t.Fatalf("backend could not read X-Auth-Info: %s", got.InfoError)
			}
			u := got.Claims.User
			if !slices.Equal(u.AMR, tt.expectAMR) || u.AuthTime != tt.expectAuthTime {
				t.Errorf("u.amr %q, u.auth_time %d; want %q, %d", u.AMR, u.AuthTime, tt.expectAMR, tt.expectAuthTime)
			}
		})
	}
}
