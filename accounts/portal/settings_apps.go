package portal

import (
	"net/http"
	"strings"

	"github.com/authgw/authgw/accounts/ui"
)

// The apps a user allowed to sign them in (the OpenID Connect provider's
// remembered consents), each with a Revoke button: revoking forgets the
// consent and ends that app's sessions of the user (the API's DELETE
// /users/current/oidc-consents/{clientId}).

// SettingsAppsPath is the page of the allowed apps.
const SettingsAppsPath = SettingsPath + "/apps"

// appsPages are the routes of the allowed apps' page.
var appsPages = []Page{
	{Method: http.MethodGet, Path: "/settings/apps", handle: (*Portal).settingsApps},
	{Method: http.MethodPost, Path: "/settings/apps/{id}/revoke", handle: (*Portal).settingsAppRevoke},
}

// apiOIDCConsent is one consent as the page reads it.
type apiOIDCConsent struct {
	ClientID   string   `json:"clientId"`
	ClientName string   `json:"clientName"`
	Scopes     []string `json:"scopes"`
}

// settingsAppView is one app of the page.
type settingsAppView struct {
	Name   string
	Scopes string
	Revoke ui.Form
}

// settingsAppsView is the view of the "settings_apps" page.
type settingsAppsView struct {
	Nav     accountNavView
	Heading ui.Msg
	Apps    []settingsAppView
	Revoked bool
}

// settingsApps is GET /settings/apps.
func (p *Portal) settingsApps(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok {
		return
	}
	var consents []apiOIDCConsent
	if !p.visitorGet(w, r, "/users/current/oidc-consents", &consents) {
		return
	}
	nav, err := p.accountNav(w, r)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	view := settingsAppsView{Nav: nav, Heading: ui.M("settings.oidc.heading"), Revoked: r.URL.Query().Get("done") == "revoked"}
	for _, c := range consents {
		if !validPathID(c.ClientID) {
			continue
		}
		tok, err := p.csrfToken(w, r, v.purpose("settings-app-revoke", c.ClientID))
		if err != nil {
			p.unavailable(w, r, err)
			return
		}
		name := c.ClientName
		if name == "" {
			name = c.ClientID
		}
		view.Apps = append(view.Apps, settingsAppView{Name: name, Scopes: strings.Join(c.Scopes, " "),
			Revoke: ui.Form{Action: SettingsAppsPath + "/" + c.ClientID + "/revoke", CSRFToken: tok, Submit: ui.M("settings.oidc.revoke")}})
	}
	p.render(w, r, http.StatusOK, "settings_apps", view)
}

// settingsAppRevoke is POST /settings/apps/{id}/revoke.
func (p *Portal) settingsAppRevoke(w http.ResponseWriter, r *http.Request) {
	_, id, ok := p.settingsItemForm(w, r, "settings-app-revoke")
	if !ok {
		return
	}
	a, err := p.call(r, asVisitor, http.MethodDelete, "/users/current/oidc-consents/"+id, nil)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	if !a.OK() {
		p.settingsRefused(w, r, a)
		return
	}
	p.seeOther(w, r, SettingsAppsPath+"?done=revoked")
}
