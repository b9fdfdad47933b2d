package envelope

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Obstruction is one reason a request was refused, such as a field that
// failed validation.
type Obstruction struct {
	Code   string         `json:"code"`
	Text   string         `json:"text"`
	Params map[string]any `json:"params,omitempty"`
}

// Error is the body of an error response. Code is a stable upper-case
// name that clients may switch on; Title is the status's class name
// (BadRequest, Unauthorized, ...).
type Error struct {
	Status       int           `json:"status"`
	Code         string        `json:"code"`
	Title        string        `json:"title"`
	Detail       string        `json:"detail"`
	Obstructions []Obstruction `json:"obstructions"`
}

// New returns an Error with the title of its status.
func New(status int, code, detail string) *Error {
	return &Error{Status: status, Code: code, Title: Title(status), Detail: detail, Obstructions: []Obstruction{}}
}

func (e *Error) Error() string { return e.Code + ": " + e.Detail }

// Title returns the class name of an HTTP status: "Unauthorized" for 401,
// "TooManyRequests" for 429.
func Title(status int) string {
	text := http.StatusText(status)
	if text == "" {
		return "Error"
	}
	var b strings.Builder
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == '-' || r == '\'' }) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

type body struct {
	T     string `json:"t"`
	Error *Error `json:"error"`
}

// Write sends e as the response with its status. A 5xx detail is replaced
// by a generic text, so internal errors never reach the client.
func Write(w http.ResponseWriter, e *Error) {
	if e.Status >= 500 {
		masked := *e
		masked.Detail = "The server could not complete the request."
		e = &masked
	}
	if e.Obstructions == nil {
		e.Obstructions = []Obstruction{}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	NoStore(h)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(body{T: "error", Error: e})
}

// NoStore sets the headers every envelope is sent with: not cached, not
// sniffed as another type.
func NoStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// Single is the body of an answer with one resource:
// {"t":"single","data":...}.
type Single struct {
	T    string `json:"t"`
	Data any    `json:"data"`
}

// NewSingle returns the Single envelope of data.
func NewSingle(data any) Single { return Single{T: "single", Data: data} }

// Collection is the body of an answer with one page of a list:
// {"t":"collection","data":[...],"meta":{"pg":...}}.
type Collection struct {
	T    string `json:"t"`
	Data any    `json:"data"`
	Meta Meta   `json:"meta"`
}

// Meta describes a Collection.
type Meta struct {
	Pg Page `json:"pg"`
}

// Page tells a client the page size and where the next and previous
// pages start (opaque cursors, omitted when there is none).
type Page struct {
	Size       int    `json:"size"`
	NextCursor string `json:"nextCursor,omitempty"`
	PrevCursor string `json:"prevCursor,omitempty"`
}

// NewCollection returns the Collection envelope of one page of items. A
// nil items is sent as [], so an empty page is never null.
func NewCollection[T any](items []T, pg Page) Collection {
	if items == nil {
		items = []T{}
	}
	return Collection{T: "collection", Data: items, Meta: Meta{Pg: pg}}
}

// Null is the body of an answer with nothing to return: {"t":"null"}.
type Null struct {
	T string `json:"t"`
}

// NewNull returns the Null envelope.
func NewNull() Null { return Null{T: "null"} }
