package portal

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/authgw/authgw/accounts/ui"
	"github.com/authgw/authgw/mint"
)

// Step-up: a policy scope with stepUp keeps its routes out of the
// ordinary tokens, and the browser holds, per method, a step-up token for
// them (the cookie CookieConfig.StepUpName) that works only with a bound
// discharge of its third-party caveat (the cookie DischargeName). The
// gateway sends a browser refused for want of one here
// (StepUpPath?return_to=...). The page asks for a fresh proof, as the
// confirm page of a dangerous change does, has the API discharge every
// step-up token the browser holds with that one proof (POST /discharge
// with "tokens"), sets each bound discharge as its method's cookie,
// expiring with it, and sends the browser back.

// errStepUpAnswer: the API's discharge answer did not hold one
// discharge per token sent.
var errStepUpAnswer = errors.New("portal: POST /discharge answered no discharge per token")

// StepUpPath is the re-authentication page.
const StepUpPath = Prefix + "/step-up"

// stepUpPages are the routes of the re-authentication page.
var stepUpPages = []Page{
	{Method: http.MethodGet, Path: "/step-up", handle: (*Portal).stepUpPage},
	{Method: http.MethodPost, Path: "/step-up", handle: (*Portal).stepUp},
}

// stepUpProof is the confirm page of a step-up, returning to returnTo.
func stepUpProof(v signedInUser, returnTo string) proofRequest {
	return proofRequest{action: StepUpPath, purpose: v.purpose("step-up"),
		heading: ui.M("confirm.stepup.heading"), lead: ui.M("confirm.stepup.lead"), submit: ui.M("confirm.stepup.submit"),
		hidden: []ui.Hidden{{Name: "return_to", Value: returnTo}}}
}

// stepUpTokens returns the step-up tokens the browser holds, with their
// methods, in the order of mint.Methods.
func (p *Portal) stepUpTokens(r *http.Request) (methods, tokens []string) {
	for _, m := range mint.Methods() {
		if c, err := r.Cookie(p.cfg.Cookies.StepUpName(m)); err == nil && c.Value != "" {
			methods, tokens = append(methods, m), append(tokens, c.Value)
		}
	}
	return methods, tokens
}

// stepUpPage is GET /step-up: the password, a code of the authenticator
// app, or a code by mail. A browser without a step-up token has nothing
// to confirm: it goes back at once.
func (p *Portal) stepUpPage(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok {
		return
	}
	returnTo := p.returnTo(r)
	if _, tokens := p.stepUpTokens(r); len(tokens) == 0 {
		p.seeOther(w, r, returnTo)
		return
	}
	p.showProofPage(w, r, v, http.StatusOK, stepUpProof(v, r.FormValue("return_to")), proofErrors{})
}

// stepUp is POST /step-up: one proof, a discharge for every step-up
// token the browser holds, each set as its method's discharge cookie.
func (p *Portal) stepUp(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok || !p.readForm(w, r, v.purpose("step-up")) {
		return
	}
	req := stepUpProof(v, r.PostForm.Get("return_to"))
	if p.mailProofCode(w, r, v, req) {
		return
	}
	returnTo := p.returnTo(r)
	methods, tokens := p.stepUpTokens(r)
	if len(tokens) == 0 {
		p.seeOther(w, r, returnTo)
		return
	}
	pr := readProofFields(r)
	pr.sent = true
	body := map[string]any{"tokens": tokens}
	pr.into(body)
	a, err := p.call(r, asVisitor, http.MethodPost, "/discharge", body)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	switch {
	case a.OK():
	case p.askProof(w, r, v, a, pr, req):
		return
	case a.Code() == "NOT-A-STEP-UP-CAVEAT" || a.Code() == "STEP-UP-NOT-YOURS":
		// Cookies of another session, or sealed by a retired key: only a
		// new sign-in mends them.
		p.seeOther(w, r, LoginPath+"?return_to="+url.QueryEscape(returnTo))
		return
	default:
		p.settingsRefused(w, r, a)
		return
	}
	var out struct {
		Discharges []struct {
			BoundDischarge string `json:"boundDischarge"`
			ExpiresAt      int64  `json:"expiresAt"`
		} `json:"discharges"`
	}
	if err := a.Decode(&out); err != nil || len(out.Discharges) != len(methods) {
		p.unavailable(w, r, errStepUpAnswer)
		return
	}
	for i, d := range out.Discharges {
		http.SetCookie(w, p.cfg.Cookies.DischargeCookie(methods[i], d.BoundDischarge, time.UnixMilli(d.ExpiresAt)))
	}
	p.seeOther(w, r, returnTo)
}

// stepUpRouter is the API's StepUpRoute (an *accounts.Service has it):
// whether the user's policies keep a route under a step-up.
type stepUpRouter interface {
	StepUpRoute(ctx context.Context, userID, sessionID, method, path string) (bool, error)
}

// apiPrefix is the accounts API's path at the gateway, as the policies
// name its routes.
const apiPrefix = "/accounts/v1"

// stepUpForRemoval asks a fresh proof before the page removes an address
// when the browser holds a DELETE step-up token: the policies keep some
// DELETE routes (the example ones: removing an address) under a step-up,
// and the page's own call to the API runs with the claims the gateway
// verified for the page, not for that route, so the page asks what the
// route would. The proof discharges the DELETE step-up token (the
// discharge cookie is set for the API's own use too). It reports whether
// the removal may go on; when not, it has answered (the confirm page, or
// an error).
func (p *Portal) stepUpForRemoval(w http.ResponseWriter, r *http.Request, v signedInUser, id string) bool {
	c, err := r.Cookie(p.cfg.Cookies.StepUpName(http.MethodDelete))
	if err != nil || c.Value == "" {
		// No step-up cookie is no proof that none is needed: whoever
		// stole the other cookies can leave it out. The API says whether
		// the user's policies keep the route under a step-up; if so, only
		// a new sign-in (which sets the step-up cookie) goes on.
		sr, ok := p.cfg.API.(stepUpRouter)
		if !ok {
			return true
		}
		need, err := sr.StepUpRoute(r.Context(), v.userID, v.sessionID, http.MethodDelete, apiPrefix+"/users/"+v.userID+"/emails/"+id)
		if err != nil {
			p.unavailable(w, r, err)
			return false
		}
		if need {
			p.seeOther(w, r, LoginPath+"?return_to="+url.QueryEscape(SettingsPath))
			return false
		}
		return true
	}
	req := proofRequest{action: SettingsPath + "/emails/" + id + "/remove", purpose: v.purpose("settings-email-remove", id),
		heading: ui.M("confirm.email_remove.heading"), lead: ui.M("confirm.email_remove.lead"), submit: ui.M("confirm.email_remove.submit")}
	if p.mailProofCode(w, r, v, req) {
		return false
	}
	pr := readProofFields(r)
	body := map[string]any{"tokens": []string{c.Value}}
	pr.into(body)
	a, err := p.call(r, asVisitor, http.MethodPost, "/discharge", body)
	if err != nil {
		p.unavailable(w, r, err)
		return false
	}
	switch {
	case a.OK():
	case p.askProof(w, r, v, a, pr, req):
		return false
	case a.Code() == "NOT-A-STEP-UP-CAVEAT" || a.Code() == "STEP-UP-NOT-YOURS":
		p.seeOther(w, r, LoginPath+"?return_to="+url.QueryEscape(SettingsPath))
		return false
	default:
		p.settingsRefused(w, r, a)
		return false
	}
	var out struct {
		Discharges []struct {
			BoundDischarge string `json:"boundDischarge"`
			ExpiresAt      int64  `json:"expiresAt"`
		} `json:"discharges"`
	}
	if err := a.Decode(&out); err != nil || len(out.Discharges) != 1 {
		p.unavailable(w, r, errStepUpAnswer)
		return false
	}
	http.SetCookie(w, p.cfg.Cookies.DischargeCookie(http.MethodDelete, out.Discharges[0].BoundDischarge, time.UnixMilli(out.Discharges[0].ExpiresAt)))
	return true
}
