package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/accounts/webhooks"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/sharedmaterial"
)

const totpResealUsage = `Usage: authgw totp reseal [--totp-key FILE] [--batch N]
       [--database DSN] [--data-dir DIR] [--config FILE]

Re-seals every user's TOTP secret with the newest key of the TOTP key ring
(the first key of the --totp-key file), and every webhook subscription's
secret (sealed with the same ring), so that the older keys can then be
removed from the ring. Each secret is opened with the key that sealed it
and sealed anew; a row changed since it was read (a new enrolment, a
removal) is left alone and counted as skipped. Running it again changes
nothing. It prints the counts: resealed, already on the newest key,
skipped, and failed (a secret that opens with no key of the ring).

The key file is --totp-key, else AUTHGW_TOTP_KEY, else the data
directory's totp-key. Its format:
  64 hex digits             one key (its ID is "0")
  {"keys":[{"id":"t2","secret":"<64 hex>"},{"id":"0","secret":"<64 hex>"}]}
                            a ring: the first key seals, every key opens
                            what it sealed; secrets sealed before key rings
                            open with the key "0", else the last key

Rotating the key (a running serve reads the file again when it changes,
or on SIGHUP: "apply" below needs no restart):
  1. add the new key SECOND in the ring file of every instance; apply
     (they seal with the old key still, and open both)
  2. move the new key FIRST in every file; apply (each instance records
     the new key's fingerprint in the database)
  3. authgw totp reseal --totp-key FILE --database DSN
  4. remove the old key from every file; apply
Reseal refuses a ring whose newest key no instance has loaded (its
fingerprint is not recorded in the database): the instances would not
open what it seals.

  --batch N   secrets read and updated per round (default 500)
The database is found as for authgw migrate (see authgw migrate --help).

Exit status: 0 done, 1 failed (a secret that would not open, database
failure), 2 usage error.
`

// totpCommand is "authgw totp reseal".
type totpCommand struct {
	db    databaseSettings
	batch int
}

func (t *totpCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("totp reseal")
	fs.IntVar(&t.batch, "batch", 500, "secrets per round")
	t.db.register(fs)
	t.db.define(fs, "totp-key", "TOTP key ring file")
	return fs
}

// loadTOTPRing reads the TOTP key ring of a command other than serve:
// --totp-key, else AUTHGW_TOTP_KEY or the config file, else the data
// directory's totp-key file (never created here). It returns the sealer,
// the keys and the setting's label for messages; a missing or bad file
// is a usage error.
func loadTOTPRing(c *cli, s *databaseSettings) (*totp.TOTP, []totp.Key, string, error) {
	path, label, found, err := s.lookup(c, "totp-key")
	if err != nil {
		return nil, nil, "", err
	}
	if !found {
		dir, _, dirFound, err := s.lookup(c, "data-dir")
		if err != nil {
			return nil, nil, "", err
		}
		if !dirFound {
			return nil, nil, "", usagef("--totp-key is required (or --data-dir holding a %s file)", totpKeyFile)
		}
		path, label = filepath.Join(dir, totpKeyFile), "--totp-key (from the data directory)"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, "", &usageError{msg: fmt.Sprintf("%s: %v", label, err)}
	}
	keys, err := totp.ParseKeyFile(b)
	if err != nil {
		return nil, nil, "", &usageError{msg: fmt.Sprintf("%s: %s: %v", label, path, err)}
	}
	sealer, err := totp.New(totp.Config{Issuer: totpIssuer, Keys: keys, Now: c.now, Rand: c.random})
	if err != nil {
		return nil, nil, "", &usageError{msg: fmt.Sprintf("%s: %v", label, err)}
	}
	return sealer, keys, label, nil
}

// resealWebhookSecrets re-seals every webhook subscription's secret with
// the ring's newest key (an operator keeps a handful: one read).
func resealWebhookSecrets(ctx context.Context, d *db.DB, sealer *totp.TOTP) (resealCounts, error) {
	var n resealCounts
	subs, err := d.ListWebhookSubscriptions(ctx)
	if err != nil {
		return n, err
	}
	for _, sub := range subs {
		out, changed, err := webhooks.ResealSecret(sealer, sub.ID, sub.SecretCiphertext)
		if err := n.count(changed, err, func() (bool, error) {
			return d.ReplaceWebhookSecretCiphertext(ctx, sub.ID, sub.SecretCiphertext, out)
		}); err != nil {
			return n, fmt.Errorf("webhook %s: %w", sub.ID, err)
		}
	}
	return n, nil
}

// resealCounts are what a reseal did.
type resealCounts struct {
	resealed, current, skipped, failed int
}

// count records the reseal of one secret: failed when it opened with no
// key of the ring (ErrCorrupt), current when its key was the newest
// already, else resealed or skipped as replace (storing the resealed
// ciphertext if the row still holds the old one) reports. Another error
// of the reseal or of replace is returned.
func (n *resealCounts) count(changed bool, err error, replace func() (bool, error)) error {
	switch {
	case errors.Is(err, totp.ErrCorrupt):
		n.failed++
		return nil
	case err != nil:
		return err
	case !changed:
		n.current++
		return nil
	}
	ok, err := replace()
	if err != nil {
		return err
	}
	if ok {
		n.resealed++
	} else {
		n.skipped++
	}
	return nil
}

// run re-seals every secret with the ring's newest key.
func (t *totpCommand) run(c *cli, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	if t.batch < 1 || t.batch > 10000 {
		return usagef("--batch: 1 to 10000")
	}
	sealer, keys, label, err := loadTOTPRing(c, &t.db)
	if err != nil {
		return err
	}

	ctx := context.Background()
	d, err := t.db.openMigrated(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := checkResealKey(ctx, d, keys[0], label); err != nil {
		return err
	}
	n, err := resealTOTP(ctx, d, sealer, t.batch)
	fmt.Fprintf(c.stdout, "resealed %d TOTP secrets with key %q; %d already on it, %d skipped (changed meanwhile), %d failed\n",
		n.resealed, sealer.SealKeyID(), n.current, n.skipped, n.failed)
	if err != nil {
		return err
	}
	// The webhook subscriptions' secrets are sealed with the same ring.
	w, err := resealWebhookSecrets(ctx, d, sealer)
	fmt.Fprintf(c.stdout, "resealed %d webhook secrets; %d already on it, %d skipped, %d failed\n", w.resealed, w.current, w.skipped, w.failed)
	if err != nil {
		return err
	}
	n.failed += w.failed
	if n.failed > 0 {
		fmt.Fprintf(c.stderr, "authgw: totp reseal: %d secrets open with no key of the ring: keep the key that sealed them, or have those users enrol again\n", n.failed)
		return errReported
	}
	return nil
}

// checkResealKey refuses a newest key whose fingerprint the database
// does not hold, or holds with another secret: the running instances
// have not started with it, so they could not open what it would seal.
// A database that records no TOTP key at all (no instance started yet)
// is fine.
func checkResealKey(ctx context.Context, d *db.DB, newest totp.Key, label string) error {
	recorded, err := d.SharedMaterial(ctx)
	if err != nil {
		return fmt.Errorf("reading the shared key material's fingerprints: %w", err)
	}
	err = sharedmaterial.Compare(recorded, sharedmaterial.Material{Kind: sharedmaterial.TOTPKey, KeyID: newest.ID, Setting: label, Secret: newest.Secret})
	if _, ok := errors.AsType[*sharedmaterial.NotRecordedError](err); ok {
		return &usageError{msg: err.Error() + ": make it the first key of every instance's ring and restart them before resealing"}
	}
	if differs, ok := errors.AsType[*sharedmaterial.DiffersError](err); ok {
		return &usageError{msg: fmt.Sprintf("%s: TOTP key %q differs from the one the instances on this database share (fingerprint %s…)",
			label, newest.ID, sharedmaterial.ShortFingerprint(differs.Recorded.Value))}
	}
	return err
}

// resealTOTP walks every secret in batches and replaces each one not yet
// sealed with the newest key, only if its row is unchanged since read.
func resealTOTP(ctx context.Context, d *db.DB, sealer *totp.TOTP, batch int) (resealCounts, error) {
	var n resealCounts
	for after := ""; ; {
		page, err := d.ListTOTPSecrets(ctx, after, batch)
		if err != nil {
			return n, err
		}
		for _, s := range page {
			out, changed, err := sealer.Reseal(s.UserID, s.Ciphertext)
			if err := n.count(changed, err, func() (bool, error) { return d.ReplaceTOTPCiphertext(ctx, s.UserID, s.Ciphertext, out) }); err != nil {
				return n, fmt.Errorf("user %s: %w", s.UserID, err)
			}
		}
		if len(page) < batch {
			return n, nil
		}
		after = page[len(page)-1].UserID
	}
}
