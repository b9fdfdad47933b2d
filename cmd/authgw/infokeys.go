package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/sharedmaterial"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
)

const keysRotateInfoUsage = `Usage: authgw keys rotate-info [--info-key FILE | --data-dir DIR] [--config FILE] [--drop-previous]

Rotates the request-info signing key (the key of X-Auth-Info) in its file:
the file gets a new key, which a running serve signs with once it reads
the file again (SIGHUP, or within --reload-interval), and keeps the
old one after it, which no longer signs but is still published at
` + gateway.InfoKeysPath + ` (gateway and admin listeners) so that
backends keep verifying the headers it signed and fetch the new key when
they meet it. With --drop-previous, removes the previous key instead: do it
once every instance signs with the new key and the headers of the old one
have expired (30 s).

Every instance on a database must hold the same file. The first instance
that starts with, or reads again, the rotated file records the rotation in
the database; instances still on the old file are then refused at their
start, and so is an instance still publishing a previous key the others
dropped: copy the file to every instance (each reads it again) after each
step. A second rotation
is refused while a previous key is published.

The file is replaced whole (written beside it and renamed) with mode 0600,
owned by whoever runs the command: run it as the user serve runs as. A
running serve reads the file again when it changes (authgw serve --help);
one that finds it broken keeps its keys and says so. No file is ever created.

Flags:
  --info-key FILE   the key file (default DATA-DIR/info-key.pem; env AUTHGW_INFO_KEY)
  --data-dir DIR    the data directory (default ./authgw-data; env AUTHGW_DATA_DIR)
  --config FILE     the config file serve reads (env AUTHGW_CONFIG), for the two above
  --drop-previous   remove the previous key instead of rotating
`

// keysRotateInfoCommand is "authgw keys rotate-info".
type keysRotateInfoCommand struct {
	settings     settings
	dropPrevious bool
}

// flagSet defines rotate-info's flags.
func (k *keysRotateInfoCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("keys rotate-info")
	k.settings.define(fs, "info-key", "request-info key file")
	k.settings.define(fs, "data-dir", "data directory")
	k.settings.defineConfig(fs)
	fs.BoolVar(&k.dropPrevious, "drop-previous", false, "remove the previous key")
	return fs
}

// path is the key file as serve finds it: --info-key (or AUTHGW_INFO_KEY,
// or the config file), else info-key.pem in the data directory.
func (k *keysRotateInfoCommand) path(c *cli) (string, error) {
	if p, _, found, err := k.settings.lookup(c, "info-key"); err != nil || found {
		return p, err
	}
	dir, _, found, err := k.settings.lookup(c, "data-dir")
	if err != nil {
		return "", err
	}
	if !found {
		dir = defaultData
	}
	return filepath.Join(dir, infoKeyFile), nil
}

// run rotates the key file, or drops its previous key. It never creates a
// file: a key file that is missing is an error.
func (k *keysRotateInfoCommand) run(c *cli, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	path, err := k.path(c)
	if err != nil {
		return err
	}
	keys, err := infosign.LoadKeySet(path)
	if err != nil {
		return fmt.Errorf("--info-key: %w", err)
	}
	if k.dropPrevious {
		dropped, had := keys.DropPrevious()
		if !had {
			return &usageError{msg: fmt.Sprintf("--drop-previous: %s holds no previous key", path)}
		}
		if err := infosign.ReplaceKeySet(path, dropped); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "dropped the previous request-info key from %s; signing key %s (copy the file to every instance)\n", path, kidOf(&dropped.Signing.PublicKey))
		return nil
	}
	rotated, err := keys.Rotate()
	if errors.Is(err, infosign.ErrPreviousKeyPublished) {
		return &usageError{msg: fmt.Sprintf("%s still publishes a previous key (%s): drop it first with --drop-previous", path, kidOf(&keys.Previous.PublicKey))}
	}
	if err != nil {
		return err
	}
	if err := infosign.ReplaceKeySet(path, rotated); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "rotated the request-info key in %s: new signing key %s, previous key %s still published (copy the file to every instance, restart them, then run with --drop-previous)\n",
		path, kidOf(&rotated.Signing.PublicKey), kidOf(&rotated.Previous.PublicKey))
	return nil
}

// kidOf is the key ID of pub, as the JWKS and the headers give it.
func kidOf(pub *ecdsa.PublicKey) string {
	kid, err := requestinfo.Thumbprint(pub)
	if err != nil {
		return "?"
	}
	return kid
}

// previousInfoKeys lists the public key published beside the signing key,
// if any.
func previousInfoKeys(keys infosign.KeySet) []*ecdsa.PublicKey {
	if keys.Previous == nil {
		return nil
	}
	return []*ecdsa.PublicKey{&keys.Previous.PublicKey}
}

// checkSharedInfoKeys is checkSharedMaterial for the request-info key
// file: the signing key and the previous one (or none), so that a start
// with a rotated file records the rotation (sharedmaterial.Check) and
// the instances still on the old one are refused.
func checkSharedInfoKeys(ctx context.Context, store *db.DB, cfg serveConfig, keys infosign.KeySet, replace bool, now time.Time, logger *slog.Logger) error {
	var prevDER []byte
	if keys.Previous != nil {
		der, err := x509.MarshalPKIXPublicKey(&keys.Previous.PublicKey)
		if err != nil {
			return err
		}
		prevDER = der
	}
	return checkSharedMaterialWith(ctx, store, cfg, &keys.Signing.PublicKey, replace, now, logger,
		sharedmaterial.PreviousInfoKeyMaterial(prevDER, "--info-key"))
}
