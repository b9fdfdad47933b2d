package totp

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
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

// MaxKeyFileKeys bounds the keys of a ring file.
const MaxKeyFileKeys = 16

// ParseKeyFile reads a TOTP key file (--totp-key): the keys to give
// Config.Keys, newest first. Its errors never show the file's contents.
func ParseKeyFile(b []byte) ([]Key, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		key, err := hex.DecodeString(string(b))
		if err != nil || len(key) != KeySize {
			return nil, fmt.Errorf("want %d hex digits (a %d-byte key) or a JSON key ring {\"keys\":[{\"id\":...,\"secret\":...}]}",
				2*KeySize, KeySize)
		}
		return []Key{{ID: LegacyKeyID, Secret: key}}, nil
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
	if len(ring.Keys) == 0 || len(ring.Keys) > MaxKeyFileKeys {
		return nil, fmt.Errorf("a key ring needs 1 to %d keys", MaxKeyFileKeys)
	}
	keys := make([]Key, 0, len(ring.Keys))
	for i, k := range ring.Keys {
		if k.ID == nil || k.Secret == nil {
			return nil, fmt.Errorf("key %d: want \"id\" and \"secret\"", i+1)
		}
		if !ValidKeyID(*k.ID) {
			return nil, fmt.Errorf("key %d: ID must be 1 to %d of [A-Za-z0-9._-]", i+1, MaxKeyIDLen)
		}
		secret, err := hex.DecodeString(strings.TrimSpace(*k.Secret))
		if err != nil || len(secret) != KeySize {
			return nil, fmt.Errorf("key %q: secret must be %d hex digits (a %d-byte key)", *k.ID, 2*KeySize, KeySize)
		}
		for _, seen := range keys {
			if seen.ID == *k.ID {
				return nil, fmt.Errorf("key ID %q appears twice", *k.ID)
			}
		}
		keys = append(keys, Key{ID: *k.ID, Secret: secret})
	}
	return keys, nil
}
