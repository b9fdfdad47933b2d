package accounts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/authgw/authgw/verifier/envelope"
)

// MaxBodyBytes is the largest request body read; larger ones are 413.
const MaxBodyBytes = 1 << 20

// body is a request's {"data": {...}} object being read field by field.
// Each accessor records the field as known and any problem as an
// obstruction; done reports unknown fields and every obstruction at once.
// A missing field and a JSON null are both "absent".
type body struct {
	fields map[string]json.RawMessage
	known  map[string]bool
	obs    []envelope.Obstruction
}

// readBody reads the request's JSON body and returns its data object. It
// fails with 415 for another content type, 413 over MaxBodyBytes, and
// 400 BAD-BODY for malformed JSON, a top level other than {"data": {...}},
// or trailing data.
func readBody(c echo.Context) (*body, error) {
	raw, err := readData(c)
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, apiError(http.StatusBadRequest, CodeBadBody, `"data" must be a JSON object.`)
	}
	fields, err := members(raw)
	if err != nil {
		return nil, apiError(http.StatusBadRequest, CodeBadBody, "The body is not valid JSON, or names a member twice.")
	}
	return &body{fields: fields, known: map[string]bool{}}, nil
}

// errNotObject is the error of members for anything but one JSON object
// with distinct member names.
var errNotObject = errors.New("not a JSON object with distinct member names")

// members returns the members of the JSON object raw, by their exact
// names. encoding/json matches struct fields to member names without
// regard to case ({"DATA":...} fills Data) and keeps the last of two
// members of one name, so that two readers of one body could see two
// different requests: members is used instead wherever a body is read.
// It fails with errNotObject when raw is not one object, has data after
// it, or names a member twice.
func members(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotObject
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		if err != nil || !ok {
			return nil, errNotObject
		}
		if _, dup := out[name]; dup {
			return nil, errNotObject
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errNotObject
		}
		out[name] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotObject
	}
	return out, nil
}

// onlyMembers returns the members of the JSON object raw (see members)
// when every name is one of names, exactly; ok is false otherwise.
func onlyMembers(raw []byte, names ...string) (m map[string]json.RawMessage, ok bool) {
	m, err := members(raw)
	if err != nil {
		return nil, false
	}
	for name := range m {
		if !slices.Contains(names, name) {
			return nil, false
		}
	}
	return m, true
}

// readData reads the body and returns its "data" member (any JSON value,
// trimmed of white space).
func readData(c echo.Context) (json.RawMessage, error) {
	r := c.Request()
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, apiError(http.StatusUnsupportedMediaType, CodeUnsupportedType, "Send Content-Type: application/json.")
	}
	data, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, apiError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("The body is over %d bytes.", MaxBodyBytes))
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, apiError(http.StatusRequestTimeout, CodeBodyTimeout, "The body did not arrive in time.")
		}
		return nil, apiError(http.StatusBadRequest, CodeBadBody, "The body could not be read.")
	}
	if !utf8.Valid(data) {
		return nil, apiError(http.StatusBadRequest, CodeBadBody, "The body is not valid UTF-8.")
	}
	// Member names match exactly: {"DATA": ...} is not {"data": ...}.
	top, ok := onlyMembers(data, "data")
	if !ok {
		if !json.Valid(data) {
			return nil, apiError(http.StatusBadRequest, CodeBadBody, "The body is not one JSON value.")
		}
		return nil, apiError(http.StatusBadRequest, CodeBadBody, `The body must be a JSON object {"data": ...} with no other member.`)
	}
	d := bytes.TrimSpace(top["data"])
	if len(d) == 0 {
		return nil, apiError(http.StatusBadRequest, CodeBadBody, `The body has no "data".`)
	}
	return d, nil
}

// obstruct records a problem with a field.
func (b *body) obstruct(field, code, text string) {
	b.obs = append(b.obs, envelope.Obstruction{Code: code, Text: text, Params: map[string]any{"field": field}})
}

// value returns the raw JSON of a field, nil when absent or null.
func (b *body) value(name string) json.RawMessage {
	b.known[name] = true
	v, ok := b.fields[name]
	if !ok || string(v) == "null" {
		return nil
	}
	return v
}

// has reports whether the field is present and not null.
func (b *body) has(name string) bool { return b.value(name) != nil }

// str reads a string field of at most max characters. A required field
// that is absent or empty is an obstruction; so is a string with control
// characters or one too long.
func (b *body) str(name string, required bool, max int) string {
	s, ok := b.rawString(name, required)
	if !ok {
		return ""
	}
	switch {
	case required && s == "":
		b.obstruct(name, ObstructionRequired, name+" may not be empty.")
	case utf8.RuneCountInString(s) > max:
		b.obstruct(name, ObstructionTooLong, fmt.Sprintf("%s is longer than %d characters.", name, max))
	case hasControl(s):
		b.obstruct(name, ObstructionInvalid, name+" may not contain control characters.")
	}
	return s
}

// secret reads a string field that may hold any character (a password):
// only its type and length are checked.
func (b *body) secret(name string, required bool, max int) string {
	s, ok := b.rawString(name, required)
	if ok && (len(s) > max*4 || utf8.RuneCountInString(s) > max) {
		b.obstruct(name, ObstructionTooLong, fmt.Sprintf("%s is longer than %d characters.", name, max))
	}
	return s
}

// rawString reads a string field; ok is false (with an obstruction when
// it is required, or not a string) when there is no string to check.
func (b *body) rawString(name string, required bool) (s string, ok bool) {
	v := b.value(name)
	if v == nil {
		if required {
			b.obstruct(name, ObstructionRequired, name+" is required.")
		}
		return "", false
	}
	if err := json.Unmarshal(v, &s); err != nil {
		b.obstruct(name, ObstructionWrongType, name+" must be a string.")
		return "", false
	}
	return s, true
}

// integer reads an integer field within [min, max]; ok is false when it
// is absent or obstructed.
func (b *body) integer(name string, required bool, min, max int64) (n int64, ok bool) {
	v := b.value(name)
	if v == nil {
		if required {
			b.obstruct(name, ObstructionRequired, name+" is required.")
		}
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		b.obstruct(name, ObstructionWrongType, name+" must be an integer.")
		return 0, false
	}
	if n < min || n > max {
		b.obstruct(name, ObstructionInvalid, fmt.Sprintf("%s must be between %d and %d.", name, min, max))
		return 0, false
	}
	return n, true
}

// boolean reads a boolean field; ok is false when it is absent or of
// another type.
func (b *body) boolean(name string, required bool) (v, ok bool) {
	raw := b.value(name)
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	case "":
		if required {
			b.obstruct(name, ObstructionRequired, name+" is required.")
		}
		return false, false
	}
	b.obstruct(name, ObstructionWrongType, name+" must be true or false.")
	return false, false
}

// typeIs checks the optional "type" member against the resource type.
func (b *body) typeIs(want ...string) string {
	t := b.str("type", false, 64)
	if t != "" && !slices.Contains(want, t) {
		b.obstruct("type", ObstructionMismatch, fmt.Sprintf("type must be %q.", want[0]))
	}
	return t
}

// tIs checks the optional "t" member, the original auth-gateway's tag of
// login and refresh bodies ("email-step", "refresh-tokens", ...).
func (b *body) tIs(want string) {
	if t := b.str("t", false, 64); t != "" && t != want {
		b.obstruct("t", ObstructionMismatch, fmt.Sprintf("t must be %q.", want))
	}
}

// idIs checks the optional "id" member (PATCH bodies) against the URL's.
func (b *body) idIs(want string) {
	if id := b.str("id", false, 64); id != "" && id != want {
		b.obstruct("id", ObstructionMismatch, "id must match the URL.")
	}
}

// done returns nil, or the 400 listing every unknown field and obstruction.
func (b *body) done() error {
	for name := range b.fields {
		if !b.known[name] {
			b.obstruct(name, ObstructionUnknownField, name+" is not a field of this request.")
		}
	}
	if len(b.obs) == 0 {
		return nil
	}
	slices.SortStableFunc(b.obs, func(x, y envelope.Obstruction) int {
		fx, _ := x.Params["field"].(string)
		fy, _ := y.Params["field"].(string)
		switch {
		case fx < fy:
			return -1
		case fx > fy:
			return 1
		}
		return 0
	})
	return invalid(b.obs)
}

// hasControl reports whether s holds a control character.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			return true
		}
	}
	return false
}

// relation reads a JSON:API-like relationship {"data":{"type","id"}}
// and returns its ID; the type, when given, must be typ.
func (b *body) relation(name, typ string, required bool) string {
	v := b.value(name)
	if v == nil {
		if required {
			b.obstruct(name, ObstructionRequired, name+" is required.")
		}
		return ""
	}
	var relType, relID string
	outer, ok := onlyMembers(v, "data")
	var inner map[string]json.RawMessage
	if ok {
		inner, ok = onlyMembers(outer["data"], "type", "id")
	}
	if ok {
		ok = optionalString(inner["type"], &relType) && optionalString(inner["id"], &relID)
	}
	if !ok {
		b.obstruct(name, ObstructionWrongType, fmt.Sprintf(`%s must be {"data":{"type":%q,"id":"..."}}.`, name, typ))
		return ""
	}
	switch {
	case relType != "" && relType != typ:
		b.obstruct(name, ObstructionMismatch, fmt.Sprintf("%s.data.type must be %q.", name, typ))
	case relID == "" || len(relID) > 64 || hasControl(relID):
		b.obstruct(name, ObstructionInvalid, name+".data.id must be an ID.")
	default:
		return relID
	}
	return ""
}

// optionalString reads a member that is absent, null or a string into
// s; false for another type.
func optionalString(raw json.RawMessage, s *string) bool {
	if raw == nil || string(raw) == "null" {
		return true
	}
	return json.Unmarshal(raw, s) == nil
}
