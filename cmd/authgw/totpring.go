package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/authgw/authgw/accounts/totp"
)

// The TOTP key file (--totp-key) holds either one key, 64 hex digits (the
// format before key rings; it is the ring of one key of ID "0"), or a
// ring in JSON, newest key first:
//
//	{"keys":[{"id":"t2","secret":"<64 hex digits>"},{"id":"0","secret":"..."}]}
//
// The first key seals new TOTP secrets; every key opens what it sealed.
// Secrets sealed before key rings name no key: they open with the key of
// ID "0" (the old single key), else the ring's last key.

// maxTOTPRingKeys bounds the keys of a ring file.
const maxTOTPRingKeys = 16

// parseTOTPRing reads a TOTP key file. Its errors never show the file's
// contents.
func parseTOTPRing(b []byte) ([]totp.Key, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		key, err := hex.DecodeString(string(b))
		if err != nil || len(key) != totp.KeySize {
			return nil, fmt.Errorf("want %d hex digits (a %d-byte key) or a JSON key ring {\"keys\":[{\"id\":...,\"secret\":...}]}",
				2*totp.KeySize, totp.KeySize)
		}
		return []totp.Key{{ID: totp.LegacyKeyID, Secret: key}}, nil
	}
	var ring struct {
		Keys []struct {
			ID     *string `json:"id"`
			Secret *string `json:"secret"`
		} `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ring); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("not a JSON key ring: syntax error at byte %d", syn.Offset)
		}
		return nil, errors.New(`not a JSON key ring {"keys":[{"id":...,"secret":...}]}`)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON key ring")
	}
	if len(ring.Keys) == 0 || len(ring.Keys) > maxTOTPRingKeys {
		return nil, fmt.Errorf("a key ring needs 1 to %d keys", maxTOTPRingKeys)
	}
	keys := make([]totp.Key, 0, len(ring.Keys))
	for i, k := range ring.Keys {
		if k.ID == nil || k.Secret == nil {
			return nil, fmt.Errorf("key %d: want \"id\" and \"secret\"", i+1)
		}
		if !totp.ValidKeyID(*k.ID) {
			return nil, fmt.Errorf("key %d: ID must be 1 to %d of [A-Za-z0-9._-]", i+1, totp.MaxKeyIDLen)
		}
		secret, err := hex.DecodeString(strings.TrimSpace(*k.Secret))
		if err != nil || len(secret) != totp.KeySize {
			return nil, fmt.Errorf("key %q: secret must be %d hex digits (a %d-byte key)", *k.ID, 2*totp.KeySize, totp.KeySize)
		}
		for _, seen := range keys {
			if seen.ID == *k.ID {
				return nil, fmt.Errorf("key ID %q appears twice", *k.ID)
			}
		}
		keys = append(keys, totp.Key{ID: *k.ID, Secret: secret})
	}
	return keys, nil
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
