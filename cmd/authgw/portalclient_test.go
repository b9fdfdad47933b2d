package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestEnsurePortalClient: the sign-in pages' client is made once, in an
// organization of its own, without a secret, unlimited and external; a
// second call and concurrent calls find the same one; a deleted one is
// not made again.
func TestEnsurePortalClient(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const n = 8
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { ids[i], errs[i] = ensurePortalClient(ctx, d, fixedNow.UnixMilli()) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil || ids[i] != portalClientID {
				t.Fatalf("concurrent call %d = %q, %v; want %s", i, ids[i], errs[i], portalClientID)
			}
		}
		again, err := ensurePortalClient(ctx, d, fixedNow.Add(time.Hour).UnixMilli())
		if err != nil || again != portalClientID {
			t.Fatalf("second call = %q, %v", again, err)
		}
		c, err := d.GetClient(ctx, portalClientID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != portalClientName || c.OrganizationID != portalOrganizationID || c.ReqsPerSec != db.UnlimitedReqsPerSec ||
			len(c.Roles) != 1 || c.Roles[0] != db.ClientRoleExternal || c.CreatedMs != fixedNow.UnixMilli() {
			t.Errorf("client %+v", c)
		}
		clients, _, err := d.ListClients(ctx, portalOrganizationID, db.Page{Size: 10})
		if err != nil || len(clients) != 1 {
			t.Errorf("the organization's clients = %d, %v; want the one", len(clients), err)
		}
		members, _, err := d.ListOrgMemberships(ctx, portalOrganizationID, db.Page{Size: 10})
		if err != nil || len(members) != 0 {
			t.Errorf("the organization's members = %d, %v; want none", len(members), err)
		}
		if err := d.DeleteClient(ctx, portalClientID, db.Revoking{AtMs: fixedNow.UnixMilli(), ExpiresMs: fixedNow.Add(time.Hour).UnixMilli()}); err != nil {
			t.Fatal(err)
		}
		if _, err := ensurePortalClient(ctx, d, fixedNow.UnixMilli()); !errors.Is(err, errPortalClientDeleted) {
			t.Errorf("after delete: %v, want errPortalClientDeleted", err)
		}
	})
}

// TestServe_portalClient: serve makes the sign-in pages' client at its
// first start and finds the same one at the next; a browser's tokens
// bound to it reach the demo backend with no Basic header, an IP
// restriction added to it through the accounts API then refuses them,
// and a browser without a session is sent to the sign-in page.
func TestServe_portalClient(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{envDataDir: dir}
	creds := bootstrapFor(t, vars)
	demoAddr := freeAddr(t)

	gatewayURL, _, stop, exited, _ := startServe(t, dir, "--demo-listen", demoAddr)
	stopServe(t, stop, exited)
	gatewayURL, _, stop, exited, _ = startServe(t, dir, "--demo-listen", demoAddr)
	defer stopServe(t, stop, exited)

	d, err := db.Open(context.Background(), "sqlite:"+filepath.Join(dir, "authgw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	clients, _, err := d.ListClients(context.Background(), portalOrganizationID, db.Page{Size: 10})
	if err != nil || len(clients) != 1 || clients[0].ID != portalClientID {
		t.Fatalf("after two starts, the sign-in pages' organization holds %+v (%v), want one client", clients, err)
	}
	for _, a := range listAPIs(t, dir) {
		if a.Name == "demo" && !a.LoginRedirect {
			t.Errorf("the demo is registered without loginRedirect: %+v", a)
		}
	}

	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	browserGET := func(cookie string) *http.Response {
		t.Helper()
		req, err := http.NewRequest("GET", gatewayURL+"/demo/v1/hello?from=browser", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}

	res := browserGET("")
	if want := "/accounts/v1/ui/login?return_to=" + url.QueryEscape("/demo/v1/hello?from=browser"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
		t.Fatalf("browser without a session: %d Location %q, want 303 %q", res.StatusCode, res.Header.Get("Location"), want)
	}

	// A login through the sign-in pages' client, as the pages make it.
	portal := clitest.NewAccountsCaller(t, gatewayURL, clitest.Creds{ClientID: portalClientID})
	s := portal.LoginWithPassword()
	cookie := "authgw-get=" + s.Macaroons["GET"]
	if res := browserGET(cookie); res.StatusCode != http.StatusOK {
		t.Fatalf("browser with its session cookie: %d, want 200", res.StatusCode)
	}

	admin := clitest.NewAccountsCaller(t, gatewayURL, creds)
	sess := admin.LoginWithPassword()
	r := admin.Do("POST", "/accounts/v1/organizations/"+portalOrganizationID+"/clients/"+portalClientID+"/access-restrictions", sess.Macaroons["POST"],
		map[string]any{"data": map[string]string{"type": "ip-access-restrictions", "value": "10.0.0.0/8"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("adding an IP restriction: %d %s", r.Status, r.Body)
	}
	if res := browserGET(cookie); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("browser with its session cookie, outside the client's IP restriction: %d, want 401", res.StatusCode)
	}
}
