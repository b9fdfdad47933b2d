package ui

import (
	"net/http"
	"strings"
	"time"
)

// ErrorKind names one of the error pages; each has a heading, what
// happened and what to do in the catalogue, under
// "error.<kind>.heading", ".happened" and ".todo".
type ErrorKind string

// The error pages.
const (
	// ErrorNotFound: no page at this address (404).
	ErrorNotFound ErrorKind = "not_found"
	// ErrorExpiredLink: an emailed link that is used, expired or
	// unknown (410). ErrorPage.Duration is how long links live.
	ErrorExpiredLink ErrorKind = "expired_link"
	// ErrorFormExpired: a form that failed the CSRF check (403).
	ErrorFormExpired ErrorKind = "form_expired"
	// ErrorBadRequest: a request no page can answer (400).
	ErrorBadRequest ErrorKind = "bad_request"
	// ErrorTooMany: regulation paused the attempts (429).
	// ErrorPage.Duration is how long to wait.
	ErrorTooMany ErrorKind = "too_many"
	// ErrorUnavailable: the service could not complete the request (503).
	ErrorUnavailable ErrorKind = "unavailable"
)

// ErrorKinds lists every ErrorKind.
var ErrorKinds = []ErrorKind{ErrorNotFound, ErrorExpiredLink, ErrorFormExpired, ErrorBadRequest, ErrorTooMany, ErrorUnavailable}

// ErrorPage is the view of the "error" page: what happened and what to
// do, in the person's words, never the internal cause.
type ErrorPage struct {
	Kind ErrorKind
	// Duration is how long links live (ErrorExpiredLink) or how long to
	// wait (ErrorTooMany); said in words.
	Duration time.Duration
	// ContinueURL is where the page's one link leads, already resolved
	// by a ReturnPolicy. Empty: no link.
	ContinueURL string
}

// Status returns the HTTP status the error page is served with.
func (p ErrorPage) Status() int {
	switch p.Kind {
	case ErrorNotFound:
		return http.StatusNotFound
	case ErrorExpiredLink:
		return http.StatusGone
	case ErrorFormExpired:
		return http.StatusForbidden
	case ErrorTooMany:
		return http.StatusTooManyRequests
	case ErrorUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}

func (p ErrorPage) kind() string {
	for _, k := range ErrorKinds {
		if k == p.Kind {
			return string(k)
		}
	}
	return string(ErrorBadRequest)
}

// Heading returns the page's heading (and title).
func (p ErrorPage) Heading() Msg { return M("error." + p.kind() + ".heading") }

// Happened returns what happened.
func (p ErrorPage) Happened() Msg {
	if p.Kind == ErrorExpiredLink {
		return M("error."+p.kind()+".happened", p.Duration)
	}
	return M("error." + p.kind() + ".happened")
}

// ToDo returns what the person can do.
func (p ErrorPage) ToDo() Msg {
	if p.Kind == ErrorTooMany {
		return M("error."+p.kind()+".todo", p.Duration)
	}
	return M("error." + p.kind() + ".todo")
}

// Form is the view of a form for the "form" partial: an error summary
// when any field has an error, the hidden CSRF field, the fields and the
// submit button.
type Form struct {
	// Action is the URL path the form posts to.
	Action string
	// CSRFToken is the token from CSRF.Issue for this form's purpose.
	CSRFToken string
	// Hidden are values the form carries back unseen (return_to, a
	// login's state), in order. Never a secret the visitor has not
	// already been given.
	Hidden []Hidden
	// Fields are the form's inputs, in page (and focus) order.
	Fields []Field
	// Submit is the button's text. Zero: "Continue".
	Submit Msg
}

// Hidden is a hidden input of a Form.
type Hidden struct {
	Name, Value string
}

// Errors returns the fields that have an error, in order, for the error
// summary.
func (f Form) Errors() []Field {
	var out []Field
	for _, fl := range f.Fields {
		if fl.Error.Key != "" {
			out = append(out, fl)
		}
	}
	return out
}

// SubmitText returns the button's message.
func (f Form) SubmitText() Msg {
	if f.Submit.Key == "" {
		return M("form.submit")
	}
	return f.Submit
}

// CSRFField returns the name of the hidden CSRF field.
func (Form) CSRFField() string { return CSRFField }

// Field is one input of a Form: its visible label, an optional hint and
// an optional error, each tied to the input with aria-describedby, the
// error also marking it aria-invalid.
type Field struct {
	// Name is the input's name; its id is "field-" + Name.
	Name string
	// Type is the input's type ("email", "password", …). Empty: "text".
	Type string
	// Label is the visible label. Required.
	Label Msg
	// Hint is help shown under the label. Zero: none.
	Hint Msg
	// Error says what is wrong with the value and how to fix it. Zero:
	// none.
	Error Msg
	// Value is the value shown in the input (never a password).
	Value string
	// Autocomplete is the input's autocomplete token ("email",
	// "current-password", "one-time-code", …). Empty: none.
	Autocomplete string
}

// ID returns the input's id, which the label, the error summary's link
// and the hint and error ids derive from.
func (f Field) ID() string { return "field-" + f.Name }

// HintID returns the id of the field's hint.
func (f Field) HintID() string { return f.ID() + "-hint" }

// ErrorID returns the id of the field's error message.
func (f Field) ErrorID() string { return f.ID() + "-error" }

// InputType returns the input's type.
func (f Field) InputType() string {
	if f.Type == "" {
		return "text"
	}
	return f.Type
}

// DescribedBy returns the input's aria-describedby: the hint's and the
// error's ids, those it has.
func (f Field) DescribedBy() string {
	var ids []string
	if f.Hint.Key != "" {
		ids = append(ids, f.HintID())
	}
	if f.Error.Key != "" {
		ids = append(ids, f.ErrorID())
	}
	return strings.Join(ids, " ")
}
