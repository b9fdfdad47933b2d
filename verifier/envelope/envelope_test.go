package envelope_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authgw/authgw/verifier/envelope"
)

func TestTitle(t *testing.T) {
	tests := []struct {
		name        string
		whenStatus  int
		expectTitle string
	}{
		{"bad request", 400, "BadRequest"},
		{"unauthorized", 401, "Unauthorized"},
		{"forbidden", 403, "Forbidden"},
		{"not found", 404, "NotFound"},
		{"conflict", 409, "Conflict"},
		{"too large", 413, "RequestEntityTooLarge"},
		{"too many requests", 429, "TooManyRequests"},
		{"internal", 500, "InternalServerError"},
		{"bad gateway", 502, "BadGateway"},
		{"unavailable", 503, "ServiceUnavailable"},
		{"gateway timeout", 504, "GatewayTimeout"},
		{"unknown status", 599, "Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := envelope.Title(tt.whenStatus); got != tt.expectTitle {
				t.Errorf("Title(%d) = %q, want %q", tt.whenStatus, got, tt.expectTitle)
			}
		})
	}
}

func TestNew(t *testing.T) {
	e := envelope.New(http.StatusForbidden, "TOKEN-NOT-GRANTED", "No.")
	if e.Status != 403 || e.Code != "TOKEN-NOT-GRANTED" || e.Title != "Forbidden" || e.Detail != "No." {
		t.Errorf("New = %+v", e)
	}
	if e.Obstructions == nil || len(e.Obstructions) != 0 {
		t.Errorf("Obstructions = %#v, want an empty non-nil slice", e.Obstructions)
	}
	if got := e.Error(); got != "TOKEN-NOT-GRANTED: No." {
		t.Errorf("Error() = %q", got)
	}
}

// written is a response body as a client decodes it, keeping the
// obstructions raw to tell [] from null.
type written struct {
	T     string `json:"t"`
	Error struct {
		Status       int             `json:"status"`
		Code         string          `json:"code"`
		Title        string          `json:"title"`
		Detail       string          `json:"detail"`
		Obstructions json.RawMessage `json:"obstructions"`
	} `json:"error"`
}

func TestWrite(t *testing.T) {
	const masked = "The server could not complete the request."
	tests := []struct {
		name               string
		givenError         *envelope.Error
		expectStatus       int
		expectTitle        string
		expectDetail       string
		expectObstructions string
	}{
		{"401", envelope.New(401, "TOKEN-MISSING", "This request needs a token."),
			401, "Unauthorized", "This request needs a token.", `[]`},
		{"429", envelope.New(429, "RATE-LIMITED", "Slow down."),
			429, "TooManyRequests", "Slow down.", `[]`},
		{"500 detail masked", envelope.New(500, "INTERNAL", "dial tcp 10.0.0.5:3306: connection refused"),
			500, "InternalServerError", masked, `[]`},
		{"502 detail masked", envelope.New(502, "UPSTREAM-DOWN", "backend http://10.0.0.7:8080 refused"),
			502, "BadGateway", masked, `[]`},
		{"nil obstructions written as an array", &envelope.Error{Status: 400, Code: "BAD", Title: "BadRequest", Detail: "d"},
			400, "BadRequest", "d", `[]`},
		{"nil obstructions on a 5xx written as an array", &envelope.Error{Status: 503, Code: "DOWN", Title: "ServiceUnavailable", Detail: "secret"},
			503, "ServiceUnavailable", masked, `[]`},
		{"obstructions kept", &envelope.Error{Status: 400, Code: "INVALID", Title: "BadRequest", Detail: "d",
			Obstructions: []envelope.Obstruction{{Code: "EMAIL", Text: "bad email", Params: map[string]any{"field": "email"}}, {Code: "NAME", Text: "missing"}}},
			400, "BadRequest", "d", `[{"code":"EMAIL","text":"bad email","params":{"field":"email"}},{"code":"NAME","text":"missing"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			original := tt.givenError.Detail
			rec := httptest.NewRecorder()
			envelope.Write(rec, tt.givenError)
			if rec.Code != tt.expectStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.expectStatus)
			}
			h := rec.Header()
			if ct := h.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" {
				t.Errorf("headers = %v", h)
			}
			var got written
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if got.T != "error" || got.Error.Status != tt.expectStatus || got.Error.Code != tt.givenError.Code {
				t.Errorf("body = %s", rec.Body)
			}
			if got.Error.Title != tt.expectTitle {
				t.Errorf("title = %q, want %q", got.Error.Title, tt.expectTitle)
			}
			if got.Error.Detail != tt.expectDetail {
				t.Errorf("detail = %q, want %q", got.Error.Detail, tt.expectDetail)
			}
			if tt.expectStatus >= 500 && strings.Contains(rec.Body.String(), original) {
				t.Errorf("5xx body leaks the detail: %s", rec.Body)
			}
			if string(got.Error.Obstructions) != tt.expectObstructions {
				t.Errorf("obstructions = %s, want %s", got.Error.Obstructions, tt.expectObstructions)
			}
			if tt.givenError.Detail != original {
				t.Errorf("Write changed the caller's detail to %q", tt.givenError.Detail)
			}
		})
	}
}

func TestSuccessEnvelopes(t *testing.T) {
	tests := []struct {
		name       string
		givenBody  any
		expectJSON string
	}{
		{"single", envelope.NewSingle(map[string]int{"a": 1}), `{"t":"single","data":{"a":1}}`},
		{"collection", envelope.NewCollection([]int{1, 2}, envelope.Page{Size: 2, NextCursor: "n"}),
			`{"t":"collection","data":[1,2],"meta":{"pg":{"size":2,"nextCursor":"n"}}}`},
		{"empty collection is [] not null", envelope.NewCollection([]string(nil), envelope.Page{Size: 20}),
			`{"t":"collection","data":[],"meta":{"pg":{"size":20}}}`},
		{"collection with both cursors", envelope.NewCollection([]int{}, envelope.Page{Size: 1, NextCursor: "n", PrevCursor: "p"}),
			`{"t":"collection","data":[],"meta":{"pg":{"size":1,"nextCursor":"n","prevCursor":"p"}}}`},
		{"null", envelope.NewNull(), `{"t":"null"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.givenBody)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.expectJSON {
				t.Errorf("got %s, want %s", got, tt.expectJSON)
			}
		})
	}
}

func TestNoStore(t *testing.T) {
	h := http.Header{}
	envelope.NoStore(h)
	if h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers = %v", h)
	}
}
