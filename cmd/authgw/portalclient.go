package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/authgw/authgw/db"
)

// The sign-in pages (/accounts/v1/ui/) log people in through a client of
// their own, so that a browser's tokens carry a client caveat and the
// gateway knows the client of a browser request without a Basic header.
// serve makes that client at its first start, in an organization of its
// own that no user is a member of.
//
// Its IDs are fixed, not random: the primary keys then make the creation
// happen exactly once however many instances start at the same time on
// one database (the loser of the race gets ErrDuplicate and reads the
// winner's), and a restart finds it without a search by name. A client
// ID is no secret (every browser's token names it), so a well-known one
// gives nothing away.
//
// The client has no secret (a first-party public client, used in
// process; its stored hash is a value no secret hashes to, so no Basic
// credential of it ever counts as secret-verified), the external role
// alone (no system role: the sign-in pages call the accounts API as a
// user's client, never as the operator's), and no rate limit: its budget
// would be shared by every signed-in browser, so a finite one would let
// anyone who sends its public ID lock them all out. The sign-in pages
// themselves are limited per IP by the gateway, logins by the accounts
// service's regulation per address and account, and backends see the
// user of each request for per-user limits. An operator may still set a
// rate, or restrictions, on it through the accounts API.
const (
	portalOrganizationID   = "00000000-0000-7000-8000-000000000001"
	portalOrganizationName = "authgw"
	portalClientID         = "00000000-0000-7000-8000-000000000002"
	portalClientName       = "authgw portal"
	// portalNoSecret is the stored secret hash: not a SHA-256 hex nor a
	// bcrypt hash, so no presented secret matches it.
	portalNoSecret = "!no-secret"
)

// errPortalClientDeleted means an operator deleted the sign-in pages'
// client (or its organization): serve does not make it again.
var errPortalClientDeleted = errors.New("the sign-in pages' client " + portalClientID + " was deleted")

// portalClientStore is what ensurePortalClient needs of the store.
type portalClientStore interface {
	GetClient(ctx context.Context, id string) (db.Client, error)
	CreateSystemClient(ctx context.Context, org db.Organization, c db.Client) error
}

var _ portalClientStore = (*db.DB)(nil)

// ensurePortalClient returns the ID of the sign-in pages' own client,
// creating it (and its organization) when the store has none, at
// nowMs. It is safe to run again and from several instances at once. It
// fails with errPortalClientDeleted when the client was deleted, and
// when the store fails.
func ensurePortalClient(ctx context.Context, store portalClientStore, nowMs int64) (clientID string, err error) {
	for range 2 {
		_, err := store.GetClient(ctx, portalClientID)
		switch {
		case err == nil:
			return portalClientID, nil
		case errors.Is(err, db.ErrDeleted):
			return "", errPortalClientDeleted
		case !errors.Is(err, db.ErrNotFound):
			return "", fmt.Errorf("reading the sign-in pages' client: %w", err)
		}
		err = store.CreateSystemClient(ctx,
			db.Organization{ID: portalOrganizationID, Name: portalOrganizationName, CreatedMs: nowMs},
			db.Client{ID: portalClientID, Name: portalClientName, SecretHash: portalNoSecret,
				ReqsPerSec: db.UnlimitedReqsPerSec, CreatedMs: nowMs, Roles: []string{db.ClientRoleExternal}})
		switch {
		case err == nil:
			return portalClientID, nil
		case !errors.Is(err, db.ErrDuplicate):
			return "", fmt.Errorf("creating the sign-in pages' client: %w", err)
		}
		// Another instance created it a moment ago: read it again.
	}
	return "", errors.New("creating the sign-in pages' client: its organization exists without it")
}
