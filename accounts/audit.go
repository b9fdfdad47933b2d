package accounts

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/verifier/envelope"
)

// The audit log: every security event the service sees is recorded
// through record (one row of audit_events and one log line, see package
// audit) and listed to sysadmins at GET /audit-events.

// AuditStore is what the audit log uses of the store: writing events
// and listing them.
type AuditStore interface {
	InsertAuditEvent(ctx context.Context, e db.AuditEvent) error
	ListAuditEvents(ctx context.Context, f db.AuditFilter, p db.Page) ([]db.AuditEvent, db.PageInfo, error)
}

var _ AuditStore = (*db.DB)(nil)

// withActor puts the caller into the request context, so that every
// event recorded while serving the request names who sent it, from where,
// even from code that sees only the context.
func withActor(ctx context.Context, c *Caller) context.Context {
	return audit.WithActor(ctx, audit.Actor{UserID: c.userID(), ClientID: c.ClientID, IP: c.IP})
}

// AuditRecorder returns the recorder of the service's audit log, for the
// pages served with it (package portal) to record their own events in
// the same log.
func (s *Service) AuditRecorder() *audit.Recorder { return s.recorder }

// record records e (see audit.Recorder.Record: a failure to store it is
// logged, not returned).
func (s *Service) record(ctx context.Context, e audit.Event) {
	s.recorder.Record(ctx, e)
}

// recordRefusal records a refused security step (a login step, a
// step-up proof, a password change) when err is the caller's 4xx: a
// lockout as lockedType, any other refusal as failedType with the error
// code as reason. Server errors and success record nothing here.
func (s *Service) recordRefusal(ctx context.Context, err error, failedType, lockedType, subject string, data map[string]string) {
	var e *envelope.Error
	if err == nil || !errors.As(err, &e) || e.Status < 400 || e.Status >= 500 {
		return
	}
	// A malformed body proves nothing about anyone: not a failed attempt.
	if e.Code == CodeBadBody || e.Code == CodeInvalidData || e.Code == CodeUnknownEndpoint ||
		e.Status == http.StatusRequestEntityTooLarge || e.Status == http.StatusUnsupportedMediaType {
		return
	}
	typ := failedType
	if e.Code == CodeRegulated && lockedType != "" {
		typ = lockedType
	}
	s.record(ctx, audit.Event{Type: typ, Failed: true, Reason: e.Code, SubjectUserID: subject, Data: data})
}

// auditSubjectKey names, in a request's Echo context, the user a login
// step found (recordRefusal's subject).
const auditSubjectKey = "accounts.audit.subject"

// auditSubject notes that the request's login step is about the user id.
func auditSubject(r *request, id string) { r.Set(auditSubjectKey, id) }

// auditSubjectOf returns the user auditSubject noted, "" for none.
func auditSubjectOf(r *request) string {
	id, _ := r.Get(auditSubjectKey).(string)
	return id
}

func auditEventsJSON(es []db.AuditEvent) []audit.View {
	out := make([]audit.View, len(es))
	for i, e := range es {
		out[i] = audit.ViewOf(e)
	}
	return out
}

// maxAuditFilterID is the longest user or organization ID a filter
// takes: the width of the ID columns.
const maxAuditFilterID = 36

// auditFilterOf reads the filters of GET /audit-events: user (actor or
// subject), organization, type (repeated, or a comma-separated list, each
// a known type), since and until (RFC 3339, since before until). Every
// problem comes back at once, as 400 BAD-QUERY obstructions.
func auditFilterOf(r *request) (db.AuditFilter, error) {
	q := r.QueryParams()
	var f db.AuditFilter
	var obs []envelope.Obstruction
	bad := func(field, text string) {
		obs = append(obs, envelope.Obstruction{Code: ObstructionInvalid, Text: text, Params: map[string]any{"field": field}})
	}
	id := func(field string) string {
		v := q.Get(field)
		if len(q[field]) > 1 || len(v) > maxAuditFilterID || hasControl(v) || strings.TrimSpace(v) != v {
			bad(field, field+" must be one ID of at most 36 characters.")
			return ""
		}
		return v
	}
	f.UserID, f.OrgID = id("user"), id("organization")
	typesOK := true
	for _, list := range q["type"] {
		for t := range strings.SplitSeq(list, ",") {
			switch {
			case !typesOK:
			case !audit.Known(t):
				bad("type", "type must be event types such as login.failed, one per type parameter or comma-separated; see the README's list.")
				typesOK = false
			case len(f.Types) >= db.MaxAuditTypes:
				bad("type", "type names at most 32 types.")
				typesOK = false
			default:
				f.Types = append(f.Types, t)
			}
		}
	}
	at := func(field string) int64 {
		v := q.Get(field)
		if v == "" {
			return 0
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || len(q[field]) > 1 || t.UnixMilli() <= 0 {
			bad(field, field+" must be one RFC 3339 time such as 2026-12-01T00:00:00Z.")
			return 0
		}
		return t.UnixMilli()
	}
	f.SinceMs, f.UntilMs = at("since"), at("until")
	if f.UntilMs != 0 && f.UntilMs <= f.SinceMs {
		bad("until", "until must be after since.")
	}
	if len(obs) > 0 {
		e := envelope.New(http.StatusBadRequest, CodeBadQuery, "The query has problems; see obstructions.")
		e.Obstructions = obs
		return f, e
	}
	return f, nil
}

// listAuditEvents is GET /audit-events: the events the filters select,
// in creation order (oldest first, as every list; follow
// meta.pg.prevCursor from a last page to walk back from the newest).
func (s *Service) listAuditEvents(r *request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	f, err := auditFilterOf(r)
	if err != nil {
		return err
	}
	events, info, err := s.audits.ListAuditEvents(r.ctx(), f, p)
	if err != nil {
		return err
	}
	return collection(r, auditEventsJSON(events), p.Size, info)
}
