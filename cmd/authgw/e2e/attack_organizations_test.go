package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
	"github.com/authgw/authgw/mint"
)

// TestAttackOrgs attacks the organizations of one running `authgw serve`
// (issue 12, points 2, 3 and 10): a user who adds a victim to many
// organizations to lock them out of login, an organization manager who
// rotates the secret of a privileged client to act as it, and a removed
// member whose token still reaches the organization's proxied routes.
//
// The attackers log in through an external client (s.other): through the
// bootstrapped system+internal client every user is ISC, which the
// authorization table trusts in every organization.
func TestAttackOrgs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts authgw serve")
	}
	s := newAttackSuite(t)
	t.Run("lockout by memberships", s.orgsLockout)
	t.Run("lockout through a trusted client, up to the bound", s.orgsBound)
	t.Run("manager takes over a privileged client", s.orgsClientTakeover)
	t.Run("removed member's token", s.orgsRemovedMember)
	t.Run("invitation squatting", s.orgsInvitationSquatting)
}

// orgsUser registers a user and logs them in through the external client
// s.other, so their tokens are bound to it.
func (s *attackSuite) orgsUser(t *testing.T, name string) attackSession {
	t.Helper()
	email := fmt.Sprintf("%s-%d@example.com", name, s.seq.Add(1))
	reg := s.register(t, attackFromMain, name, email)
	r := s.call(t, attackFromMain, "POST", "/accounts/v1/sessions/login/password", s.other.basic(),
		string(attackJSON(t, map[string]any{"data": map[string]string{"email": email, "password": attackPassword, "state": clitest.NewState(t)}})))
	sess := attackSessionFrom(t, r, http.StatusOK)
	if sess.UserID != reg.UserID {
		t.Fatalf("login as %s gave user %s", reg.UserID, sess.UserID)
	}
	return sess
}

// as is the external client's credential with the session's token for
// method.
func (s *attackSuite) as(sess attackSession, method string) string {
	return s.other.basic() + ", Macaroon " + sess.Macaroons[method]
}

// orgsCreate creates an organization as the user and returns its ID. The
// owner's session is refreshed: tokens name the organizations of their
// user as of their minting.
func (s *attackSuite) orgsCreate(t *testing.T, owner *attackSession, name string) string {
	t.Helper()
	r := s.call(t, attackFromMain, "POST", "/accounts/v1/organizations", s.as(*owner, "POST"),
		`{"data":{"type":"organizations","name":"`+name+`"}}`)
	id := attackDataString(t, r, http.StatusCreated, "id")
	*owner = attackSessionFrom(t, s.refresh(t, attackFromMain, s.other.basic(), owner.Refresh), http.StatusOK)
	return id
}

// orgsAdd posts a membership of userID with the flags to the organization.
func (s *attackSuite) orgsAdd(t *testing.T, authz, orgID, userID string, flags ...string) attackReply {
	t.Helper()
	data := map[string]any{"type": "org-memberships", "user": map[string]any{"data": map[string]string{"type": "users", "id": userID}}}
	for _, f := range flags {
		data[f] = true
	}
	return s.call(t, attackFromMain, "POST", "/accounts/v1/organizations/"+orgID+"/memberships", authz,
		string(attackJSON(t, map[string]any{"data": data})))
}

// orgsOwnMembership returns the ID of the user's membership of the
// organization, read as the sysadmin.
func (s *attackSuite) orgsOwnMembership(t *testing.T, userID, orgID string) string {
	t.Helper()
	r := s.call(t, attackFromMain, "GET", "/accounts/v1/users/"+userID+"/memberships", s.auth(s.admin, "GET"), "")
	var out struct {
		Data []struct {
			ID           string `json:"id"`
			Organization struct {
				Data struct {
					ID string `json:"id"`
				} `json:"data"`
			} `json:"organization"`
		} `json:"data"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &out) != nil {
		t.Fatalf("memberships of %s: %d %s", userID, r.Status, r.Body)
	}
	for _, m := range out.Data {
		if m.Organization.Data.ID == orgID {
			return m.ID
		}
	}
	t.Fatalf("user %s has no membership of %s: %s", userID, orgID, r.Body)
	return ""
}

// orgsLockout: the attacker creates organizations, adds the victim (a
// plain user, and the sysadmin) to each, then leaves. The victim's login
// and refresh must still work: the additions are invitations, which
// grant nothing and are not in tokens.
func (s *attackSuite) orgsLockout(t *testing.T) {
	attacker := s.orgsUser(t, "mallory")
	victim := s.orgsUser(t, "victor")
	for i := range 6 {
		org := s.orgsCreate(t, &attacker, fmt.Sprintf("Trap %d", i))
		for _, target := range []string{victim.UserID, s.admin.UserID} {
			r := s.orgsAdd(t, s.as(attacker, "POST"), org, target, "read", "edit", "manage", "delete")
			if r.Status != http.StatusCreated {
				t.Fatalf("adding %s to trap %d: %d %s", target, i, r.Status, r.Body)
			}
			var out struct {
				Data struct {
					Pending bool `json:"pending"`
				} `json:"data"`
			}
			if json.Unmarshal(r.Body, &out) != nil || !out.Data.Pending {
				t.Errorf("trap %d: the attacker made %s a member without their consent: %s", i, target, r.Body)
			}
		}
		// The attacker leaves: the organization lives on without them.
		m := s.orgsOwnMembership(t, attacker.UserID, org)
		if r := s.call(t, attackFromMain, "DELETE", "/accounts/v1/org-memberships/"+m, s.as(attacker, "DELETE"), ""); r.Status != http.StatusOK {
			t.Fatalf("leaving trap %d: %d %s", i, r.Status, r.Body)
		}
		// Leaving revokes the attacker's own tokens (they named the
		// organization); a refresh gives new ones.
		attacker = attackSessionFrom(t, s.refresh(t, attackFromMain, s.other.basic(), attacker.Refresh), http.StatusOK)
	}
	// The victims' login and refresh still work, and their tokens do not
	// name the traps.
	r := s.call(t, attackFromMain, "POST", "/accounts/v1/sessions/login/password", s.other.basic(),
		string(attackJSON(t, map[string]any{"data": map[string]string{"email": clitest.LoginEmail, "password": clitest.LoginPassword, "state": clitest.NewState(t)}})))
	if r.Status != http.StatusOK {
		t.Errorf("the sysadmin's login after the traps = %d %.300s, want 200", r.Status, r.Body)
	}
	if r := s.refresh(t, attackFromMain, s.other.basic(), victim.Refresh); r.Status != http.StatusOK {
		t.Errorf("the victim's refresh after the traps = %d %.300s, want 200", r.Status, r.Body)
	}
	// An invitation the victim did not accept opens nothing.
	r = s.call(t, attackFromMain, "GET", "/accounts/v1/organizations", s.as(victim, "GET"), "")
	if r.Status != http.StatusOK || containsOrgs(r.Body) {
		t.Errorf("the victim's organizations = %d %s, want none", r.Status, r.Body)
	}
}

// orgsBound: through the bootstrapped system+internal client every user
// is ISC, who adds members directly. The attacker adds the victim to
// organizations until the bound refuses (409 TOO-MANY-MEMBERSHIPS, when
// the membership is made); the victim at the bound still logs in, with
// every token under the size limit.
func (s *attackSuite) orgsBound(t *testing.T) {
	attacker := s.register(t, attackFromMain, "Trent", fmt.Sprintf("trent-%d@example.com", s.seq.Add(1)))
	email := fmt.Sprintf("vera-%d@example.com", s.seq.Add(1))
	victim := s.register(t, attackFromMain, "Vera", email)
	refresh := func() {
		attacker = attackSessionFrom(t, s.refresh(t, attackFromMain, s.system, attacker.Refresh), http.StatusOK)
	}
	added := 0
	for i := range accounts.DefaultMaxMemberships + 1 {
		r := s.call(t, attackFromMain, "POST", "/accounts/v1/organizations", s.auth(attacker, "POST"),
			fmt.Sprintf(`{"data":{"type":"organizations","name":"Pile %d"}}`, i))
		org := attackDataString(t, r, http.StatusCreated, "id")
		refresh()
		r = s.orgsAdd(t, s.auth(attacker, "POST"), org, victim.UserID, "read", "edit", "manage", "delete")
		if i < accounts.DefaultMaxMemberships {
			if r.Status != http.StatusCreated {
				t.Fatalf("adding the victim to pile %d: %d %s", i, r.Status, r.Body)
			}
			added++
		} else {
			attackExpectRefusal(t, "adding the victim past the bound", r, http.StatusConflict, accounts.CodeTooManyMemberships)
		}
		m := s.orgsOwnMembership(t, attacker.UserID, org)
		if r := s.call(t, attackFromMain, "DELETE", "/accounts/v1/org-memberships/"+m, s.auth(attacker, "DELETE"), ""); r.Status != http.StatusOK {
			t.Fatalf("leaving pile %d: %d %s", i, r.Status, r.Body)
		}
		refresh()
	}
	r := s.call(t, attackFromMain, "POST", "/accounts/v1/sessions/login/password", s.other.basic(),
		string(attackJSON(t, map[string]any{"data": map[string]string{"email": email, "password": attackPassword, "state": clitest.NewState(t)}})))
	sess := attackSessionFrom(t, r, http.StatusOK)
	for method, tok := range sess.Macaroons {
		if len(tok) >= mint.MaxTokenSize {
			t.Errorf("the victim's %s token at %d memberships is %d bytes", method, added, len(tok))
		}
	}
}

// containsOrgs reports whether a collection answer lists anything.
func containsOrgs(body []byte) bool {
	var out struct {
		Data []json.RawMessage `json:"data"`
	}
	return json.Unmarshal(body, &out) == nil && len(out.Data) > 0
}

// orgsClientTakeover: a member with manage rotates (or edits, restricts,
// deletes) the secret of a system+internal client the sysadmin created
// in their organization. Each must be 403, and the secret unchanged.
func (s *attackSuite) orgsClientTakeover(t *testing.T) {
	manager := s.orgsUser(t, "mona")
	org := s.orgsCreate(t, &manager, "Managed")
	// The sysadmin creates a client in it and gives it system and internal.
	r := s.call(t, attackFromMain, "POST", "/accounts/v1/organizations/"+org+"/clients", s.auth(s.admin, "POST"),
		`{"data":{"type":"clients","name":"privileged"}}`)
	client := attackClient{id: attackDataString(t, r, http.StatusCreated, "id"), secret: attackDataString(t, r, http.StatusCreated, "secret")}
	for _, role := range []string{"system", "internal"} {
		r := s.call(t, attackFromMain, "POST", "/accounts/v1/organizations/"+org+"/clients/"+client.id+"/roles", s.auth(s.admin, "POST"),
			`{"data":{"type":"client-roles","id":"`+role+`"}}`)
		if r.Status != http.StatusCreated && r.Status != http.StatusOK {
			t.Fatalf("adding role %s: %d %s", role, r.Status, r.Body)
		}
	}
	base := "/accounts/v1/organizations/" + org + "/clients/" + client.id
	attempts := []struct{ method, path, body string }{
		{"POST", base + "/refresh-secret", ""},
		{"PATCH", base, `{"data":{"type":"clients","id":"` + client.id + `","name":"mine now"}}`},
		{"POST", base + "/access-restrictions", `{"data":{"type":"ip-access-restrictions","value":"10.0.0.0/8"}}`},
		{"DELETE", base, ""},
	}
	// Rotating the secret and deleting the client are under a step-up
	// in the example policies: the manager proves a fresh factor, and the
	// service's own rule still refuses.
	stepped := map[string]string{"POST": s.stepUp(t, s.other.basic(), manager, "POST"), "DELETE": s.stepUp(t, s.other.basic(), manager, "DELETE")}
	for _, a := range attempts {
		auth := s.as(manager, a.method)
		if a.path == base+"/refresh-secret" || a.method == "DELETE" {
			attackExpectRefusal(t, "the manager's "+a.method+" "+a.path+" with the ordinary token", s.call(t, attackFromMain, a.method, a.path, auth, a.body),
				http.StatusForbidden, "STEP-UP-TOKEN-REQUIRED")
			auth = stepped[a.method]
		}
		r := s.call(t, attackFromMain, a.method, a.path, auth, a.body)
		attackExpectRefusal(t, "the manager's "+a.method+" "+a.path, r, http.StatusForbidden, "FORBIDDEN")
	}
	// The old secret still works: nothing was rotated.
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := s.send(t, attackReq{target: "/accounts/v1/openapi.json", header: []string{"Authorization", client.basic()}})
		if r.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the privileged client's own secret = %d %s, want 200 (not rotated)", r.Status, r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// orgsRemovedMember: a member with edit writes the organization's notes
// through the gateway; once removed (or their edit flag cleared), the
// token they hold must stop working, and a refresh gives one without the
// organization.
func (s *attackSuite) orgsRemovedMember(t *testing.T) {
	owner := s.orgsUser(t, "olive")
	member := s.orgsUser(t, "mike")
	org := s.orgsCreate(t, &owner, "Notes")
	r := s.orgsAdd(t, s.as(owner, "POST"), org, member.UserID, "read", "edit")
	mID := attackDataString(t, r, http.StatusCreated, "id")
	if r := s.call(t, attackFromMain, "POST", "/accounts/v1/org-memberships/"+mID+"/accept", s.as(member, "POST"), ""); r.Status != http.StatusOK {
		t.Fatalf("accepting the invitation: %d %s", r.Status, r.Body)
	}
	member = attackSessionFrom(t, s.refresh(t, attackFromMain, s.other.basic(), member.Refresh), http.StatusOK)
	note := "/demo/v1/orgs/" + org + "/notes/minutes"
	write := func(sess attackSession) attackReply {
		return s.send(t, attackReq{method: "POST", target: note, header: []string{"Authorization", s.as(sess, "POST")}})
	}
	if r := write(member); r.Status != http.StatusOK {
		t.Fatalf("the member's note before removal = %d %s, want 200", r.Status, r.Body)
	}

	// Clearing edit: the token with edit stops working.
	if r := s.call(t, attackFromMain, "PATCH", "/accounts/v1/org-memberships/"+mID, s.as(owner, "PATCH"),
		`{"data":{"type":"org-memberships","id":"`+mID+`","edit":false}}`); r.Status != http.StatusOK {
		t.Fatalf("clearing edit: %d %s", r.Status, r.Body)
	}
	s.orgsExpectRefused(t, "the member's note after edit was cleared", func() attackReply { return write(member) })
	member = attackSessionFrom(t, s.refresh(t, attackFromMain, s.other.basic(), member.Refresh), http.StatusOK)
	if r := write(member); r.Status != http.StatusForbidden {
		t.Errorf("a note with a token minted after edit was cleared = %d %s, want 403", r.Status, r.Body)
	}

	// Removal: the member's GET token for the organization stops working.
	read := func(sess attackSession) attackReply {
		return s.send(t, attackReq{target: "/accounts/v1/organizations/" + org, header: []string{"Authorization", s.as(sess, "GET")}})
	}
	if r := read(member); r.Status != http.StatusOK {
		t.Fatalf("the member reads the organization = %d %s, want 200", r.Status, r.Body)
	}
	if r := s.call(t, attackFromMain, "DELETE", "/accounts/v1/org-memberships/"+mID, s.as(owner, "DELETE"), ""); r.Status != http.StatusOK {
		t.Fatalf("removing the member: %d %s", r.Status, r.Body)
	}
	s.orgsExpectRefused(t, "the removed member's token", func() attackReply {
		return s.send(t, attackReq{target: "/demo/v1/orgs/" + org + "/notes", header: []string{"Authorization", s.as(member, "GET")}})
	})
}

// orgsExpectRefused polls send until the gateway refuses it with 401 (the
// revocation reaches the gateway by its feed), failing after 15 s.
func (s *attackSuite) orgsExpectRefused(t *testing.T, what string, send func() attackReply) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := send()
		if r.Status == http.StatusUnauthorized {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s = %d %.300s, want 401 once the revocation reaches the gateway", what, r.Status, r.Body)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// orgsInvitationSquatting (review of issue 12, finding 7): a stranger
// creates an organization, invites the victim and leaves it, as many
// times as the victim's invitation bound, so that his own bound never
// fills. Leaving withdraws the invitations he made: a legitimate
// invitation of the victim afterwards is 201, not 409, and the victim
// sees it alone.
func (s *attackSuite) orgsInvitationSquatting(t *testing.T) {
	attacker := s.orgsUser(t, "squatter")
	victim := s.orgsUser(t, "vicky")
	for i := range accounts.DefaultMaxMemberships {
		if i > 0 && i%accounts.DefaultMaxOrganizationsPerUser == 0 {
			// One user creates at most that many organizations (issue 13,
			// point 9): the squatter goes on with another account.
			attacker = s.orgsUser(t, "squatter")
		}
		org := s.orgsCreate(t, &attacker, fmt.Sprintf("Squat %d", i))
		if r := s.orgsAdd(t, s.as(attacker, "POST"), org, victim.UserID, "read"); r.Status != http.StatusCreated {
			t.Fatalf("round %d: inviting the victim: %d %s", i, r.Status, r.Body)
		}
		m := s.orgsOwnMembership(t, attacker.UserID, org)
		if r := s.call(t, attackFromMain, "DELETE", "/accounts/v1/org-memberships/"+m, s.as(attacker, "DELETE"), ""); r.Status != http.StatusOK {
			t.Fatalf("round %d: leaving: %d %s", i, r.Status, r.Body)
		}
		attacker = attackSessionFrom(t, s.refresh(t, attackFromMain, s.other.basic(), attacker.Refresh), http.StatusOK)
	}
	owner := s.orgsUser(t, "lena")
	org := s.orgsCreate(t, &owner, "Real work")
	r := s.orgsAdd(t, s.as(owner, "POST"), org, victim.UserID, "read")
	if r.Status != http.StatusCreated {
		t.Fatalf("a legitimate invitation after %d squatting rounds = %d %.300s, want 201", accounts.DefaultMaxMemberships, r.Status, r.Body)
	}
	mine := s.call(t, attackFromMain, "GET", "/accounts/v1/users/current/memberships", s.as(victim, "GET"), "")
	var out struct {
		Data []json.RawMessage `json:"data"`
	}
	if mine.Status != http.StatusOK || json.Unmarshal(mine.Body, &out) != nil || len(out.Data) != 1 {
		t.Errorf("the victim's invitations = %d %.300s, want the legitimate one alone", mine.Status, mine.Body)
	}
}
