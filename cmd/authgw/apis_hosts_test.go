package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestAPIs_hosts: apis add --host (repeatable) binds host names,
// normalized; list shows them (table and JSON); a host bound to another
// API fails with exit status 1.
func TestAPIs_hosts(t *testing.T) {
	dsn := migratedDSN(t)
	mustRun(t, args("apis", "add", "--name", "wiki", "--version", "1", "--url", "http://127.0.0.1:9000",
		"--host", "Wiki.Example.com.", "--host", "docs.example.com", "--database", dsn))
	mustRun(t, args("apis", "add", "--name", "plain", "--version", "1", "--url", "http://127.0.0.1:9001", "--database", dsn))
	out := mustRun(t, args("apis", "list", "--database", dsn))
	if !strings.Contains(out, "docs.example.com,wiki.example.com\n") || !strings.Contains(out, "  -\n") {
		t.Errorf("list = %q, want the wiki's hosts and - for plain", out)
	}
	var listed []map[string]any
	out = mustRun(t, args("apis", "list", "--json", "--database", dsn))
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("list --json = %s (%v)", out, err)
	}
	if fmt.Sprint(listed[0]["hosts"]) != "[]" || fmt.Sprint(listed[1]["hosts"]) != "[docs.example.com wiki.example.com]" {
		t.Errorf("list --json = %s", out)
	}
	r := runCLI(t, args("apis", "add", "--name", "other", "--version", "1", "--url", "http://127.0.0.1:9002", "--host", "WIKI.example.com", "--database", dsn))
	expectResult(t, r, exitFailure, nil, []string{"authgw: apis: a --host is bound to another API already"})
}

// TestAPIs_hostsUsage: each --host is an ASCII DNS name without port;
// at most 16, none twice; add only.
func TestAPIs_hostsUsage(t *testing.T) {
	add := func(extra ...string) []string {
		return append([]string{"apis", "add", "--name", "wiki", "--version", "1", "--url", "http://a.example"}, extra...)
	}
	var seventeen []string
	for i := range 17 {
		seventeen = append(seventeen, "--host", fmt.Sprintf("h%d.example.com", i))
	}
	tests := []struct {
		name         string
		whenArgs     []string
		expectStderr string
	}{
		{"a port", add("--host", "wiki.example.com:8080"), "--host: host \"wiki.example.com:8080\": only ASCII"},
		{"an IP", add("--host", "10.0.0.1"), "--host: host \"10.0.0.1\": an IP address cannot be bound"},
		{"one label", add("--host", "wiki"), "--host: host \"wiki\": a host needs at least two labels"},
		{"twice", add("--host", "a.example.com", "--host", "A.example.com."), "--host: a.example.com is given twice"},
		{"seventeen", add(seventeen...), "--host: at most 16 hosts, got 17"},
		{"host on list", []string{"apis", "list", "--host", "a.example.com"}, "--host: not a flag of apis list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, args(append(tt.whenArgs, "--database", "mysql:root:x@tcp(127.0.0.1:1)/authgw")...))
			expectResult(t, r, exitUsage, nil, []string{tt.expectStderr})
		})
	}
}
