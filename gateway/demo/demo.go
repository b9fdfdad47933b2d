package demo

import (
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/authgw/authgw/verifier/envelope"
	"github.com/authgw/authgw/verifier/requestinfo"
)

const (
	// APIName and APIVersion are what the demo is registered as, so that
	// the gateway routes /demo/v1/... to it; the request info it accepts
	// is for the audience APIName.
	APIName    = "demo"
	APIVersion = 1
	// maxDemoNotes bounds the notes the demo keeps, all users together.
	maxDemoNotes = 1000
	// maxDemoNoteBody bounds a note's request body.
	maxDemoNoteBody = 4 << 10
)

// demoNoteName is what may follow "<userId>_" in a note's ID.
var demoNoteName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// demoBackend answers the demo's requests once their request info has
// been verified.
type demoBackend struct {
	mu    sync.Mutex
	notes map[string]Note // by ID
}

// Note is one note.
type Note struct {
	ID   string `json:"id"`
	User string `json:"user"`
	Text string `json:"text"`
}

// Hello is the demo's answer to a GET outside /notes.
type Hello struct {
	Hello   string `json:"hello"`
	Path    string `json:"path"`
	Method  string `json:"method"`
	Client  string `json:"client"`
	User    string `json:"user"`
	Session string `json:"session"`
}

// Config configures the demo backend's handler.
type Config struct {
	// Key is the public half of the gateway's request-info signing key.
	// Required.
	Key *ecdsa.PublicKey
	// Issuer is the request info's issuer, "authgw:<server-id>".
	// Required.
	Issuer string
}

// NewHandler returns the demo backend: every request must carry the
// gateway's X-Auth-Info for the audience demo, signed by cfg.Key with
// the issuer cfg.Issuer, else it is 401 (the JSON error envelope). It
// errors when cfg lacks Key or Issuer.
//
//	GET  /anything              {"hello":"from the demo backend","path","method","client","user","session"}
//	GET  /notes                 {"notes":[...]}: the caller's notes
//	GET  /notes/<userId>_<name> the note
//	POST /notes/<userId>_<name> {"text":"..."}: creates it (201; 409 when it exists)
//	PUT  /notes/<userId>_<name> {"text":"..."}: creates or replaces it
//	DELETE /notes/<userId>_<name>
//
// A note belongs to the user in its ID: others get 403, whatever the
// gateway let through.
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.Key == nil || cfg.Issuer == "" {
		return nil, errors.New("demo: Config.Key and Config.Issuer are required")
	}
	v, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{cfg.Key}, Audience: APIName, Issuer: cfg.Issuer})
	if err != nil {
		return nil, err
	}
	return requestinfo.Middleware(v)(&demoBackend{notes: map[string]Note{}}), nil
}

func (d *demoBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	claims, _ := requestinfo.ClaimsFrom(r.Context())
	var user, session string
	if claims.User != nil {
		user, session = claims.User.ID, claims.User.SessionID
	}
	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	if path == "/notes" || strings.HasPrefix(path, "/notes/") {
		d.serveNotes(w, r, user, strings.TrimPrefix(strings.TrimPrefix(path, "/notes"), "/"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		envelope.Write(w, envelope.New(http.StatusMethodNotAllowed, "METHOD-NOT-ALLOWED",
			"The demo answers GET here; notes take POST, PUT and DELETE at /notes/<your user ID>_<name>."))
		return
	}
	writeDemoJSON(w, http.StatusOK, Hello{Hello: "from the demo backend", Path: path, Method: r.Method,
		Client: claims.Client, User: user, Session: session})
}

// serveNotes serves /notes (id "") and /notes/<id> for the user.
func (d *demoBackend) serveNotes(w http.ResponseWriter, r *http.Request, user, id string) {
	if user == "" {
		envelope.Write(w, envelope.New(http.StatusForbidden, "NO-USER", "Notes belong to users: log in first."))
		return
	}
	if id == "" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			envelope.Write(w, envelope.New(http.StatusMethodNotAllowed, "METHOD-NOT-ALLOWED",
				"GET /notes lists your notes; write one at /notes/<your user ID>_<name>."))
			return
		}
		d.mu.Lock()
		notes := []Note{}
		for _, n := range d.notes {
			if n.User == user {
				notes = append(notes, n)
			}
		}
		d.mu.Unlock()
		slices.SortFunc(notes, func(a, b Note) int { return strings.Compare(a.ID, b.ID) })
		writeDemoJSON(w, http.StatusOK, map[string][]Note{"notes": notes})
		return
	}
	name, mine := strings.CutPrefix(id, user+"_")
	if !mine {
		envelope.Write(w, envelope.New(http.StatusForbidden, "NOT-YOUR-NOTE", "Your notes are /notes/<your user ID>_<name>."))
		return
	}
	if !demoNoteName.MatchString(name) {
		envelope.Write(w, envelope.New(http.StatusBadRequest, "BAD-NOTE-NAME", "A note's name is 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'."))
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		d.mu.Lock()
		n, ok := d.notes[id]
		d.mu.Unlock()
		if !ok {
			envelope.Write(w, envelope.New(http.StatusNotFound, "NOT-FOUND", "There is no such note."))
			return
		}
		writeDemoJSON(w, http.StatusOK, n)
	case http.MethodPost, http.MethodPut:
		text, err := readDemoNote(w, r)
		if err != nil {
			envelope.Write(w, envelope.New(http.StatusBadRequest, "BAD-BODY", `Send {"text":"..."}, at most 4 KiB: `+err.Error()))
			return
		}
		n := Note{ID: id, User: user, Text: text}
		d.mu.Lock()
		_, exists := d.notes[id]
		switch {
		case exists && r.Method == http.MethodPost:
			d.mu.Unlock()
			envelope.Write(w, envelope.New(http.StatusConflict, "NOTE-EXISTS", "The note exists already: PUT replaces it."))
			return
		case !exists && len(d.notes) >= maxDemoNotes:
			d.mu.Unlock()
			envelope.Write(w, envelope.New(http.StatusConflict, "DEMO-FULL", fmt.Sprintf("The demo keeps at most %d notes.", maxDemoNotes)))
			return
		}
		d.notes[id] = n
		d.mu.Unlock()
		status := http.StatusOK
		if !exists {
			status = http.StatusCreated
		}
		writeDemoJSON(w, status, n)
	case http.MethodDelete:
		d.mu.Lock()
		_, ok := d.notes[id]
		delete(d.notes, id)
		d.mu.Unlock()
		if !ok {
			envelope.Write(w, envelope.New(http.StatusNotFound, "NOT-FOUND", "There is no such note."))
			return
		}
		writeDemoJSON(w, http.StatusOK, map[string]string{"deleted": id})
	default:
		w.Header().Set("Allow", "GET, HEAD, POST, PUT, DELETE")
		envelope.Write(w, envelope.New(http.StatusMethodNotAllowed, "METHOD-NOT-ALLOWED", "A note takes GET, POST, PUT and DELETE."))
	}
}

// readDemoNote reads a note's body: {"text":"..."}.
func readDemoNote(w http.ResponseWriter, r *http.Request) (string, error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxDemoNoteBody))
	dec.DisallowUnknownFields()
	var body struct {
		Text *string `json:"text"`
	}
	if err := dec.Decode(&body); err != nil {
		return "", err
	}
	if dec.More() {
		return "", errors.New("data after the JSON object")
	}
	if body.Text == nil {
		return "", errors.New("no text")
	}
	return *body.Text, nil
}

// writeDemoJSON answers v as JSON with status.
func writeDemoJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		envelope.Write(w, envelope.New(http.StatusInternalServerError, "INTERNAL", err.Error()))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
