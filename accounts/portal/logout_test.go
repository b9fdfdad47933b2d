package portal_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authgw/authgw/verifier/requestinfo"
)

// acctTokenless calls POST /sessions/logout of the accounts service
// in-process as a caller without a token (the sign-out page's call),
// through the client client, with body raw ("" for none) and the
// cookies.
func (s *stack) acctTokenless(client, raw string, cookies ...*http.Cookie) (int, string, http.Header) {
	s.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/accounts/v1/sessions/logout", strings.NewReader(raw))
	if raw != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	req = req.WithContext(requestinfo.NewContext(req.Context(), requestinfo.Claims{Client: client, IP: "192.0.2.7"}))
	rec := httptest.NewRecorder()
	s.svc.ServeHTTP(rec, req)
	var env struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &env)
	return rec.Code, env.Error.Code, rec.Header()
}

func acctRefreshBody(tokens ...string) string {
	var items []map[string]string
	for _, t := range tokens {
		items = append(items, map[string]string{"t": "refresh-tokens", "value": t})
	}
	raw, _ := json.Marshal(map[string]any{"data": items})
	return string(raw)
}

// TestLogoutWithoutToken: the attacks on logout by refresh token alone.
func TestLogoutWithoutToken(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann, bob := s.user("Ann Smith"), s.user("Bob Jones")
	annSess := s.browser().acctSignIn(ann)
	bobSess := s.browser().acctSignIn(bob)

	// Nothing named: 401 LOGIN-REQUIRED, as before this path existed.
	if st, code, _ := s.acctTokenless(s.clientID, ""); st != http.StatusUnauthorized || code != "LOGIN-REQUIRED" {
		t.Errorf("no token, no refresh token: %d %s", st, code)
	}
	// A session by ID needs its user.
	if st, _, _ := s.acctTokenless(s.clientID, `{"data":[{"t":"sessions","value":"`+annSess.SessionID+`"}]}`); st != http.StatusUnauthorized {
		t.Errorf("a session by ID without a token: %d", st)
	}
	if st, _, _ := s.acctTokenless(s.clientID, `{"data":{"sessions":[{"t":"sessions","value":"`+annSess.SessionID+`"}],"currentPassword":"`+testPassword+`"}}`); st != http.StatusUnauthorized {
		t.Errorf("a session by ID with a password, without a token: %d", st)
	}
	// Hostile bodies: 4xx, never 5xx, nothing ends.
	for _, raw := range []string{`{`, `{"data":[]}`, `{"data":"x"}`, `{"data":[{"t":"refresh-tokens","value":""}]}`,
		`{"data":[{"t":"refresh-tokens","value":"` + strings.Repeat("a", 4096) + `"}]}`, acctRefreshBody("unknown-token")} {
		if st, _, _ := s.acctTokenless(s.clientID, raw); st < 400 || st >= 500 {
			t.Errorf("body %.60s: %d", raw, st)
		}
	}
	// Another client holding the refresh token cannot use it.
	if st, code, _ := s.acctTokenless("some-other-client", acctRefreshBody(annSess.Refresh)); st != http.StatusUnauthorized || code != "SESSION-INVALIDATED" {
		t.Errorf("another client: %d %s", st, code)
	}
	// One good and one bad token: all or nothing.
	if st, _, _ := s.acctTokenless(s.clientID, acctRefreshBody(annSess.Refresh, "unknown-token")); st != http.StatusUnauthorized {
		t.Errorf("a good and a bad token: %d", st)
	}
	if !s.acctSessionLive(annSess) || !s.acctSessionLive(bobSess) {
		t.Fatal("a refused logout ended a session")
	}

	// Bob's refresh token ends Bob's session only, and clears the
	// caller's cookies.
	st, code, h := s.acctTokenless(s.clientID, acctRefreshBody(bobSess.Refresh))
	if st != http.StatusOK || !acctClearsCookies(h) {
		t.Fatalf("logout by refresh token: %d %s %q", st, code, h.Values("Set-Cookie"))
	}
	if s.acctSessionLive(bobSess) || !s.acctSessionLive(annSess) {
		t.Error("the logout ended the wrong session")
	}

	// A spent refresh token (rotated by a refresh) ends nothing.
	status, env := s.browser().acctAPI(http.MethodPost, "/sessions/refresh", map[string]any{"token": annSess.Refresh})
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, env)
	}
	if st, code, _ := s.acctTokenless(s.clientID, acctRefreshBody(annSess.Refresh)); st != http.StatusUnauthorized || code != "SESSION-INVALIDATED" {
		t.Errorf("a spent token: %d %s", st, code)
	}
	if !s.acctSessionLive(annSess) {
		t.Error("a spent refresh token ended the session")
	}
	// The new one, as a cookie without a body.
	next := env["data"].(map[string]any)["refresh"].(string)
	cookie := &http.Cookie{Name: "authgw-refresh", Value: next}
	if st, code, _ := s.acctTokenless(s.clientID, "", cookie); st != http.StatusOK {
		t.Errorf("logout by refresh cookie: %d %s", st, code)
	}
	if s.acctSessionLive(annSess) {
		t.Error("the logout by cookie did not end the session")
	}

	// From outside, the gateway still asks for a token: a refresh token
	// alone does not get through it.
	carol := s.user("Carol King")
	carolSess := s.browser().acctSignIn(carol)
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/accounts/v1/sessions/logout", bytes.NewReader([]byte(acctRefreshBody(carolSess.Refresh))))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(s.clientID, "")
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || !s.acctSessionLive(carolSess) {
		t.Errorf("through the gateway without a token: %d", res.StatusCode)
	}
	acctCheckLogs(t, s, annSess.Refresh, bobSess.Refresh, next)
}
