package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/sharedmaterial"
	"github.com/authgw/authgw/mint/secretfile"
)

// Instances on one database must share their key material: the rule,
// its fingerprints in the database and its refusals live in package
// db/sharedmaterial. serve gives it the material it holds, each with the
// setting it came from, and turns a refusal into its one line, ending
// with how to share the material (materialHelp).

// materialHelp ends every refusal: how to share the material.
const materialHelp = "every instance on one database needs the same server-id, keys.json, totp-key and info-key.pem: " +
	"copy them from an existing instance's data directory, or set --server-id, --keys, --totp-key and --info-key (see the README, \"What the instances share\")"

// materialRefusal turns a refusal of package sharedmaterial into serve's
// one line (a usage error): the refusal, how to rotate a ring when it
// shares no key, and materialHelp. Other errors are returned as they are.
func materialRefusal(err error) error {
	if !errors.Is(err, sharedmaterial.ErrNotShared) {
		return err
	}
	hint := ""
	if d, ok := errors.AsType[*sharedmaterial.DiffersError](err); ok && (d.Kind == sharedmaterial.InfoKey || d.Kind == sharedmaterial.PreviousInfoKey) {
		hint = " (after authgw keys rotate-info, or --drop-previous, on one instance, copy its info-key.pem to every instance)"
	}
	if ns, ok := errors.AsType[*sharedmaterial.NoSharedKeyError](err); ok {
		hint = " (rotate by adding a key to the shared ring: authgw keygen --id NEW --add keys.json)"
		if ns.Kind == sharedmaterial.TOTPKey {
			hint = " (rotate by adding a key to the shared ring, see authgw totp --help)"
		}
	}
	return &usageError{msg: err.Error() + hint + "; " + materialHelp}
}

// missingMaterial refuses to generate material of the kind that the
// database says the other instances already share: setting is the
// setting to name.
func (s *serveCommand) missingMaterial(setting string, kind sharedmaterial.Kind) error {
	return materialRefusal(sharedmaterial.Missing(s.shared, kind, setting))
}

// heldMaterial lists the key material of cfg and the request-info
// public key, each with the setting it came from, in the order the
// refusals are looked for.
func heldMaterial(cfg serveConfig, infoKey *ecdsa.PublicKey) ([]sharedmaterial.Material, error) {
	infoDER, err := x509.MarshalPKIXPublicKey(infoKey)
	if err != nil {
		return nil, err
	}
	held := []sharedmaterial.Material{
		{Kind: sharedmaterial.ServerID, Setting: "--server-id", Secret: []byte(cfg.serverID)},
		{Kind: sharedmaterial.InfoKey, Setting: "--info-key", Secret: infoDER},
	}
	for _, k := range cfg.totpKeys {
		held = append(held, sharedmaterial.Material{Kind: sharedmaterial.TOTPKey, KeyID: k.ID, Setting: "--totp-key", Secret: k.Secret})
	}
	for _, id := range cfg.keys.IDs() {
		prk, _ := cfg.keys.ExtractedKey([]byte(id))
		held = append(held, sharedmaterial.Material{Kind: sharedmaterial.TokenKey, KeyID: id, Setting: "--keys", Secret: prk[:]})
	}
	return held, nil
}

// checkSharedMaterial checks this instance's material against the
// fingerprints the database holds (sharedmaterial.Check), recording the
// new ones, and fails with a usage error naming the setting that
// differs. With replace (--replace-shared-material), this instance's
// fingerprints replace the recorded ones instead (sharedmaterial.Replace).
func checkSharedMaterial(ctx context.Context, store *db.DB, cfg serveConfig, infoKey *ecdsa.PublicKey, replace bool, now time.Time, logger *slog.Logger) error {
	return checkSharedMaterialWith(ctx, store, cfg, infoKey, replace, now, logger)
}

// checkSharedMaterialWith is checkSharedMaterial with more material
// held (the previous request-info key).
func checkSharedMaterialWith(ctx context.Context, store *db.DB, cfg serveConfig, infoKey *ecdsa.PublicKey, replace bool, now time.Time, logger *slog.Logger, more ...sharedmaterial.Material) error {
	held, err := heldMaterial(cfg, infoKey)
	if err != nil {
		return err
	}
	held = append(held, more...)
	if replace {
		if err := sharedmaterial.Replace(ctx, store, held, now); err != nil {
			return err
		}
		logger.Warn("replaced the fingerprints of the shared key material with this instance's: every other instance needs the same material to start",
			"server_id", cfg.serverID)
		return nil
	}
	recorded, err := sharedmaterial.Check(ctx, store, held, now)
	for _, f := range recorded {
		logger.Info("recorded the fingerprint of shared key material in the database", "material", f.Name, "fingerprint", sharedmaterial.ShortFingerprint(f.Value))
	}
	return materialRefusal(err)
}

// dataDirSecret reads the secret file at path in the data directory, or
// creates it with generate's contents when it does not exist
// (secretfile.LoadOrCreate): of two instances starting together, both
// end with the secret of the one that created it. A usage error of
// generate (missingMaterial) is returned as it is; other errors name
// setting.
func dataDirSecret(setting, path string, generate func() ([]byte, error)) (contents []byte, created bool, err error) {
	contents, created, err = secretfile.LoadOrCreate(path, generate)
	var usage *usageError
	if err != nil && !errors.As(err, &usage) {
		return nil, false, fmt.Errorf("%s (from the data directory): %w", setting, err)
	}
	return contents, created, err
}
