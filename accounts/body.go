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
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, apiError(http.StatusBadRequest, CodeBadBody, "The body is not valid JSON.")
	}
	return &body{fields: fields, known: map[string]bool{}}, nil
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
	var envelopeIn struct {
		Data json.RawMessage `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&envelopeIn); err != nil {
		return nil, apiError(http.StatusBadRequest, CodeBadBody, `The body must be a JSON object {"data": ...} with no other member.`)
	}
	if dec.More() {
		return nil, apiError(http.StatusBadRequest, CodeBadBody, "The body has data after its JSON value.")
	}
	if len(bytes.TrimSpace(envelopeIn.Data)) == 0 {
		return nil, apiError(http.StatusBadRequest, CodeBadBody, `The body has no "data".`)
	}
	return bytes.TrimSpace(envelopeIn.Data), nil
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
	var rel struct {
		Data *struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rel); err != nil || rel.Data == nil {
		b.obstruct(name, ObstructionWrongType, fmt.Sprintf(`%s must be {"data":{"type":%q,"id":"..."}}.`, name, typ))
		return ""
	}
	switch {
	case rel.Data.Type != "" && rel.Data.Type != typ:
		b.obstruct(name, ObstructionMismatch, fmt.Sprintf("%s.data.type must be %q.", name, typ))
	case rel.Data.ID == "" || len(rel.Data.ID) > 64 || hasControl(rel.Data.ID):
		b.obstruct(name, ObstructionInvalid, name+".data.id must be an ID.")
	default:
		return rel.Data.ID
	}
	return ""
}
