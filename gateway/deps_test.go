package gateway_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestEmbeddingLinksNoSQL: the gateway, the verifier, mint and policy
// declare what they read from a store (gateway.Snapshot,
// revocation.Entry), so a program embedding them links no SQL driver and
// not package db; db/gatewaystore connects the store in cmd/authgw. The
// test fails, never skips, when go list cannot run, and checks that the
// list it read holds the packages it asked for.
func TestEmbeddingLinksNoSQL(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(gobin, "list", "-deps", "./gateway/...", "./verifier/...", "./mint/...", "./policy/...")
	cmd.Dir = ".." // the module root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	listed := map[string]bool{}
	for _, p := range deps {
		listed[p] = true
	}
	for _, want := range []string{
		"github.com/authgw/authgw/gateway",
		"github.com/authgw/authgw/gateway/revocation",
		"github.com/authgw/authgw/verifier",
		"github.com/authgw/authgw/mint",
		"github.com/authgw/authgw/policy",
	} {
		if !listed[want] {
			t.Fatalf("go list -deps did not list %s; the check would prove nothing:\n%s", want, out)
		}
	}
	for _, p := range deps {
		switch {
		case p == "github.com/authgw/authgw/db" || strings.HasPrefix(p, "github.com/authgw/authgw/db/"):
			t.Errorf("%s is linked into the embeddable packages", p)
		case strings.HasPrefix(p, "github.com/go-sql-driver/"),
			strings.HasPrefix(p, "modernc.org/sqlite"),
			strings.HasPrefix(p, "github.com/mattn/go-sqlite3"),
			p == "database/sql":
			t.Errorf("SQL package %s is linked into the embeddable packages", p)
		}
	}
}
