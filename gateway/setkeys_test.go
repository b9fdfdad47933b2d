package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/minttest"
)

// TestSetKeys: a key ring set while serving verifies from the next
// request: a token of an added key passes at once, a token of a removed
// key is refused even though it passed (and was memoized) before, and
// an empty ring is refused with the keys kept.
func TestSetKeys(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	e := newEnv(t, nil)
	const secret = "s3cret"
	id := e.client(sha256Hex(secret), -1)
	e.api("demo", 1, backend.URL, false, true)
	e.refresh()
	k1Token := e.tokens("session-k1", fixedNow).ByMethod["GET"]
	k1 := e.ring
	rotated := minttest.Rotate(t, k1, "k2", 2)
	e.ring = rotated
	k2Token := e.tokens("session-k2", fixedNow).ByMethod["GET"]
	k2Only := minttest.KeyRing(t, "k2", 2)

	call := func(tok string) int {
		res, _ := e.send("GET", "/demo/v1/x", http.Header{"Authorization": {authz(id, secret, tok)}}, nil)
		return res.StatusCode
	}
	tests := []struct {
		name               string
		setKeys            bool
		givenRing          *mint.KeyRing
		expectErr          bool
		expectK1, expectK2 int
	}{
		{name: "at start: k1 only", expectK1: 200, expectK2: 401},
		{name: "k2 added in front", setKeys: true, givenRing: rotated, expectK1: 200, expectK2: 200},
		{name: "k1 removed", setKeys: true, givenRing: k2Only, expectK1: 401, expectK2: 200},
		{name: "no ring: refused, k2 kept", setKeys: true, expectErr: true, expectK1: 401, expectK2: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setKeys {
				if err := e.gw.SetKeys(tt.givenRing); (err != nil) != tt.expectErr {
					t.Fatalf("SetKeys = %v, want error %v", err, tt.expectErr)
				}
			}
			if got := call(k1Token); got != tt.expectK1 {
				t.Errorf("k1's token = %d, want %d", got, tt.expectK1)
			}
			if got := call(k2Token); got != tt.expectK2 {
				t.Errorf("k2's token = %d, want %d", got, tt.expectK2)
			}
		})
	}
}

// TestAdmin_readyzSettings: /readyz lists Config.Settings in every answer.
func TestAdmin_readyzSettings(t *testing.T) {
	loaded := time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC)
	want := []gateway.SettingStatus{
		{Setting: "--policies", Path: "/etc/authgw/policies", LoadedAt: loaded},
		{Setting: "--keys", Path: "/etc/authgw/keys.json", LoadedAt: loaded, Error: "bad key ring", FailedAt: loaded.Add(time.Minute)},
	}
	e := newEnv(t, func(c *gateway.Config) {
		c.Settings = func() []gateway.SettingStatus { return want }
		c.Health = []func() string{func() string { return "reload refused: --keys" }}
	})
	e.refresh()
	code, body := get(t, e.gw.Admin(), "/readyz")
	var got struct {
		Status   string
		Settings []gateway.SettingStatus
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || code != 200 || got.Status != "degraded" || !reflect.DeepEqual(got.Settings, want) {
		t.Errorf("readyz %d %s, want 200 degraded with %+v", code, body, want)
	}
}
