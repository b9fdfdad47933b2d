package verifier_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
)

// notesPolicy grants a user GET and POST on their own notes.
const notesPolicy = `{
  "name": "notes",
  "appliesTo": {"userRoles": ["user"]},
  "expires": 900,
  "scopes": [{"name": "own notes", "routes": ["/notes/v1/users/:userId/**"], "methods": ["GET", "POST"]}]
}`

// notesTokens mints user u42's tokens under notesPolicy, as the login
// does, one per method.
func notesTokens(ring *mint.KeyRing) mint.Tokens {
	p, err := policy.Parse("notes.json", []byte(notesPolicy))
	if err != nil {
		log.Fatal(err)
	}
	m, err := mint.New(mint.Config{Keys: ring, ServerID: "example"})
	if err != nil {
		log.Fatal(err)
	}
	toks, err := m.Mint([]*policy.Policy{p}, mint.Subject{UserID: "u42", SessionID: "s1"})
	if err != nil {
		log.Fatal(err)
	}
	return toks
}

// send makes one request and prints its method, path and status, and the
// body when the handler answered.
func send(method, url, token string) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		log.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Macaroon "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := fmt.Sprintf("%s %s: %d", method, req.URL.RequestURI(), resp.StatusCode)
	if resp.StatusCode == http.StatusOK {
		out += " " + string(body)
	}
	fmt.Println(out)
}

// An Echo service protects itself with one line,
// e.Use(verifier.MustEchoMiddleware(...)), and reads the caller's
// identity from the request context. Refusals reach Echo's error handler;
// the default one sends them in the JSON error envelope.
func ExampleMustEchoMiddleware() {
	// The key ring and server ID are the gateway's; a service reads the
	// ring with mint.LoadKeyRing("/etc/authgw/keys.json").
	ring, err := mint.GenerateKeyRing("k1", rand.Reader)
	if err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	e.HideBanner = true
	e.Use(verifier.MustEchoMiddleware(verifier.Config{
		ServerID: "example",
		Keys:     ring,
		Public:   map[string][]string{"GET": {"/healthz"}},
	}))
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/notes/v1/users/:id/*", func(c echo.Context) error {
		id, _ := verifier.IdentityFrom(c.Request().Context())
		return c.String(http.StatusOK, "notes of "+id.UserID)
	})
	srv := httptest.NewServer(e)
	defer srv.Close()

	// Tokens come from the login (or `authgw mint`): one per method.
	toks := notesTokens(ring)

	send("GET", srv.URL+"/healthz", "")
	send("GET", srv.URL+"/notes/v1/users/u42/todo", "")
	send("GET", srv.URL+"/notes/v1/users/u42/todo", toks.ByMethod["GET"])
	send("GET", srv.URL+"/notes/v1/users/u7/todo", toks.ByMethod["GET"])
	send("DELETE", srv.URL+"/notes/v1/users/u42/todo", toks.ByMethod["GET"])
	// Output:
	// GET /healthz: 200 ok
	// GET /notes/v1/users/u42/todo: 401
	// GET /notes/v1/users/u42/todo: 200 notes of u42
	// GET /notes/v1/users/u7/todo: 403
	// DELETE /notes/v1/users/u42/todo: 403
}

// A net/http service wraps its handler (a ServeMux, say) with the
// Verifier's HTTPMiddleware; requests reach it only when their token
// grants them.
func ExampleVerifier_HTTPMiddleware() {
	ring, err := mint.GenerateKeyRing("k1", rand.Reader)
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /notes/v1/users/{id}/{note}", func(w http.ResponseWriter, r *http.Request) {
		id, ok := verifier.IdentityFrom(r.Context())
		if !ok {
			http.Error(w, "no identity", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s saved %s with a %s token", id.UserID, r.PathValue("note"), id.Method)
	})
	v, err := verifier.New(verifier.Config{ServerID: "example", Keys: ring})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(v.HTTPMiddleware(mux))
	defer srv.Close()

	toks := notesTokens(ring)

	send("POST", srv.URL+"/notes/v1/users/u42/todo", toks.ByMethod["POST"])
	send("POST", srv.URL+"/notes/v1/users/u42/todo", toks.ByMethod["GET"])        // a GET token cannot POST
	send("POST", srv.URL+"/notes/v1/users/u42/../u7/todo", toks.ByMethod["POST"]) // never normalized: refused
	send("POST", srv.URL+"/notes/v1/users/u42/todo", "")
	// Output:
	// POST /notes/v1/users/u42/todo: 200 u42 saved todo with a POST token
	// POST /notes/v1/users/u42/todo: 403
	// POST /notes/v1/users/u42/../u7/todo: 400
	// POST /notes/v1/users/u42/todo: 401
}

// An Echo app with its own HTTPErrorHandler sees the verifier's
// refusals: the *echo.HTTPError's Internal is a *verifier.DenialError,
// whose Response is what the client may be told and whose Err is the
// reason, for logs. EchoConfig's hooks see each outcome first.
func ExampleVerifier_EchoMiddleware() {
	ring, err := mint.GenerateKeyRing("k1", rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	v, err := verifier.New(verifier.Config{ServerID: "example", Keys: ring})
	if err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	e.HideBanner = true
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if d, ok := errors.AsType[*verifier.DenialError](err); ok {
			// The app answers refusals its own way: a page, a redirect...
			fmt.Println("app error handler:", d.Response.Status, d.Response.Code, errors.Is(err, verifier.ErrUnauthorized))
			_ = c.String(d.Response.Status, d.Response.Detail)
			return
		}
		e.DefaultHTTPErrorHandler(err, c)
	}
	e.Use(v.EchoMiddleware(verifier.EchoConfig{
		Skipper: func(c echo.Context) bool { return c.Request().URL.Path == "/metrics" },
		SuccessHandler: func(c echo.Context) {
			id, _ := verifier.IdentityFrom(c.Request().Context())
			fmt.Println("verified:", id.UserID, id.Method)
		},
	}))
	e.GET("/*", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	srv := httptest.NewServer(e)
	defer srv.Close()

	toks := notesTokens(ring)

	send("GET", srv.URL+"/metrics", "")
	send("GET", srv.URL+"/notes/v1/users/u42/todo", "")
	send("GET", srv.URL+"/notes/v1/users/u42/todo", toks.ByMethod["GET"])
	// Output:
	// GET /metrics: 200 ok
	// app error handler: 401 TOKEN-MISSING true
	// GET /notes/v1/users/u42/todo: 401
	// verified: u42 GET
	// GET /notes/v1/users/u42/todo: 200 ok
}

// A step-up token needs, besides the request, the discharge of its
// third-party caveat bound to it. Without one, Verify answers a
// *StepUpError naming the caveat and where to discharge it; the accounts
// service's discharge endpoint (here mint's Discharge, as it calls it)
// answers a discharge after a fresh proof of the user, which the client
// binds to its token (macaroon.v2's Bind) and sends with it.
func ExampleVerifier_Verify_discharge() {
	ring, err := mint.GenerateKeyRing("k1", rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	p, err := policy.Parse("notes.json", []byte(`{"name": "notes", "appliesTo": {"userRoles": ["user"]}, "expires": 900,
	  "scopes": [{"name": "delete all", "routes": ["/notes/v1/users/:userId"], "methods": ["DELETE"], "stepUp": 300}]}`))
	if err != nil {
		log.Fatal(err)
	}
	m, err := mint.New(mint.Config{Keys: ring, ServerID: "example"})
	if err != nil {
		log.Fatal(err)
	}
	toks, err := m.Mint([]*policy.Policy{p}, mint.Subject{UserID: "u42", SessionID: "s1"})
	if err != nil {
		log.Fatal(err)
	}
	stepUp := toks.StepUp["DELETE"]
	v, err := verifier.New(verifier.Config{ServerID: "example", Keys: ring})
	if err != nil {
		log.Fatal(err)
	}
	req := verifier.Request{Method: "DELETE", Path: "/notes/v1/users/u42"}

	_, err = v.Verify(stepUp, req)
	var su *verifier.StepUpError
	if errors.As(err, &su) {
		fmt.Println("no discharge: get one at", su.Location)
	}

	// The accounts service, after the user proved a factor again.
	claim, err := mint.OpenStepUp(ring, su.CaveatID)
	if err != nil {
		log.Fatal(err)
	}
	discharge, _, err := m.Discharge(su.CaveatID, claim)
	if err != nil {
		log.Fatal(err)
	}
	// The client binds it to its step-up token.
	bound, err := mint.BindDischarge(stepUp, discharge)
	if err != nil {
		log.Fatal(err)
	}

	id, err := v.Verify(stepUp, req, bound)
	fmt.Println("bound discharge:", id.UserID, id.StepUp, err)
	_, err = v.Verify(stepUp, req, discharge)
	fmt.Println("unbound discharge refused:", errors.Is(err, verifier.ErrStepUpRequired))
	// Output:
	// no discharge: get one at /accounts/v1/discharge
	// bound discharge: u42 true <nil>
	// unbound discharge refused: true
}
