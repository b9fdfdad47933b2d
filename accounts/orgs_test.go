package accounts_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

func TestOrganizations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		bob := s.user("Bob")
		home := s.org("Home", ann)
		app := s.client(home)

		created := s.do(by(app, bob), "POST", "/organizations", map[string]any{"type": "organizations", "name": "Bob's"}).expect(t, http.StatusCreated)
		orgID, _ := created.data()["id"].(string)
		if created.data()["name"] != "Bob's" || orgID == "" {
			t.Fatalf("created = %s", created.Raw)
		}
		// The creator is a full member: they can read, rename and list it.
		s.do(by(app, bob), "GET", "/organizations/"+orgID, nil).expect(t, http.StatusOK)
		s.do(by(app, bob), "PATCH", "/organizations/"+orgID, map[string]any{"name": "Bob & co"}).expect(t, http.StatusOK)
		mine := s.do(by(app, bob), "GET", "/organizations", nil).expect(t, http.StatusOK)
		if got := mine.list(); len(got) != 1 || got[0]["name"] != "Bob & co" {
			t.Fatalf("Bob's organizations = %s", mine.Raw)
		}
		// Ann is no member: the organization is hidden from her.
		s.do(by(app, ann), "GET", "/organizations/"+orgID, nil).expect(t, http.StatusNotFound, "NOT-FOUND")
		s.do(by(app, ann), "PATCH", "/organizations/"+orgID, map[string]any{"name": "Ann's now"}).expect(t, http.StatusNotFound)
		// A reader may see it but not rename it: 403.
		s.member(db.Organization{ID: orgID}, ann, "read")
		s.do(by(app, ann), "GET", "/organizations/"+orgID, nil).expect(t, http.StatusOK)
		s.do(by(app, ann), "PATCH", "/organizations/"+orgID, map[string]any{"name": "Ann's now"}).expect(t, http.StatusForbidden, "FORBIDDEN")
		s.do(by(app, ann), "DELETE", "/organizations/"+orgID, nil).expect(t, http.StatusForbidden)
		s.do(by(app, bob), "DELETE", "/organizations/"+orgID, nil).expect(t, http.StatusOK)
		s.do(by(app, bob), "GET", "/organizations/"+orgID, nil).expect(t, http.StatusNotFound)
	})
}

func TestBodyValidation(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	tests := []struct {
		name         string
		givenBody    any
		givenType    string
		expectStatus int
		expectCode   string
		expectFields []string
	}{
		{name: "malformed JSON", givenBody: `{"data": {`, expectStatus: 400, expectCode: "BAD-BODY"},
		{name: "no data", givenBody: `{"name": "x"}`, expectStatus: 400, expectCode: "BAD-BODY"},
		{name: "data not an object", givenBody: `{"data": [1]}`, expectStatus: 400, expectCode: "BAD-BODY"},
		{name: "trailing data", givenBody: `{"data": {"name": "x"}} {}`, expectStatus: 400, expectCode: "BAD-BODY"},
		{name: "every problem at once", givenBody: `{"data": {"type": "users", "name": 5, "color": "red"}}`,
			expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"color", "name", "type"}},
		{name: "missing name", givenBody: `{"data": {}}`, expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"name"}},
		{name: "control character", givenBody: `{"data": {"name": "a\u0000b"}}`, expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"name"}},
		{name: "wrong content type", givenBody: `{"data": {"name": "x"}}`, givenType: "text/plain", expectStatus: 415, expectCode: "UNSUPPORTED-MEDIA-TYPE"},
		{name: "charset is fine", givenBody: `{"data": {"name": "x"}}`, givenType: "application/json; charset=utf-8", expectStatus: 201},
		{name: "over 1 MiB", givenBody: `{"data": {"name": "` + string(make([]byte, 0)) + string(bytesOf('a', 1<<20)) + `"}}`, expectStatus: 413, expectCode: "BODY-TOO-LARGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.doTyped(by(app, ann), "POST", "/organizations", tt.givenBody.(string), tt.givenType)
			res.expect(t, tt.expectStatus)
			if tt.expectCode != "" && res.code() != tt.expectCode {
				t.Fatalf("code %q, want %q: %s", res.code(), tt.expectCode, res.Raw)
			}
			if tt.expectFields != nil {
				if got := res.obstructionFields(); !equal(got, tt.expectFields) {
					t.Fatalf("obstructions on %v, want %v: %s", got, tt.expectFields, res.Raw)
				}
			}
		})
	}
}

func bytesOf(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSlowBody: a client that trickles its body is cut off at
// BodyTimeout with 408, and the connection is not held longer.
func TestSlowBody(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), func(c *accounts.Config) { c.BodyTimeout = 300 * time.Millisecond })
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	req := s.newRequest(app, "POST", "/organizations", nil)
	s.authorize(req, by(app, ann), "POST")
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /accounts/v1/organizations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n" +
		"Authorization: " + req.Header.Get("Authorization") + "\r\n\r\n{\"data\":"
	start := time.Now()
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "BODY-TIMEOUT") {
		t.Fatalf("answer %d %s, want 408 BODY-TIMEOUT", res.StatusCode, body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cut off after %v", d)
	}
}
