package policy

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// Policy is one validated policy file (the README's "Policies"): it grants the methods
// of each of its scopes on the scope's route patterns to users having any
// of the roles in AppliesTo. Build one with Parse or LoadFile; a Policy
// built in code gets its patterns compiled when it is passed to NewSet.
type Policy struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	AppliesTo   AppliesTo `json:"appliesTo"`
	// Expires is the lifetime of the minted macaroons, in seconds.
	Expires    int     `json:"expires"`
	BindClient bool    `json:"bindClient,omitempty"`
	ServerID   string  `json:"serverId,omitempty"`
	Scopes     []Scope `json:"scopes"`
	// File is where the policy was loaded from ("" when parsed from bytes
	// without a name).
	File string `json:"-"`
}

// AppliesTo says who a policy applies to.
type AppliesTo struct {
	// UserRoles lists user roles (sysadmin, employee, user); a user with
	// any of them gets the policy.
	UserRoles []string `json:"userRoles"`
}

// Scope grants every one of Methods on every one of Routes.
type Scope struct {
	Name    string   `json:"name"`
	Routes  []string `json:"routes"`
	Methods []string `json:"methods"`
	// Membership, when set, restricts :orgId to the organizations where
	// the user's membership has this flag (read, edit, manage or delete).
	Membership MembershipFlag `json:"membership,omitempty"`
	// StepUp, when set (MinStepUp to MaxStepUp seconds), keeps the scope's
	// routes out of the ordinary tokens: they need a step-up token and a
	// discharge proving the user authenticated within that many seconds.
	StepUp int `json:"stepUp,omitempty"`

	patterns []*Pattern // Routes, compiled
}

// Patterns returns the scope's routes compiled, in the order of Routes.
// They are compiled once, by Parse (or NewSet); a Scope that went through
// neither has none.
func (s Scope) Patterns() []*Pattern { return slices.Clone(s.patterns) }

// The bounds of a scope's StepUp, in seconds.
const (
	MinStepUp = 60
	MaxStepUp = 3600
)

// StepUpWindow returns the scope's StepUp as a duration; zero when the
// scope needs no step-up.
func (s Scope) StepUpWindow() time.Duration { return time.Duration(s.StepUp) * time.Second }

// Lifetime returns the policy's Expires as a duration.
func (p *Policy) Lifetime() time.Duration { return time.Duration(p.Expires) * time.Second }

// AppliesToRoles reports whether any of roles is listed in the policy's
// AppliesTo.UserRoles. Roles compare exactly (case-sensitive).
func (p *Policy) AppliesToRoles(roles []string) bool {
	for _, r := range roles {
		if slices.Contains(p.AppliesTo.UserRoles, r) {
			return true
		}
	}
	return false
}

// ErrInvalidPolicy is the root of every *ValidationError: match it with
// errors.Is.
var ErrInvalidPolicy = errors.New("invalid policy")

// Problem is one thing wrong with a policy file.
type Problem struct {
	// File is the file the problem is in ("" when it has no name).
	File string
	// Path is a JSON pointer to the offending value, such as
	// "/scopes/1/routes/0", or "" for the whole document.
	Path string
	// Reason says what is wrong, in plain English.
	Reason string
}

// String formats the problem as "FILE: PATH: REASON", leaving out an
// empty File or Path.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// ValidationError lists every problem found in one or more policy files.
// It matches ErrInvalidPolicy.
type ValidationError struct {
	Problems []Problem
}

// Error returns the problems, one per line.
func (e *ValidationError) Error() string {
	if len(e.Problems) == 0 {
		return ErrInvalidPolicy.Error()
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns ErrInvalidPolicy.
func (e *ValidationError) Unwrap() error { return ErrInvalidPolicy }

// maxFileSize bounds a policy file; real ones are a few kilobytes.
const maxFileSize = 1 << 20

// maxDepth bounds the nesting of a policy document; the format needs 4.
const maxDepth = 32

// maxProblems bounds the problems reported for one document.
const maxProblems = 100

// maxNumberLength and maxExponent bound number literals, so that checking
// one (with math/big, in the schema validator) stays cheap. No number in
// a policy comes near them.
const (
	maxNumberLength = 32
	maxExponent     = 32
)

//go:embed schema.json
var schemaJSON []byte

const schemaURL = "https://github.com/authgw/authgw/policy/schema.json"

// SchemaJSON returns the JSON Schema (draft 2020-12) of policy files, as
// shipped in this package, for editors and other tools. Parse checks more
// than the schema can express.
func SchemaJSON() []byte { return bytes.Clone(schemaJSON) }

var compiledSchema = sync.OnceValue(mustCompileSchema)

// mustCompileSchema compiles the embedded schema; it panics if the schema
// is broken, which the package's tests rule out.
func mustCompileSchema() *jsonschema.Schema {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		panic(fmt.Sprintf("policy: embedded schema.json: %v", err))
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		panic(fmt.Sprintf("policy: embedded schema.json: %v", err))
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		panic(fmt.Sprintf("policy: embedded schema.json: %v", err))
	}
	return sch
}

// LoadFile reads and parses the policy file at path (see Parse). It
// returns the read error as is when the file cannot be read, and a
// *ValidationError when it is not a valid policy.
func LoadFile(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses and validates one policy document; file names it in
// problems and becomes the policy's File. It reports every problem at
// once (up to 100) in a *ValidationError: the document is not UTF-8, is
// larger than 1 MiB, is not JSON (with line:column), is nested too
// deeply, repeats a field, has a number out of any sensible range or
// data after the JSON object, breaks the schema (unknown or missing
// field, wrong type, value out of range or not allowed), has a route that
// does not compile with CompilePattern, a "membership" on a scope without
// an :orgId route, or two scopes with the same name.
func Parse(file string, data []byte) (*Policy, error) {
	v := &validation{file: file}
	doc, ok := v.decodeJSON(data)
	if !ok {
		return nil, v.err()
	}
	if err := compiledSchema().Validate(doc); err != nil {
		var verr *jsonschema.ValidationError
		if !errors.As(err, &verr) {
			v.add("", "schema validation failed: "+err.Error())
		} else {
			v.schemaProblems(doc, verr)
		}
	}
	v.semanticProblems(doc)
	if len(v.problems) > 0 {
		return nil, v.err()
	}

	p := &Policy{File: file}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		// Unreachable after the checks above, kept as a guard.
		v.add("", "cannot decode policy: "+err.Error())
		return nil, v.err()
	}
	for i := range p.Scopes {
		s := &p.Scopes[i]
		s.patterns = make([]*Pattern, len(s.Routes))
		for j, r := range s.Routes {
			pat, err := CompilePattern(r)
			if err != nil {
				v.add(pointer("scopes", strconv.Itoa(i), "routes", strconv.Itoa(j)), err.Error())
				continue
			}
			s.patterns[j] = pat
		}
	}
	if len(v.problems) > 0 {
		return nil, v.err()
	}
	return p, nil
}

// validation collects the problems of one document.
type validation struct {
	file     string
	problems []Problem
	// replaced holds the paths of values already reported and replaced
	// by null; other problems there are left out.
	replaced map[string]bool
}

func (v *validation) add(path, reason string) {
	if v.replaced[path] {
		return
	}
	v.problems = append(v.problems, Problem{File: v.file, Path: path, Reason: reason})
}

// err returns the problems, ordered by path (array indexes numerically),
// at most maxProblems of them.
func (v *validation) err() *ValidationError {
	slices.SortStableFunc(v.problems, func(a, b Problem) int { return comparePointers(a.Path, b.Path) })
	if n := len(v.problems); n > maxProblems {
		v.problems = append(v.problems[:maxProblems-1],
			Problem{File: v.file, Reason: fmt.Sprintf("and %d more problems", n-maxProblems+1)})
	}
	return &ValidationError{Problems: v.problems}
}

// decodeJSON decodes data into the generic form the schema validator
// takes (numbers as json.Number), reporting duplicate fields and trailing
// data as problems. ok is false when data is not JSON at all.
func (v *validation) decodeJSON(data []byte) (doc any, ok bool) {
	if len(data) > maxFileSize {
		v.add("", fmt.Sprintf("file is larger than %d bytes", maxFileSize))
		return nil, false
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		v.add("", fmt.Sprintf("not valid UTF-8 at %s", lineCol(data, off)))
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err == io.EOF {
		v.add("", "empty file: want a JSON object")
		return nil, false
	}
	if err == nil {
		doc, err = v.decodeValue(dec, tok, nil, 0)
	}
	if err != nil {
		v.add("", v.jsonErrorReason(data, err))
		return nil, false
	}
	off := int(dec.InputOffset())
	for off < len(data) && isJSONSpace(data[off]) {
		off++
	}
	if off < len(data) {
		v.add("", fmt.Sprintf("unexpected data after the JSON object at %s", lineCol(data, off)))
	}
	return doc, true
}

var errTooDeep = errors.New("nested too deeply")

// syntaxError carries an offset with a reason that is not a json.SyntaxError.
type syntaxError struct {
	msg    string
	offset int64
}

func (e *syntaxError) Error() string { return e.msg }

func (v *validation) decodeValue(dec *json.Decoder, tok json.Token, path []string, depth int) (any, error) {
	if n, ok := tok.(json.Number); ok && !numberInRange(n.String()) {
		at := pointer(path...)
		v.add(at, fmt.Sprintf("number %s is out of range", shorten(n.String())))
		if v.replaced == nil {
			v.replaced = map[string]bool{}
		}
		v.replaced[at] = true
		return nil, nil
	}
	delim, isDelim := tok.(json.Delim)
	if !isDelim {
		return tok, nil // string, json.Number, bool or nil
	}
	if depth >= maxDepth {
		return nil, &syntaxError{msg: errTooDeep.Error(), offset: dec.InputOffset()}
	}
	switch delim {
	case '{':
		obj := map[string]any{}
		for dec.More() {
			keyTok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := keyTok.(string) // the decoder only yields strings here
			valTok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			val, err := v.decodeValue(dec, valTok, append(path, key), depth+1)
			if err != nil {
				return nil, err
			}
			if _, dup := obj[key]; dup {
				v.add(pointer(append(path, key)...), fmt.Sprintf("duplicate field %s", displayValue(key)))
				continue
			}
			obj[key] = val
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, err
		}
		return obj, nil
	case '[':
		arr := []any{}
		for dec.More() {
			valTok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			val, err := v.decodeValue(dec, valTok, append(path, strconv.Itoa(len(arr))), depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, val)
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, err
		}
		return arr, nil
	}
	return nil, &syntaxError{msg: fmt.Sprintf("unexpected %q", rune(delim)), offset: dec.InputOffset()}
}

// numberInRange reports whether the JSON number literal n is short and
// its exponent small (see maxNumberLength).
func numberInRange(n string) bool {
	if len(n) > maxNumberLength {
		return false
	}
	if i := strings.IndexAny(n, "eE"); i >= 0 {
		exp, err := strconv.Atoi(strings.TrimPrefix(n[i+1:], "+"))
		return err == nil && -maxExponent <= exp && exp <= maxExponent
	}
	return true
}

// jsonErrorReason turns a decoding error into a reason with line:column.
func (v *validation) jsonErrorReason(data []byte, err error) string {
	var se *json.SyntaxError
	var own *syntaxError
	switch {
	case errors.As(err, &se):
		// In token mode, Offset is where the offending byte starts.
		return fmt.Sprintf("invalid JSON at %s: %s", lineCol(data, int(se.Offset)), se.Error())
	case errors.As(err, &own):
		return fmt.Sprintf("invalid JSON at %s: %s", lineCol(data, int(own.offset)), own.msg)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("invalid JSON at %s: unexpected end of file", lineCol(data, len(data)))
	}
	return "invalid JSON: " + err.Error()
}

// lineCol formats a byte offset as "LINE:COLUMN", both from 1, columns
// counted in characters.
func lineCol(data []byte, off int) string {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line := 1 + bytes.Count(before, []byte{'\n'})
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	col := 1 + utf8.RuneCount(before[lineStart:])
	return fmt.Sprintf("%d:%d", line, col)
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Fields allowed in each kind of object, for "unknown field" hints.
var (
	policyFields    = []string{"name", "description", "appliesTo", "expires", "bindClient", "serverId", "scopes"}
	appliesToFields = []string{"userRoles"}
	scopeFields     = []string{"name", "routes", "methods", "membership", "stepUp"}
)

// schemaProblems turns each leaf of the schema validator's error tree into
// problems with plain-English reasons.
func (v *validation) schemaProblems(doc any, verr *jsonschema.ValidationError) {
	if len(verr.Causes) > 0 {
		for _, c := range verr.Causes {
			v.schemaProblems(doc, c)
		}
		return
	}
	loc := verr.InstanceLocation
	path := pointer(loc...)
	switch k := verr.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		known := policyFields
		switch {
		case slices.Equal(loc, []string{"appliesTo"}):
			known = appliesToFields
		case len(loc) == 2 && loc[0] == "scopes":
			known = scopeFields
		}
		props := slices.Sorted(slices.Values(k.Properties))
		for _, prop := range props {
			v.add(pointer(append(slices.Clip(loc), prop)...),
				fmt.Sprintf("unknown field %s (known fields: %s)", displayValue(prop), strings.Join(known, ", ")))
		}
	case *kind.Required:
		for _, m := range k.Missing {
			v.add(path, fmt.Sprintf("missing field %q", m))
		}
	case *kind.Type:
		v.add(path, fmt.Sprintf("wrong type: want %s, got %s", strings.Join(k.Want, " or "), k.Got))
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		v.add(path, fmt.Sprintf("%s %s: want one of %s", describeEnum(loc), displayValue(k.Got), strings.Join(want, ", ")))
	case *kind.MinItems:
		if k.Want == 1 {
			v.add(path, "must not be empty")
		} else {
			v.add(path, fmt.Sprintf("must have at least %d items", k.Want))
		}
	case *kind.UniqueItems:
		dup := lookup(doc, loc, k.Duplicates[1])
		v.add(pointer(append(slices.Clip(loc), strconv.Itoa(k.Duplicates[1]))...),
			fmt.Sprintf("duplicate %s %s (also item %d)", describeItem(loc), displayValue(dup), k.Duplicates[0]))
	case *kind.MinLength:
		v.add(path, "must not be empty")
	case *kind.MaxLength:
		v.add(path, fmt.Sprintf("too long: %d characters, at most %d", k.Got, k.Want))
	case *kind.Pattern:
		switch {
		case len(loc) == 1 && loc[0] == "name":
			v.add(path, fmt.Sprintf("bad policy name %s: use lower-case letters, digits, '-', '_' and '.', starting with a letter or digit", displayValue(k.Got)))
		case len(loc) == 4 && loc[0] == "scopes" && loc[2] == "routes":
			v.add(path, fmt.Sprintf("route %s must start with /", displayValue(k.Got)))
		default:
			v.add(path, fmt.Sprintf("%s does not match %s", displayValue(k.Got), k.Want))
		}
	case *kind.Minimum:
		v.add(path, fmt.Sprintf("%s is too small: at least %s%s", displayValue(valueAt(doc, loc)), k.Want.RatString(), unitOf(loc)))
	case *kind.Maximum:
		v.add(path, fmt.Sprintf("%s is too large: at most %s%s", displayValue(valueAt(doc, loc)), k.Want.RatString(), unitOf(loc)))
	default:
		v.add(path, fmt.Sprintf("fails the schema's %q rule", strings.Join(verr.ErrorKind.KeywordPath(), "/")))
	}
}

// describeEnum names the kind of value an enum error is about.
func describeEnum(loc []string) string {
	switch {
	case len(loc) == 4 && loc[0] == "scopes" && loc[2] == "methods":
		return "bad method"
	case len(loc) == 3 && loc[0] == "appliesTo" && loc[1] == "userRoles":
		return "unknown user role"
	case len(loc) == 3 && loc[0] == "scopes" && loc[2] == "membership":
		return "unknown membership flag"
	}
	return "value"
}

// describeItem names the items of the array at loc.
func describeItem(loc []string) string {
	switch {
	case len(loc) == 3 && loc[0] == "scopes" && loc[2] == "methods":
		return "method"
	case len(loc) == 2 && loc[0] == "appliesTo" && loc[1] == "userRoles":
		return "user role"
	}
	return "value"
}

func unitOf(loc []string) string {
	if (len(loc) == 1 && loc[0] == "expires") || (len(loc) == 3 && loc[0] == "scopes" && loc[2] == "stepUp") {
		return " seconds"
	}
	return ""
}

// displayValue shows a decoded JSON value as it would be written,
// shortened.
func displayValue(x any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return shorten(fmt.Sprint(x))
	}
	return shorten(strings.TrimSuffix(b.String(), "\n"))
}

// shorten cuts s to at most 60 characters, marking the cut.
func shorten(s string) string {
	const limit = 60
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)
	return string(r[:limit-1]) + "…"
}

// lookup returns element i of the array at loc in doc, or nil.
func lookup(doc any, loc []string, i int) any {
	if arr, ok := valueAt(doc, loc).([]any); ok && i >= 0 && i < len(arr) {
		return arr[i]
	}
	return nil
}

// valueAt returns the value at loc in doc, or nil.
func valueAt(doc any, loc []string) any {
	for _, tok := range loc {
		switch d := doc.(type) {
		case map[string]any:
			doc = d[tok]
		case []any:
			n, err := strconv.Atoi(tok)
			if err != nil || n < 0 || n >= len(d) {
				return nil
			}
			doc = d[n]
		default:
			return nil
		}
	}
	return doc
}

// semanticProblems makes the checks the schema cannot express. It works
// on the generic document so that it reports its problems together with
// the schema's, and skips values of the wrong shape (the schema reports
// those).
func (v *validation) semanticProblems(doc any) {
	root, _ := doc.(map[string]any)
	if root == nil {
		return
	}
	if n, ok := root["expires"].(json.Number); ok {
		if r, ok := new(big.Rat).SetString(n.String()); ok && r.IsInt() && strings.ContainsAny(n.String(), ".eE") {
			v.add("/expires", fmt.Sprintf("write %s as a whole number of seconds, without fraction or exponent", n))
		}
	}
	scopes, _ := root["scopes"].([]any)
	firstByName := map[string]int{}
	for i, raw := range scopes {
		scope, _ := raw.(map[string]any)
		if scope == nil {
			continue
		}
		si := strconv.Itoa(i)
		if name, ok := scope["name"].(string); ok {
			if first, dup := firstByName[name]; dup {
				v.add(pointer("scopes", si, "name"), fmt.Sprintf("duplicate scope name %s (also /scopes/%d)", displayValue(name), first))
			} else {
				firstByName[name] = i
			}
		}
		routes, _ := scope["routes"].([]any)
		allCompiled, usesOrg := true, false
		for j, r := range routes {
			route, ok := r.(string)
			if !ok || !strings.HasPrefix(route, "/") {
				allCompiled = false // the schema reports it
				continue
			}
			pat, err := CompilePattern(route)
			if err != nil {
				allCompiled = false
				reason := err.Error()
				if pe, ok := errors.AsType[*PatternError](err); ok {
					reason = pe.Reason
				}
				v.add(pointer("scopes", si, "routes", strconv.Itoa(j)), reason)
				continue
			}
			usesOrg = usesOrg || pat.Uses(ParamOrgID)
		}
		if _, has := scope["membership"]; has && allCompiled && len(routes) > 0 && !usesOrg {
			v.add(pointer("scopes", si, "membership"),
				fmt.Sprintf("membership applies only to :%s routes, and no route of this scope has :%s", ParamOrgID, ParamOrgID))
		}
	}
}

// pointer builds a JSON pointer (RFC 6901) from reference tokens.
func pointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		b.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return b.String()
}

// comparePointers orders JSON pointers token by token, numeric tokens
// (array indexes) by value, so that problems come in document order.
func comparePointers(a, b string) int {
	at := strings.Split(a, "/")
	bt := strings.Split(b, "/")
	for i := 0; i < len(at) && i < len(bt); i++ {
		if at[i] == bt[i] {
			continue
		}
		an, aerr := strconv.Atoi(at[i])
		bn, berr := strconv.Atoi(bt[i])
		if aerr == nil && berr == nil {
			return an - bn
		}
		return strings.Compare(at[i], bt[i])
	}
	return len(at) - len(bt)
}
