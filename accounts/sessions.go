package accounts

import (
	"encoding/base64"
	"net/http"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/verifier/envelope"
)

// sessionResourceOut is a session as GET /sessions shows it (the
// {"t":"session"} answer of a login is sessionOut). Refresh tokens are
// never part of it.
type sessionResourceOut struct {
	Type              string  `json:"type"`
	ID                string  `json:"id"`
	User              ref     `json:"user"`
	ClientID          *string `json:"clientId"`
	IP                string  `json:"ip"`
	UserAgent         string  `json:"userAgent"`
	CreatedMs         int64   `json:"createdMs"`
	ExpiresMs         int64   `json:"expiresMs"`
	RefreshedMs       *int64  `json:"refreshedMs"`
	InvalidatedMs     *int64  `json:"invalidatedMs"`
	InvalidatedReason string  `json:"invalidatedReason,omitempty"`
}

func sessionResourceJSON(s db.Session) sessionResourceOut {
	out := sessionResourceOut{Type: "sessions", ID: s.ID, User: refTo("users", s.UserID), IP: s.IP, UserAgent: s.UserAgent,
		CreatedMs: s.CreatedMs, ExpiresMs: s.ExpiresMs, InvalidatedReason: s.InvalidatedReason}
	if s.ClientID != "" {
		out.ClientID = &s.ClientID
	}
	if s.RefreshedMs != 0 {
		out.RefreshedMs = &s.RefreshedMs
	}
	if s.InvalidatedMs != 0 {
		out.InvalidatedMs = &s.InvalidatedMs
	}
	return out
}

func sessionResourcesJSON(ss []db.Session) []sessionResourceOut {
	out := make([]sessionResourceOut, len(ss))
	for i, s := range ss {
		out[i] = sessionResourceJSON(s)
	}
	return out
}

// maxSessionCursorID is the longest session ID a cursor may carry: the
// width of the sessions.id column.
const maxSessionCursorID = 36

// encodeSessionCursor returns the cursor of the page that follows the
// session id: the base64url (unpadded) encoding of the ID.
func encodeSessionCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

// decodeSessionCursor returns the session ID a cursor of
// encodeSessionCursor carries; "" is the first page. It fails with 400
// BAD-QUERY when the cursor is not base64url or does not hold an ID (1 to
// 36 printable ASCII characters).
func decodeSessionCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	ok := err == nil && len(raw) >= 1 && len(raw) <= maxSessionCursorID
	for _, c := range raw {
		if c <= ' ' || c > '~' {
			ok = false
		}
	}
	if !ok {
		e := envelope.New(http.StatusBadRequest, CodeBadQuery, "The query has problems; see obstructions.")
		e.Obstructions = []envelope.Obstruction{{Code: ObstructionInvalid,
			Text: "pg[cursor] is not a cursor this list returned.", Params: map[string]any{"field": "pg[cursor]"}}}
		return "", e
	}
	return string(raw), nil
}

// listSessions lists every session, live or not, in ID (creation) order,
// a page at a time. It reads one session more than the page holds to know
// whether a next page exists.
func (s *Service) listSessions(r *request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	after, err := decodeSessionCursor(p.Cursor)
	if err != nil {
		return err
	}
	ss, err := s.management.ListSessions(r.ctx(), after, p.Size+1)
	if err != nil {
		return err
	}
	var info db.PageInfo
	if len(ss) > p.Size {
		ss = ss[:p.Size]
		info.Next = encodeSessionCursor(ss[len(ss)-1].ID)
	}
	return collection(r, sessionResourcesJSON(ss), p.Size, info)
}

// listUserSessions lists every session of the target user, oldest first.
func (s *Service) listUserSessions(r *request) error {
	ss, err := s.management.ListUserSessions(r.ctx(), r.target.user.ID)
	if err != nil {
		return err
	}
	return collection(r, sessionResourcesJSON(ss), len(ss), db.PageInfo{})
}
