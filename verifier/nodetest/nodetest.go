package nodetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Unavailable skips t on a developer machine without the tooling, and
// fails it when CI is set, where the tooling is part of the contract.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("interop test cannot run (CI is set, so this is fatal): "+format, args...)
	}
	t.Skipf("interop test skipped (set CI to make this fatal): "+format, args...)
}

// Setup returns the node binary and the version of the npm package pkg
// once that package is installed in dir at the exact version dir's
// package.json pins (npm ci from the committed lock file when
// node_modules lacks it). It reads the files named in watch (relative to
// dir; the scripts and the lock file) so that go test's cache notices
// when they change. Without node or npm it calls Unavailable; it fails t
// when the pin is not exact or npm ci installs another version.
func Setup(t testing.TB, dir, pkg string, watch ...string) (node, version string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		Unavailable(t, "node not found: %v", err)
	}
	var manifest struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	readJSON(t, filepath.Join(dir, "package.json"), &manifest)
	pinned := manifest.Dependencies[pkg]
	if pinned == "" || strings.ContainsAny(pinned, "^~<>=* ") {
		t.Fatalf("%s/package.json must pin an exact %s version, has %q", dir, pkg, pinned)
	}
	installed := func() string {
		var p struct {
			Version string `json:"version"`
		}
		path := filepath.Join(dir, "node_modules", pkg, "package.json")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return ""
		}
		readJSON(t, path, &p)
		return p.Version
	}
	if v := installed(); v != pinned {
		npm, err := exec.LookPath("npm")
		if err != nil {
			Unavailable(t, "npm not found (node_modules has %s %q, want %s): %v", pkg, v, pinned, err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			Unavailable(t, "npm ci in %s: %v\n%s", dir, err, out)
		}
		t.Logf("npm ci: %s", bytes.TrimSpace(out))
		if v := installed(); v != pinned {
			t.Fatalf("node_modules has %s %q after npm ci, want %s", pkg, v, pinned)
		}
	}
	for _, f := range watch {
		if _, err := os.ReadFile(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.CommandContext(t.Context(), node, "--version").Output()
	if err != nil {
		Unavailable(t, "node --version: %v", err)
	}
	t.Logf("node %s, npm %s %s", bytes.TrimSpace(out), pkg, pinned)
	return node, pinned
}

// Run runs node script in dir with in, as JSON, on its standard input,
// and decodes its standard output into out, refusing unknown fields. It
// logs what the script wrote on standard error, and fails t when the
// script fails, outlives timeout, or writes anything but one such JSON
// value.
func Run(t testing.TB, node, dir, script string, in, out any, timeout time.Duration) {
	t.Helper()
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if stderr.Len() > 0 {
		t.Logf("%s:\n%s", script, stderr.Bytes())
	}
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		t.Fatalf("%s output: %v", script, err)
	}
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
