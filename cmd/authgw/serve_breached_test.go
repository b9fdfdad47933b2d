package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestServe_breachedPasswordsSetting: a --breached-passwords directory
// that is missing, not a directory, or holds no range file stops serve
// at start with a usage error naming the setting (flag, environment or
// config file), before anything is created in the data directory.
func TestServe_breachedPasswordsSetting(t *testing.T) {
	empty := t.TempDir()
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	badLines := t.TempDir()
	if err := os.WriteFile(filepath.Join(badLines, "ABCDE.txt"), []byte("not a range line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	config := writeConfig(t, `{"breached-passwords": "`+missing+`"}`)
	tests := []struct {
		name       string
		givenVars  map[string]string
		whenArgs   []string
		expectLine string
	}{
		{name: "missing directory", whenArgs: []string{"serve", "--breached-passwords", missing}, expectLine: "authgw: serve: --breached-passwords: " + missing + ": no such file or directory"},
		{name: "a file", whenArgs: []string{"serve", "--breached-passwords", notDir}, expectLine: "authgw: serve: --breached-passwords: " + notDir + ": not a readable directory"},
		{name: "no range file", whenArgs: []string{"serve", "--breached-passwords", empty}, expectLine: "authgw: serve: --breached-passwords: " + empty + ": no range file"},
		{name: "not range lines", whenArgs: []string{"serve", "--breached-passwords", badLines}, expectLine: "authgw: serve: --breached-passwords: " + badLines + ": range file ABCDE.txt"},
		{name: "from the environment", givenVars: map[string]string{"AUTHGW_BREACHED_PASSWORDS": empty},
			whenArgs: []string{"serve"}, expectLine: "authgw: serve: AUTHGW_BREACHED_PASSWORDS: " + empty + ": no range file"},
		{name: "from the config file", whenArgs: []string{"serve", "--config", config}, expectLine: "authgw: serve: --breached-passwords (config file " + config + "): " + missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			vars := map[string]string{envDataDir: dataDir}
			for k, v := range tt.givenVars {
				vars[k] = v
			}
			r := runCLI(t, invocation{args: tt.whenArgs, vars: vars})
			expectResult(t, r, exitUsage, nil, []string{tt.expectLine})
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				t.Errorf("the data directory was created (%v)", err)
			}
		})
	}
}
