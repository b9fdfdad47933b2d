package mint

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/mint/caveat"
	"github.com/authgw/authgw/mint/wire"
)

// DischargePath is where the accounts service discharges step-up
// caveats: a step-up token's third-party caveat names it as its
// location, and a verifier that refuses a request for want of a
// discharge points the client there.
const DischargePath = "/accounts/v1/discharge"

// stepUpPurpose names the key that seals step-up caveat identifiers: a
// PurposeKey of each key of the ring, not only of the minting one, so
// that after a rotation the older key still opens what it sealed.
const stepUpPurpose = "step-up-caveat"

// stepUpMagic starts every step-up caveat identifier: "su" and a version.
var stepUpMagic = [3]byte{'s', 'u', 1}

// ErrBadStepUpCaveat is returned by OpenStepUp for an identifier that is
// not a step-up caveat this key ring sealed (damaged, forged, or sealed
// by a key the ring no longer holds: then it also matches ErrUnknownKey).
var ErrBadStepUpCaveat = errors.New("not a step-up caveat of this key ring")

// StepUpClaim is what a step-up token's third-party caveat identifier
// holds, sealed (XChaCha20-Poly1305) with a key derived from the key
// ring's minting key, which it names, so that after a rotation the older
// key still opens it. Only the holder of the ring learns what is in it:
// a verifier needs none of it, and a client sees an opaque identifier.
type StepUpClaim struct {
	// UserID and SessionID are the token's: a discharge is given only to
	// that user, proving a fresh factor, in that session.
	UserID    string
	SessionID string
	// Window is how long a discharge of the caveat may live: the stepUp
	// of the scopes that granted the token's routes (the shortest when
	// several did).
	Window time.Duration
	// rootKey is the caveat's root key: the discharge's signature starts
	// from it.
	rootKey [32]byte
}

// maxStepUpWindow bounds a claim's window (it is written in two bytes,
// and policies allow at most an hour).
const maxStepUpWindow = 3600 * time.Second

// sealStepUp seals a claim into a caveat identifier with the key named
// keyID.
func (r *KeyRing) sealStepUp(keyID string, c StepUpClaim, random io.Reader) ([]byte, error) {
	if !validID(c.UserID) || !validID(c.SessionID) || c.Window < time.Second || c.Window > maxStepUpWindow {
		return nil, fmt.Errorf("%w: step-up claim needs user and session IDs and a window of 1 s to 1 h", ErrBadSubject)
	}
	aead, err := r.stepUpAEAD(keyID)
	if err != nil {
		return nil, err
	}
	head := append(stepUpMagic[:], byte(len(keyID)))
	head = append(head, keyID...)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := io.ReadFull(random, nonce); err != nil {
		return nil, fmt.Errorf("mint: step-up nonce: %w", err)
	}
	plain := make([]byte, 0, 32+2+2+len(c.UserID)+len(c.SessionID))
	plain = append(plain, c.rootKey[:]...)
	plain = binary.BigEndian.AppendUint16(plain, uint16(c.Window/time.Second))
	plain = append(plain, byte(len(c.UserID)))
	plain = append(plain, c.UserID...)
	plain = append(plain, byte(len(c.SessionID)))
	plain = append(plain, c.SessionID...)
	out := append(head, nonce...)
	return aead.Seal(out, nonce, plain, head), nil
}

// OpenStepUp opens a step-up caveat identifier (as a client received it
// in a STEP-UP-REQUIRED answer, or as it stands in the token) with the
// key it names. It fails with ErrBadStepUpCaveat, wrapping ErrUnknownKey
// when the ring no longer holds that key.
func OpenStepUp(ring *KeyRing, cid []byte) (StepUpClaim, error) {
	n := len(stepUpMagic)
	if len(cid) < n+1 || [3]byte(cid[:n]) != stepUpMagic {
		return StepUpClaim{}, ErrBadStepUpCaveat
	}
	idLen := int(cid[n])
	if len(cid) < n+1+idLen+chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return StepUpClaim{}, ErrBadStepUpCaveat
	}
	keyID := string(cid[n+1 : n+1+idLen])
	head := cid[:n+1+idLen]
	aead, err := ring.stepUpAEAD(keyID)
	if err != nil {
		return StepUpClaim{}, fmt.Errorf("%w: %w", ErrBadStepUpCaveat, err)
	}
	nonce := cid[len(head) : len(head)+chacha20poly1305.NonceSizeX]
	plain, err := aead.Open(nil, nonce, cid[len(head)+len(nonce):], head)
	if err != nil {
		return StepUpClaim{}, ErrBadStepUpCaveat
	}
	var c StepUpClaim
	if len(plain) < 32+2 {
		return StepUpClaim{}, ErrBadStepUpCaveat
	}
	copy(c.rootKey[:], plain)
	c.Window = time.Duration(binary.BigEndian.Uint16(plain[32:])) * time.Second
	rest := plain[34:]
	var ok bool
	if c.UserID, rest, ok = lengthPrefixed(rest); !ok {
		return StepUpClaim{}, ErrBadStepUpCaveat
	}
	if c.SessionID, rest, ok = lengthPrefixed(rest); !ok || len(rest) != 0 {
		return StepUpClaim{}, ErrBadStepUpCaveat
	}
	if !validID(c.UserID) || !validID(c.SessionID) || c.Window < time.Second || c.Window > maxStepUpWindow {
		return StepUpClaim{}, ErrBadStepUpCaveat
	}
	return c, nil
}

// CaveatKey returns the caveat's root key, from which a discharge's
// signature starts (after macaroon.v2's key generation). The token's
// verification ID holds the same key, but whoever adds a third-party
// caveat chooses that one: a verifier compares the two, so that a holder
// who copies a sealed identifier into a caveat of their own, with a key
// they chose, cannot discharge it themselves.
func (c StepUpClaim) CaveatKey() [32]byte { return c.rootKey }

// StepUpCaveatKeyID tells, without any key, whether cid has the shape of
// a step-up caveat identifier, and the ID of the key it names as its
// sealer. It opens nothing: only OpenStepUp says whether the ring sealed
// it. It is for tools that show a token or a discharge to a person.
func StepUpCaveatKeyID(cid []byte) (string, bool) {
	n := len(stepUpMagic)
	if len(cid) < n+1 || [3]byte(cid[:n]) != stepUpMagic {
		return "", false
	}
	idLen := int(cid[n])
	if len(cid) < n+1+idLen+chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead || !validID(string(cid[n+1:n+1+idLen])) {
		return "", false
	}
	return string(cid[n+1 : n+1+idLen]), true
}

func lengthPrefixed(b []byte) (string, []byte, bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return "", nil, false
	}
	return string(b[1 : 1+int(b[0])]), b[1+int(b[0]):], true
}

func (r *KeyRing) stepUpAEAD(keyID string) (cipher.AEAD, error) {
	k, ok := r.byID[keyID]
	if !ok {
		return nil, ErrUnknownKey
	}
	return k.stepUp, nil
}

// StepUpCaveatID returns the identifier of an encoded token's
// third-party caveat, and false when the token has none or cannot be
// decoded. It checks no signature: it is for a client or a page that
// holds a step-up token and needs its caveat discharged.
func StepUpCaveatID(token string) ([]byte, bool) {
	b, err := DecodeBase64(token)
	if err != nil {
		return nil, false
	}
	var t wire.UnsafeToken
	if !wire.SplitV2(b, &t) || t.Third < 0 {
		return nil, false
	}
	return t.Caveats[t.Third].In(b), true
}

// Discharge mints the discharge of a step-up caveat whose identifier cid
// OpenStepUp opened into c: a macaroon with that identifier, signed from
// the caveat's root key, carrying one time-before caveat c.Window from
// now (rounded down to the second, so never later). The caller must have
// checked that the user of c proved a fresh factor in the session of c.
// The client binds it to its step-up token (macaroon.v2's Bind) before
// sending both; the verifier checks it with no database.
func (m *Minter) Discharge(cid []byte, c StepUpClaim) (string, time.Time, error) {
	expires := m.cfg.Now().UTC().Add(c.Window).Truncate(time.Second)
	mac, err := macaroon.New(c.rootKey[:], cid, "", macaroon.V2)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mint: discharge: %w", err)
	}
	if err := mac.AddFirstPartyCaveat([]byte(caveat.NewTimeBefore(expires).String())); err != nil {
		return "", time.Time{}, fmt.Errorf("mint: discharge: %w", err)
	}
	tok, err := Encode(mac)
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, expires, nil
}

// BindDischarge binds an encoded discharge to an encoded token, as a
// client does with macaroon.v2's Bind, and returns the bound discharge.
// It checks no signature.
func BindDischarge(token, discharge string) (string, error) {
	tm, err := Decode(token)
	if err != nil {
		return "", err
	}
	dm, err := Decode(discharge)
	if err != nil {
		return "", err
	}
	dm.Bind(tm.Signature())
	return Encode(dm)
}
