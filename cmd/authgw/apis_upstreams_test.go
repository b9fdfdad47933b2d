package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestAPIs_upstreams: apis add with several --url and the timeout
// flags; list shows every upstream (table and JSON).
func TestAPIs_upstreams(t *testing.T) {
	dsn := migratedDSN(t)
	mustRun(t, args("apis", "add", "--name", "echo", "--version", "1", "--url", "HTTP://127.0.0.1:9000/base/", "--url", "https://b.example",
		"--connect-timeout", "250ms", "--header-timeout", "2s", "--timeout", "1m", "--h2c", "--database", dsn))
	out := mustRun(t, args("apis", "list", "--database", dsn))
	if !strings.Contains(out, "echo  1        http://127.0.0.1:9000/base/,https://b.example  no") {
		t.Errorf("list = %q, want both upstreams", out)
	}
	var listed []map[string]any
	out = mustRun(t, args("apis", "list", "--json", "--database", dsn))
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 1 {
		t.Fatalf("list --json = %s (%v)", out, err)
	}
	a := listed[0]
	if a["url"] != "http://127.0.0.1:9000/base/" || fmt.Sprint(a["upstreams"]) != "[http://127.0.0.1:9000/base/ https://b.example]" ||
		a["connectTimeoutMs"] != 250.0 || a["headerTimeoutMs"] != 2000.0 || a["timeoutMs"] != 60000.0 || a["h2c"] != true {
		t.Errorf("list --json = %s", out)
	}
}

// TestAPIs_upstreamsUsage: each --url is checked as one is; at most 16,
// none twice; timeouts within their bounds.
func TestAPIs_upstreamsUsage(t *testing.T) {
	add := func(extra ...string) []string {
		return append([]string{"apis", "add", "--name", "echo", "--version", "1", "--url", "http://a.example"}, extra...)
	}
	var seventeen []string
	for i := range 16 {
		seventeen = append(seventeen, "--url", fmt.Sprintf("http://u%d.example", i))
	}
	tests := []struct {
		name         string
		whenArgs     []string
		expectStderr string
	}{
		{"second URL with a query", add("--url", "http://b.example/?x=1"), "--url: a query"},
		{"second URL relative", add("--url", "/b"), "--url: want an absolute http:// or https:// URL"},
		{"same URL twice", add("--url", "HTTP://a.example"), "--url: http://a.example is given twice"},
		{"seventeen URLs", add(seventeen...), "--url: at most 16 upstreams, got 17"},
		{"connect timeout too long", add("--connect-timeout", "2m"), "--connect-timeout: want 0 (the default) or 10ms to 1m0s, got 2m0s"},
		{"header timeout too short", add("--header-timeout", "1ms"), "--header-timeout: want 0"},
		{"negative timeout", add("--timeout", "-1s"), "--timeout: want 0"},
		{"timeout on list", []string{"apis", "list", "--timeout", "1s"}, "--timeout: not a flag of apis list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, args(append(tt.whenArgs, "--database", "mysql:root:x@tcp(127.0.0.1:1)/authgw")...))
			expectResult(t, r, exitUsage, nil, []string{tt.expectStderr})
		})
	}
}
