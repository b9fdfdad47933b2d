package main

import (
	"fmt"

	"github.com/authgw/authgw/mint/caveat"
)

// requireSecondFactorSetting names the user roles that must sign in with
// a second factor.
const requireSecondFactorSetting = "require-second-factor"

// parseRoleList reads comma-separated user role names, each 1 to 64 of
// [A-Za-z0-9._-].
func parseRoleList(v string) ([]string, error) {
	roles, _ := parseList(v)
	for _, role := range roles {
		if !caveat.ValidRole(role) {
			return nil, fmt.Errorf("%q is not a role name (1 to 64 of A-Z a-z 0-9 . _ -)", role)
		}
	}
	return roles, nil
}
