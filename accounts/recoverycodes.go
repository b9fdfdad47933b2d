package accounts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/accounts/notify/mailtemplate"
	"github.com/authgw/authgw/db"
)

// Recovery codes of the second factor (the README's "TOTP"): a user who
// turns TOTP on is shown, once, recoveryCodeCount single-use codes; any
// one of them replaces a TOTP code once at login (the totp step's
// "recoveryCode"), for the day the phone is lost. The store keeps only a
// hash of each. POST /users/:id/recovery-codes, with a fresh proof,
// replaces them all (the old ones die) and shows the new ones once; GET
// tells how many are left and when they were made, never the codes.
// Turning TOTP off, or a sysadmin's reset of the factors, deletes them.
//
// A code is recoveryCodeChars characters of the codes' base32 alphabet:
// 80 random bits, written in groups of four ("abcd-efgh-ijkm-nopq").
// Online, a guess goes through checkGuess like a wrong TOTP code (a few
// per account and IP before a ban), so even 40 bits would do: with ten
// live codes one guess wins with odds of 10 in 2^40. The 80 bits are for
// the stolen database: the hashes are plain SHA-256 (salted with the user
// ID, so one table of guesses serves one user only), and 2^80 hashes per
// user is out of reach where 2^40 would take a GPU minutes.

const (
	// recoveryCodeCount is how many codes a batch has.
	recoveryCodeCount = 10
	// recoveryCodeChars is the length of a code without its dashes: 16
	// base32 characters are 80 bits.
	recoveryCodeChars = 16
	// maxRecoveryCodeInput bounds what a body's recoveryCode may be, with
	// dashes and spaces people type.
	maxRecoveryCodeInput = 64
)

// recoveryCodesOut is the answer of GET, POST .../recovery-codes and,
// inside the user, of a TOTP confirmation. Codes is set only when a batch
// was just made: it is the one time they are shown.
type recoveryCodesOut struct {
	Type      string   `json:"type"`
	Codes     []string `json:"codes,omitempty"`
	Left      int      `json:"left"`
	CreatedMs int64    `json:"createdMs"`
}

// totpConfirmedOut is the user after a TOTP confirmation, with the
// recovery codes made for it.
type totpConfirmedOut struct {
	userOut
	RecoveryCodes recoveryCodesOut `json:"recoveryCodes"`
}

// newRecoveryCodes returns a batch of new codes for the user, to be shown
// once, and the hashes the store keeps.
func (s *Service) newRecoveryCodes(userID string) (codes, hashes []string, err error) {
	raw := make([]byte, 10) // 80 bits
	codes = make([]string, recoveryCodeCount)
	hashes = make([]string, recoveryCodeCount)
	for i := range codes {
		if _, err := io.ReadFull(s.cfg.Rand, raw); err != nil {
			return nil, nil, fmt.Errorf("recovery code: %w", err)
		}
		plain := codeEncoding.EncodeToString(raw) // 16 characters
		codes[i] = plain[0:4] + "-" + plain[4:8] + "-" + plain[8:12] + "-" + plain[12:16]
		hashes[i] = recoveryCodeHash(userID, codes[i])
	}
	return codes, hashes, nil
}

// recoveryCodeHash is the stored form of a recovery code as the user
// typed it: lower-cased, without spaces and dashes, hashed with the user
// ID (hex SHA-256). Looking it up by hash compares no secret byte by byte.
func recoveryCodeHash(userID, code string) string {
	norm := strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ', '\t':
			return -1
		}
		return r
	}, strings.ToLower(code))
	sum := sha256.Sum256([]byte("authgw recovery code\x00" + userID + "\x00" + norm))
	return hex.EncodeToString(sum[:])
}

// issueRecoveryCodes replaces the user's recovery codes by a new batch
// and returns it, to be shown once.
func (s *Service) issueRecoveryCodes(ctx context.Context, userID string) (recoveryCodesOut, error) {
	codes, hashes, err := s.newRecoveryCodes(userID)
	if err != nil {
		return recoveryCodesOut{}, err
	}
	now := s.nowMs()
	if err := s.logins.ReplaceRecoveryCodes(ctx, userID, hashes, now); err != nil {
		return recoveryCodesOut{}, err
	}
	return recoveryCodesOut{Type: "recovery-codes", Codes: codes, Left: len(codes), CreatedMs: now}, nil
}

// regenerateRecoveryCodes (POST /users/:id/recovery-codes) replaces the
// user's codes; the old ones stop working. The user proves who they are
// again (see checkProof): a stolen token alone must neither read new
// codes nor kill the owner's.
func (s *Service) regenerateRecoveryCodes(r *request) error {
	proof, err := readProofBody(r, "")
	if err != nil {
		return err
	}
	u := r.target.user
	if !u.TOTPEnabled {
		return apiError(http.StatusConflict, CodeTOTPNotEnrolled, "Recovery codes stand in for TOTP: turn TOTP on first.")
	}
	if err := s.checkProof(r, u, proof); err != nil {
		return err
	}
	out, err := s.issueRecoveryCodes(r.ctx(), u.ID)
	if err != nil {
		return err
	}
	s.record(r.ctx(), audit.Event{Type: audit.FactorAdded, SubjectUserID: u.ID, Data: map[string]string{"factor": "recovery-codes"}})
	return single(r, http.StatusCreated, out)
}

// getRecoveryCodes (GET /users/:id/recovery-codes) tells how many of the
// user's codes are left and when they were made; never the codes.
func (s *Service) getRecoveryCodes(r *request) error {
	st, err := s.logins.GetRecoveryCodesStatus(r.ctx(), r.target.user.ID)
	if err != nil {
		return err
	}
	return single(r, http.StatusOK, recoveryCodesOut{Type: "recovery-codes", Left: st.Left, CreatedMs: st.CreatedMs})
}

// recoveryCodeMatches reports whether code is an unused recovery code of
// the user, and if so spends it: one conditional UPDATE, so of two uses
// of one code (even concurrent) exactly one passes. A user without TOTP
// matches nothing. The owner is told, with how many codes are left.
// Callers go through checkGuess.
func (s *Service) recoveryCodeMatches(r *request, u *db.User, code string) (bool, error) {
	if !u.TOTPEnabled {
		return false, nil
	}
	left, err := s.logins.UseRecoveryCode(r.ctx(), u.ID, recoveryCodeHash(u.ID, code), s.nowMs())
	switch {
	case errors.Is(err, db.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	s.cfg.Logger.Info("accounts: recovery code used", "user", u.ID, "left", left)
	s.notifyRecoveryCodeUsed(r.ctx(), u.ID, left)
	return true, nil
}

// notifyRecoveryCodeUsed tells the user, on each verified address, that
// a recovery code was used and how many are left: a thief who found the
// codes is then known to the owner. A notice that cannot be sent is
// logged (IDs only); the login stands.
func (s *Service) notifyRecoveryCodeUsed(ctx context.Context, userID string, left int) {
	es, err := s.logins.ListEmails(ctx, userID)
	if err != nil {
		s.cfg.Logger.Warn("accounts: account notice not sent", "user", userID, "err", err)
		return
	}
	s.notifyAddresses(ctx, userID, es, mailtemplate.RecoveryCodeUsed, mailtemplate.View{Left: left})
}

// loginRecoveryCode is recoveryCodeMatches for the totp login step, which
// knows the user by ID only.
func (s *Service) loginRecoveryCode(r *request, userID, code string) (bool, error) {
	u, err := s.logins.GetUser(r.ctx(), userID)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.recoveryCodeMatches(r, &u, code)
}
