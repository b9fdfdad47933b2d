package accounts

import (
	"context"
	"errors"
	"net/http"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/verifier/envelope"
)

// Error codes of the accounts service. The upper-case names the original
// auth-gateway's clients know are kept (the README's "Authorization" table).
const (
	CodeBadBody           = "BAD-BODY"
	CodeInvalidData       = "USER_DATA_INVALID"
	CodeUnsupportedType   = "UNSUPPORTED-MEDIA-TYPE"
	CodeBodyTooLarge      = "BODY-TOO-LARGE"
	CodeBodyTimeout       = "BODY-TIMEOUT"
	CodeDuplicate         = "DUPLICATE"
	CodeDuplicateEmail    = "DUPLICATE-EMAIL"
	CodeIncorrectPassword = "INCORRECT-PASSWORD"
	CodeCurrentNoUser     = "CURRENT-ALIAS-NO-USER"
	CodeUnknownEndpoint   = "ACCOUNTS-UNKNOWN-ENDPOINT"
	CodeMethodNotAllowed  = "METHOD-NOT-ALLOWED"
	CodeNotFound          = "NOT-FOUND"
	CodeForbidden         = "FORBIDDEN"
	CodeLoginRequired     = "LOGIN-REQUIRED"
	CodeConflict          = "CONFLICT"
	// CodeTooManyMemberships: the user is at the bound of memberships
	// (or of pending invitations).
	CodeTooManyMemberships = "TOO-MANY-MEMBERSHIPS"
	// CodeTooManyOrganizations: the user created as many standing
	// organizations as allowed (Config.MaxOrganizationsPerUser).
	CodeTooManyOrganizations = "TOO-MANY-ORGANIZATIONS"
	// CodeTooManyClients: the organization has as many live clients as
	// allowed (Config.MaxClientsPerOrganization).
	CodeTooManyClients = "TOO-MANY-CLIENTS"
	// CodeCodeLoginOff: login by an emailed code is turned off
	// (Config.CodeLoginOff).
	CodeCodeLoginOff       = "CODE-LOGIN-OFF"
	CodeUserBanned         = "USER-BANNED"
	CodeUserDeleted        = "USER-DELETED"
	CodeUnavailable        = "SERVICE-UNAVAILABLE"
	CodeInternal           = "INTERNAL"
	CodeBadQuery           = "BAD-QUERY"
	CodeCodeInvalid        = "CODE-INVALID"
	CodeCodeExpired        = "CODE-EXPIRED"
	CodeTooManyAttempts    = "TOO-MANY-ATTEMPTS"
	CodeSessionExpired     = "SESSION-EXPIRED"
	CodeSessionInvalidated = "SESSION-INVALIDATED"
	CodeRefreshPassed      = "REFRESH-TOKEN-PASSED"
	CodeRegulated          = "TOO-MANY-FAILURES"
	CodeTOTPInvalid        = "TOTP-INVALID"
	CodeTOTPEnabled        = "TOTP-ENABLED"
	CodeTOTPNotEnrolled    = "TOTP-NOT-ENROLLED"
	// CodePasskeyInvalid: a passkey's answer (registration or login) that
	// does not hold: malformed, for another challenge, origin or site, a
	// bad signature, a passkey not of the account, or a copied one.
	CodePasskeyInvalid = "PASSKEY-INVALID"
	// CodePasskeyNoCeremony: no passkey ceremony in progress (never
	// asked, expired, or already answered): ask for options again.
	CodePasskeyNoCeremony = "PASSKEY-NO-CEREMONY"
	// CodePasskeyExists: the authenticator's passkey is registered already.
	CodePasskeyExists = "PASSKEY-EXISTS"
	// CodeTooManyPasskeys: the user has as many passkeys as allowed
	// (Config.MaxPasskeysPerUser).
	CodeTooManyPasskeys = "TOO-MANY-PASSKEYS"
	// CodeRecoveryCodeInvalid: a password recovery code that is wrong,
	// used, replaced, out of tries or expired, or whose address or
	// account is gone (400): the person asks for a new recovery mail.
	CodeRecoveryCodeInvalid = "RECOVERY-CODE-INVALID"
	// CodeFactorRecoveryCodeInvalid: a second-factor recovery code sent
	// in place of a TOTP code at login that is wrong or used (401); a
	// wrong guess like a wrong TOTP code.
	CodeFactorRecoveryCodeInvalid = "FACTOR-RECOVERY-CODE-INVALID"
)

// Obstruction codes of USER_DATA_INVALID errors: one per problem found in
// a body, all reported at once.
const (
	ObstructionRequired     = "REQUIRED"
	ObstructionUnknownField = "UNKNOWN-FIELD"
	ObstructionWrongType    = "WRONG-TYPE"
	ObstructionInvalid      = "INVALID"
	ObstructionTooLong      = "TOO-LONG"
	ObstructionMismatch     = "MISMATCH"
	ObstructionWeakPassword = "WEAK-PASSWORD"
)

// Errors of the service's own checks, mapped to HTTP at the edge
// (httpError). Every denial wraps ErrDenied.
var (
	// ErrDenied is the root of every authorization failure.
	ErrDenied = errors.New("accounts: denied")
	// ErrForbidden: the caller may see the resource but not do this (403).
	ErrForbidden = denial("accounts: forbidden")
	// ErrHidden: the caller may not see the resource (404, like a
	// resource that does not exist, so IDs cannot be probed).
	ErrHidden = denial("accounts: not found")
	// ErrLoginRequired: the endpoint needs a user token (401).
	ErrLoginRequired = denial("accounts: a user must be logged in")
)

type denialError struct{ msg string }

func (e *denialError) Error() string { return e.msg }
func (e *denialError) Unwrap() error { return ErrDenied }

func denial(msg string) error { return &denialError{msg: msg} }

// apiError is an error with its HTTP answer decided where it arises:
// validation failures and the handlers' specific refusals.
func apiError(status int, code, detail string) *envelope.Error {
	return envelope.New(status, code, detail)
}

// invalid is the 400 USER_DATA_INVALID error listing every obstruction.
func invalid(obs []envelope.Obstruction) *envelope.Error {
	e := envelope.New(http.StatusBadRequest, CodeInvalidData, "The request body has problems; see obstructions.")
	e.Obstructions = obs
	return e
}

// httpError maps any error of a handler to the envelope sent: the one
// place where store and authorization errors become statuses. Unknown
// errors are 503 (the database, a mail server or the regulator may be
// down: retrying later may work); the caller logs them, and Write masks
// their detail.
func httpError(err error) *envelope.Error {
	var e *envelope.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, ErrLoginRequired):
		return envelope.New(http.StatusUnauthorized, CodeLoginRequired, "This endpoint needs a logged-in user.")
	case errors.Is(err, ErrHidden):
		return envelope.New(http.StatusNotFound, CodeNotFound, "No such resource.")
	case errors.Is(err, ErrForbidden):
		return envelope.New(http.StatusForbidden, CodeForbidden, "You may not do this.")
	case errors.Is(err, db.ErrNotFound):
		return envelope.New(http.StatusNotFound, CodeNotFound, "No such resource.")
	case errors.Is(err, db.ErrDuplicate):
		return envelope.New(http.StatusConflict, CodeDuplicate, "It exists already.")
	case errors.Is(err, db.ErrConflict), errors.Is(err, db.ErrForeignKey):
		return envelope.New(http.StatusConflict, CodeConflict, "It conflicts with the current state.")
	case errors.Is(err, db.ErrInvalid):
		return envelope.New(http.StatusBadRequest, CodeInvalidData, "A value is not acceptable.")
	case errors.Is(err, context.Canceled):
		// The caller went away; the status is for the log only.
		return envelope.New(499, CodeUnavailable, "")
	}
	return envelope.New(http.StatusServiceUnavailable, CodeUnavailable, "")
}

func isNotFound(err error) bool { return errors.Is(err, db.ErrNotFound) }

func isForeignKey(err error) bool { return errors.Is(err, db.ErrForeignKey) }

func isDuplicate(err error) bool { return errors.Is(err, db.ErrDuplicate) }
