package accounts_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db/dbtest"
)

// softRegistration answers creation options as a minimal authenticator
// would (ES256, attestation "none", user verified) on origin: the
// authorization table's allowed case of POST /users/:id/passkeys, which
// runs without a browser. The browser tests prove the service against
// Chromium's authenticator; this one only has to be accepted.
func softRegistration(t testing.TB, options any, rpID, origin string) json.RawMessage {
	t.Helper()
	raw, _ := json.Marshal(options)
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("options without a challenge: %s", raw)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.PublicKey.Bytes() // 0x04 | X | Y
	if err != nil {
		t.Fatal(err)
	}
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pub[1:33], -3: pub[33:65]})
	if err != nil {
		t.Fatal(err)
	}
	credID := make([]byte, 32)
	rand.Read(credID)
	rpHash := sha256.Sum256([]byte(rpID))
	auth := append([]byte{}, rpHash[:]...)
	auth = append(auth, 0x45)                     // UP, UV, attested credential data
	auth = binary.BigEndian.AppendUint32(auth, 0) // counter
	auth = append(auth, make([]byte, 16)...)      // AAGUID
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(credID)))
	auth = append(auth, credID...)
	auth = append(auth, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		t.Fatal(err)
	}
	client, _ := json.Marshal(map[string]any{"type": "webauthn.create", "challenge": o.PublicKey.Challenge, "origin": origin, "crossOrigin": false})
	b64 := base64.RawURLEncoding.EncodeToString
	out, _ := json.Marshal(map[string]any{
		"id": b64(credID), "rawId": b64(credID), "type": "public-key",
		"response":               map[string]any{"clientDataJSON": b64(client), "attestationObject": b64(att), "transports": []string{"internal"}},
		"clientExtensionResults": map[string]any{},
	})
	return out
}

// TestPasskeys_regulated checks that wrong assertions count as failures
// of the login regulator: past the source's limit the step answers 429.
func TestPasskeys_regulated(t *testing.T) {
	s := passkeyStack(t, dbtest.SQLite(t), "http://localhost")
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	for i := 0; ; i++ {
		state := s.newState()
		if res := s.step(app, "webauthn", map[string]any{"state": state}); res.Status == http.StatusTooManyRequests {
			break
		}
		res := s.step(app, "webauthn", map[string]any{"state": state, "credential": map[string]any{"id": "AAAA", "type": "public-key"}})
		if res.Status == http.StatusTooManyRequests {
			if i < 5 {
				t.Fatalf("banned after %d failures", i)
			}
			break
		}
		res.expect(t, http.StatusUnauthorized, accounts.CodePasskeyInvalid)
		if i > 50 {
			t.Fatal("50 wrong assertions and no ban")
		}
	}
}
