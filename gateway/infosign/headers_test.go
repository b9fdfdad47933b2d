package infosign_test

import (
	"net/http"
	"testing"

	"github.com/authgw/authgw/gateway/infosign"
)

func TestSetAndRemoveHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("X-Auth-Info", "spoofed")
	h["x-auth-info-signed"] = []string{"0"} // not canonical, as a raw map write leaves it
	h.Set("X-Auth-Info-Algorithm", "none")
	h.Set("X-Auth-Information-Extra", "also ours")
	h["X_Auth_Info"] = []string{"spoofed"} // CGI-style servers read it as X-Auth-Info
	h["x_AUTH-info_Signed"] = []string{"0"}
	h.Set("X-Auth", "not ours")
	h.Set("Authorization", "not ours")
	h["X\rAuth-Info"] = []string{"not ours: no byte but _ stands for -"}
	h["X-Auth-Inf"] = []string{"not ours: too short"}

	infosign.RemoveHeaders(h)
	if len(h) != 4 || h.Get("X-Auth") == "" || h.Get("Authorization") == "" {
		t.Errorf("after RemoveHeaders: %v", h)
	}

	infosign.SetHeaders(h, "tok")
	for name, want := range map[string]string{"X-Auth-Info": "tok", "X-Auth-Info-Signed": "1", "X-Auth-Info-Algorithm": "ES256"} {
		if got := h.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}
