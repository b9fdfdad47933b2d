package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/authgw/authgw/verifier/envelope"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// maxAnswerBytes bounds an API answer the portal reads; the API's
// largest (a page of a collection) is far smaller.
const maxAnswerBytes = 4 << 20

// caller says as whom a page calls the API.
type caller int

const (
	// asPortal: the portal's own client, with the visitor's IP and no
	// user, for the sign-in, sign-up and recovery steps. The visitor's
	// token, if any, is not passed on.
	asPortal caller = iota
	// asVisitor: the claims the gateway put in the page's request (the
	// signed-in user and the client of their token) and its verified
	// token, for the account pages.
	asVisitor
)

// answer is the API's answer to a call: the status, the header (its
// Set-Cookie values are what the browser should get), and the envelope.
type answer struct {
	Status int
	Header http.Header
	// T is the envelope's type: "single", "collection", "step",
	// "session", "null" or "error".
	T string
	// Data is the envelope's data, for the page to decode.
	Data json.RawMessage
	// Err is the envelope's error when T is "error".
	Err *envelope.Error
}

// OK reports whether the API accepted the call (a 2xx answer).
func (a *answer) OK() bool { return a.Status >= 200 && a.Status < 300 }

// Code returns the error code of a refused call, "" for an accepted one.
func (a *answer) Code() string {
	if a.Err == nil {
		return ""
	}
	return a.Err.Code
}

// Decode decodes the envelope's data into v.
func (a *answer) Decode(v any) error {
	if len(a.Data) == 0 {
		return errors.New("portal: the answer has no data")
	}
	return json.Unmarshal(a.Data, v)
}

// Obstruction returns the first obstruction of a refused call about
// field (by its params.field), if any.
func (a *answer) Obstruction(field string) (envelope.Obstruction, bool) {
	if a.Err == nil {
		return envelope.Obstruction{}, false
	}
	for _, o := range a.Err.Obstructions {
		if f, _ := o.Params["field"].(string); f == field {
			return o, true
		}
	}
	return envelope.Obstruction{}, false
}

// call sends method path (a path under /accounts/v1, e.g.
// "/sessions/login/password") with data as its {"data": ...} body (none
// when nil) to the API in-process, as who, on behalf of the page request
// r. It errors only when the call could not be made or its answer not
// read (a 5xx answer is returned, not an error): the page then shows the
// "unavailable" error page.
func (p *Portal) call(r *http.Request, who caller, method, path string, data any) (*answer, error) {
	return p.callWith(r, who, method, path, data, nil)
}

// callWith is call with the call's context passed through with (nil:
// unchanged), for what only an in-process call carries (the identity of
// an external sign-in, oidcrp.go).
func (p *Portal) callWith(r *http.Request, who caller, method, path string, data any, with func(context.Context) context.Context) (*answer, error) {
	var body *bytes.Reader
	if data != nil {
		raw, err := json.Marshal(map[string]any{"data": data})
		if err != nil {
			return nil, fmt.Errorf("portal: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	ctx := p.callContext(r, who)
	if with != nil {
		ctx = with(ctx)
	}
	var req *http.Request
	var err error
	if body != nil {
		req, err = http.NewRequestWithContext(ctx, method, "http://accounts.internal/accounts/v1"+path, body)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, "http://accounts.internal/accounts/v1"+path, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("portal: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if who == asPortal && strings.HasPrefix(path, "/sessions/login/") {
		// A login ends the session the browser held (the one of its
		// refresh cookie) once the new one exists: the API reads the
		// cookie at the login steps, so it rides along; nothing else does.
		if c, err := r.Cookie(p.loginRefreshCookieName()); err == nil {
			req.AddCookie(c)
		}
	}
	rec := &recorder{header: http.Header{}}
	p.cfg.API.ServeHTTP(rec, req)
	if rec.overflow {
		return nil, fmt.Errorf("portal: %s %s: answer over %d bytes", method, path, maxAnswerBytes)
	}
	a := &answer{Status: rec.status, Header: rec.header}
	if a.Status == 0 {
		a.Status = http.StatusOK
	}
	if rec.body.Len() == 0 {
		return a, nil
	}
	var env struct {
		T     string          `json:"t"`
		Data  json.RawMessage `json:"data"`
		Error *envelope.Error `json:"error"`
	}
	if err := json.Unmarshal(rec.body.Bytes(), &env); err != nil {
		return nil, fmt.Errorf("portal: %s %s: answer is not an envelope: %w", method, path, err)
	}
	a.T, a.Data, a.Err = env.T, env.Data, env.Error
	return a, nil
}

// callContext is the context of a call as who: the page request's
// cancellation, and the claims (and token) the API is to see.
func (p *Portal) callContext(r *http.Request, who caller) context.Context {
	outer, _ := requestinfo.ClaimsFrom(r.Context())
	if who == asVisitor {
		return r.Context()
	}
	claims := requestinfo.Claims{Client: p.cfg.ClientID, IP: outer.IP}
	return requestinfo.NewContext(valuesDropped{r.Context()}, claims)
}

// valuesDropped is a context with its parent's deadline and cancellation
// but none of its values: a call as the portal must not carry the
// visitor's verified token along.
type valuesDropped struct{ context.Context }

func (valuesDropped) Value(any) any { return nil }

// passCookies gives the browser the cookies the API set in its answer
// (the token and refresh cookies of a session, or their expiry).
func passCookies(w http.ResponseWriter, a *answer) {
	for _, c := range a.Header.Values("Set-Cookie") {
		w.Header().Add("Set-Cookie", c)
	}
}

// recorder is the ResponseWriter of an in-process call.
type recorder struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	overflow bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.body.Len()+len(b) > maxAnswerBytes {
		r.overflow = true
		return 0, errors.New("portal: answer too large")
	}
	return r.body.Write(b)
}
