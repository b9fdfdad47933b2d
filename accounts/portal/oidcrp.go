package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/oidcrp"
	"github.com/authgw/authgw/accounts/ui"
)

// "Sign in with …": the sign-in page offers each external provider of
// Config.Federation as a link to its start page, which sends the browser
// to the provider; the provider sends it back to the callback page,
// which has the relying party check the answer (oidcrp.RP.Finish) and
// then signs in through the login step accounts.StepFederated, called
// in-process with the verified identity in the call's context: the
// accounts service decides which account it opens and asks for a second
// factor as after a password.
//
// The sign-in's state, nonce and PKCE verifier are kept in the store
// (single use, short-lived), and the state also in an HttpOnly cookie of
// the browser that started it: a callback opened in another browser (a
// planted sign-in), or a second time, is refused. The cookie is
// SameSite=Lax, as the provider's redirect back is a cross-site
// top-level navigation.

// oidcPages are the start and callback of an external provider's
// sign-in, and the removal of a linked identity from the account page.
var oidcPages = []Page{
	{Method: http.MethodGet, Path: "/login/oidc/{provider}", Public: true, handle: (*Portal).oidcStart},
	{Method: http.MethodGet, Path: "/login/oidc/{provider}/callback", Public: true, handle: (*Portal).oidcCallback},
	{Method: http.MethodPost, Path: "/settings/identities/{id}/remove", handle: (*Portal).settingsIdentityRemove},
}

// oidcPath is the path of the external sign-ins' pages, the state
// cookie's path.
const oidcPath = Prefix + "/login/oidc"

// oidcStateCookieName is the name of the cookie that binds a sign-in at
// a provider to the browser that started it.
func (p *Portal) oidcStateCookieName() string { return p.cookiePrefix() + "oidc-state" }

// providerLinks returns the sign-in page's "Sign in with …" links.
func (p *Portal) providerLinks(returnTo string) []Link {
	if p.cfg.Federation == nil {
		return nil
	}
	var out []Link
	for _, pr := range p.cfg.Federation.Providers() {
		out = append(out, Link{URL: withReturn(oidcPath+"/"+pr.ID, returnTo), Text: ui.M("signin.oidc.button", pr.Name)})
	}
	return out
}

// oidcStart is GET /login/oidc/{provider}?return_to=: it starts a
// sign-in and sends the browser to the provider.
func (p *Portal) oidcStart(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("provider")
	name, ok := p.providerName(id)
	if !ok {
		p.notFound(w, r)
		return
	}
	rt := p.returnTo(r)
	st, err := p.cfg.Federation.Start(r.Context(), id, rt)
	switch {
	case errors.Is(err, oidcrp.ErrUnavailable):
		p.oidcNotice(w, r, http.StatusServiceUnavailable, rt, ui.M("signin.oidc.unavailable.heading"), ui.M("signin.oidc.unavailable", name))
		return
	case err != nil:
		p.unavailable(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: p.oidcStateCookieName(), Value: st.State, Path: oidcPath, MaxAge: int(p.cfg.Federation.FlowTTL().Seconds()),
		HttpOnly: true, Secure: !p.cfg.Cookies.Insecure, SameSite: http.SameSiteLaxMode})
	p.cfg.Renderer.SetSecurityHeaders(w.Header())
	http.Redirect(w, r, st.URL, http.StatusFound)
}

// providerName returns the name of the provider id when federation is on
// and it is configured.
func (p *Portal) providerName(id string) (string, bool) {
	if p.cfg.Federation == nil {
		return "", false
	}
	return p.cfg.Federation.ProviderName(id)
}

// oidcCallback is GET /login/oidc/{provider}/callback?state=&code= (or
// &error=): the provider's answer. The state cookie is dropped whatever
// the outcome.
func (p *Portal) oidcCallback(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("provider")
	name, ok := p.providerName(id)
	if !ok {
		p.notFound(w, r)
		return
	}
	ui.NoReferrer(w.Header()) // the address carries the provider's code
	var browserState string
	if c, err := r.Cookie(p.oidcStateCookieName()); err == nil {
		browserState = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: p.oidcStateCookieName(), Value: "", Path: oidcPath, MaxAge: -1,
		HttpOnly: true, Secure: !p.cfg.Cookies.Insecure, SameSite: http.SameSiteLaxMode})
	fin, err := p.cfg.Federation.Finish(r.Context(), id, r.URL.Query(), browserState)
	if err != nil {
		p.oidcRefused(w, r, id, name, err)
		return
	}
	state, err := p.newLoginState()
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	ident := fin.Identity
	f := flow{State: state, ReturnTo: fin.ReturnTo}
	a, err := p.callWith(r, asPortal, http.MethodPost, "/sessions/login/"+accounts.StepFederated, map[string]any{"state": state},
		func(ctx context.Context) context.Context {
			return accounts.WithFederatedIdentity(ctx, accounts.FederatedIdentity{
				ProviderID: ident.ProviderID, ProviderName: ident.ProviderName, Issuer: ident.Issuer, Subject: ident.Subject,
				Email: ident.Email, EmailVerified: ident.EmailVerified, Name: ident.Name,
				AllowLinking: ident.AllowLinking, AllowSignUp: ident.AllowSignUp,
			})
		})
	p.loginAnswer(w, r, a, err, f, func(a *answer) {
		switch a.Code() {
		case accounts.CodeFederatedNoAccount:
			p.oidcNotice(w, r, a.Status, f.ReturnTo, ui.M("signin.oidc.no_account.heading"), ui.M("signin.oidc.no_account", name, name))
		case accounts.CodeFederatedAddressTaken:
			p.oidcNotice(w, r, a.Status, f.ReturnTo, ui.M("signin.oidc.address_taken.heading"), ui.M("signin.oidc.address_taken", name))
		case accounts.CodeFederatedNoAddress:
			p.oidcNotice(w, r, a.Status, f.ReturnTo, ui.M("signin.oidc.no_address.heading"), ui.M("signin.oidc.no_address", name))
		case accounts.CodeUserBanned:
			p.oidcNotice(w, r, a.Status, f.ReturnTo, ui.M("signin.oidc.banned.heading"), ui.M("signin.error.banned"))
		default:
			p.oidcNotice(w, r, a.Status, f.ReturnTo, ui.M("signin.oidc.refused.heading"), ui.M("signin.oidc.refused", name))
		}
	})
}

// oidcRefused shows why the relying party refused a callback. Nothing is
// logged that came from the provider but its error code.
func (p *Portal) oidcRefused(w http.ResponseWriter, r *http.Request, id, name string, err error) {
	var perr *oidcrp.ProviderError
	switch {
	case errors.Is(err, oidcrp.ErrState):
		p.oidcNotice(w, r, http.StatusBadRequest, "", ui.M("signin.oidc.expired.heading"), ui.M("signin.oidc.expired"))
	case errors.As(err, &perr):
		p.oidcNotice(w, r, http.StatusBadRequest, "", ui.M("signin.oidc.refused.heading"), ui.M("signin.oidc.denied", name, perr.Code))
	case errors.Is(err, oidcrp.ErrUnavailable):
		p.cfg.Logger.Warn("portal: external sign-in failed", "provider", id, "err", err)
		p.oidcNotice(w, r, http.StatusServiceUnavailable, "", ui.M("signin.oidc.unavailable.heading"), ui.M("signin.oidc.unavailable", name))
	case errors.Is(err, oidcrp.ErrRefused):
		p.cfg.Logger.Warn("portal: external sign-in refused", "provider", id, "err", err)
		p.oidcNotice(w, r, http.StatusBadRequest, "", ui.M("signin.oidc.refused.heading"), ui.M("signin.oidc.refused", name))
	default:
		p.unavailable(w, r, fmt.Errorf("portal: external sign-in: %w", err))
	}
}

// oidcNotice renders a notice about an external sign-in, with a link
// back to the sign-in page.
func (p *Portal) oidcNotice(w http.ResponseWriter, r *http.Request, status int, rt string, heading, para ui.Msg) {
	if status < 400 {
		status = http.StatusBadRequest
	}
	p.render(w, r, status, "signin-notice", noticeView{
		Heading: heading, Paras: []ui.Msg{para},
		Links: []Link{{URL: withReturn(LoginPath, rt), Text: ui.M("signin.link.restart")}},
	})
}

// apiIdentity is a linked identity as the API lists it.
type apiIdentity struct {
	ID         string `json:"id"`
	ProviderID string `json:"providerId"`
	Email      string `json:"email"`
	CreatedMs  int64  `json:"createdMs"`
}

// settingsIdentityView is one linked identity of the account page.
type settingsIdentityView struct {
	ItemID, Provider, Email, Created string
	Remove                           ui.Form
}

// RemoveButton is the remove form, named by the provider.
func (i settingsIdentityView) RemoveButton() itemButton {
	return itemButton{Form: i.Remove, About: i.Provider}
}

// identitiesView fills the account page's linked identities: shown when
// providers are configured, or when some are linked (from a provider
// since removed from the settings: named by its ID then).
func (p *Portal) identitiesView(w http.ResponseWriter, r *http.Request, v signedInUser, view *settingsView) bool {
	var list []apiIdentity
	if !p.visitorGet(w, r, "/users/current/identities", &list) {
		return false
	}
	view.IdentitiesOn = p.cfg.Federation != nil || len(list) > 0
	for _, it := range list {
		name, ok := p.providerName(it.ProviderID)
		if !ok {
			name = it.ProviderID
		}
		tok, err := p.csrfToken(w, r, v.purpose("settings-identity-remove", it.ID))
		if err != nil {
			p.unavailable(w, r, err)
			return false
		}
		view.Identities = append(view.Identities, settingsIdentityView{ItemID: "identity-" + it.ID, Provider: name, Email: it.Email,
			Created: time.UnixMilli(it.CreatedMs).UTC().Format("2 Jan 2006, 15:04 UTC"),
			Remove:  ui.Form{Action: SettingsPath + "/identities/" + it.ID + "/remove", CSRFToken: tok, Submit: ui.M("settings.identities.remove")}})
	}
	return true
}

func identityRemoveProof(v signedInUser, id string) proofRequest {
	return proofRequest{action: SettingsPath + "/identities/" + id + "/remove", purpose: v.purpose("settings-identity-remove", id),
		heading: ui.M("confirm.identity_remove.heading"), lead: ui.M("confirm.identity_remove.lead"), submit: ui.M("confirm.identity_remove.submit")}
}

// settingsIdentityRemove is POST /settings/identities/{id}/remove: the
// proof (the confirm page, as for a passkey), then DELETE
// /users/{id}/identities/{identityId}.
func (p *Portal) settingsIdentityRemove(w http.ResponseWriter, r *http.Request) {
	v, id, ok := p.settingsItemForm(w, r, "settings-identity-remove")
	if !ok || p.mailProofCode(w, r, v, identityRemoveProof(v, id)) {
		return
	}
	pr := readProofFields(r)
	body := map[string]any{}
	pr.into(body)
	a, err := p.call(r, asVisitor, http.MethodDelete, "/users/"+v.userID+"/identities/"+id, body)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	switch {
	case a.OK():
		p.settingsDone(w, r, "identity-removed")
	case p.askProof(w, r, v, a, pr, identityRemoveProof(v, id)):
	default:
		p.settingsRefused(w, r, a)
	}
}
