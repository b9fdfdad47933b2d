package accounts_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
)

// The property of every route that takes a body: whatever bytes come in,
// the answer is a JSON envelope with a "t" and never a 5xx (the README's "The accounts service":
// nothing the caller sends produces a server error).

// bodyRoute is a POST or PATCH route with its path parameters filled in.
type bodyRoute struct {
	// key is "METHOD /path" of the table (Echo syntax); for the login
	// route, with the step.
	key          string
	method, path string
	// valid is a body the route accepts (or refuses only for what it
	// means, not for its shape).
	valid string
}

// bodyTarget is one stack with a sysadmin calling through an ISC client
// (roles system and internal, secret presented), and one of each
// resource the body routes' paths name.
type bodyTarget struct {
	s      *stack
	caller appClient
	root   db.User
	routes []bodyRoute
}

// testState is a well-formed login state.
const testState = "0123456789abcdef0123456789abcdef"

// validBodies are bodies each POST/PATCH route accepts, by route key;
// {mia} stands for the other user's ID. A new body route needs one here.
var validBodies = map[string]string{
	"POST /organizations":             `{"data":{"type":"organizations","name":"Acme"}}`,
	"PATCH /organizations/:id":        `{"data":{"type":"organizations","name":"Home, renamed"}}`,
	"POST /users":                     `{"data":{"type":"users","name":"Zed","email":"zed@example.com","password":"a long enough passphrase 42"}}`,
	"PATCH /users/:id":                `{"data":{"type":"users","id":"{mia}","name":"Mia B."}}`,
	"POST /users/:id/roles":           `{"data":{"type":"user-roles","id":"employee"}}`,
	"POST /users/:id/change-password": `{"data":{"newPassword":"another long passphrase 7"}}`,
	"POST /users/:id/emails":          `{"data":{"type":"emails","email":"mia.two@example.com"}}`,
	"POST /users/:id/emails/:emailId/generate-verification":         ``,
	"POST /users/:id/emails/:emailId/verify":                        `{"data":{"code":"abcdefghijklmnopqrstuvwxyz"}}`,
	"POST /organizations/:id/clients":                               `{"data":{"type":"clients","name":"New app","reqsPerSec":5}}`,
	"PATCH /organizations/:id/clients/:clientId":                    `{"data":{"type":"clients","name":"Renamed app","reqsPerSec":-1}}`,
	"POST /organizations/:id/clients/:clientId/refresh-secret":      ``,
	"POST /organizations/:id/clients/:clientId/roles":               `{"data":{"type":"client-roles","id":"internal"}}`,
	"POST /organizations/:id/clients/:clientId/access-restrictions": `{"data":{"type":"ip-access-restrictions","value":"10.0.0.0/8"}}`,
	"POST /organizations/:id/memberships":                           `{"data":{"type":"org-memberships","user":{"data":{"type":"users","id":"{mia}"}},"edit":true}}`,
	"PATCH /org-memberships/:id":                                    `{"data":{"type":"org-memberships","manage":true}}`,
	"POST /org-memberships/:id/accept":                              ``,
	"POST /sessions/login/:step email":                              `{"data":{"t":"email-step","email":"nobody@example.com","state":"` + testState + `"}}`,
	"POST /sessions/login/:step code":                               `{"data":{"t":"code-step","code":"abcdefghijklmnopqrstuvwxyz","state":"` + testState + `"}}`,
	"POST /sessions/login/:step password":                           `{"data":{"t":"password-step","email":"root@example.com","password":"correct horse battery staple","state":"` + testState + `"}}`,
	"POST /sessions/login/:step totp":                               `{"data":{"t":"totp-step","code":"abcdefghijklmnopqrstuvwxyz","totp":"123456","state":"` + testState + `"}}`,
	"POST /sessions/refresh":                                        `{"data":{"t":"refresh-tokens","token":"not-a-refresh-token"}}`,
	"POST /recovery":                                                `{"data":{"email":"nobody@example.com"}}`,
	"POST /recovery/reset":                                          `{"data":{"code":"abcdefghijklmnopqrstuvwxyz","newPassword":"a long enough passphrase 42"}}`,
	"POST /email-verifications":                                     `{"data":{"emailId":"00000000-0000-7000-8000-000000000000","code":"abcdefghijklmnopqrstuvwxyz"}}`,
	"POST /sessions/logout":                                         `{"data":[{"t":"sessions","value":"00000000-0000-7000-8000-000000000000"}]}`,
	"POST /oidc-requests/:id/decision":                              `{"data":{"allow":false,"error":"access_denied","browser":"b"}}`,
	"POST /discharge":                                               `{"data":{"caveatId":"c3UBAmsxAAAA","currentPassword":"a guess at the password"}}`,
	"POST /users/:id/totp":                                          `{"data":{"currentPassword":"a guess at the password"}}`,
	"POST /users/:id/totp/confirm":                                  `{"data":{"totp":"123456"}}`,
	"POST /users/:id/recovery-codes":                                `{"data":{"currentPassword":"a guess at the password"}}`,
	"POST /users/:id/passkeys/options":                              `{"data":{"currentPassword":"a guess at the password"}}`,
	"POST /users/:id/passkeys/proof-options":                        ``,
	"POST /users/:id/passkeys":                                      `{"data":{"name":"laptop","credential":{"id":"AAAA","type":"public-key"}}}`,
	"POST /sessions/login/:step webauthn":                           `{"data":{"t":"webauthn-step","state":"` + testState + `","credential":{"id":"AAAA"}}}`,
	"POST /apis":                                                    `{"data":{"type":"apis","name":"orders","version":2,"url":"https://orders.internal:8443/"}}`,
	"PATCH /apis/:name/:version":                                    `{"data":{"type":"apis","id":"billing/v1","active":false}}`,
	"POST /webhooks":                                                `{"data":{"type":"webhooks","url":"https://hooks.example.com/in","events":["login.failed"]}}`,
	"PATCH /webhooks/:id":                                           `{"data":{"type":"webhooks","events":["*"],"active":false}}`,
	"POST /webhooks/:id/deliveries/:deliveryId/retry":               ``,
	"POST /webhooks/:id/rotate-secret":                              ``,
}

// loginSteps are the values of the login route's :step.
var loginSteps = []string{"email", "code", "password", "totp", "webauthn"}

// newBodyTarget builds the stack on SQLite and lists the body routes of
// the table, in its order. It fails when a body route has no valid body
// in validBodies, or a path parameter it cannot fill.
func newBodyTarget(tb testing.TB) *bodyTarget {
	tb.Helper()
	s := newStack(tb, dbtest.SQLite(tb), func(c *accounts.Config) {
		c.WebAuthnRPID, c.WebAuthnOrigins = "localhost", []string{"http://localhost"}
	})
	root := s.user("Root", db.RoleSysadmin)
	mia := s.user("Mia")
	org := s.org("Home", root)
	caller := s.client(org, db.ClientRoleSystem, db.ClientRoleInternal)
	membership := s.member(org, mia, "read")
	other := s.client(org)
	if err := s.d.CreateAPI(s.ctx, db.API{Name: "billing", Version: 1, URL: "http://127.0.0.1:9/", Active: true,
		CreatedMs: s.clock.Now().UnixMilli()}); err != nil {
		tb.Fatal(err)
	}
	hook := s.webhookSubscription()
	// An unverified address, so generate-verification and verify get past
	// "verified already".
	unverified := db.Email{ID: s.id(), UserID: mia.ID, Email: "mia.unverified@example.com", CreatedMs: s.clock.Now().UnixMilli()}
	if err := s.d.AddEmail(s.ctx, unverified); err != nil {
		tb.Fatal(err)
	}
	fill := func(path string) string {
		return regexp.MustCompile(`:\w+`).ReplaceAllStringFunc(path, func(p string) string {
			switch {
			case p == ":id" && strings.HasPrefix(path, "/users/") && (strings.Contains(path, "/totp") || strings.Contains(path, "/recovery-codes") || strings.Contains(path, "/passkeys")):
				return "current" // the TOTP, recovery-code and passkey routes are the user's own only
			case p == ":id" && strings.HasPrefix(path, "/users/"):
				return mia.ID
			case p == ":id" && strings.HasPrefix(path, "/organizations/"):
				return org.ID
			case p == ":id" && strings.HasPrefix(path, "/org-memberships/"):
				return membership.ID
			case p == ":id" && strings.HasPrefix(path, "/oidc-requests/"):
				return "01a20320-a200-7000-830a-11181f262d34" // none: the body is read first, then 404
			case p == ":id" && strings.HasPrefix(path, "/webhooks/"):
				return hook
			case p == ":deliveryId":
				return "01a20320-a200-7000-830a-11181f262d35" // none: 409
			case p == ":clientId":
				return other.ID
			case p == ":emailId":
				return unverified.ID
			case p == ":name":
				return "billing"
			case p == ":version":
				return "1"
			}
			tb.Fatalf("no value for %s in %s", p, path)
			return ""
		})
	}
	bt := &bodyTarget{s: s, caller: caller, root: root}
	for _, rt := range accounts.Routes() {
		if rt.Method != http.MethodPost && rt.Method != http.MethodPatch {
			continue
		}
		key := rt.Method + " " + rt.Path
		steps := []string{""}
		if rt.Path == "/sessions/login/:step" {
			steps = loginSteps
		}
		for _, step := range steps {
			k, path := key, rt.Path
			if step != "" {
				k, path = key+" "+step, strings.Replace(path, ":step", step, 1)
			}
			valid, ok := validBodies[k]
			if !ok {
				tb.Fatalf("validBodies has no body for %s: add one", k)
			}
			bt.routes = append(bt.routes, bodyRoute{key: k, method: rt.Method, path: fill(path), valid: strings.ReplaceAll(valid, "{mia}", mia.ID)})
		}
	}
	return bt
}

// sendTimeout bounds one request: a route that hangs on some body is a
// failure too, not a stuck fuzzer.
const sendTimeout = 10 * time.Second

// send sends body as is (Content-Type application/json) to the route as
// the sysadmin, and returns the status and the answer. It calls no method
// of the stack's testing.TB, so a fuzz target may use it.
func (bt *bodyTarget) send(rt bodyRoute, body []byte) (int, []byte, error) {
	s := bt.s
	req, err := http.NewRequest(rt.method, s.srv.URL+accounts.Prefix+rt.path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	toks, err := s.minter.Mint([]*policy.Policy{s.policy}, mint.Subject{UserID: bt.root.ID, SessionID: s.id(), ClientID: bt.caller.ID})
	if err != nil {
		return 0, nil, err
	}
	cred := base64.StdEncoding.EncodeToString([]byte(bt.caller.ID + ":" + bt.caller.Secret))
	req.Header.Set("Authorization", "Basic "+cred+", Macaroon "+toks.ByMethod[rt.method])
	client := *s.srv.Client()
	client.Timeout = sendTimeout
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res.StatusCode, raw, err
}

// check sends body to the route and returns the answer's status and
// what is wrong with it: a 5xx, a body that is not JSON, or one without
// a "t".
func (bt *bodyTarget) check(rt bodyRoute, body []byte) (int, error) {
	status, raw, err := bt.send(rt, body)
	if err != nil {
		return 0, fmt.Errorf("%s %s with body %.300q: %v", rt.method, rt.path, body, err)
	}
	return status, answerProblem(rt, body, status, raw)
}

// answerProblem says what is wrong with an answer, nil when nothing.
func answerProblem(rt bodyRoute, body []byte, status int, raw []byte) error {
	var envelope map[string]json.RawMessage
	var t string
	switch {
	case status >= 500:
		return fmt.Errorf("%s %s: %d for body %.300q: %s", rt.method, rt.path, status, body, raw)
	case json.Unmarshal(raw, &envelope) != nil:
		return fmt.Errorf("%s %s: %d answer is not a JSON object: %.300q", rt.method, rt.path, status, raw)
	case json.Unmarshal(envelope["t"], &t) != nil || t == "":
		return fmt.Errorf("%s %s: %d answer has no \"t\": %.300s", rt.method, rt.path, status, raw)
	}
	return nil
}

// nesting returns n arrays nested in one another.
func nesting(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

// fuzzSeeds are the bodies every route is seeded with besides its valid
// one.
var fuzzSeeds = []string{
	`{}`,
	`{"data":null}`,
	`{"data":{"x":1}}`,
	`{"data":` + nesting(10001) + `}`,
	`{"data":{"name":` + nesting(500) + `,"user":{"data":` + strings.Repeat(`{"a":`, 500) + `1` + strings.Repeat(`}`, 500) + `}}}`,
	`{"data":{"reqsPerSec":1e999999,"version":-99999999999999999999999999999,"read":1e-400,"totp":123456789012345678901234567890}}`,
	`{"data":{"type":5,"id":[],"name":{},"email":true,"password":1,"reqsPerSec":"10","version":"1","url":1,"user":"x",` +
		`"read":"yes","edit":0,"value":{},"code":1,"totp":1.5,"state":false,"token":{},"refresh":[],"newPassword":[],"currentPassword":null,"passkey":"x","allowUnidentified":"true","active":null,"referrer":7}}`,
	`{"data":[{"t":"sessions","value":5},{"t":null}]}`,
	`{"data":{"code":"abcdefghijklmnopqrstuvwxyz","state":"` + testState + `","recoveryCode":["aaaa-bbbb-cccc-dddd"],"totp":null}}`,
	`{"data":{"code":"abcdefghijklmnopqrstuvwxyz","state":"` + testState + `","recoveryCode":"` + strings.Repeat("-", 65) + `"}}`,
	`{"data":{"caveatId":"c3UBAmsxAAAA","passkey":{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AAAA"}}}}`,
}

func FuzzBodies(f *testing.F) {
	bt := newBodyTarget(f)
	for i, rt := range bt.routes {
		f.Add(uint8(i), []byte(rt.valid))
		for _, seed := range fuzzSeeds {
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, routeIndex uint8, body []byte) {
		rt := bt.routes[int(routeIndex)%len(bt.routes)]
		if _, err := bt.check(rt, body); err != nil {
			t.Fatal(err)
		}
	})
}

// garbage is a fixed list of nasty bodies every POST and PATCH route must
// answer without a 5xx, even when fuzzing is off.
var garbage = []struct{ name, body string }{
	{"empty", ``},
	{"white space", " \n\t "},
	{"null", `null`},
	{"a string", `"data"`},
	{"an array", `[]`},
	{"a number", `1e999`},
	{"empty object", `{}`},
	{"data null", `{"data":null}`},
	{"data empty", `{"data":{}}`},
	{"data unknown field", `{"data":{"x":1}}`},
	{"data array", `{"data":[]}`},
	{"data string", `{"data":"x"}`},
	{"data twice", `{"data":{"name":"a"},"data":{"name":"b"}}`},
	{"other case", `{"DATA":{"name":"a"}}`},
	{"member beside data", `{"data":{},"meta":{}}`},
	{"truncated", `{"data":{"name":"a"`},
	{"trailing data", `{"data":{}} {"data":{}}`},
	{"byte order mark", "\xef\xbb\xbf{\"data\":{}}"},
	{"invalid UTF-8", "{\"data\":{\"name\":\"\xff\xfe\",\"email\":\"\xc3\"}}"},
	{"NUL byte", "{\"data\":{\"name\":\"a\x00b\"}}"},
	{"escaped NUL and bidi", `{"data":{"name":"a\u0000\u202e","email":"a\u0000@example.com","value":"\u2028"}}`},
	{"lone surrogate", `{"data":{"name":"\ud800","password":"\udfff\ud800"}}`},
	{"deep arrays", `{"data":` + nesting(20000) + `}`},
	{"deep objects in a field", `{"data":{"user":` + strings.Repeat(`{"data":`, 5000) + `null` + strings.Repeat(`}`, 5000) + `}}`},
	{"huge numbers", `{"data":{"reqsPerSec":1e999999,"version":99999999999999999999999999999,"read":1,"totp":-0}}`},
	{"fractions", `{"data":{"reqsPerSec":1.5,"version":1e3,"read":0.0}}`},
	{"wrong types", fuzzSeeds[6]},
	{"passkey proof", fuzzSeeds[len(fuzzSeeds)-1]},
	{"passkey proof too long", `{"data":{"passkey":{"id":"` + strings.Repeat("A", 20000) + `"}}}`},
	{"long strings", `{"data":{"name":"` + strings.Repeat("é", 100_000) + `","email":"` + strings.Repeat("a", 5000) + `@example.com"}}`},
	{"over 1 MiB", `{"data":{"name":"` + strings.Repeat("a", 1<<20) + `"}}`},
	{"relationship garbage", `{"data":{"user":{"data":{"type":"users","id":"../../etc/passwd"}},"read":true}}`},
	{"relationship null data", `{"data":{"user":{"data":null},"client":{"data":[]}}}`},
	{"proto keys", `{"data":{"__proto__":{"admin":true},"constructor":{}}}`},
	{"SQL in values", `{"data":{"name":"x'); DROP TABLE users;--","email":"a'--@example.com","value":"' OR 1=1 --","url":"http://x/'"}}`},
	{"odd values", `{"data":{"type":"ip-access-restrictions","value":"999.1.1.1/99","url":"javascript:alert(1)","name":"ACCOUNTS","version":0,"reqsPerSec":-2,"state":"ZZ","email":"a@b@c"}}`},
	{"logout items", `{"data":[{"t":"refresh-tokens","value":""},{"t":"sessions","value":"` + strings.Repeat("x", 4096) + `"}]}`},
	{"many logout items", `{"data":[` + strings.TrimSuffix(strings.Repeat(`{"t":"sessions","value":"a"},`, 1000), ",") + `]}`},
}

func TestNoServerErrorsOnGarbage(t *testing.T) {
	bt := newBodyTarget(t)
	for _, rt := range bt.routes {
		t.Run(rt.key, func(t *testing.T) {
			statuses := map[int]int{}
			for _, g := range garbage {
				status, err := bt.check(rt, []byte(g.body))
				if err != nil {
					t.Errorf("%s: %v", g.name, err)
				}
				statuses[status]++
			}
			// The valid body too: a handler may not fail on what it
			// accepts, and the seed must still have the route's shape
			// (update validBodies when a route's fields change).
			status, raw, err := bt.send(rt, []byte(rt.valid))
			if err == nil {
				err = answerProblem(rt, []byte(rt.valid), status, raw)
			}
			if err != nil {
				t.Fatalf("valid body: %v", err)
			}
			var answer struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.Unmarshal(raw, &answer)
			switch answer.Error.Code {
			case accounts.CodeBadBody, accounts.CodeInvalidData, accounts.CodeUnsupportedType, accounts.CodeBodyTooLarge:
				t.Errorf("the valid body is refused for its shape: %s", raw)
			}
			t.Logf("valid body: %d; garbage: %v", status, statuses)
		})
	}
}
