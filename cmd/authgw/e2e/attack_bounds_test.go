package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/authgw/authgw/accounts"
)

// TestAttackCreationBounds (issue 13, point 9): against a running serve
// with its defaults, a registered user piling up organizations, each
// with its own clients and their request budgets, is stopped at
// accounts.DefaultMaxOrganizationsPerUser organizations and
// accounts.DefaultMaxClientsPerOrganization clients per organization.
func TestAttackCreationBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("starts authgw serve")
	}
	s := newAttackSuite(t)
	piler := s.orgsUser(t, "piler")
	var first string
	for i := range accounts.DefaultMaxOrganizationsPerUser {
		org := s.orgsCreate(t, &piler, fmt.Sprintf("Pile %d", i))
		if first == "" {
			first = org
		}
	}
	r := s.call(t, attackFromMain, "POST", "/accounts/v1/organizations", s.as(piler, "POST"), `{"data":{"type":"organizations","name":"One more"}}`)
	attackExpectRefusal(t, "an organization past the bound", r, http.StatusConflict, accounts.CodeTooManyOrganizations)

	path := "/accounts/v1/organizations/" + first + "/clients"
	for i := range accounts.DefaultMaxClientsPerOrganization {
		r := s.call(t, attackFromMain, "POST", path, s.as(piler, "POST"), fmt.Sprintf(`{"data":{"type":"clients","name":"app %d"}}`, i))
		attackDataString(t, r, http.StatusCreated, "id")
	}
	r = s.call(t, attackFromMain, "POST", path, s.as(piler, "POST"), `{"data":{"type":"clients","name":"one more"}}`)
	attackExpectRefusal(t, "a client past the bound", r, http.StatusConflict, accounts.CodeTooManyClients)
}
