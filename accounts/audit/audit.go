package audit

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/authgw/authgw/db"
)

// storeTimeout bounds the storing of one event. The store is asked with
// the request's values but not its cancellation: a caller that hangs up
// once its action is done must not erase the record of the action.
const storeTimeout = 5 * time.Second

// Store is where events go (db.DB).
type Store interface {
	InsertAuditEvent(ctx context.Context, e db.AuditEvent) error
}

var _ Store = (*db.DB)(nil)

// Config configures a Recorder.
type Config struct {
	// Store keeps the events. Required.
	Store Store
	// Logger gets one line per event (level info, message "audit") and
	// the failures to store one (level error). Optional. Default
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// Rand is the source of the events' IDs. Optional. Default
	// crypto/rand.Reader.
	Rand io.Reader
}

// Recorder records events. It is safe for concurrent use.
type Recorder struct {
	cfg Config
}

// New returns a Recorder. It fails without a store.
func New(cfg Config) (*Recorder, error) {
	if cfg.Store == nil {
		return nil, errors.New("audit: Config.Store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &Recorder{cfg: cfg}, nil
}

// Event is one event to record. Fields left "" are filled from the
// context's Actor (see WithActor).
type Event struct {
	// Type is one of Types. Required.
	Type string
	// Failed makes the outcome a failure; Reason says why (a stable code,
	// at most 64 bytes). A success may carry a reason too (why a session
	// ended).
	Failed bool
	Reason string
	// ActorUserID, ActorClientID and IP: who acted and from where.
	// Optional. Default: the context's Actor.
	ActorUserID, ActorClientID, IP string
	// SubjectUserID is the user acted on; OrgID the organization.
	SubjectUserID, OrgID string
	// Data holds the details Types documents for Type; other keys are
	// dropped (and logged).
	Data map[string]string
}

// Actor is who sends the request being served: the signed-in user, the
// client and the client IP.
type Actor struct {
	UserID, ClientID, IP string
}

type actorKey struct{}

// WithActor returns ctx carrying a: events recorded with it name a as
// their actor.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the Actor of ctx, the zero Actor when none.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// Record stores e and logs it; it returns the stored row. A failure to
// store is logged at level error with the whole event, never returned:
// the action it records has happened.
func (r *Recorder) Record(ctx context.Context, e Event) db.AuditEvent {
	a := ActorFrom(ctx)
	row := db.AuditEvent{
		ID: db.NewID(r.cfg.Now(), r.cfg.Rand), TimeMs: r.cfg.Now().UnixMilli(), Type: e.Type, Outcome: db.AuditSuccess,
		Reason: clip(e.Reason, 64), ActorUserID: or(e.ActorUserID, a.UserID), ActorClientID: or(e.ActorClientID, a.ClientID),
		SubjectUserID: e.SubjectUserID, OrgID: e.OrgID, IP: or(e.IP, a.IP),
	}
	if e.Failed {
		row.Outcome = db.AuditFailure
	}
	t, known := typeIndex[e.Type]
	if !known {
		r.cfg.Logger.Error("audit: an event of an undocumented type", "type", e.Type)
	}
	for _, k := range slices.Sorted(maps.Keys(e.Data)) {
		if !slices.Contains(t.Data, k) {
			r.cfg.Logger.Error("audit: an undocumented data key is dropped", "type", e.Type, "key", k)
			continue
		}
		if e.Data[k] == "" {
			continue
		}
		if strings.Contains(e.Data[k], "@") {
			// Values are IDs and codes; one with an @ may be a mail
			// address, which the log never holds.
			r.cfg.Logger.Error("audit: a data value that may be a mail address is dropped", "type", e.Type, "key", k)
			continue
		}
		if row.Data == nil {
			row.Data = map[string]string{}
		}
		row.Data[k] = clip(e.Data[k], 512)
	}
	attrs := []any{"type", row.Type, "outcome", row.Outcome, "reason", row.Reason, "actor", row.ActorUserID,
		"client", row.ActorClientID, "subject", row.SubjectUserID, "org", row.OrgID, "ip", row.IP, "id", row.ID}
	if len(row.Data) > 0 {
		data := make([]any, 0, 2*len(row.Data))
		for _, k := range slices.Sorted(maps.Keys(row.Data)) {
			data = append(data, k, row.Data[k])
		}
		attrs = append(attrs, slog.Group("data", data...))
	}
	r.cfg.Logger.Info("audit", attrs...)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := r.cfg.Store.InsertAuditEvent(sctx, row); err != nil {
		r.cfg.Logger.Error("audit: storing an event failed; the line above is its only record", append(attrs, "err", err)...)
	}
	return row
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// clip cuts s to at most n bytes (on a byte boundary: the values are
// IDs and codes, ASCII).
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// View is an event as the API (GET /accounts/v1/audit-events) and
// authgw audit tail --json show it.
type View struct {
	Type           string            `json:"type"`
	ID             string            `json:"id"`
	Event          string            `json:"event"`
	Outcome        string            `json:"outcome"`
	Reason         string            `json:"reason"`
	TimeMs         int64             `json:"timeMs"`
	ActorUserID    string            `json:"actorUserId"`
	ActorClientID  string            `json:"actorClientId"`
	SubjectUserID  string            `json:"subjectUserId"`
	OrganizationID string            `json:"organizationId"`
	IP             string            `json:"ip"`
	Data           map[string]string `json:"data"`
}

// ViewOf returns the View of e; its Data is never nil ({} for none).
func ViewOf(e db.AuditEvent) View {
	data := e.Data
	if data == nil {
		data = map[string]string{}
	}
	return View{Type: "audit-events", ID: e.ID, Event: e.Type, Outcome: e.Outcome, Reason: e.Reason, TimeMs: e.TimeMs,
		ActorUserID: e.ActorUserID, ActorClientID: e.ActorClientID, SubjectUserID: e.SubjectUserID, OrganizationID: e.OrgID,
		IP: e.IP, Data: data}
}
