package accounts_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// storedSession stores a session of u (through the client clientID, "" for none) with its
// first refresh token, whose plain value it returns with the session.
func (s *stack) storedSession(u db.User, clientID string) (db.Session, string) {
	s.t.Helper()
	now := s.clock.Now()
	sess := db.Session{ID: s.id(), UserID: u.ID, ClientID: clientID, IP: "192.0.2.7", UserAgent: "test-agent/1.0",
		CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(24 * time.Hour).UnixMilli()}
	refresh := "refresh-" + sess.ID
	sum := sha256.Sum256([]byte(refresh))
	if err := s.d.CreateSession(s.ctx, sess, db.RefreshToken{Hash: hex.EncodeToString(sum[:]),
		CreatedMs: sess.CreatedMs, ExpiresMs: sess.ExpiresMs}); err != nil {
		s.t.Fatal(err)
	}
	return sess, refresh
}

// itemIDs returns the "id" members of a collection's items.
func itemIDs(items []map[string]any) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it["id"].(string)
	}
	return out
}

// pageNext returns meta.pg.nextCursor of a collection answer, "" when
// absent.
func (r response) pageNext() string {
	meta, _ := r.Body["meta"].(map[string]any)
	pg, _ := meta["pg"].(map[string]any)
	c, _ := pg["nextCursor"].(string)
	return c
}

func TestSessionsList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		root := s.user("Root", db.RoleSysadmin)
		ann := s.user("Ann")
		home := s.org("Home", root)
		internal := s.client(home, db.ClientRoleInternal)
		external := s.client(home)

		var want []string
		secrets := map[string]string{}
		for i := range 5 {
			owner, clientID := ann, internal.ID
			if i%2 == 1 {
				owner, clientID = root, ""
			}
			sess, refresh := s.storedSession(owner, clientID)
			want = append(want, sess.ID)
			secrets[sess.ID] = refresh
			s.clock.Advance(time.Second)
		}
		if err := d.InvalidateSession(s.ctx, want[0], "logout", db.Revoking{AtMs: s.clock.Now().UnixMilli(), ExpiresMs: s.clock.Now().Add(time.Hour).UnixMilli()}); err != nil {
			t.Fatal(err)
		}

		// SESSADM pages through every session: 2 + 2 + 1, no repeats.
		var got []string
		var pages []response
		cursor := ""
		for range 10 {
			q := url.Values{"pg[size]": {"2"}}
			if cursor != "" {
				q.Set("pg[cursor]", cursor)
			}
			res := s.do(by(internal, root), "GET", "/sessions?"+q.Encode(), nil).expect(t, http.StatusOK)
			pages = append(pages, res)
			got = append(got, itemIDs(res.list())...)
			if cursor = res.pageNext(); cursor == "" {
				break
			}
		}
		if len(pages) != 3 || len(pages[0].list()) != 2 || len(pages[1].list()) != 2 || len(pages[2].list()) != 1 {
			t.Fatalf("%d pages, want 3 of 2, 2 and 1: last %s", len(pages), pages[len(pages)-1].Raw)
		}
		if !equal(got, want) {
			t.Fatalf("sessions %v, want %v in creation order", got, want)
		}
		for _, p := range pages {
			for id, refresh := range secrets {
				if strings.Contains(string(p.Raw), refresh) {
					t.Fatalf("the refresh token of session %s is in the list: %s", id, p.Raw)
				}
			}
		}

		// The shape: null for absent values, reason only when invalidated.
		first, second := pages[0].list()[0], pages[0].list()[1]
		user, _ := first["user"].(map[string]any)
		userData, _ := user["data"].(map[string]any)
		if first["type"] != "sessions" || userData["type"] != "users" || userData["id"] != ann.ID ||
			first["clientId"] != internal.ID || first["ip"] != "192.0.2.7" || first["userAgent"] != "test-agent/1.0" ||
			first["invalidatedMs"] == nil || first["invalidatedReason"] != "logout" || first["refreshedMs"] == nil {
			t.Fatalf("first session = %v", first)
		}
		if v, ok := second["clientId"]; !ok || v != nil {
			t.Fatalf("session without client: clientId = %v (present %v), want null", v, ok)
		}
		if v, ok := second["invalidatedMs"]; !ok || v != nil {
			t.Fatalf("live session: invalidatedMs = %v (present %v), want null", v, ok)
		}
		if _, ok := second["invalidatedReason"]; ok {
			t.Fatalf("live session has an invalidatedReason: %v", second)
		}
		for _, k := range []string{"createdMs", "expiresMs"} {
			if _, ok := second[k].(float64); !ok {
				t.Fatalf("%s = %v, want a number", k, second[k])
			}
		}

		// Not SESSADM: 403.
		s.do(by(internal, ann), "GET", "/sessions", nil).expect(t, http.StatusForbidden, "FORBIDDEN")
		s.do(by(external, root), "GET", "/sessions", nil).expect(t, http.StatusForbidden, "FORBIDDEN")
		s.do(anonymous(internal), "GET", "/sessions", nil).expect(t, http.StatusUnauthorized)
	})
}

func TestSessionsOfUser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		root := s.user("Root", db.RoleSysadmin)
		ann := s.user("Ann")
		bob := s.user("Bob")
		home := s.org("Home", root)
		internal := s.client(home, db.ClientRoleInternal)
		external := s.client(home)
		var annSessions []string
		for range 3 {
			sess, _ := s.storedSession(ann, external.ID)
			annSessions = append(annSessions, sess.ID)
			s.clock.Advance(time.Second)
		}
		s.storedSession(bob, external.ID)

		tests := []struct {
			name         string
			givenCaller  as
			whenPath     string
			expectStatus int
			expectIDs    []string
		}{
			{name: "self through current", givenCaller: by(external, ann), whenPath: "/users/current/sessions", expectStatus: 200, expectIDs: annSessions},
			{name: "self by ID", givenCaller: by(external, ann), whenPath: "/users/" + ann.ID + "/sessions", expectStatus: 200, expectIDs: annSessions},
			{name: "SESSADM", givenCaller: by(internal, root), whenPath: "/users/" + ann.ID + "/sessions", expectStatus: 200, expectIDs: annSessions},
			{name: "no sessions", givenCaller: by(internal, root), whenPath: "/users/current/sessions", expectStatus: 200, expectIDs: []string{}},
			{name: "another user's", givenCaller: by(external, bob), whenPath: "/users/" + ann.ID + "/sessions", expectStatus: 404},
			{name: "no such user", givenCaller: by(internal, root), whenPath: "/users/" + s.id() + "/sessions", expectStatus: 404},
			{name: "sysadmin through an external client", givenCaller: by(external, root), whenPath: "/users/" + ann.ID + "/sessions", expectStatus: 403},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := s.do(tt.givenCaller, "GET", tt.whenPath, nil).expect(t, tt.expectStatus)
				if tt.expectIDs == nil {
					return
				}
				if got := itemIDs(res.list()); !equal(got, tt.expectIDs) {
					t.Fatalf("sessions %v, want %v: %s", got, tt.expectIDs, res.Raw)
				}
				if strings.Contains(string(res.Raw), "refresh-") {
					t.Fatalf("a refresh token is in the answer: %s", res.Raw)
				}
			})
		}
	})
}

func TestSessionsBadCursor(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	root := s.user("Root", db.RoleSysadmin)
	internal := s.client(s.org("Home", root), db.ClientRoleInternal)
	for range 3 {
		s.storedSession(root, internal.ID)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name         string
		givenQuery   url.Values
		expectStatus int
		expectCode   string
	}{
		{name: "not base64url", givenQuery: url.Values{"pg[cursor]": {"!!!"}}, expectStatus: 400, expectCode: "BAD-QUERY"},
		{name: "padded base64", givenQuery: url.Values{"pg[cursor]": {base64.URLEncoding.EncodeToString([]byte("ab"))}}, expectStatus: 400, expectCode: "BAD-QUERY"},
		{name: "control character", givenQuery: url.Values{"pg[cursor]": {b64([]byte("abc\x00"))}}, expectStatus: 400, expectCode: "BAD-QUERY"},
		{name: "longer than an ID", givenQuery: url.Values{"pg[cursor]": {b64([]byte(strings.Repeat("a", 37)))}}, expectStatus: 400, expectCode: "BAD-QUERY"},
		{name: "not UTF-8", givenQuery: url.Values{"pg[cursor]": {b64([]byte{0xff, 0xfe})}}, expectStatus: 400, expectCode: "BAD-QUERY"},
		{name: "size zero", givenQuery: url.Values{"pg[size]": {"0"}}, expectStatus: 400, expectCode: "BAD-QUERY"},
		{name: "size too large", givenQuery: url.Values{"pg[size]": {"101"}}, expectStatus: 400, expectCode: "BAD-QUERY"},
		{name: "unknown sort", givenQuery: url.Values{"sort": {"ip"}}, expectStatus: 400, expectCode: "BAD-QUERY"},
		{name: "cursor past the end", givenQuery: url.Values{"pg[cursor]": {b64([]byte("ffffffff-ffff-7fff-bfff-ffffffffffff"))}}, expectStatus: 200},
		{name: "largest size", givenQuery: url.Values{"pg[size]": {"100"}}, expectStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.do(by(internal, root), "GET", "/sessions?"+tt.givenQuery.Encode(), nil).expect(t, tt.expectStatus)
			if tt.expectCode == "" {
				return
			}
			if res.code() != tt.expectCode {
				t.Fatalf("code %q, want %q: %s", res.code(), tt.expectCode, res.Raw)
			}
			if len(res.obstructionFields()) == 0 {
				t.Fatalf("no obstruction: %s", res.Raw)
			}
		})
	}
}
