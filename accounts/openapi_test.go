package accounts_test

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db/dbtest"
)

// openAPIDoc is the part of an OpenAPI 3.1 document the tests read.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
		Parameters      map[string]openAPIParam    `json:"parameters"`
	} `json:"components"`
}

type openAPIOperation struct {
	Summary     string                     `json:"summary"`
	Description string                     `json:"description"`
	Parameters  []openAPIParam             `json:"parameters"`
	RequestBody json.RawMessage            `json:"requestBody"`
	Responses   map[string]json.RawMessage `json:"responses"`
	Security    []map[string][]string      `json:"security"`
}

type openAPIParam struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIEchoParam matches an Echo path parameter (":id").
var openAPIEchoParam = regexp.MustCompile(`:(\w+)`)

// openAPIPath writes an Echo path in OpenAPI's syntax: :id is {id}.
func openAPIPath(echoPath string) string { return openAPIEchoParam.ReplaceAllString(echoPath, "{$1}") }

// parseOpenAPI reads the embedded document, failing the test when it is
// not JSON.
func parseOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(accounts.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

// operations returns the document's operations by "METHOD /path".
func (d openAPIDoc) operations(t *testing.T) map[string]openAPIOperation {
	t.Helper()
	out := map[string]openAPIOperation{}
	for path, item := range d.Paths {
		for key, raw := range item {
			if !slices.Contains(openAPIMethods, key) {
				continue
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", key, path, err)
			}
			out[strings.ToUpper(key)+" "+path] = op
		}
	}
	return out
}

// openAPIRouteKeys returns the table's routes by "METHOD /path" (OpenAPI syntax).
func openAPIRouteKeys() map[string]accounts.Route {
	out := map[string]accounts.Route{}
	for _, rt := range accounts.Routes() {
		out[rt.Method+" "+openAPIPath(rt.Path)] = rt
	}
	return out
}

func TestOpenAPIDocument(t *testing.T) {
	doc := parseOpenAPI(t)
	if !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(doc.OpenAPI) {
		t.Fatalf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	for _, name := range []string{"clientBasic", "Macaroon"} {
		if _, ok := doc.Components.SecuritySchemes[name]; !ok {
			t.Errorf("securitySchemes has no %s", name)
		}
	}
	// Every $ref names something the document has.
	var whole any
	if err := json.Unmarshal(accounts.OpenAPI(), &whole); err != nil {
		t.Fatal(err)
	}
	openAPIWalkRefs(whole, func(ref string) {
		if openAPIResolve(whole, ref) == nil {
			t.Errorf("$ref %q names nothing", ref)
		}
	})
}

// TestOpenAPIMatchesRoutes fails when a route of the table has no
// operation in the document, or the document an operation no route
// serves.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	ops := parseOpenAPI(t).operations(t)
	routes := openAPIRouteKeys()
	var undocumented, unrouted []string
	for k := range routes {
		if _, ok := ops[k]; !ok {
			undocumented = append(undocumented, k)
		}
	}
	for k := range ops {
		if _, ok := routes[k]; !ok {
			unrouted = append(unrouted, k)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unrouted)
	if len(undocumented) > 0 {
		t.Errorf("routes without documentation in openapi.json:\n  %s", strings.Join(undocumented, "\n  "))
	}
	if len(unrouted) > 0 {
		t.Errorf("documented in openapi.json, but no such route:\n  %s", strings.Join(unrouted, "\n  "))
	}
	if len(ops) != len(accounts.Routes()) {
		t.Errorf("%d operations for %d routes", len(ops), len(accounts.Routes()))
	}
}

// TestOpenAPIOperations checks what each operation says: who may call it
// (the table's Who), a summary, its 4xx answers, its path parameters and
// its security.
func TestOpenAPIOperations(t *testing.T) {
	doc := parseOpenAPI(t)
	ops := doc.operations(t)
	public := accounts.PublicScope()
	for key, rt := range openAPIRouteKeys() {
		op, ok := ops[key]
		if !ok {
			continue // TestOpenAPIMatchesRoutes reports it
		}
		t.Run(key, func(t *testing.T) {
			if op.Summary == "" {
				t.Error("no summary")
			}
			if !strings.Contains(op.Description, rt.Who) {
				t.Errorf("the description does not say who may call it (%q): %q", rt.Who, op.Description)
			}
			has4xx := false
			for status := range op.Responses {
				has4xx = has4xx || (len(status) == 3 && status[0] == '4')
			}
			if !has4xx {
				t.Error("no 4xx response")
			}
			if _, ok := op.Responses["default"]; !ok && !openAPIHasSuccess(op.Responses) {
				t.Error("no 2xx response")
			}
			// Path parameters: exactly the route's.
			var want, got []string
			for _, m := range openAPIEchoParam.FindAllStringSubmatch(rt.Path, -1) {
				want = append(want, m[1])
			}
			for _, p := range op.Parameters {
				if p.Ref != "" {
					p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
				}
				if p.In == "path" {
					got = append(got, p.Name)
				}
			}
			sort.Strings(want)
			sort.Strings(got)
			if !equal(got, want) {
				t.Errorf("path parameters %v, want %v", got, want)
			}
			// Security: a client always; a token unless the route is public.
			isPublic := slices.ContainsFunc(public[rt.Method], func(pattern string) bool {
				return pattern == accounts.Prefix+rt.Path || strings.HasSuffix(pattern, "/*") && strings.HasPrefix(accounts.Prefix+rt.Path, strings.TrimSuffix(pattern, "*"))
			})
			needsToken := true
			for _, req := range op.Security {
				if _, ok := req["clientBasic"]; !ok {
					t.Errorf("security %v does not name the client", req)
				}
				if _, ok := req["Macaroon"]; !ok {
					needsToken = false
				}
			}
			if len(op.Security) == 0 || needsToken == isPublic {
				t.Errorf("security %v, but public = %v", op.Security, isPublic)
			}
			if len(op.RequestBody) > 0 {
				checkOpenAPIRequestBody(t, op.RequestBody)
			}
		})
	}
}

func openAPIHasSuccess(responses map[string]json.RawMessage) bool {
	for status := range responses {
		if len(status) == 3 && status[0] == '2' {
			return true
		}
	}
	return false
}

// checkOpenAPIRequestBody checks a request body is {"data": ...} JSON that
// refuses unknown members, at the top and in data.
func checkOpenAPIRequestBody(t *testing.T, raw json.RawMessage) {
	t.Helper()
	var rb struct {
		Content map[string]struct {
			Schema struct {
				AdditionalProperties *bool                      `json:"additionalProperties"`
				Required             []string                   `json:"required"`
				Properties           map[string]json.RawMessage `json:"properties"`
			} `json:"schema"`
		} `json:"content"`
	}
	if err := json.Unmarshal(raw, &rb); err != nil {
		t.Fatalf("requestBody: %v", err)
	}
	media, ok := rb.Content["application/json"]
	if !ok || len(rb.Content) != 1 {
		t.Fatalf("requestBody content %v, want application/json only", rb.Content)
	}
	s := media.Schema
	if s.AdditionalProperties == nil || *s.AdditionalProperties || !equal(s.Required, []string{"data"}) || len(s.Properties) != 1 {
		t.Fatalf(`requestBody schema is not {"data": ...} without other members: %s`, raw)
	}
	var data struct {
		Type                 any              `json:"type"`
		AdditionalProperties *bool            `json:"additionalProperties"`
		OneOf                []map[string]any `json:"oneOf"`
	}
	if err := json.Unmarshal(s.Properties["data"], &data); err != nil {
		t.Fatalf("requestBody data: %v", err)
	}
	switch {
	case data.Type == "object" && (data.AdditionalProperties == nil || *data.AdditionalProperties):
		t.Errorf("requestBody data does not refuse unknown fields: %s", s.Properties["data"])
	case data.Type == "array", data.Type == "object":
	case len(data.OneOf) > 0:
		for _, alt := range data.OneOf {
			if alt["type"] != "array" && alt["additionalProperties"] != false {
				t.Errorf("a oneOf alternative of data does not refuse unknown fields: %v", alt)
			}
		}
	default:
		t.Errorf("requestBody data is neither an object, an array nor a oneOf: %s", s.Properties["data"])
	}
}

// openAPIWalkRefs calls fn with every "$ref" value in v.
func openAPIWalkRefs(v any, fn func(string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				fn(s)
				continue
			}
			openAPIWalkRefs(x, fn)
		}
	case []any:
		for _, x := range v {
			openAPIWalkRefs(x, fn)
		}
	}
}

// openAPIResolve returns what a local "#/a/b" reference names, nil when nothing.
func openAPIResolve(doc any, ref string) any {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	cur := doc
	for _, part := range strings.Split(path, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		if cur, ok = m[part]; !ok {
			return nil
		}
	}
	return cur
}

// TestOpenAPIServed gets the document through the gateway with a client
// and no token: it is public, JSON, cacheable, and the embedded bytes.
func TestOpenAPIServed(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	app := s.client(s.org("Home", s.user("Ann")))
	res := s.do(anonymous(app), "GET", "/openapi.json", nil).expect(t, http.StatusOK)
	if mt, _, err := mime.ParseMediaType(res.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		t.Errorf("Content-Type %q, want application/json", res.Header.Get("Content-Type"))
	}
	if got := res.Header.Get("Cache-Control"); got != "public, max-age=300" {
		t.Errorf("Cache-Control %q, want public, max-age=300", got)
	}
	if !bytes.Equal(res.Raw, accounts.OpenAPI()) {
		t.Errorf("the answer (%d bytes) is not the embedded document (%d bytes)", len(res.Raw), len(accounts.OpenAPI()))
	}
	if res.Body["openapi"] == nil || res.Body["paths"] == nil {
		t.Errorf("the answer is not an OpenAPI document: %.200s", res.Raw)
	}
}
