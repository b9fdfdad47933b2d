// Package envelope writes authgw's JSON error envelope, the one shape every
// rejection takes, from the verifier, the gateway and the accounts service:
//
//	{"t":"error","error":{"status":401,"code":"TOKEN-INVALID","title":"Unauthorized","detail":"...","obstructions":[]}}
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
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(body{T: "error", Error: e})
}
