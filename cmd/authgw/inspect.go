package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/caveat"
)

const inspectUsage = `Usage: authgw inspect TOKEN|- [--discharge DISCHARGE|-] [--json] [--keys FILE] [--server-id ID] [--data-dir DIR]

Decodes a token (TOKEN, or - to read it from standard input) and shows its
identifier (format version, key ID, session, issue time, nonce) and each
caveat on its own line, in order, marking caveats the verifier would
refuse whatever the request.

When a key ring is found, the signature is verified: "signature: valid",
or "signature: INVALID" with exit status 1. When a server ID is found, the
token's server-id caveat is compared with it: "server-id: MISMATCH" exits 1.
Without a ring the signature is not checked: the caveats shown are then
only what the token claims. To test a request against the caveats, use
authgw check.

A step-up token's third-party caveat is shown with its location (the
accounts service's discharge endpoint) and its caveat ID in base64url, as
the discharge endpoint takes it: sealed for the accounts service, it
says to the key ring that sealed it which user and session it is for and
how long a discharge lives ("opens with the key ring"); without the ring
only the key it names is shown.

A discharge (the accounts service's answer for such a caveat) may be
inspected alone, as TOKEN, or with its step-up token, with --discharge:
its caveat ID, caveats and expiry, whether it discharges that token's
caveat (the IDs match: no key needed) and, with a key ring, whether it is
bound to that token (macaroon.v2 verifies the pair). A discharge of
another caveat, or not bound to the token, exits 1.

Routes may keep an organization parameter (:orgId, :orgIdRead,
:orgIdEdit, :orgIdManage, :orgIdDelete): it matches an organization the
orgs caveat lists, as ORGID:FLAGS, with the flag the name says (r read,
e edit, m manage, d delete; :orgId alone, any listed organization).

Flags:
  --discharge D    a discharge of TOKEN's third-party caveat to inspect
                   with it (- reads it from standard input)
  --json           print one JSON object instead of text
  --keys FILE      key ring to verify the signature with
                   (default: $AUTHGW_KEYS, else DATA-DIR/keys.json if present)
  --server-id ID   server ID to compare with
                   (default: $AUTHGW_SERVER_ID, else DATA-DIR/server-id if present)
  --data-dir DIR   (default: $AUTHGW_DATA_DIR, else ./authgw-data)
`

// inspectCommand is "authgw inspect".
type inspectCommand struct {
	settings  keySettings
	json      bool
	discharge string
}

// flagSet defines inspect's flags.
func (i *inspectCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("inspect")
	i.settings.register(fs)
	fs.BoolVar(&i.json, "json", false, "JSON output")
	fs.StringVar(&i.discharge, "discharge", "", "a discharge to inspect with the token")
	return fs
}

// Verdicts of the signature and server-id checks.
const (
	verdictUnchecked = "unchecked"
	verdictValid     = "valid"
	verdictInvalid   = "invalid"
	verdictMatch     = "match"
	verdictMismatch  = "mismatch"
)

// inspection is what inspect found, printed as text or JSON.
type inspection struct {
	Identifier      *identifierView `json:"identifier"`
	IdentifierError string          `json:"identifierError,omitempty"`
	Caveats         []string        `json:"caveats"`
	// Problems lists the caveats the verifier refuses whatever the request.
	Problems []string `json:"problems,omitempty"`
	// Expires is the earliest time-before, if any.
	Expires         *time.Time `json:"expires,omitempty"`
	ServerID        string     `json:"serverId"`
	ServerIDWant    string     `json:"configuredServerId,omitempty"`
	Signature       string     `json:"signature"`
	SignatureDetail string     `json:"signatureDetail,omitempty"`
	// ThirdParty is a step-up token's third-party caveat; nil for none.
	ThirdParty *thirdPartyView `json:"thirdParty,omitempty"`
	// Discharge is the discharge given with --discharge, or the
	// discharge inspected alone (then the token fields are empty).
	Discharge *dischargeView `json:"discharge,omitempty"`
}

// identifierView is a decoded identifier.
type identifierView struct {
	Version  int       `json:"version"`
	KeyID    string    `json:"keyId"`
	Session  string    `json:"session"`
	IssuedAt time.Time `json:"issuedAt"`
	Nonce    string    `json:"nonce"`
}

// run decodes the token and prints what it holds. It fails when the
// token does not decode, its identifier is malformed, the signature does
// not verify with the ring found, or its server ID is not the one found.
func (i *inspectCommand) run(c *cli, args []string) error {
	token, err := c.oneToken(args)
	if err != nil {
		return err
	}
	ring, haveRing, err := i.settings.keyRing(c)
	if err != nil {
		return err
	}
	serverID, haveServerID, err := i.settings.serverIDSetting(c)
	if err != nil {
		return err
	}
	unsafeMac, err := mint.Decode(token)
	if err != nil {
		return err
	}
	var in *inspection
	if isDischarge(unsafeMac) {
		if i.discharge != "" {
			return usagef("TOKEN is a discharge: give the step-up token as TOKEN and the discharge with --discharge")
		}
		in = &inspection{Discharge: inspectDischarge(unsafeMac, nil, ring, haveRing)}
	} else {
		in = inspectToken(unsafeMac, ring, haveRing, serverID, haveServerID)
		if i.discharge != "" {
			if i.discharge == "-" && token != "" && len(args) == 1 && args[0] == "-" {
				return usagef("only one of TOKEN and --discharge may be - (standard input)")
			}
			text, err := c.readTokenArg(i.discharge)
			if err != nil {
				return err
			}
			d, err := mint.Decode(text)
			if err != nil {
				return fmt.Errorf("discharge: %w", err)
			}
			in.Discharge = inspectDischarge(d, unsafeMac, ring, haveRing)
		}
	}
	if i.json {
		out, err := json.MarshalIndent(in, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s\n", out)
	} else {
		in.writeText(c, c.now())
	}
	if d := in.Discharge; d != nil && (d.OfToken == verdictMismatch || d.Bound == verdictInvalid || len(d.Problems) > 0) {
		return errReported
	}
	if in.dischargeAlone() {
		return nil
	}
	if in.Identifier == nil || in.Signature == verdictInvalid || in.ServerID == verdictMismatch {
		return errReported
	}
	return nil
}

// inspectToken reads a decoded, unverified token: its identifier and
// caveats, then the signature against ring and the server-id caveats
// against serverID when they were found.
func inspectToken(unsafeMac *macaroon.Macaroon, ring *mint.KeyRing, haveRing bool, serverID string, haveServerID bool) *inspection {
	in := &inspection{Caveats: []string{}, ServerID: verdictUnchecked, Signature: verdictUnchecked}
	rawID := unsafeMac.Id()
	id, err := mint.ParseIdentifier(rawID)
	if err != nil {
		in.IdentifierError = fmt.Sprintf("%v (%d bytes: %s)", err, len(rawID), hex.EncodeToString(rawID))
	} else {
		in.Identifier = &identifierView{
			Version:  int(rawID[0]),
			KeyID:    id.KeyID,
			Session:  id.SessionID,
			IssuedAt: id.IssuedAt,
			Nonce:    hex.EncodeToString(id.Nonce[:]),
		}
	}
	var tokenServerIDs []string
	for n, cav := range unsafeMac.Caveats() {
		text := string(cav.Id)
		if len(cav.VerificationId) > 0 {
			tp := newThirdPartyView(cav)
			in.Caveats = append(in.Caveats, "third-party "+strconv.Quote(cav.Location)+" "+tp.CaveatID)
			switch {
			case in.ThirdParty != nil:
				in.Problems = append(in.Problems, fmt.Sprintf("caveat %d: a second third-party caveat: authgw accepts one only", n+1))
			case cav.Location != mint.DischargePath:
				in.Problems = append(in.Problems, fmt.Sprintf("caveat %d: third-party caveat for %q: authgw accepts only its discharge endpoint %s", n+1, cav.Location, mint.DischargePath))
			case tp.SealedWithKey == "":
				in.Problems = append(in.Problems, fmt.Sprintf("caveat %d: third-party caveat whose ID is not a step-up caveat of authgw", n+1))
			}
			if in.ThirdParty == nil {
				in.ThirdParty = tp
			}
			continue
		}
		if !caveat.ValidText(text) {
			text = strconv.Quote(text) // may hold control characters
		}
		in.Caveats = append(in.Caveats, text)
		c, err := caveat.Parse(string(cav.Id))
		if err != nil {
			in.Problems = append(in.Problems, fmt.Sprintf("caveat %d: %s", n+1, caveat.Explain(string(cav.Id))))
			continue
		}
		switch c.Kind() {
		case caveat.TimeBefore:
			if t := c.Time(); in.Expires == nil || t.Before(*in.Expires) {
				in.Expires = &t
			}
		case caveat.ServerID:
			tokenServerIDs = append(tokenServerIDs, c.Arg())
		}
	}
	if haveServerID {
		in.ServerIDWant = serverID
		in.ServerID = verdictMatch
		if len(tokenServerIDs) == 0 {
			in.ServerID = verdictMismatch
		}
		for _, s := range tokenServerIDs {
			if s != serverID {
				in.ServerID = verdictMismatch
			}
		}
	}
	if haveRing {
		in.Signature, in.SignatureDetail = verifySignature(unsafeMac, id, err == nil, ring)
		if in.ThirdParty != nil {
			in.ThirdParty.open(ring)
		}
	}
	return in
}

// verifySignature checks the token's signature with the root key the
// ring derives for its identifier, with macaroon.v2's own verification.
func verifySignature(unsafeMac *macaroon.Macaroon, id mint.Identifier, idOK bool, ring *mint.KeyRing) (verdict, detail string) {
	if !idOK {
		return verdictInvalid, "malformed identifier"
	}
	root, err := ring.RootKey(id.KeyID, unsafeMac.Id())
	if errors.Is(err, mint.ErrUnknownKey) {
		return verdictInvalid, fmt.Sprintf("key %q is not in the key ring (%s)", id.KeyID, strings.Join(ring.IDs(), " "))
	}
	if err != nil {
		return verdictInvalid, err.Error()
	}
	// A step-up token verifies only with a discharge of its third-party
	// caveat: the ring opens the caveat and makes one, for this check.
	var discharges []*macaroon.Macaroon
	for _, cav := range unsafeMac.Caveats() {
		if len(cav.VerificationId) == 0 {
			continue
		}
		d, err := checkDischarge(ring, unsafeMac, cav.Id)
		if err != nil {
			return verdictInvalid, fmt.Sprintf("third-party caveat: %v", err)
		}
		discharges = append(discharges, d)
	}
	if _, err := unsafeMac.VerifySignature(root, discharges); err != nil {
		return verdictInvalid, fmt.Sprintf("does not verify with key %q", id.KeyID)
	}
	return verdictValid, fmt.Sprintf("key %q", id.KeyID)
}

// writeText prints the inspection for a person; now dates the expiry.
func (in *inspection) writeText(c *cli, now time.Time) {
	w := c.stdout
	if in.dischargeAlone() {
		in.Discharge.writeText(w, now)
		return
	}
	if id := in.Identifier; id != nil {
		fmt.Fprintf(w, "version:   %d\n", id.Version)
		fmt.Fprintf(w, "key:       %s\n", id.KeyID)
		fmt.Fprintf(w, "session:   %s\n", id.Session)
		fmt.Fprintf(w, "issued at: %s\n", id.IssuedAt.Format("2006-01-02T15:04:05.000Z07:00"))
		fmt.Fprintf(w, "nonce:     %s\n", id.Nonce)
	} else {
		fmt.Fprintf(w, "identifier: MALFORMED: %s\n", in.IdentifierError)
	}
	fmt.Fprintln(w, "caveats:")
	for _, cav := range in.Caveats {
		fmt.Fprintf(w, "  %s\n", cav)
	}
	for _, p := range in.Problems {
		fmt.Fprintf(w, "problem:   %s\n", p)
	}
	if in.Expires != nil {
		fmt.Fprintf(w, "expires:   %s\n", expiryText(*in.Expires, now))
	}
	switch in.ServerID {
	case verdictMatch:
		fmt.Fprintf(w, "server-id: matches %s\n", in.ServerIDWant)
	case verdictMismatch:
		fmt.Fprintf(w, "server-id: MISMATCH (configured %s)\n", in.ServerIDWant)
	}
	if tp := in.ThirdParty; tp != nil {
		fmt.Fprintf(w, "third-party caveat:\n")
		fmt.Fprintf(w, "  location:  %s\n", tp.Location)
		fmt.Fprintf(w, "  caveat ID: %s\n", tp.CaveatID)
		tp.writeSealed(w)
	}
	switch in.Signature {
	case verdictValid:
		fmt.Fprintf(w, "signature: valid (%s)\n", in.SignatureDetail)
	case verdictInvalid:
		fmt.Fprintf(w, "signature: INVALID (%s)\n", in.SignatureDetail)
	default:
		fmt.Fprintf(w, "signature: not checked (no key ring: set --keys or %s)\n", envKeys)
	}
	if in.Discharge != nil {
		in.Discharge.writeText(w, now)
	}
}

// expiryText is an expiry for a person: the time, and how long until it
// or since it passed.
func expiryText(at, now time.Time) string {
	left := at.Sub(now).Round(time.Second)
	when := fmt.Sprintf("in %v", left)
	if left <= 0 {
		when = fmt.Sprintf("expired %v ago", -left)
	}
	return fmt.Sprintf("%s (%s)", at.Format(mint.TimeFormat), when)
}
