package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Settings (the README's "Configuration") come from four places, in this order of precedence:
// the command-line flag, the environment variable (AUTHGW_ and the flag
// name in upper case with "-" as "_"), the config file, and the default.
// An empty value counts as unset at every level, as it always has for
// the environment.
//
// The config file is --config, else AUTHGW_CONFIG: one JSON object whose
// keys are the flag names without dashes ({"listen": "...", "data-dir":
// "..."}). Values are strings, booleans or numbers (taken as their JSON
// text), arrays of strings (joined with ","), or null (unset). Relative
// paths in it are used as given, relative to the working directory, as
// on the command line. An unknown key, a value of another type, or a
// file that cannot be read or parsed is a configuration error naming the
// file and the key: exit status 2, even when the command would not have
// needed that key.

// envConfig names the config file when --config is not given.
const envConfig = "AUTHGW_CONFIG"

// configKeys are the settings a config file may hold: the settings of
// authgw serve (the README's "Configuration"). Commands resolve the ones they use.
var configKeys = []string{
	sessionIdleSetting,
	"listen", "admin-listen", "database", "data-dir", "server-id", "keys", "policies",
	"redis", "trusted-proxies", "allowed-origins", "cookie-secure", "smtp", "totp-key", "info-key", "demo-listen",
	"forward-auth-callers", "forward-auth-dialect", gatewayHostsSetting,
	"breached-passwords",
	"code-login", productNameSetting, requireSecondFactorSetting,
	publicURLSetting, uiTemplatesSetting, logoURLSetting, accentColourSetting, returnDefaultSetting,
	webauthnRPIDSetting, webauthnOriginsSetting,
	purgeIntervalSetting, personalDataSetting, auditRetentionSetting,
	oidcProvidersSetting,
	reloadIntervalSetting,
	otelEndpointSetting, traceSamplingSetting, logFormatSetting, logLevelSetting,
	webhookWorkersSetting, webhookAllowHTTPSetting,
}

// maxConfigSize bounds the config file.
const maxConfigSize = 1 << 20

// settingEnv returns the environment variable of the setting name:
// "data-dir" is AUTHGW_DATA_DIR.
func settingEnv(name string) string {
	return "AUTHGW_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// settings are the setting flags of one command: it records which were
// given, reads the config file once, and resolves each setting by name.
// The zero value is ready to use.
type settings struct {
	given      map[string]string // flag name → value given on the command line
	configFlag string            // --config
	loaded     bool
	file       map[string]string // config-file key → value
	filePath   string
	fileErr    error
}

// settingFlag records a string flag's value when it is set.
type settingFlag struct {
	s    *settings
	name string
}

// String returns the value given, "" when none.
func (f settingFlag) String() string {
	if f.s == nil {
		return ""
	}
	return f.s.given[f.name]
}

// Set records the value.
func (f settingFlag) Set(v string) error {
	if f.s.given == nil {
		f.s.given = map[string]string{}
	}
	f.s.given[f.name] = v
	return nil
}

// define adds the string flag --name for the setting name to fs.
func (s *settings) define(fs *flag.FlagSet, name, usage string) {
	fs.Var(settingFlag{s: s, name: name}, name, usage)
}

// defineConfig adds --config to fs.
func (s *settings) defineConfig(fs *flag.FlagSet) {
	fs.StringVar(&s.configFlag, "config", "", "config file")
}

// lookup finds the setting name: its value and a label that names where
// it came from, for messages ("--listen", "AUTHGW_LISTEN", or "--listen
// (config file F)"). found is false when no level sets it. It fails
// with a usage error when the config file is bad.
func (s *settings) lookup(c *cli, name string) (value, label string, found bool, err error) {
	if err := s.loadFile(c); err != nil {
		return "", "", false, err
	}
	if v := s.given[name]; v != "" {
		return v, "--" + name, true, nil
	}
	env := settingEnv(name)
	if v := c.getenv(env); v != "" {
		return v, env, true, nil
	}
	if v := s.file[name]; v != "" {
		return v, fmt.Sprintf("--%s (config file %s)", name, s.filePath), true, nil
	}
	return "", "--" + name + " (default)", false, nil
}

// resolveSetting returns the setting name parsed by parse, or def when
// no level sets it (def is not parsed). A value that parse refuses is a
// usage error naming where it came from, e.g. "--listen: ..." or
// "AUTHGW_LISTEN: ...".
func resolveSetting[T any](c *cli, s *settings, name string, def T, parse func(string) (T, error)) (T, error) {
	v, label, found, err := s.lookup(c, name)
	if err != nil || !found {
		return def, err
	}
	t, err := parse(v)
	if err != nil {
		return def, &usageError{msg: fmt.Sprintf("%s: %v", label, err)}
	}
	return t, nil
}

// asString is the parse function of a setting taken as given.
func asString(v string) (string, error) { return v, nil }

// loadFile reads the config file once, when --config or AUTHGW_CONFIG
// names one.
func (s *settings) loadFile(c *cli) error {
	if s.loaded {
		return s.fileErr
	}
	s.loaded = true
	label, path := "--config", s.configFlag
	if path == "" {
		label, path = envConfig, c.getenv(envConfig)
	}
	if path == "" {
		return nil
	}
	s.filePath = path
	file, err := readConfigFile(path)
	if err != nil {
		s.fileErr = &usageError{msg: fmt.Sprintf("%s: %s: %v", label, path, err)}
		return s.fileErr
	}
	s.file = file
	return nil
}

// readConfigFile reads and parses a config file.
func readConfigFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errors.New("no such file")
		}
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxConfigSize {
		return nil, fmt.Errorf("larger than %d bytes", maxConfigSize)
	}
	return parseConfig(b)
}

// parseConfig parses a config file's JSON object into setting values.
// It refuses unknown and repeated keys and values that are not strings,
// booleans, numbers, arrays of strings or null.
func parseConfig(b []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("want one JSON object")
	}
	values := map[string]string{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("bad JSON: %v", err)
		}
		key, _ := tok.(string)
		var raw any
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("bad JSON at %q: %v", key, err)
		}
		if !slices.Contains(configKeys, key) {
			return nil, fmt.Errorf("unknown key %q (known: %s)", key, strings.Join(configKeys, ", "))
		}
		if seen[key] {
			return nil, fmt.Errorf("key %q given twice", key)
		}
		seen[key] = true
		v, err := configValue(raw)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", key, err)
		}
		values[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("bad JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}
	return values, nil
}

// configValue turns one JSON value into a setting's text.
func configValue(raw any) (string, error) {
	switch v := raw.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case bool:
		if v {
			return "true", nil
		}
		return "false", nil
	case json.Number:
		return v.String(), nil
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return "", errors.New("want an array of strings")
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	}
	return "", errors.New("want a string, boolean, number or array of strings")
}
