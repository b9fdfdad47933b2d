package requestinfo_test

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
	"github.com/authgw/authgw/verifier/requestinfo/requestinfotest"
)

// hs256 builds an HS256 token over header and payload with secret, the
// classic algorithm-confusion forgery against a verifier that takes the
// algorithm from the token and uses the public key as HMAC secret.
func hs256(header, payload string, secret []byte) string {
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + enc.EncodeToString(m.Sum(nil))
}

func unsigned(header, payload, sig string) string {
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload)) + "." + sig
}

func TestVerifyRefusesAttacks(t *testing.T) {
	key, another := keys(t)
	pub := &key.PublicKey
	pubPEM, err := requestinfo.MarshalPublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pubPoint, err := pub.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := requestinfo.Thumbprint(pub)
	es256 := `{"alg":"ES256","typ":"JWT","kid":"` + kid + `"}`

	clk := newClock()
	signer := newSigner(t, infosign.SignerConfig{Key: key, Now: clk.Now})
	valid := sign(t, signer, sampleClaims())
	vh, vp, vs := parts(t, valid)
	rawSig, _ := enc.DecodeString(vs)

	tamperedPayload := strings.Replace(validPayload(""), `"ip":"203.0.113.9"`, `"ip":"127.0.0.1"`, 1)

	// Another base64url letter at one place (XOR-ing the byte could make
	// "-" a "." and the token four parts: a different refusal).
	flipped := []byte(vs)
	flipped[10] = 'A'
	if vs[10] == 'A' {
		flipped[10] = 'B'
	}

	otherAudience := sampleClaims()
	otherAudience.Audience = "billing"
	future := newClock()
	future.Advance(time.Minute)

	// An ASN.1 DER signature in place of R||S.
	digest := sha256.Sum256([]byte(vh + "." + vp))
	der, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}

	// A valid token whose header and payload (JSON with spaces added)
	// are not a multiple of 3 bytes, so their last letter has unused bits.
	oddHeader, oddPayload := es256, validPayload("")
	for len(oddHeader)%3 == 0 {
		oddHeader += " "
	}
	for len(oddPayload)%3 == 0 {
		oddPayload += " "
	}
	oddLengths := signRaw(t, key, oddHeader, oddPayload)

	tests := []struct {
		name        string
		givenToken  string
		whenAfter   time.Duration
		expectError error // nil: accepted
	}{
		{name: "valid token with odd part lengths", givenToken: oddLengths},
		{name: "valid token", givenToken: valid},
		{name: "valid token within leeway after exp", givenToken: valid, whenAfter: 34 * time.Second},
		{name: "empty", givenToken: "", expectError: requestinfo.ErrMissing},
		{name: "alg none, empty signature", givenToken: unsigned(`{"alg":"none","typ":"JWT"}`, validPayload(""), ""), expectError: requestinfo.ErrAlgorithm},
		{name: "alg none, no signature part", givenToken: strings.TrimSuffix(unsigned(`{"alg":"none"}`, validPayload(""), ""), "."), expectError: requestinfo.ErrMalformed},
		{name: "alg none with a valid signature", givenToken: unsigned(`{"alg":"none"}`, validPayload(""), vs), expectError: requestinfo.ErrAlgorithm},
		{name: "alg None", givenToken: unsigned(`{"alg":"None"}`, validPayload(""), ""), expectError: requestinfo.ErrAlgorithm},
		{name: "HS256 keyed with the public key PEM", givenToken: hs256(`{"alg":"HS256","typ":"JWT","kid":"`+kid+`"}`, validPayload(""), pubPEM), expectError: requestinfo.ErrAlgorithm},
		{name: "HS256 keyed with the public key DER", givenToken: hs256(`{"alg":"HS256","typ":"JWT"}`, validPayload(""), pubDER), expectError: requestinfo.ErrAlgorithm},
		{name: "HS256 keyed with the public point", givenToken: hs256(`{"alg":"HS256"}`, validPayload(""), pubPoint), expectError: requestinfo.ErrAlgorithm},
		{name: "HMAC under an ES256 header", givenToken: hs256(es256, validPayload(""), pubPEM), expectError: requestinfo.ErrBadSignature},
		{name: "alg es256 lower case", givenToken: unsigned(`{"alg":"es256"}`, validPayload(""), vs), expectError: requestinfo.ErrAlgorithm},
		{name: "alg ES384", givenToken: unsigned(`{"alg":"ES384"}`, validPayload(""), vs), expectError: requestinfo.ErrAlgorithm},
		{name: "no alg", givenToken: unsigned(`{"typ":"JWT"}`, validPayload(""), vs), expectError: requestinfo.ErrAlgorithm},
		// RFC 7515 lets a parser refuse duplicate members or take the
		// last; go-jose refuses them, so "none" never gets a say.
		{name: "alg repeated, none last", givenToken: unsigned(`{"alg":"ES256","alg":"none"}`, validPayload(""), ""), expectError: requestinfo.ErrMalformed},
		{name: "alg repeated, ES256 last", givenToken: signRaw(t, key, `{"alg":"none","alg":"ES256"}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "tampered payload", givenToken: vh + "." + enc.EncodeToString([]byte(tamperedPayload)) + "." + vs, expectError: requestinfo.ErrBadSignature},
		{name: "payload of another token", givenToken: vh + "." + parts2(t, sign(t, signer, otherAudience)) + "." + vs, expectError: requestinfo.ErrBadSignature},
		{name: "tampered signature", givenToken: vh + "." + vp + "." + string(flipped), expectError: requestinfo.ErrBadSignature},
		{name: "truncated signature", givenToken: valid[:len(valid)-10], expectError: requestinfo.ErrBadSignature},
		{name: "truncated to header", givenToken: vh + ".", expectError: requestinfo.ErrMalformed},
		{name: "signature too long", givenToken: vh + "." + vp + "." + enc.EncodeToString(append(rawSig, 0)), expectError: requestinfo.ErrBadSignature},
		{name: "signature of zeros", givenToken: vh + "." + vp + "." + enc.EncodeToString(make([]byte, 64)), expectError: requestinfo.ErrBadSignature},
		{name: "ASN.1 signature", givenToken: vh + "." + vp + "." + enc.EncodeToString(der), expectError: requestinfo.ErrBadSignature},
		{name: "three parts, empty signature", givenToken: vh + "." + vp + ".", expectError: requestinfo.ErrBadSignature},
		{name: "four parts", givenToken: valid + "." + vs, expectError: requestinfo.ErrMalformed},
		{name: "empty header", givenToken: "." + vp + "." + vs, expectError: requestinfo.ErrMalformed},
		{name: "padded base64", givenToken: vh + "." + vp + "." + vs + "=", expectError: requestinfo.ErrBadSignature},
		{name: "standard base64 header", givenToken: "eyJhbGciOiJFUzI1NiJ9+." + vp + "." + vs, expectError: requestinfo.ErrMalformed},
		{name: "header not JSON", givenToken: enc.EncodeToString([]byte("ES256")) + "." + vp + "." + vs, expectError: requestinfo.ErrMalformed},
		{name: "huge input", givenToken: valid + strings.Repeat("A", 1<<20), expectError: requestinfo.ErrMalformed},
		{name: "JWS JSON serialization", givenToken: `{"payload":"` + vp + `","signatures":[]}`, expectError: requestinfo.ErrMalformed},
		{name: "wrong audience", givenToken: sign(t, signer, otherAudience), expectError: requestinfo.ErrAudience},
		{name: "expired", givenToken: valid, whenAfter: 36 * time.Second, expectError: requestinfo.ErrExpired},
		{name: "issued in the future", givenToken: sign(t, newSigner(t, infosign.SignerConfig{Key: key, Now: future.Now}), sampleClaims()), expectError: requestinfo.ErrNotYetValid},
		{name: "wrong issuer", givenToken: sign(t, newSigner(t, infosign.SignerConfig{Key: key, Issuer: "evil", Now: clk.Now}), sampleClaims()), expectError: requestinfo.ErrIssuer},
		{name: "signed by another key", givenToken: sign(t, newSigner(t, infosign.SignerConfig{Key: another, Now: clk.Now}), sampleClaims()), expectError: requestinfo.ErrBadSignature},
		{name: "another key claiming our kid", givenToken: sign(t, newSigner(t, infosign.SignerConfig{Key: another, KeyID: kid, Now: clk.Now}), sampleClaims()), expectError: requestinfo.ErrBadSignature},
		{name: "crit header", givenToken: signRaw(t, key, `{"alg":"ES256","crit":["exp"],"exp":1}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "typ other than JWT", givenToken: signRaw(t, key, `{"alg":"ES256","typ":"at+jwt"}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "typ jwt lower case", givenToken: signRaw(t, key, `{"alg":"ES256","typ":"jwt"}`, validPayload(""))},
		{name: "bitwise roles, t=1", givenToken: signRaw(t, key, es256, strings.Replace(validPayload(""), `"t":0`, `"t":1`, 1)), expectError: requestinfo.ErrMalformed},
		{name: "no exp", givenToken: signRaw(t, key, es256, `{"t":0,"c":"x","a":false,"r":[],"ip":"::1","iat":`+itoa(t0.Unix())+`,"aud":"demo","iss":"authgw"}`), expectError: requestinfo.ErrMalformed},
		{name: "aud as array", givenToken: signRaw(t, key, es256, strings.Replace(validPayload(""), `"aud":"demo"`, `"aud":["demo"]`, 1)), expectError: requestinfo.ErrMalformed},
		{name: "payload not JSON", givenToken: signRaw(t, key, es256, "c=admin"), expectError: requestinfo.ErrMalformed},
		{name: "unknown claims are ignored", givenToken: signRaw(t, key, es256, validPayload(`,"d":true`))},
		// The token may not say which key checks it, nor change how the
		// payload is read: only alg, kid and typ are allowed.
		{name: "jwk header with the signer's own key", givenToken: signRaw(t, another, `{"alg":"ES256","jwk":`+jwkJSON(t, &another.PublicKey)+`}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "jwk header with the gateway's key", givenToken: signRaw(t, key, `{"alg":"ES256","typ":"JWT","kid":"`+kid+`","jwk":`+jwkJSON(t, pub)+`}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "jku header", givenToken: signRaw(t, key, `{"alg":"ES256","jku":"https://evil.example/jwks.json"}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "x5u header", givenToken: signRaw(t, key, `{"alg":"ES256","x5u":"https://evil.example/cert.pem"}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "x5c header", givenToken: signRaw(t, key, `{"alg":"ES256","x5c":["`+selfSignedCert(t, another)+`"]}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "x5c header, not a certificate", givenToken: signRaw(t, key, `{"alg":"ES256","x5c":["AAAA"]}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "b64 false, critical", givenToken: signRaw(t, key, `{"alg":"ES256","b64":false,"crit":["b64"]}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "b64 false, not critical", givenToken: signRaw(t, key, `{"alg":"ES256","b64":false}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "nonce header", givenToken: signRaw(t, key, `{"alg":"ES256","nonce":"n"}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "unknown header member", givenToken: signRaw(t, key, `{"alg":"ES256","cty":"JWT"}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		// go-jose reads a member whose value is null (and an empty x5c or
		// nonce) as absent; the rule is on names, whatever their value.
		{name: "crit header, null", givenToken: signRaw(t, key, `{"alg":"ES256","crit":null}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "b64 header, null", givenToken: signRaw(t, key, `{"alg":"ES256","b64":null}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "jwk header, null", givenToken: signRaw(t, key, `{"alg":"ES256","jwk":null}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "x5c header, empty", givenToken: signRaw(t, key, `{"alg":"ES256","x5c":[]}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "nonce header, empty", givenToken: signRaw(t, key, `{"alg":"ES256","nonce":""}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "alg header spelled Alg", givenToken: signRaw(t, key, `{"alg":"ES256","Alg":"none"}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "typ not a string", givenToken: signRaw(t, key, `{"alg":"ES256","typ":1}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "kid not a string", givenToken: signRaw(t, key, `{"alg":"ES256","kid":1}`, validPayload("")), expectError: requestinfo.ErrMalformed},
		{name: "header and payload in alphabetical order accepted", givenToken: signRaw(t, key, `{"alg":"ES256","kid":"`+kid+`","typ":"JWT"}`, validPayload(""))},
		{name: "non-canonical header spelling", givenToken: recode(t, oddLengths, 0), expectError: requestinfo.ErrMalformed},
		{name: "non-canonical payload spelling", givenToken: recode(t, oddLengths, 1), expectError: requestinfo.ErrMalformed},
		{name: "non-canonical signature spelling", givenToken: recode(t, oddLengths, 2), expectError: requestinfo.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := newClock()
			at.Advance(tt.whenAfter)
			v := newVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{pub}, Audience: "demo", Issuer: "authgw", Now: at.Now})

			got, err := v.Verify(tt.givenToken)

			if tt.expectError == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				if got.Client != "cl_7f3a" || got.Audience != "demo" {
					t.Errorf("Verify = %+v", got)
				}
				return
			}
			if !errors.Is(err, tt.expectError) {
				t.Fatalf("Verify error = %v, want %v", err, tt.expectError)
			}
			if !errors.Is(err, requestinfo.ErrInvalid) {
				t.Errorf("Verify error %v does not wrap ErrInvalid", err)
			}
			if got.Client != "" || got.User != nil || got.Audience != "" {
				t.Errorf("Verify returned claims %+v with its error", got)
			}
		})
	}
}

// jwkJSON is pub as a JWK, for a header that embeds it.
func jwkJSON(t *testing.T, pub *ecdsa.PublicKey) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: pub})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// selfSignedCert is a certificate for key, standard base64 DER as x5c
// carries it.
func selfSignedCert(t *testing.T, key *ecdsa.PrivateKey) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// recode respells part i of token so that it decodes to the same bytes
// but is not the canonical encoding: the unused low bits of its last
// letter are set. It fails the test for a part whose length leaves no
// unused bits.
func recode(t *testing.T, token string, i int) string {
	t.Helper()
	p := strings.Split(token, ".")
	part := p[i]
	var unused int
	switch len(part) % 4 {
	case 2:
		unused = 0x0f
	case 3:
		unused = 0x03
	default:
		t.Fatalf("part %d has %d letters: no unused bits", i, len(part))
	}
	last := strings.IndexByte(base64URLAlphabet, part[len(part)-1])
	p[i] = part[:len(part)-1] + string(base64URLAlphabet[last|unused])
	if a, _ := enc.DecodeString(part); string(a) != mustLenient(t, p[i]) {
		t.Fatalf("respelled part %d decodes differently", i)
	}
	return strings.Join(p, ".")
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func mustLenient(t *testing.T, part string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// parts2 returns the payload part of token.
func parts2(t *testing.T, token string) string {
	t.Helper()
	_, p, _ := parts(t, token)
	return p
}

// Every single-character change anywhere in a token is refused.
func TestVerifyRefusesEveryCharacterFlip(t *testing.T) {
	key, _ := keys(t)
	clk := newClock()
	s := newSigner(t, infosign.SignerConfig{Key: key, Now: clk.Now})
	v := newVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Now: clk.Now})
	token := sign(t, s, sampleClaims())
	if _, err := v.Verify(token); err != nil {
		t.Fatalf("control: %v", err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
	for i := range len(token) {
		for _, r := range []byte{alphabet[(strings.IndexByte(alphabet, token[i])+1)%len(alphabet)], alphabet[(strings.IndexByte(alphabet, token[i])+32)%len(alphabet)]} {
			forged := token[:i] + string(r) + token[i+1:]
			if _, err := v.Verify(forged); err == nil {
				t.Errorf("position %d changed to %q: accepted", i, r)
			}
		}
	}
}

func TestVerifyKeyRotation(t *testing.T) {
	key, another := keys(t)
	clk := newClock()
	newKey := requestinfotest.Keys(t).Rotated
	tests := []struct {
		name         string
		givenKey     *ecdsa.PrivateKey
		givenKeyID   string
		expectAccept bool
	}{
		{name: "old key", givenKey: key, expectAccept: true},
		{name: "new key", givenKey: newKey, expectAccept: true},
		{name: "new key with a custom kid", givenKey: newKey, givenKeyID: "2026-03", expectAccept: true},
		{name: "old key without kid match", givenKey: key, givenKeyID: "unknown", expectAccept: true},
		{name: "unknown key", givenKey: another},
		{name: "unknown key with a custom kid", givenKey: another, givenKeyID: "2026-03"},
	}
	v := newVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&newKey.PublicKey, &key.PublicKey}, Now: clk.Now})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSigner(t, infosign.SignerConfig{Key: tt.givenKey, KeyID: tt.givenKeyID, Now: clk.Now})
			_, err := v.Verify(sign(t, s, sampleClaims()))
			if tt.expectAccept && err != nil {
				t.Errorf("Verify: %v, want success", err)
			}
			if !tt.expectAccept && !errors.Is(err, requestinfo.ErrBadSignature) {
				t.Errorf("Verify error = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestNewVerifierConfig(t *testing.T) {
	key, _ := keys(t)
	pub := &key.PublicKey
	tests := []struct {
		name        string
		givenConfig requestinfo.VerifierConfig
		expectError bool
	}{
		{name: "minimal", givenConfig: requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{pub}, Audience: "demo"}},
		{name: "no keys", givenConfig: requestinfo.VerifierConfig{Audience: "demo"}, expectError: true},
		{name: "nil key", givenConfig: requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{pub, nil}, Audience: "demo"}, expectError: true},
		{name: "no audience", givenConfig: requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{pub}}, expectError: true},
		{name: "negative leeway", givenConfig: requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{pub}, Audience: "demo", Leeway: -time.Second}, expectError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := requestinfo.NewVerifier(tt.givenConfig)
			if (err != nil) != tt.expectError {
				t.Errorf("NewVerifier error = %v, want error %v", err, tt.expectError)
			}
		})
	}
}

func TestVerifyLeeway(t *testing.T) {
	key, _ := keys(t)
	s := newSigner(t, infosign.SignerConfig{Key: key, Now: newClock().Now})
	token := sign(t, s, sampleClaims())
	tests := []struct {
		name        string
		givenLeeway time.Duration
		whenAfter   time.Duration
		expectError error
	}{
		{name: "default leeway, 5s after exp", whenAfter: 35 * time.Second},
		{name: "default leeway, 6s after exp", whenAfter: 36 * time.Second, expectError: requestinfo.ErrExpired},
		{name: "1s leeway, 2s after exp", givenLeeway: time.Second, whenAfter: 32 * time.Second, expectError: requestinfo.ErrExpired},
		{name: "1m leeway, 50s after exp", givenLeeway: time.Minute, whenAfter: 80 * time.Second},
		{name: "default leeway, verifier 5s behind", whenAfter: -5 * time.Second},
		{name: "default leeway, verifier 6s behind", whenAfter: -6 * time.Second, expectError: requestinfo.ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			clk.Advance(tt.whenAfter)
			v := newVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Leeway: tt.givenLeeway, Now: clk.Now})
			_, err := v.Verify(token)
			if !errors.Is(err, tt.expectError) {
				t.Errorf("Verify error = %v, want %v", err, tt.expectError)
			}
		})
	}
}

func TestVerifyCache(t *testing.T) {
	key, _ := keys(t)
	tests := []struct {
		name          string
		givenSize     int
		whenAfter     time.Duration
		expectError   error
		expectEntries int
	}{
		{name: "remembered token verifies again", expectEntries: 1},
		{name: "remembered token still expires", whenAfter: 36 * time.Second, expectError: requestinfo.ErrExpired, expectEntries: 1},
		{name: "cache off", givenSize: -1, expectEntries: 0},
		{name: "cache off, expired", givenSize: -1, whenAfter: 36 * time.Second, expectError: requestinfo.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			s := newSigner(t, infosign.SignerConfig{Key: key, Now: clk.Now})
			v := newVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, CacheSize: tt.givenSize, Now: clk.Now})
			token := sign(t, s, sampleClaims())

			first, err := v.Verify(token)
			if err != nil {
				t.Fatal(err)
			}
			// A caller changing its claims must not change what the
			// Verifier hands out next.
			first.ClientRoles[0] = "system"
			first.User.Roles[0] = "sysadmin"
			first.User.ID = "usr_1"

			clk.Advance(tt.whenAfter)
			second, err := v.Verify(token)
			if !errors.Is(err, tt.expectError) {
				t.Fatalf("second Verify error = %v, want %v", err, tt.expectError)
			}
			if err == nil && (second.ClientRoles[0] != "internal" || second.User.Roles[0] != "user" || second.User.ID != "usr_42") {
				t.Errorf("second Verify = %+v, user %+v: the first caller's changes leaked", second, second.User)
			}
			if n := v.CacheLen(); n != tt.expectEntries {
				t.Errorf("cache holds %d tokens, want %d", n, tt.expectEntries)
			}
		})
	}

	t.Run("refused tokens are not remembered", func(t *testing.T) {
		clk := newClock()
		c := sampleClaims()
		c.Audience = "billing"
		token := sign(t, newSigner(t, infosign.SignerConfig{Key: key, Now: clk.Now}), c)
		v := newVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Now: clk.Now})
		for range 2 {
			if _, err := v.Verify(token); !errors.Is(err, requestinfo.ErrAudience) {
				t.Fatalf("Verify error = %v, want ErrAudience", err)
			}
		}
		if n := v.CacheLen(); n != 0 {
			t.Errorf("cache holds %d tokens, want 0", n)
		}
	})

	t.Run("bounded", func(t *testing.T) {
		clk := newClock()
		s := newSigner(t, infosign.SignerConfig{Key: key, Reuse: -1, Now: clk.Now})
		v := newVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, CacheSize: 32, Now: clk.Now})
		for range 200 {
			if _, err := v.Verify(sign(t, s, sampleClaims())); err != nil {
				t.Fatal(err)
			}
		}
		if n := v.CacheLen(); n > 32 {
			t.Errorf("cache holds %d tokens, want at most 32", n)
		}
	})
}

func TestCanonicalBase64URL(t *testing.T) {
	tests := []struct {
		name        string
		givenPart   string
		expectValid bool
	}{
		{name: "empty", givenPart: "", expectValid: true},
		{name: "one byte", givenPart: "AA", expectValid: true},
		{name: "one byte, unused bits set", givenPart: "AB", expectValid: false},
		{name: "one byte, last letter w", givenPart: "-w", expectValid: true},
		{name: "one byte, last letter _", givenPart: "-_", expectValid: false},
		{name: "two bytes", givenPart: "AAA", expectValid: true},
		{name: "two bytes, unused bits set", givenPart: "AAB", expectValid: false},
		{name: "three bytes, no unused bits", givenPart: "AAA_", expectValid: true},
		{name: "a lone letter", givenPart: "AAAAA", expectValid: false},
		{name: "padding", givenPart: "AA==", expectValid: false},
		{name: "standard alphabet", givenPart: "A+/A", expectValid: false},
		{name: "whitespace", givenPart: "AA AA", expectValid: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := requestinfo.CanonicalBase64URL(tt.givenPart); got != tt.expectValid {
				t.Errorf("canonicalBase64URL(%q) = %v, want %v", tt.givenPart, got, tt.expectValid)
			}
			// Whatever it accepts, the strict decoder accepts too.
			if _, err := enc.Strict().DecodeString(tt.givenPart); tt.expectValid && err != nil {
				t.Errorf("strict base64url refuses %q: %v", tt.givenPart, err)
			}
		})
	}
}
