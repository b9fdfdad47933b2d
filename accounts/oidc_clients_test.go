package accounts_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestClientOIDCSettings: redirectUris, postLogoutRedirectUris,
// oidcScopes and public are accepted on POST and PATCH of a client,
// stored, returned, and checked: https, or http on loopback only; no
// fragment, no user info; at most 10 of at most 512 bytes; scopes from
// the fixed set.
func TestClientOIDCSettings(t *testing.T) {
	long := "https://rp.example/" + strings.Repeat("a", 500)
	many := make([]string, 11)
	for i := range many {
		many[i] = fmt.Sprintf("https://rp.example/%d", i)
	}
	tests := []struct {
		name         string
		givenData    map[string]any
		expectStatus int
	}{
		{name: "https", givenData: map[string]any{"redirectUris": []string{"https://rp.example/cb"}}, expectStatus: http.StatusCreated},
		{name: "http loopback v4", givenData: map[string]any{"redirectUris": []string{"http://127.0.0.1:8080/cb"}}, expectStatus: http.StatusCreated},
		{name: "http loopback v6", givenData: map[string]any{"redirectUris": []string{"http://[::1]:8080/cb"}}, expectStatus: http.StatusCreated},
		{name: "http localhost", givenData: map[string]any{"redirectUris": []string{"http://localhost/cb"}}, expectStatus: http.StatusCreated},
		{name: "every field", givenData: map[string]any{"redirectUris": []string{"https://rp.example/cb"}, "postLogoutRedirectUris": []string{"https://rp.example/bye"},
			"oidcScopes": []string{"profile", "email", "offline_access", "api:demo"}, "public": true}, expectStatus: http.StatusCreated},
		{name: "http elsewhere", givenData: map[string]any{"redirectUris": []string{"http://rp.example/cb"}}, expectStatus: http.StatusBadRequest},
		{name: "custom scheme", givenData: map[string]any{"redirectUris": []string{"com.example.app:/cb"}}, expectStatus: http.StatusBadRequest},
		{name: "relative", givenData: map[string]any{"redirectUris": []string{"/cb"}}, expectStatus: http.StatusBadRequest},
		{name: "fragment", givenData: map[string]any{"redirectUris": []string{"https://rp.example/cb#x"}}, expectStatus: http.StatusBadRequest},
		{name: "user info", givenData: map[string]any{"redirectUris": []string{"https://u:p@rp.example/cb"}}, expectStatus: http.StatusBadRequest},
		{name: "too long", givenData: map[string]any{"redirectUris": []string{long}}, expectStatus: http.StatusBadRequest},
		{name: "too many", givenData: map[string]any{"redirectUris": many}, expectStatus: http.StatusBadRequest},
		{name: "post-logout http elsewhere", givenData: map[string]any{"postLogoutRedirectUris": []string{"http://rp.example/"}}, expectStatus: http.StatusBadRequest},
		{name: "unknown scope", givenData: map[string]any{"oidcScopes": []string{"phone"}}, expectStatus: http.StatusBadRequest},
		{name: "bad api scope", givenData: map[string]any{"oidcScopes": []string{"api:Demo/x"}}, expectStatus: http.StatusBadRequest},
		{name: "public not a boolean", givenData: map[string]any{"public": "yes"}, expectStatus: http.StatusBadRequest},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		home := s.org("Home", ann)
		app := s.client(home)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				data := map[string]any{"type": "clients", "name": "RP"}
				for k, v := range tt.givenData {
					data[k] = v
				}
				res := s.do(by(app, ann), "POST", clientsPath(home), data)
				if res.Status != tt.expectStatus {
					t.Fatalf("POST = %d %s, want %d", res.Status, res.Raw, tt.expectStatus)
				}
				if tt.expectStatus != http.StatusCreated {
					return
				}
				id, _ := res.data()["id"].(string)
				got := s.do(by(app, ann), "GET", clientsPath(home, id), nil).expect(t, http.StatusOK).data()
				for k, v := range tt.givenData {
					if fmt.Sprint(got[k]) != fmt.Sprint(v) {
						t.Errorf("GET %s = %v, want %v", k, got[k], v)
					}
				}
			})
		}
		t.Run("PATCH sets and clears", func(t *testing.T) {
			res := s.do(by(app, ann), "POST", clientsPath(home), map[string]any{"type": "clients", "name": "RP"}).expect(t, http.StatusCreated)
			id, _ := res.data()["id"].(string)
			s.do(by(app, ann), "PATCH", clientsPath(home, id), map[string]any{"type": "clients", "id": id,
				"redirectUris": []string{"https://rp.example/cb"}, "oidcScopes": []string{"email"}}).expect(t, http.StatusOK)
			c, err := d.GetClient(s.ctx, id)
			if err != nil || strings.Join(c.RedirectURIs, " ") != "https://rp.example/cb" || strings.Join(c.OIDCScopes, " ") != "email" {
				t.Fatalf("stored %+v %v", c, err)
			}
			s.do(by(app, ann), "PATCH", clientsPath(home, id), map[string]any{"type": "clients", "id": id, "redirectUris": []string{}}).expect(t, http.StatusOK)
			if c, _ := d.GetClient(s.ctx, id); len(c.RedirectURIs) != 0 || strings.Join(c.OIDCScopes, " ") != "email" {
				t.Errorf("after clearing the redirect URIs: %+v", c)
			}
		})
	})
}
