package accounts_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts"
)

var update = flag.Bool("update", false, "rewrite the authorization table in ../README.md from accounts.Routes()")

const (
	tableBegin = "<!-- authorization-table:begin (generated from accounts.Routes() by go test ./accounts -run README -update) -->"
	tableEnd   = "<!-- authorization-table:end -->"
)

// authorizationTable renders accounts.Routes() as the README's table.
func authorizationTable() string {
	var b strings.Builder
	b.WriteString("| endpoint (under `/accounts/v1`) | who may call it |\n| --- | --- |\n")
	for _, r := range accounts.Routes() {
		b.WriteString("| `" + r.Method + " " + r.Path + "` | " + strings.ReplaceAll(r.Who, "|", "\\|") + " |\n")
	}
	return b.String()
}

// TestAuthorizationTableInREADME keeps the README's authorization table
// equal to the one the router is built from.
func TestAuthorizationTableInREADME(t *testing.T) {
	const path = "../README.md"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	begin, end := strings.Index(text, tableBegin), strings.Index(text, tableEnd)
	if begin < 0 || end < begin {
		t.Fatalf("README.md has no %q ... %q markers", tableBegin, tableEnd)
	}
	want := tableBegin + "\n" + authorizationTable() + tableEnd
	got := text[begin : end+len(tableEnd)]
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(text[:begin]+want+text[end+len(tableEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("the README's authorization table differs from accounts.Routes(); run go test ./accounts -run README -update\n--- README\n%s\n--- Routes()\n%s", got, want)
}
