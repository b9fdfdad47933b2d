package verifier_test

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"testing"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier"
)

// benchToken is a typical browser GET token: 8 caveats, 8 routes.
func benchToken(b *testing.B) (string, *verifier.Verifier, verifier.Request) {
	ring := testRing(b)
	toks := mintTokens(b, ring, browserPolicy)
	v := newVerifier(b, ring, nil)
	return toks.ByMethod["GET"], v, verifier.Request{Method: "GET", Path: "/reports/v1/orgs/org-b/q3/summary"}
}

// benchParts decodes the token once for the baselines: its identifier,
// caveats and root key.
func benchParts(b *testing.B, tok string) (id []byte, caveats [][]byte, root []byte) {
	m, err := mint.Decode(tok)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range m.Caveats() {
		caveats = append(caveats, c.Id)
	}
	ident, err := mint.ParseIdentifier(m.Id())
	if err != nil {
		b.Fatal(err)
	}
	root, err = testRing(b).RootKey(ident.KeyID, m.Id())
	if err != nil {
		b.Fatal(err)
	}
	return m.Id(), caveats, root
}

// bareChain is the least work any verifier of this token must do: one
// HMAC-SHA256 per identifier and caveat, from a known key, with reused
// hash states and no decoding, key derivation or caveat checks.
type bareChain struct {
	in, out hash.Hash
	pad     [64]byte
	sum     [32]byte
}

func (c *bareChain) mac(key, msg []byte, out *[32]byte) {
	for i := range c.pad {
		c.pad[i] = 0x36
	}
	for i, k := range key {
		c.pad[i] ^= k
	}
	c.in.Reset()
	c.in.Write(c.pad[:])
	c.in.Write(msg)
	inner := c.in.Sum(c.sum[:0])
	for i := range c.pad {
		c.pad[i] ^= 0x36 ^ 0x5c
	}
	c.out.Reset()
	c.out.Write(c.pad[:])
	c.out.Write(inner)
	c.out.Sum(out[:0])
}

func benchBareChain(b *testing.B) {
	tok, _, _ := benchToken(b)
	id, caveats, root := benchParts(b, tok)
	c := &bareChain{in: sha256.New(), out: sha256.New()}
	var sig [32]byte
	copy(sig[:], root)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c.mac(sig[:], id, &sig)
		for _, cav := range caveats {
			c.mac(sig[:], cav, &sig)
		}
		copy(sig[:], root)
	}
}

func benchMacaroonV2(b *testing.B) {
	tok, _, _ := benchToken(b)
	_, _, root := benchParts(b, tok)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			b.Fatal(err)
		}
		var m macaroon.Macaroon
		if err := m.UnmarshalBinary(raw); err != nil {
			b.Fatal(err)
		}
		if _, err := m.VerifySignature(root, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchAuthgw(b *testing.B, memoSize int) {
	tok, _, req := benchToken(b)
	v := newVerifier(b, testRing(b), func(c *verifier.Config) { c.MemoSize = memoSize })
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(tok, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures authgw's verification of a typical browser
// token beside its two baselines, in the same run.
func BenchmarkVerify(b *testing.B) {
	b.Run("bare-hmac-chain", benchBareChain)
	b.Run("macaroon.v2-decode+VerifySignature", benchMacaroonV2)
	// cold: the memo is off, so every call decodes and runs the chain,
	// as for a token's first use.
	b.Run("authgw-cold", func(b *testing.B) { benchAuthgw(b, -1) })
	// warm: the token was verified before (a browser's next request);
	// caveats and revocation are still checked on each call.
	b.Run("authgw-warm", func(b *testing.B) { benchAuthgw(b, 0) })
}

var _ = hkdf.Key[hash.Hash]
var _ = hmac.Equal

// benchStepUp verifies, with the memo on or off, either the ordinary
// DELETE token of a step-up login on an ordinary route (plain), or its
// step-up token with one bound discharge on the step-up route.
func benchStepUp(b *testing.B, memoSize int, withDischarge bool) {
	ring := testRing(b)
	su := mintStepUp(b, ring, fixedNow)
	v := newVerifier(b, ring, func(c *verifier.Config) { c.MemoSize = memoSize })
	tok, req, discharges := su.tokens.ByMethod["DELETE"], deleteReq(userPath("/emails/1")), []string(nil)
	if withDischarge {
		tok, req, discharges = su.token, deleteReq(userPath("")), []string{su.discharge}
	}
	if id, err := v.Verify(tok, req, discharges...); err != nil || id.StepUp != withDischarge {
		b.Fatalf("%+v, %v", id, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(tok, req, discharges...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyDischarge measures a step-up token with one discharge
// against the plain token of the same login, in the same run, cold (no
// memo: every call runs both signature chains) and warm (the usual path:
// token and discharge verified before).
func BenchmarkVerifyDischarge(b *testing.B) {
	b.Run("cold-plain", func(b *testing.B) { benchStepUp(b, -1, false) })
	b.Run("cold-discharge", func(b *testing.B) { benchStepUp(b, -1, true) })
	b.Run("warm-plain", func(b *testing.B) { benchStepUp(b, 0, false) })
	b.Run("warm-discharge", func(b *testing.B) { benchStepUp(b, 0, true) })
}
