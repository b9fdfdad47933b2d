package demo_test

import (
	"crypto/ecdsa"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authgw/authgw/gateway/demo"
	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// demoIssuer is the issuer the demo handler of these tests expects.
const demoIssuer = "authgw:test-server"

// demoInfo returns an X-Auth-Info token signed by key for the claims.
func demoInfo(t *testing.T, key *ecdsa.PrivateKey, c requestinfo.Claims) string {
	t.Helper()
	s, err := infosign.NewSigner(infosign.SignerConfig{Key: key, Issuer: demoIssuer})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newTestKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := infosign.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// demoAnswer is one answer of the demo handler.
type demoAnswer struct {
	status int
	body   string
}

// TestDemoBackend checks the demo backend's handler: it refuses requests
// without valid request info, says who is calling, and keeps each user's
// notes.
func TestDemoBackend(t *testing.T) {
	key, other := newTestKey(t), newTestKey(t)
	h, err := demo.NewHandler(demo.Config{Key: &key.PublicKey, Issuer: demoIssuer})
	if err != nil {
		t.Fatal(err)
	}
	claims := func(user string) requestinfo.Claims {
		c := requestinfo.Claims{Client: "client-1", SecretVerified: true, ClientRoles: []string{"system"}, IP: "127.0.0.1", Audience: demo.APIName}
		if user != "" {
			c.User = &requestinfo.UserClaims{ID: user, SessionID: "session-of-" + user, Roles: []string{"user"}}
		}
		return c
	}
	valid := func(user string) string { return demoInfo(t, key, claims(user)) }
	call := func(method, path, info, body string) demoAnswer {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req := httptest.NewRequest(method, path, r)
		if info != "" {
			infosign.SetHeaders(req.Header, info)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return demoAnswer{rec.Code, rec.Body.String()}
	}

	t.Run("request info", func(t *testing.T) {
		wrongAudience := claims("u1")
		wrongAudience.Audience = "reports"
		otherIssuer, err := infosign.NewSigner(infosign.SignerConfig{Key: key, Issuer: "authgw:elsewhere"})
		if err != nil {
			t.Fatal(err)
		}
		fromElsewhere, err := otherIssuer.Sign(claims("u1"))
		if err != nil {
			t.Fatal(err)
		}
		good := valid("u1")
		tampered := good[:len(good)-4] + "AAAA"
		tests := []struct {
			name         string
			whenInfo     string
			expectStatus int
			expectBody   string
		}{
			{"missing", "", 401, `"code":"AUTH-INFO-MISSING"`},
			{"not a JWS", "a.b.c", 401, `"code":"AUTH-INFO-INVALID"`},
			{"signed by another key", demoInfo(t, other, claims("u1")), 401, `"code":"AUTH-INFO-INVALID"`},
			{"signature tampered with", tampered, 401, `"code":"AUTH-INFO-INVALID"`},
			{"for another API", demoInfo(t, key, wrongAudience), 401, `"code":"AUTH-INFO-INVALID"`},
			{"from another server", fromElsewhere, 401, `"code":"AUTH-INFO-INVALID"`},
			{"valid", good, 200, `{"hello":"from the demo backend","path":"/hello","method":"GET","client":"client-1","user":"u1","session":"session-of-u1"}`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := call("GET", "/hello", tt.whenInfo, "")
				if got.status != tt.expectStatus || !strings.Contains(got.body, tt.expectBody) {
					t.Errorf("GET /hello = %d %s, want %d containing %s", got.status, got.body, tt.expectStatus, tt.expectBody)
				}
			})
		}
	})

	t.Run("notes", func(t *testing.T) {
		u1, u2, anonymous := valid("u1"), valid("u2"), valid("")
		steps := []struct {
			name         string
			whenMethod   string
			whenPath     string
			whenInfo     string
			whenBody     string
			expectStatus int
			expectBody   string
		}{
			{"none yet", "GET", "/notes", u1, "", 200, `{"notes":[]}`},
			{"create", "POST", "/notes/u1_shopping", u1, `{"text":"milk"}`, 201, `{"id":"u1_shopping","user":"u1","text":"milk"}`},
			{"create again", "POST", "/notes/u1_shopping", u1, `{"text":"eggs"}`, 409, `"code":"NOTE-EXISTS"`},
			{"replace", "PUT", "/notes/u1_shopping", u1, `{"text":"eggs"}`, 200, `"text":"eggs"`},
			{"create by PUT", "PUT", "/notes/u1_todo", u1, `{"text":"call Bob"}`, 201, `"id":"u1_todo"`},
			{"read", "GET", "/notes/u1_shopping", u1, "", 200, `{"id":"u1_shopping","user":"u1","text":"eggs"}`},
			{"list", "GET", "/notes", u1, "", 200, `{"notes":[{"id":"u1_shopping","user":"u1","text":"eggs"},{"id":"u1_todo","user":"u1","text":"call Bob"}]}`},
			{"another user's list", "GET", "/notes", u2, "", 200, `{"notes":[]}`},
			{"another user reads", "GET", "/notes/u1_shopping", u2, "", 403, `"code":"NOT-YOUR-NOTE"`},
			{"another user writes", "PUT", "/notes/u1_shopping", u2, `{"text":"x"}`, 403, `"code":"NOT-YOUR-NOTE"`},
			{"another user deletes", "DELETE", "/notes/u1_shopping", u2, "", 403, `"code":"NOT-YOUR-NOTE"`},
			{"a user ID that only starts like the caller's", "PUT", "/notes/u12_x", u1, `{"text":"x"}`, 403, `"code":"NOT-YOUR-NOTE"`},
			{"no user", "GET", "/notes", anonymous, "", 403, `"code":"NO-USER"`},
			{"bad name", "PUT", "/notes/u1_a%20b", u1, `{"text":"x"}`, 400, `"code":"BAD-NOTE-NAME"`},
			{"nested name", "PUT", "/notes/u1_a/b", u1, `{"text":"x"}`, 400, `"code":"BAD-NOTE-NAME"`},
			{"no body", "PUT", "/notes/u1_x", u1, "", 400, `"code":"BAD-BODY"`},
			{"no text", "PUT", "/notes/u1_x", u1, `{}`, 400, `"code":"BAD-BODY"`},
			{"unknown field", "PUT", "/notes/u1_x", u1, `{"text":"x","color":"red"}`, 400, `"code":"BAD-BODY"`},
			{"too large", "PUT", "/notes/u1_x", u1, `{"text":"` + strings.Repeat("x", demo.MaxNoteBody) + `"}`, 400, `"code":"BAD-BODY"`},
			{"list takes only GET", "POST", "/notes", u1, `{"text":"x"}`, 405, `"code":"METHOD-NOT-ALLOWED"`},
			{"hello takes only GET", "POST", "/hello", u1, `{"text":"x"}`, 405, `"code":"METHOD-NOT-ALLOWED"`},
			{"delete", "DELETE", "/notes/u1_shopping", u1, "", 200, `{"deleted":"u1_shopping"}`},
			{"delete again", "DELETE", "/notes/u1_shopping", u1, "", 404, `"code":"NOT-FOUND"`},
			{"read deleted", "GET", "/notes/u1_shopping", u1, "", 404, `"code":"NOT-FOUND"`},
			{"without request info", "GET", "/notes", "", "", 401, `"code":"AUTH-INFO-MISSING"`},
		}
		for _, s := range steps {
			got := call(s.whenMethod, s.whenPath, s.whenInfo, s.whenBody)
			if got.status != s.expectStatus || !strings.Contains(got.body, s.expectBody) {
				t.Errorf("%s: %s %s = %d %s, want %d containing %s", s.name, s.whenMethod, s.whenPath, got.status, got.body,
					s.expectStatus, s.expectBody)
			}
		}
	})

	t.Run("full", func(t *testing.T) {
		h, err := demo.NewHandler(demo.Config{Key: &key.PublicKey, Issuer: demoIssuer})
		if err != nil {
			t.Fatal(err)
		}
		info := valid("u1")
		put := func(name string) int {
			req := httptest.NewRequest("PUT", "/notes/u1_"+name, strings.NewReader(`{"text":"x"}`))
			infosign.SetHeaders(req.Header, info)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code
		}
		for i := range demo.MaxNotes {
			if code := put(fmt.Sprintf("n%04d", i)); code != http.StatusCreated {
				t.Fatalf("note %d: %d", i, code)
			}
		}
		if code := put("one-more"); code != http.StatusConflict {
			t.Errorf("note %d: %d, want 409", demo.MaxNotes+1, code)
		}
		if code := put("n0000"); code != http.StatusOK {
			t.Errorf("replacing a note when full: %d, want 200", code)
		}
	})
}
