package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// writeConfig writes a config file in a new temporary directory.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "authgw.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// testCLI returns a cli whose environment holds vars only.
func testCLI(vars map[string]string) *cli {
	env := environment{lookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }}
	return &cli{environment: env.withDefaults()}
}

// TestResolveSetting checks the precedence flag > environment > config
// file > default, and which label a value carries.
func TestResolveSetting(t *testing.T) {
	fileWithListen := `{"listen": "file:3", "data-dir": "/from/file"}`
	tests := []struct {
		name        string
		givenFlags  []string
		givenVars   map[string]string
		givenFile   string // "" for no config file
		viaEnv      bool   // name the file with AUTHGW_CONFIG, not --config
		expectValue string
		expectLabel string
	}{
		{name: "default", expectValue: "127.0.0.1:6546", expectLabel: "--listen (default)"},
		{name: "config file beats default", givenFile: fileWithListen, expectValue: "file:3", expectLabel: "--listen (config file "},
		{name: "config file from AUTHGW_CONFIG", givenFile: fileWithListen, viaEnv: true, expectValue: "file:3", expectLabel: "--listen (config file "},
		{name: "environment beats config file", givenVars: map[string]string{"AUTHGW_LISTEN": "env:2"}, givenFile: fileWithListen, expectValue: "env:2", expectLabel: "AUTHGW_LISTEN"},
		{name: "flag beats environment and file", givenFlags: []string{"--listen", "flag:1"}, givenVars: map[string]string{"AUTHGW_LISTEN": "env:2"}, givenFile: fileWithListen, expectValue: "flag:1", expectLabel: "--listen"},
		{name: "empty flag counts as unset", givenFlags: []string{"--listen="}, givenVars: map[string]string{"AUTHGW_LISTEN": "env:2"}, expectValue: "env:2", expectLabel: "AUTHGW_LISTEN"},
		{name: "empty variable counts as unset", givenVars: map[string]string{"AUTHGW_LISTEN": ""}, givenFile: fileWithListen, expectValue: "file:3", expectLabel: "--listen (config file "},
		{name: "null in the file counts as unset", givenFile: `{"listen": null}`, expectValue: "127.0.0.1:6546", expectLabel: "--listen (default)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range tt.givenVars {
				vars[k] = v
			}
			flags := tt.givenFlags
			if tt.givenFile != "" {
				path := writeConfig(t, tt.givenFile)
				if tt.viaEnv {
					vars[envConfig] = path
				} else {
					flags = append(flags, "--config", path)
				}
			}
			var s settings
			fs := newFlagSet("test")
			s.define(fs, "listen", "")
			s.defineConfig(fs)
			if _, err := parseInterspersed(fs, flags); err != nil {
				t.Fatal(err)
			}
			c := testCLI(vars)
			got, err := resolveSetting(c, &s, "listen", "127.0.0.1:6546", asString)
			if err != nil {
				t.Fatalf("resolveSetting: %v", err)
			}
			if got != tt.expectValue {
				t.Errorf("value = %q, want %q", got, tt.expectValue)
			}
			_, label, _, _ := s.lookup(c, "listen")
			if !strings.HasPrefix(label, tt.expectLabel) {
				t.Errorf("label = %q, want prefix %q", label, tt.expectLabel)
			}
		})
	}
}

// TestResolveSetting_badValue checks that a refused value names the
// setting where it came from, as a usage error.
func TestResolveSetting_badValue(t *testing.T) {
	port := func(v string) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return 0, fmt.Errorf("want a port number, got %q", v)
		}
		return n, nil
	}
	tests := []struct {
		name         string
		givenFlags   []string
		givenVars    map[string]string
		givenFile    string
		expectValue  int
		expectErrMsg string
	}{
		{name: "from the flag", givenFlags: []string{"--listen", "x"}, expectErrMsg: `--listen: want a port number, got "x"`},
		{name: "from the environment", givenVars: map[string]string{"AUTHGW_LISTEN": "0"}, expectErrMsg: `AUTHGW_LISTEN: want a port number, got "0"`},
		{name: "from the file, a number", givenFile: `{"listen": 70000}`, expectErrMsg: `--listen (config file `},
		{name: "number in the file parses", givenFile: `{"listen": 8080}`, expectValue: 8080},
		{name: "default is not parsed", expectValue: 6546},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags := tt.givenFlags
			if tt.givenFile != "" {
				flags = append(flags, "--config", writeConfig(t, tt.givenFile))
			}
			var s settings
			fs := newFlagSet("test")
			s.define(fs, "listen", "")
			s.defineConfig(fs)
			if _, err := parseInterspersed(fs, flags); err != nil {
				t.Fatal(err)
			}
			got, err := resolveSetting(testCLI(tt.givenVars), &s, "listen", 6546, port)
			if tt.expectErrMsg == "" {
				if err != nil || got != tt.expectValue {
					t.Errorf("resolveSetting = %d, %v; want %d", got, err, tt.expectValue)
				}
				return
			}
			if _, ok := errors.AsType[*usageError](err); !ok || !strings.HasPrefix(err.Error(), tt.expectErrMsg) {
				t.Errorf("error = %v, want a usage error starting %q", err, tt.expectErrMsg)
			}
		})
	}
}

// TestParseConfig checks the value types and the refusals of the config
// file, each naming the key.
func TestParseConfig(t *testing.T) {
	tests := []struct {
		name         string
		givenBody    string
		expectValues map[string]string
		expectErrMsg string
	}{
		{name: "empty object", givenBody: `{}`, expectValues: map[string]string{}},
		{name: "types", givenBody: `{"listen": ":1", "cookie-secure": false, "data-dir": "d", "trusted-proxies": ["10.0.0.0/8", "::1/128"], "redis": null}`,
			expectValues: map[string]string{"listen": ":1", "cookie-secure": "false", "data-dir": "d", "trusted-proxies": "10.0.0.0/8,::1/128", "redis": ""}},
		{name: "unknown key", givenBody: `{"listen": ":1", "lissten": ":2"}`, expectErrMsg: `unknown key "lissten"`},
		{name: "the config key itself", givenBody: `{"config": "x.json"}`, expectErrMsg: `unknown key "config"`},
		{name: "repeated key", givenBody: `{"listen": ":1", "listen": ":2"}`, expectErrMsg: `key "listen" given twice`},
		{name: "object value", givenBody: `{"listen": {"host": "h"}}`, expectErrMsg: `"listen": want a string`},
		{name: "array of numbers", givenBody: `{"trusted-proxies": [1]}`, expectErrMsg: `"trusted-proxies": want an array of strings`},
		{name: "not an object", givenBody: `["listen"]`, expectErrMsg: "want one JSON object"},
		{name: "empty file", givenBody: ``, expectErrMsg: "want one JSON object"},
		{name: "broken JSON", givenBody: `{"listen": ":1",}`, expectErrMsg: "bad JSON"},
		{name: "trailing data", givenBody: `{} {}`, expectErrMsg: "data after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig([]byte(tt.givenBody))
			if tt.expectErrMsg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.expectErrMsg) {
					t.Fatalf("parseConfig error = %v, want %q", err, tt.expectErrMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.expectValues) {
				t.Errorf("parseConfig = %v, want %v", got, tt.expectValues)
			}
		})
	}
}

// TestConfig_migrate runs migrate with the database and data directory
// taken from a config file, and with bad config files.
func TestConfig_migrate(t *testing.T) {
	dir := t.TempDir()
	t.Run("database from the config file", func(t *testing.T) {
		cfg := writeConfig(t, fmt.Sprintf(`{"database": %q}`, "sqlite:"+filepath.Join(dir, "cfg.db")))
		r := runCLI(t, args("migrate", "up", "--config", cfg))
		expectResult(t, r, exitOK, []string{"applied 0001 init"}, nil)
		if _, err := os.Stat(filepath.Join(dir, "cfg.db")); err != nil {
			t.Errorf("database not where the config file says: %v", err)
		}
	})
	t.Run("data-dir from AUTHGW_CONFIG, beaten by AUTHGW_DATA_DIR", func(t *testing.T) {
		cfg := writeConfig(t, fmt.Sprintf(`{"data-dir": %q}`, filepath.Join(dir, "from-file")))
		r := runCLI(t, invocation{args: []string{"migrate", "up"}, vars: map[string]string{envConfig: cfg, envDataDir: filepath.Join(dir, "from-env")}})
		expectResult(t, r, exitOK, nil, nil)
		if _, err := os.Stat(filepath.Join(dir, "from-env", databaseFile)); err != nil {
			t.Errorf("AUTHGW_DATA_DIR did not win over the config file: %v", err)
		}
		r = runCLI(t, invocation{args: []string{"migrate", "up"}, vars: map[string]string{envConfig: cfg, envDataDir: ""}})
		expectResult(t, r, exitOK, nil, nil)
		if _, err := os.Stat(filepath.Join(dir, "from-file", databaseFile)); err != nil {
			t.Errorf("the config file's data-dir was not used: %v", err)
		}
	})
	tests := []struct {
		name         string
		givenBody    string
		viaEnv       bool
		expectStderr string
	}{
		{name: "unknown key", givenBody: `{"databse": "sqlite:x.db"}`, expectStderr: `authgw: migrate: --config: `},
		{name: "unknown key via AUTHGW_CONFIG", givenBody: `{"databse": "sqlite:x.db"}`, viaEnv: true, expectStderr: `authgw: migrate: AUTHGW_CONFIG: `},
		{name: "bad DSN in the file", givenBody: `{"database": "postgres://u:hunter2@h/db"}`, expectStderr: `authgw: migrate: --database (config file `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeConfig(t, tt.givenBody)
			inv := invocation{args: []string{"migrate", "up", "--config", cfg}}
			if tt.viaEnv {
				inv = invocation{args: []string{"migrate", "up"}, vars: map[string]string{envConfig: cfg}}
			}
			r := runCLI(t, inv)
			expectResult(t, r, exitUsage, nil, []string{tt.expectStderr})
			if strings.Contains(r.stderr, "hunter2") {
				t.Errorf("stderr repeats the password: %q", r.stderr)
			}
		})
	}
	t.Run("missing config file", func(t *testing.T) {
		r := runCLI(t, args("migrate", "up", "--config", filepath.Join(dir, "nope.json")))
		expectResult(t, r, exitUsage, nil, []string{"nope.json: no such file"})
	})
}
