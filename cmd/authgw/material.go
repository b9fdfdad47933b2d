package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/mint/secretfile"
)

// Instances on one database must share their key material: the server
// ID (a token names it), the key ring (it signs tokens), the TOTP key (it
// seals the users' TOTP secrets, stored in the database) and the
// request-info key (backends verify the X-Auth-Info it signs). Each
// instance that made its own at first start would refuse the others'
// tokens and could not open their TOTP secrets.
//
// So the database keeps a fingerprint of each (shared_material): the
// first instance records them, and every start compares its own before
// it serves. A fingerprint is an HMAC-SHA256 keyed with the material, of
// a fixed label naming it: it tells whether two instances hold the same
// material and reveals nothing of it. An instance whose material differs
// stops with one line naming the setting; one that has none of its own
// yet (an empty data directory) stops instead of generating it.
//
// Key rings are compared key by key (by key ID), so that a rotation
// works: an instance started with a ring that adds a new key records the
// new key's fingerprint; a ring without an old key is fine. Refused are a
// key ID whose secret differs from the one recorded, and a ring that
// shares no key with the record (it could verify none of the others'
// tokens). The TOTP key ring is compared the same way: a ring that
// shares no key with the record could open none of the stored secrets.

// Names of the shared_material rows.
const (
	materialServerID = "server-id"
	materialTOTPKey  = "totp-key"
	materialInfoKey  = "info-key"
	materialKeyPref  = "key:"
	// materialTOTPPref starts the row of a TOTP key of the ring other
	// than "0", whose row is materialTOTPKey (totpMaterialName).
	materialTOTPPref = "totp-key:"
)

// materialHelp ends every refusal: how to share the material.
const materialHelp = "every instance on one database needs the same server-id, keys.json, totp-key and info-key.pem: " +
	"copy them from an existing instance's data directory, or set --server-id, --keys, --totp-key and --info-key (see the README, \"What the instances share\")"

// fingerprint is the fingerprint of one piece of material.
func fingerprint(name string, material []byte) string {
	mac := hmac.New(sha256.New, material)
	mac.Write([]byte("authgw shared material v1: " + name))
	return hex.EncodeToString(mac.Sum(nil))
}

// short shows the start of a fingerprint, enough to compare by eye.
func short(fp string) string { return fp[:12] }

// missingMaterial refuses to generate material that the database says
// the other instances already share: setting is the setting to name.
func (s *serveCommand) missingMaterial(setting, name string) error {
	if s.shared == nil {
		return nil
	}
	if name == materialKeyPref {
		var ids []string
		for n := range s.shared {
			if id, ok := strings.CutPrefix(n, materialKeyPref); ok {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		slices.Sort(ids)
		return &usageError{msg: fmt.Sprintf("%s: this instance has no key ring, and the other instances on this database use keys %s: "+
			"it would make its own and refuse their tokens; %s", setting, strings.Join(ids, ", "), materialHelp)}
	}
	if name == materialTOTPKey {
		for n, f := range s.shared {
			if n == materialTOTPKey || strings.HasPrefix(n, materialTOTPPref) {
				return &usageError{msg: fmt.Sprintf("%s: this instance has none, and the other instances on this database share a TOTP key ring (fingerprint %s…, recorded %s): "+
					"it would make its own; %s", setting, short(f.Value), time.UnixMilli(f.CreatedMs).UTC().Format(time.RFC3339), materialHelp)}
			}
		}
		return nil
	}
	if f, ok := s.shared[name]; ok {
		return &usageError{msg: fmt.Sprintf("%s: this instance has none, and the other instances on this database share one (fingerprint %s…, recorded %s): "+
			"it would make its own; %s", setting, short(f.Value), time.UnixMilli(f.CreatedMs).UTC().Format(time.RFC3339), materialHelp)}
	}
	return nil
}

// checkSharedMaterial compares this instance's material with the
// fingerprints the database holds, recording those it does not hold yet
// (a first start, or a new key of the ring), and fails with a usage
// error naming the setting that differs.
//
// With replace (--replace-shared-material), this instance's fingerprints
// replace the recorded ones instead: after a deliberate change of the
// server ID (which revokes every token), the TOTP key or the request-info
// key. The other instances must then get the same material before their
// next start, which refuses them otherwise.
func checkSharedMaterial(ctx context.Context, store *db.DB, cfg serveConfig, infoKey *ecdsa.PublicKey, replace bool, now time.Time, logger *slog.Logger) error {
	recorded, err := store.SharedMaterial(ctx)
	if err != nil {
		return fmt.Errorf("reading the shared key material's fingerprints: %w", err)
	}
	infoDER, err := x509.MarshalPKIXPublicKey(infoKey)
	if err != nil {
		return err
	}
	type item struct {
		setting, name, fp string
	}
	items := []item{
		{"--server-id", materialServerID, fingerprint(materialServerID, []byte(cfg.serverID))},
		{"--info-key", materialInfoKey, fingerprint(materialInfoKey, infoDER)},
	}
	hadKeys, sharesKey := false, false
	hadTOTP, sharesTOTP := false, false
	for n := range recorded {
		hadKeys = hadKeys || strings.HasPrefix(n, materialKeyPref)
		hadTOTP = hadTOTP || n == materialTOTPKey || strings.HasPrefix(n, materialTOTPPref)
	}
	for _, k := range cfg.totpKeys {
		name := totpMaterialName(k.ID)
		items = append(items, item{"--totp-key", name, fingerprint(name, k.Secret)})
		_, known := recorded[name]
		sharesTOTP = sharesTOTP || known
	}
	for _, id := range cfg.keys.IDs() {
		prk, _ := cfg.keys.ExtractedKey([]byte(id))
		name := materialKeyPref + id
		items = append(items, item{"--keys", name, fingerprint(name, prk[:])})
		_, known := recorded[name]
		sharesKey = sharesKey || known
	}
	if replace {
		fps := make([]db.Fingerprint, len(items))
		for i, it := range items {
			fps[i] = db.Fingerprint{Name: it.name, Value: it.fp, CreatedMs: now.UnixMilli()}
		}
		if err := store.ReplaceSharedMaterial(ctx, fps); err != nil {
			return fmt.Errorf("replacing the shared key material's fingerprints: %w", err)
		}
		logger.Warn("replaced the fingerprints of the shared key material with this instance's: every other instance needs the same material to start",
			"server_id", cfg.serverID)
		return nil
	}
	if hadKeys && !sharesKey {
		return &usageError{msg: fmt.Sprintf("--keys: the key ring shares no key with the other instances on this database: "+
			"it could verify none of their tokens (rotate by adding a key to the shared ring: authgw keygen --id NEW --add keys.json); %s", materialHelp)}
	}
	if hadTOTP && !sharesTOTP {
		return &usageError{msg: fmt.Sprintf("--totp-key: the TOTP key ring shares no key with the other instances on this database: "+
			"it could open none of the stored TOTP secrets (rotate by adding a key to the shared ring, see authgw totp --help); %s", materialHelp)}
	}
	for _, it := range items {
		got, err := store.RecordFingerprint(ctx, db.Fingerprint{Name: it.name, Value: it.fp, CreatedMs: now.UnixMilli()})
		if err != nil {
			return fmt.Errorf("recording the fingerprint of %s: %w", it.name, err)
		}
		if !hmac.Equal([]byte(got.Value), []byte(it.fp)) {
			what := it.name
			if id, ok := strings.CutPrefix(it.name, materialKeyPref); ok {
				what = fmt.Sprintf("key %q of the ring", id)
			} else if it.setting == "--totp-key" {
				id := strings.TrimPrefix(it.name, materialTOTPPref)
				if it.name == materialTOTPKey {
					id = totp.LegacyKeyID
				}
				what = fmt.Sprintf("TOTP key %q of the ring", id)
			}
			return &usageError{msg: fmt.Sprintf("%s: %s differs from the one the other instances on this database share (fingerprint %s…, recorded %s; this instance's is %s…): "+
				"tokens or TOTP secrets of one would fail at the others; %s",
				it.setting, what, short(got.Value), time.UnixMilli(got.CreatedMs).UTC().Format(time.RFC3339), short(it.fp), materialHelp)}
		}
		if _, had := recorded[it.name]; !had {
			logger.Info("recorded the fingerprint of shared key material in the database", "material", it.name, "fingerprint", short(it.fp))
		}
	}
	return nil
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

// totpMaterialName is the shared_material row of one TOTP key: the key
// of ID "0" keeps the row the single key had before key rings, so that
// an upgrade compares it with what the database recorded.
func totpMaterialName(id string) string {
	if id == totp.LegacyKeyID {
		return materialTOTPKey
	}
	return materialTOTPPref + id
}
