package portal

import (
	"net/http"

	"github.com/authgw/authgw/accounts/ui"
)

// maxLogoutBatch is how many sessions one logout call names (the API's
// bound).
const maxLogoutBatch = 32

// settingsSessionRevoke is POST /settings/sessions/{id}/revoke. Ending this
// browser's own session is signing out; ending another needs the proof
// (the API asks for it; a stolen token alone must not sign its owner
// out everywhere).
func (p *Portal) settingsSessionRevoke(w http.ResponseWriter, r *http.Request) {
	v, id, ok := p.settingsItemForm(w, r, "settings-session-revoke")
	if !ok {
		return
	}
	if id == v.sessionID {
		a, err := p.call(r, asVisitor, http.MethodPost, "/sessions/logout", nil)
		if err != nil {
			p.unavailable(w, r, err)
			return
		}
		if !a.OK() {
			p.settingsRefused(w, r, a)
			return
		}
		passCookies(w, a)
		p.clearSessionCookies(w)
		p.signedOutPage(w, r, ui.M("signedout.heading"), ui.M("signedout.body"))
		return
	}
	req := proofRequest{action: SettingsPath + "/sessions/" + id + "/revoke",
		purpose: v.purpose("settings-session-revoke", id), heading: ui.M("confirm.session.heading"),
		lead: ui.M("confirm.session.lead"), submit: ui.M("confirm.session.submit")}
	if p.mailProofCode(w, r, v, req) {
		return
	}
	pr := readProofFields(r)
	body := map[string]any{"sessions": []map[string]string{{"t": "sessions", "value": id}}}
	pr.into(body)
	a, err := p.call(r, asVisitor, http.MethodPost, "/sessions/logout", body)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	switch {
	case a.OK():
		p.settingsDone(w, r, "session-revoked")
	case p.askProof(w, r, v, a, pr, req):
	default:
		p.settingsRefused(w, r, a)
	}
}

// settingsSessionsRevokeAll is POST /settings/sessions/revoke-all: every live
// session of the user ends, this one last in the list, after the proof.
func (p *Portal) settingsSessionsRevokeAll(w http.ResponseWriter, r *http.Request) {
	v, ok := p.signedInVisitor(w, r)
	if !ok || !p.readForm(w, r, v.purpose("settings-sessions-revoke-all")) {
		return
	}
	req := proofRequest{action: SettingsPath + "/sessions/revoke-all", purpose: v.purpose("settings-sessions-revoke-all"),
		heading: ui.M("confirm.sessions_all.heading"), lead: ui.M("confirm.sessions_all.lead"), submit: ui.M("confirm.sessions_all.submit")}
	if p.mailProofCode(w, r, v, req) {
		return
	}
	pr := readProofFields(r)
	if !pr.sent {
		p.showProofPage(w, r, v, http.StatusOK, req, proofErrors{})
		return
	}
	var all []apiSession
	if !p.visitorGet(w, r, "/users/current/sessions", &all) {
		return
	}
	now := p.cfg.Now().UnixMilli()
	var ids []string
	for _, s := range all {
		if s.InvalidatedMs == nil && s.ExpiresMs > now && s.ID != v.sessionID {
			ids = append(ids, s.ID)
		}
	}
	ids = append(ids, v.sessionID)
	var last *answer
	for len(ids) > 0 {
		n := min(len(ids), maxLogoutBatch)
		items := make([]map[string]string, 0, n)
		for _, id := range ids[:n] {
			items = append(items, map[string]string{"t": "sessions", "value": id})
		}
		ids = ids[n:]
		body := map[string]any{"sessions": items}
		pr.into(body)
		a, err := p.call(r, asVisitor, http.MethodPost, "/sessions/logout", body)
		if err != nil {
			p.unavailable(w, r, err)
			return
		}
		if !a.OK() {
			if last == nil && p.askProof(w, r, v, a, pr, req) {
				return
			}
			p.settingsRefused(w, r, a)
			return
		}
		last = a
	}
	passCookies(w, last)
	p.clearSessionCookies(w)
	p.signedOutPage(w, r, ui.M("signedout.everywhere.heading"), ui.M("signedout.everywhere.body"))
}
