package main

import (
	"bytes"
	"crypto/rsa"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/oidcop"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/mint/secretfile"
)

// The OpenID Connect provider's settings and key file (issue 17).
const (
	// oidcKeysSetting names the PEM file of the RSA keys that sign ID
	// tokens (the first signs, all are published).
	oidcKeysSetting = "oidc-keys"
	// oidcKeysFile is its default in the data directory, generated at
	// the first start.
	oidcKeysFile = "oidc-keys.pem"
)

// oidcKeys reads --oidc-keys, which must exist, or the data directory's
// oidc-keys.pem, created with one new key when missing.
func (s *serveCommand) oidcKeys(c *cli, dataDir string, logger *slog.Logger) ([]*rsa.PrivateKey, error) {
	path, label, found, err := s.lookup(c, oidcKeysSetting)
	if err != nil {
		return nil, err
	}
	var data []byte
	if found {
		if data, err = os.ReadFile(path); err != nil {
			return nil, &usageError{msg: fmt.Sprintf("%s: %v", label, err)}
		}
	} else {
		var created bool
		label = "--" + oidcKeysSetting + " (from the data directory)"
		data, created, err = dataDirSecret(label, filepath.Join(dataDir, oidcKeysFile), func() ([]byte, error) { return oidcop.NewKeyPEM(c.random) })
		if err != nil {
			return nil, err
		}
		if created && logger != nil {
			logger.Info("created the OpenID Connect signing key", "file", filepath.Join(dataDir, oidcKeysFile))
		}
	}
	keys, err := oidcop.ParseKeys(data)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("%s: %v", label, err)}
	}
	return keys, nil
}

// newOIDCProvider builds the OpenID Connect provider of the accounts
// service. issuerOrigin is the public URL the operator set, "" when
// none: the issuer then follows the request's host.
func newOIDCProvider(c *cli, cfg serveConfig, store *db.DB, svc *accounts.Service, issuerOrigin string, logger *slog.Logger) (*oidcop.Provider, error) {
	issuer := ""
	if issuerOrigin != "" {
		issuer = issuerOrigin + oidcop.Path
	}
	return oidcop.New(oidcop.Config{Accounts: svc, Store: store, Keys: cfg.keys, ServerID: cfg.serverID, SigningKeys: cfg.oidcKeys,
		Issuer: issuer, Logger: logger, Now: c.now, Rand: c.random})
}

const oidcKeygenUsage = `Usage: authgw oidc-keygen [--add FILE] [--out FILE]

Prints a new RSA-2048 private key (PEM) for signing the OpenID Connect
provider's ID tokens. With --add, prints FILE's keys with the new key
first: it signs from then on, and the older keys stay published at the
provider's jwks_uri, so ID tokens they signed keep verifying. Restart
authgw serve to use the file; remove an old key once its ID tokens have
expired.

The output holds secrets: keep it in a file only its owner can read.

Flags:
  --add FILE   an existing key file (such as DATA_DIR/oidc-keys.pem)
  --out FILE   write the keys to FILE (mode 0600, replaced atomically)
               instead of standard output; may be the --add FILE itself.
`

// oidcKeygenCommand is "authgw oidc-keygen".
type oidcKeygenCommand struct{ add, out string }

func (k *oidcKeygenCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("oidc-keygen")
	fs.StringVar(&k.add, "add", "", "key file to add to")
	fs.StringVar(&k.out, "out", "", "output file")
	return fs
}

// run prints (or writes) the keys. It fails when the --add file is not a
// key file.
func (k *oidcKeygenCommand) run(c *cli, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	out, err := oidcop.NewKeyPEM(c.random)
	if err != nil {
		return err
	}
	if k.add != "" {
		old, err := os.ReadFile(k.add)
		if err != nil {
			return fmt.Errorf("--add: %w", err)
		}
		if _, err := oidcop.ParseKeys(old); err != nil {
			return fmt.Errorf("--add: %w", err)
		}
		out = append(out, bytes.TrimLeft(old, "\n")...)
	}
	if _, err := oidcop.ParseKeys(out); err != nil {
		return err
	}
	if k.out != "" {
		if err := secretfile.Replace(k.out, out); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		return nil
	}
	_, err = c.stdout.Write(out)
	return err
}
