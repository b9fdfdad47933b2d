package main

// The demo backend of authgw serve: a small HTTP service, in the same
// process but on its own listener (--demo-listen, default
// 127.0.0.1:6548), so that a fresh `authgw serve` has something behind
// the gateway to try tokens on. It is a demo, not for production: it
// keeps its notes in memory, and `--demo-listen off` turns it off.
//
// It is also an example of a backend: it trusts nothing but the
// gateway's signed X-Auth-Info header, verified with verifier/requestinfo
// (the public half of serve's request-info key, audience "demo", issuer
// "authgw:<server-id>"). A request without a valid header is 401.

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/verifier/envelope"
	"github.com/authgw/authgw/verifier/requestinfo"
)

const (
	// defaultDemoListen is the default of --demo-listen.
	defaultDemoListen = "127.0.0.1:6548"
	// demoOff is the --demo-listen value that turns the demo off.
	demoOff = "off"
	// demoAPIName and demoAPIVersion are what serve registers the demo
	// as: /demo/v1/... on the gateway.
	demoAPIName    = "demo"
	demoAPIVersion = 1
	// maxDemoNotes bounds the notes the demo keeps, all users together.
	maxDemoNotes = 1000
	// maxDemoNoteBody bounds a note's request body.
	maxDemoNoteBody = 4 << 10
)

// demoNoteName is what may follow "<userId>_" in a note's ID.
var demoNoteName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// parseDemoListen reads --demo-listen: "off" turns the demo off (""
// is returned); anything else must be a host:port.
func parseDemoListen(v string) (string, error) {
	if strings.EqualFold(v, demoOff) {
		return "", nil
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		return "", fmt.Errorf("%v (want HOST:PORT, or off)", err)
	}
	return v, nil
}

// resolveDemoListen resolves --demo-listen: its address, "" when the demo
// is off. Besides "off" at any level, an empty --demo-listen given on
// the command line turns it off; an empty environment variable or
// config value counts as unset, as for every setting. The demo is part
// of the embedded defaults only: when a database is configured
// (--database, as in production) it is off unless --demo-listen asks for
// it.
func resolveDemoListen(c *cli, s *settings) (string, error) {
	if v, given := s.given["demo-listen"]; given && v == "" {
		return "", nil
	}
	def := defaultDemoListen
	if _, _, found, err := s.lookup(c, "database"); err != nil {
		return "", err
	} else if found {
		def = ""
	}
	return resolveSetting(c, s, "demo-listen", def, parseDemoListen)
}

// demoServer is the running demo backend of serve.
type demoServer struct {
	listener net.Listener
	server   *http.Server
	// url is the demo's base URL as registered: its listener's address,
	// with a loopback host when it listens on every interface.
	url string
	// routed is whether the API demo v1 is registered at url, so that
	// the gateway routes /demo/v1 to it.
	routed bool
}

// startDemo starts listening on addr for the demo backend, whose
// request-info verifier takes pub and issuer. It returns nil, having
// logged why, when the address cannot be listened on: the demo is not
// needed for the gateway to work. serve runs the returned server.
func startDemo(addr string, pub *ecdsa.PublicKey, issuer string, logger *slog.Logger) (*demoServer, error) {
	h, err := newDemoHandler(pub, issuer)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Warn("the demo backend is not started (set --demo-listen to a free address, or off)", "addr", addr, "err", err)
		return nil, nil
	}
	logger.Warn("the demo backend is listening: it is for trying authgw out, not for production (--demo-listen off turns it off)",
		"addr", l.Addr().String())
	return &demoServer{listener: l, server: newServer(addr, h, logger), url: "http://" + reachableAddr(l.Addr())}, nil
}

// reachableAddr is addr with a loopback host in place of an unspecified
// one (0.0.0.0, ::), so that the gateway can dial it.
func reachableAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	host := "127.0.0.1"
	if tcp.IP.To4() == nil {
		host = "::1"
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// register registers the API demo v1 at the demo's URL, active, unless
// an API named demo is registered already (in any version, at any URL):
// an existing registration is never changed. It sets d.routed.
func (d *demoServer) register(ctx context.Context, c *cli, store *db.DB, logger *slog.Logger) error {
	apis, err := store.ListAPIs(ctx)
	if err != nil {
		return err
	}
	for _, a := range apis {
		if a.Name != demoAPIName {
			continue
		}
		if a.Version == demoAPIVersion && a.URL == d.url && a.Active {
			d.routed = true
			return nil
		}
		logger.Warn("an API named demo is registered already, not as the demo backend; it is left as it is, and the gateway does not route to the demo backend",
			"version", a.Version, "url", a.URL, "active", a.Active, "demo_backend", d.url)
		return nil
	}
	err = store.CreateAPI(ctx, db.API{Name: demoAPIName, Version: demoAPIVersion, URL: d.url, Active: true, CreatedMs: c.now().UnixMilli()})
	if errors.Is(err, db.ErrDuplicate) {
		// Another gateway on the same database registered it a moment ago.
		return d.register(ctx, c, store, logger)
	}
	if err != nil {
		return err
	}
	d.routed = true
	logger.Info("registered the demo backend as the API demo v1 (authgw apis remove --name demo --version 1 removes it)", "url", d.url)
	return nil
}

// demoBackend answers the demo's requests once their request info has
// been verified.
type demoBackend struct {
	mu    sync.Mutex
	notes map[string]demoNote // by ID
}

// demoNote is one note.
type demoNote struct {
	ID   string `json:"id"`
	User string `json:"user"`
	Text string `json:"text"`
}

// demoHello is the demo's answer to a GET outside /notes.
type demoHello struct {
	Hello   string `json:"hello"`
	Path    string `json:"path"`
	Method  string `json:"method"`
	Client  string `json:"client"`
	User    string `json:"user"`
	Session string `json:"session"`
}

// newDemoHandler returns the demo backend: every request must carry the
// gateway's X-Auth-Info for the audience demo, signed by pub with the
// issuer issuer, else it is 401 (the JSON error envelope).
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
func newDemoHandler(pub *ecdsa.PublicKey, issuer string) (http.Handler, error) {
	v, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{pub}, Audience: demoAPIName, Issuer: issuer})
	if err != nil {
		return nil, err
	}
	return requestinfo.Middleware(v)(&demoBackend{notes: map[string]demoNote{}}), nil
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
	writeDemoJSON(w, http.StatusOK, demoHello{Hello: "from the demo backend", Path: path, Method: r.Method,
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
		notes := []demoNote{}
		for _, n := range d.notes {
			if n.User == user {
				notes = append(notes, n)
			}
		}
		d.mu.Unlock()
		slices.SortFunc(notes, func(a, b demoNote) int { return strings.Compare(a.ID, b.ID) })
		writeDemoJSON(w, http.StatusOK, map[string][]demoNote{"notes": notes})
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
		n := demoNote{ID: id, User: user, Text: text}
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
