package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/mint"
)

// Environment variables and data-dir files for the shared settings
// (the README's "Configuration": flag, then environment, then the data directory).
const (
	envKeys      = "AUTHGW_KEYS"
	envServerID  = "AUTHGW_SERVER_ID"
	envDataDir   = "AUTHGW_DATA_DIR"
	defaultData  = "authgw-data"
	keysFile     = "keys.json"
	serverIDFile = "server-id"
)

// keySettings are the --keys, --server-id and --data-dir flags of the
// commands that need a key ring or a server ID.
type keySettings struct {
	keys     string
	serverID string
	dataDir  string
}

// register defines the three flags on fs.
func (s *keySettings) register(fs *flag.FlagSet) {
	fs.StringVar(&s.keys, "keys", "", "key-ring file")
	fs.StringVar(&s.serverID, "server-id", "", "server ID")
	fs.StringVar(&s.dataDir, "data-dir", "", "data directory")
}

// dir returns the data directory: --data-dir, else AUTHGW_DATA_DIR, else
// ./authgw-data.
func (s *keySettings) dir(c *cli) string {
	if s.dataDir != "" {
		return s.dataDir
	}
	if d := c.getenv(envDataDir); d != "" {
		return d
	}
	return defaultData
}

// keyRing finds the key ring: the --keys file, else AUTHGW_KEYS (a file,
// or the ring's JSON itself when it starts with "{"), else keys.json in
// the data directory. found is false when none of them is set or exists.
// It fails, naming the setting and never a secret, when the ring it
// found cannot be read or parsed.
func (s *keySettings) keyRing(c *cli) (ring *mint.KeyRing, found bool, err error) {
	if s.keys != "" {
		ring, err := mint.LoadKeyRing(s.keys)
		if err != nil {
			return nil, true, fmt.Errorf("--keys: %w", err)
		}
		return ring, true, nil
	}
	if v := strings.TrimSpace(c.getenv(envKeys)); v != "" {
		if strings.HasPrefix(v, "{") {
			ring, err = mint.ParseKeyRing([]byte(v))
		} else {
			ring, err = mint.LoadKeyRing(v)
		}
		if err != nil {
			return nil, true, fmt.Errorf("%s: %w", envKeys, err)
		}
		return ring, true, nil
	}
	path := filepath.Join(s.dir(c), keysFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	ring, err = mint.LoadKeyRing(path)
	if err != nil {
		return nil, true, fmt.Errorf("--keys (from the data directory): %w", err)
	}
	return ring, true, nil
}

// requireKeyRing is keyRing for commands that cannot go on without one:
// a missing ring is a usage error naming the ways to set it.
func (s *keySettings) requireKeyRing(c *cli) (*mint.KeyRing, error) {
	ring, found, err := s.keyRing(c)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &usageError{msg: fmt.Sprintf("--keys: no key ring (set --keys, %s, or run authgw serve once to create %s)",
			envKeys, filepath.Join(s.dir(c), keysFile))}
	}
	return ring, nil
}

// serverIDSetting finds the server ID: --server-id, else
// AUTHGW_SERVER_ID, else the server-id file in the data directory
// (trimmed). found is false when none is set or exists. It fails when
// the file cannot be read or is empty.
func (s *keySettings) serverIDSetting(c *cli) (id string, found bool, err error) {
	if s.serverID != "" {
		return s.serverID, true, nil
	}
	if v := strings.TrimSpace(c.getenv(envServerID)); v != "" {
		return v, true, nil
	}
	path := filepath.Join(s.dir(c), serverIDFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", true, fmt.Errorf("--server-id (from the data directory): %w", err)
	}
	id = strings.TrimSpace(string(b))
	if id == "" {
		return "", true, fmt.Errorf("--server-id (from the data directory): %s is empty", path)
	}
	return id, true, nil
}

// requireServerID is serverIDSetting for commands that cannot go on
// without one: a missing server ID is a usage error.
func (s *keySettings) requireServerID(c *cli) (string, error) {
	id, found, err := s.serverIDSetting(c)
	if err != nil {
		return "", err
	}
	if !found {
		return "", &usageError{msg: fmt.Sprintf("--server-id: no server ID (set --server-id, %s, or run authgw serve once to create %s)",
			envServerID, filepath.Join(s.dir(c), serverIDFile))}
	}
	return id, nil
}

// Database settings shared by the commands that use the database
// (the README's "Configuration": flag, then environment, then config file, then the data
// directory).
const (
	envDatabase  = "AUTHGW_DATABASE"
	databaseFile = "authgw.db"
)

// databaseSettings are the --database, --data-dir and --config flags of
// the commands that use the database.
type databaseSettings struct {
	settings
}

// register defines the three flags on fs.
func (s *databaseSettings) register(fs *flag.FlagSet) {
	s.define(fs, "database", "database DSN")
	s.define(fs, "data-dir", "data directory")
	s.defineConfig(fs)
}

// dsn returns the database DSN and the setting it came from: --database,
// else AUTHGW_DATABASE, else the config file's "database", else sqlite:
// authgw.db in the data directory (--data-dir, AUTHGW_DATA_DIR, the
// config file's "data-dir", ./authgw-data). It fails when the config
// file is bad.
func (s *databaseSettings) dsn(c *cli) (dsn, setting string, err error) {
	dsn, setting, found, err := s.lookup(c, "database")
	if err != nil || found {
		return dsn, setting, err
	}
	dir, err := resolveSetting(c, &s.settings, "data-dir", defaultData, asString)
	if err != nil {
		return "", "", err
	}
	return "sqlite:" + filepath.Join(dir, databaseFile), "--database (default in the data directory)", nil
}

// openMigrated opens the database as open does and fails, closing it,
// when the schema has pending migrations: the commands other than
// migrate and serve do not migrate on their own.
func (s *databaseSettings) openMigrated(ctx context.Context, c *cli) (*db.DB, error) {
	d, err := s.open(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := requireSchema(ctx, d); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// open opens the database. A malformed DSN is a usage error naming the
// setting; an unreachable database is a failure. Neither repeats the
// DSN, which may hold a password.
func (s *databaseSettings) open(ctx context.Context, c *cli, opts ...db.Option) (*db.DB, error) {
	dsn, setting, err := s.dsn(c)
	if err != nil {
		return nil, err
	}
	d, err := db.Open(ctx, dsn, opts...)
	if errors.Is(err, db.ErrBadDSN) {
		return nil, &usageError{msg: fmt.Sprintf("%s: %v", setting, err)}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	return d, nil
}
