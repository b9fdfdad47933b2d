package accounts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/accounts/notify"
	"github.com/authgw/authgw/accounts/notify/mailtemplate"
	"github.com/authgw/authgw/db"
)

// Error codes of the email endpoints.
const (
	// CodeLastEmail refuses deleting a user's only address: a user must
	// keep one to receive login and verification codes (409).
	CodeLastEmail = "LAST-EMAIL"
	// CodeAlreadyVerified refuses a verification code for an address
	// that is verified already (409).
	CodeAlreadyVerified = "ALREADY-VERIFIED"
	// CodeTooManyMails refuses a request that would mail an address, or
	// have a user's requests mail, more than Config allows within its
	// window (429, with Retry-After).
	CodeTooManyMails = "TOO-MANY-MAILS"
	// CodeTooManyRegistrations refuses a registration from a source (an
	// IPv4 address or an IPv6 /64) that registered too many accounts
	// within the mail window (429, with Retry-After).
	CodeTooManyRegistrations = "TOO-MANY-REGISTRATIONS"
)

// emailOut is an email address as the API shows it; VerifiedMs is null
// until the address is verified.
type emailOut struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Email      string `json:"email"`
	VerifiedMs *int64 `json:"verifiedMs"`
	CreatedMs  int64  `json:"createdMs"`
	User       ref    `json:"user"`
}

func emailJSON(e db.Email) emailOut {
	out := emailOut{Type: "emails", ID: e.ID, Email: e.Email, CreatedMs: e.CreatedMs, User: refTo("users", e.UserID)}
	if e.VerifiedMs != 0 {
		v := e.VerifiedMs
		out.VerifiedMs = &v
	}
	return out
}

func emailsJSON(es []db.Email) []emailOut {
	out := make([]emailOut, len(es))
	for i, e := range es {
		out[i] = emailJSON(e)
	}
	return out
}

// readNewAddress reads the required address field name and returns it as
// db.NormalizeEmail stores it. An address that does not normalize, or
// that mail cannot be sent to (the notifiers take one bare ASCII
// address), is an obstruction: it could never receive its codes.
func readNewAddress(b *body, name string) string {
	raw := b.str(name, true, db.MaxEmailLength)
	if raw == "" {
		return ""
	}
	addr, err := db.NormalizeEmail(raw)
	if err != nil || !mailableAddress(addr) {
		b.obstruct(name, ObstructionInvalid, name+" must be an email address such as ann@example.com.")
		return ""
	}
	return addr
}

// mailableAddress reports whether addr is a single bare ASCII address,
// the only kind notify.Message.To takes.
func mailableAddress(addr string) bool {
	for i := 0; i < len(addr); i++ {
		if addr[i] < 0x21 || addr[i] > 0x7e {
			return false
		}
	}
	a, err := mail.ParseAddress(addr)
	return err == nil && a.Name == "" && a.Address == addr
}

// sendVerification creates a verification code for the address e of the
// user userID, which replaces (invalidates) the address's older codes,
// and mails it, with a link to the verification page when
// Config.PublicURL is set. The code is never logged nor returned. It fails when the
// code cannot be stored or the message cannot be sent; the error holds
// neither the code nor the address.
func (s *Service) sendVerification(ctx context.Context, userID string, e db.Email) error {
	code, hash, err := s.newCode()
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	if err := s.management.CreateCode(ctx, db.Code{ID: s.newID(), Hash: hash, Kind: db.CodeEmailVerification,
		UserID: userID, EmailID: e.ID, CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(s.cfg.VerificationTTL).UnixMilli()}); err != nil {
		return fmt.Errorf("storing the verification code: %w", err)
	}
	msg, err := s.mails.Render(mailtemplate.Verification, e.Email, mailtemplate.View{Code: code, Lifetime: s.cfg.VerificationTTL,
		Link: s.pageLink(VerifyPagePath, "email", e.ID, "code", code)})
	if err != nil {
		return fmt.Errorf("writing the verification mail: %w", err)
	}
	if err := s.send(ctx, msg); err != nil {
		return fmt.Errorf("sending the verification code: %w", err)
	}
	return nil
}

// takeMailQuota counts one verification mail to addr, asked for by the
// user userID ("" at registration, when there is no user yet), against
// the address's and the user's windowed counters: 429 TOO-MANY-MAILS
// with Retry-After when one is full, and nothing is counted. The
// address is counted by a hash of its key, so the counters hold no
// address.
//
// Registrations do not count here (see registrationMailQuotas): anyone
// may register any address nobody verified, and strangers' registrations
// must not use up the mails the address's owner asks for.
func (s *Service) takeMailQuota(r *request, userID, addr string) error {
	quotas := []db.MailQuota{{ID: s.newID(), Subject: "address:" + mailHash(db.EmailKey(addr)), Limit: s.cfg.MailsPerAddress}}
	if userID != "" {
		quotas = append(quotas, db.MailQuota{ID: s.newID(), Subject: "user:" + userID, Limit: s.cfg.MailsPerUser})
	}
	return s.quotaRefusal(r, s.takeQuotas(r, quotas), CodeTooManyMails, "Too many mails to this address or from this account; try again later.")
}

// quotaRefusal turns a *db.MailLimitError into a 429 of code with
// Retry-After; other errors are returned as they are.
func (s *Service) quotaRefusal(r *request, err error, code, detail string) error {
	var over *db.MailLimitError
	if errors.As(err, &over) {
		secs := (over.RetryMs-s.cfg.Now().UnixMilli())/1000 + 1
		r.Response().Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		return apiError(http.StatusTooManyRequests, code, detail)
	}
	return err
}

// registrationMailsPerSourceAddress bounds, per Config.MailWindow, the
// verification mails one source's registrations of one address send, so
// one stranger cannot use up the address's registration mails
// (Config.MailsPerAddress) alone. Past the mail bounds the registration
// is not refused: the account is created without the mail. (How many
// accounts a source registers at all is Config.RegistrationsPerSource.)
const registrationMailsPerSourceAddress = 2

// registrationSourceQuota is the counter of the registrations from the
// IP ip.
func registrationSourceQuota(s *Service, ip string) []db.MailQuota {
	return []db.MailQuota{{ID: s.newID(), Subject: "reg-source:" + mailHash(mailSource(ip)), Limit: s.cfg.RegistrationsPerSource}}
}

// registrationMailQuotas are the counters a registration's verification
// mail to addr from the IP ip counts against. They are apart from the
// counters of adding an address and generate-verification
// (takeMailQuota): a registration never uses up those.
func registrationMailQuotas(s *Service, ip, addr string) []db.MailQuota {
	key, src := db.EmailKey(addr), mailSource(ip)
	return []db.MailQuota{
		{ID: s.newID(), Subject: "reg-address:" + mailHash(key), Limit: s.cfg.MailsPerAddress},
		{ID: s.newID(), Subject: "reg-pair:" + mailHash(key+"\x00"+src), Limit: registrationMailsPerSourceAddress},
	}
}

// takeQuotas counts one mail against each quota of the window ending
// now, or none when one is full (a *db.MailLimitError).
func (s *Service) takeQuotas(r *request, quotas []db.MailQuota) error {
	now := s.cfg.Now()
	return s.management.TakeMailQuota(r.ctx(), quotas, db.MailWindow{StartMs: now.Add(-s.cfg.MailWindow).UnixMilli(), NowMs: now.UnixMilli()})
}

// mailHash is how a mail counter names an address or a source: 24 bytes
// of its SHA-256, in hex, so the counters hold neither.
func mailHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:24])
}

// mailSource is the source a mail counter counts: the IP address, or
// the /64 of an IPv6 address (one subscriber's network, whose addresses
// cost nothing to change), as the login regulation counts sources.
func mailSource(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if addr = addr.Unmap().WithZone(""); addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().String()
	}
	return addr.String()
}

// send sends msg. Its error never holds the recipient's address, which a
// mail server's reply may quote: the error goes to the log, and the log
// never holds a full address.
func (s *Service) send(ctx context.Context, msg notify.Message) error {
	if err := s.cfg.Notifier.Send(ctx, msg); err != nil {
		return errors.New(strings.ReplaceAll(err.Error(), msg.To, "<address>"))
	}
	return nil
}

// logVerificationNotSent records that a verification code could not be
// sent after the address was stored: the caller still succeeds, and the
// user can ask for a new code. It logs IDs, never the code or the
// address.
func (s *Service) logVerificationNotSent(userID, emailID string, err error) {
	s.cfg.Logger.Warn("accounts: verification code not sent", "user", userID, "email", emailID, "err", err)
}

func (s *Service) listEmails(r *request) error {
	es, err := s.management.ListEmails(r.ctx(), r.target.user.ID)
	if err != nil {
		return err
	}
	return collection(r, emailsJSON(es), len(es), db.PageInfo{})
}

// addEmail adds an unverified address to the user and mails it a
// verification code. The user adding an address to their own account
// proves who they are again (see checkProof): a stolen token alone must
// not add the thief's address, from which a code login would follow. The
// user's verified addresses are told. The address is the answer's
// whatever the mail does: when the code cannot be sent it is logged and
// the user asks for another (generate-verification).
func (s *Service) addEmail(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	b.typeIs("emails")
	addr := readNewAddress(b, "email")
	u := r.target.user
	self := r.caller.self(u.ID)
	proof := readProof(b, self, "")
	if err := b.done(); err != nil {
		return err
	}
	if self {
		if err := s.checkProof(r, u, proof); err != nil {
			return err
		}
	}
	if err := s.takeMailQuota(r, u.ID, addr); err != nil {
		return err
	}
	e := db.Email{ID: s.newID(), UserID: u.ID, Email: addr, CreatedMs: s.nowMs()}
	err = s.management.AddEmail(r.ctx(), e)
	switch {
	case isDuplicate(err):
		return apiError(http.StatusConflict, CodeDuplicateEmail, "This email address is registered already.")
	case err != nil:
		return err
	}
	if err := s.sendVerification(r.ctx(), u.ID, e); err != nil {
		s.logVerificationNotSent(u.ID, e.ID, err)
	}
	s.notifyOwner(r.ctx(), u.ID, mailtemplate.AddressAdded, addr, e.ID)
	return single(r, http.StatusCreated, emailJSON(e))
}

// noticeTimeout bounds the sending of the notices of one change.
const noticeTimeout = 10 * time.Second

// notifyOwner tells the user userID, on each of their verified addresses
// (but the address skipID), that what protects their account changed:
// whoever changed it with a stolen token is then known to the owner. A
// notice that cannot be sent is logged (IDs only); the change stands.
func (s *Service) notifyOwner(ctx context.Context, userID string, notice mailtemplate.Name, address, skipID string) {
	es, err := s.management.ListEmails(ctx, userID)
	if err != nil {
		s.cfg.Logger.Warn("accounts: account notice not sent", "user", userID, "err", err)
		return
	}
	es = slices.DeleteFunc(es, func(e db.Email) bool { return e.ID == skipID })
	s.notifyAddresses(ctx, userID, es, notice, mailtemplate.View{Address: address})
}

// notifyAddresses sends the notice of notifyOwner to the verified
// addresses among es, the addresses of the user userID as read before
// the change (a deleted account has none left to read), with view (its
// When is set here): the address the notice is about for AddressAdded,
// the provider for an identity's notices, the codes left for
// RecoveryCodeUsed.
func (s *Service) notifyAddresses(ctx context.Context, userID string, es []db.Email, notice mailtemplate.Name, view mailtemplate.View) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noticeTimeout)
	defer cancel()
	view.When = s.cfg.Now().UTC().Format("2006-01-02 15:04 UTC")
	for _, e := range es {
		if e.VerifiedMs == 0 || !mailableAddress(e.Email) {
			continue
		}
		msg, err := s.mails.Render(notice, e.Email, view)
		if err == nil {
			err = s.send(ctx, msg)
		}
		if err != nil {
			s.cfg.Logger.Warn("accounts: account notice not sent", "user", userID, "email", e.ID, "err", err)
		}
	}
}

// deleteEmail deletes one of the user's addresses, never the last one: a
// user without an address could not receive login codes. An address of
// another user is 404. The store checks and deletes in one transaction.
func (s *Service) deleteEmail(r *request) error {
	err := s.management.DeleteEmail(r.ctx(), r.target.user.ID, r.Param("emailId"))
	switch {
	case errors.Is(err, db.ErrLastEmail):
		return apiError(http.StatusConflict, CodeLastEmail, "This is the user's only email address: add another before deleting it.")
	case err != nil:
		return hideNotFound(err)
	}
	return null(r)
}

// targetAddress reads the address :emailId of the target user: 404 when
// it is not one of theirs.
func (s *Service) targetAddress(r *request) (db.Email, error) {
	e, err := s.management.GetEmail(r.ctx(), r.target.user.ID, r.Param("emailId"))
	if err != nil {
		return db.Email{}, hideNotFound(err)
	}
	return e, nil
}

// generateVerification mails a new verification code to an unverified
// address of the user; it replaces every older code of the address. The
// code is never in the answer. A code that cannot be sent is a 503.
func (s *Service) generateVerification(r *request) error {
	e, err := s.targetAddress(r)
	if err != nil {
		return err
	}
	if e.VerifiedMs != 0 {
		return apiError(http.StatusConflict, CodeAlreadyVerified, "This email address is verified already.")
	}
	if err := s.takeMailQuota(r, e.UserID, e.Email); err != nil {
		return err
	}
	if err := s.sendVerification(r.ctx(), e.UserID, e); err != nil {
		s.logVerificationNotSent(e.UserID, e.ID, err)
		return apiError(http.StatusServiceUnavailable, CodeUnavailable, "The verification code could not be sent.")
	}
	return null(r)
}

// verifyEmail marks the address verified when the body's code is its
// pending verification code. A wrong code (unknown, or another address's)
// counts against the address's pending code, which dies at the
// maxCodeAttempts-th wrong guess; a good code is consumed once.
func (s *Service) verifyEmail(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	// Only the type and length are checked: codeHash trims what people
	// paste around a code (spaces, tabs, a line break).
	typed := b.secret("code", true, 64)
	if b.has("code") && strings.TrimSpace(typed) == "" {
		b.obstruct("code", ObstructionRequired, "code may not be empty.")
	}
	if err := b.done(); err != nil {
		return err
	}
	e, err := s.targetAddress(r)
	if err != nil {
		return err
	}
	ctx, now := r.ctx(), s.nowMs()
	c, err := s.management.GetCodeByHash(ctx, codeHash(typed))
	switch {
	case isNotFound(err) || (err == nil && (c.Kind != db.CodeEmailVerification || c.EmailID != e.ID || c.UserID != e.UserID)):
		return s.wrongVerificationCode(ctx, e.ID, now)
	case err != nil:
		return err
	}
	if e, err = s.useVerificationCode(ctx, e, c, now); err != nil {
		return err
	}
	return single(r, http.StatusOK, emailJSON(e))
}

// useVerificationCode verifies the address e with c, its verification
// code (the caller checked c is e's): a used, replaced or expired code is
// 400; a good one is consumed once and the address marked verified (409
// DUPLICATE-EMAIL when another account verified it first). It returns
// the address as stored after.
func (s *Service) useVerificationCode(ctx context.Context, e db.Email, c db.Code, now int64) (db.Email, error) {
	switch {
	case c.ConsumedMs != 0 || c.InvalidatedMs != 0:
		return e, apiError(http.StatusBadRequest, CodeCodeInvalid, "This code was used, replaced by a newer one, or tried too often: ask for a new one.")
	case c.ExpiresMs <= now:
		return e, apiError(http.StatusBadRequest, CodeCodeExpired, "This code has expired: ask for a new one.")
	}
	if err := s.management.ConsumeCode(ctx, c.ID, now); err != nil {
		if errors.Is(err, db.ErrCodeSpent) {
			// Another request consumed or replaced it meanwhile.
			return e, apiError(http.StatusBadRequest, CodeCodeInvalid, "This code was used or replaced: ask for a new one.")
		}
		return e, err
	}
	if err := s.management.MarkEmailVerified(ctx, e.ID, now); err != nil {
		if isDuplicate(err) {
			return e, apiError(http.StatusConflict, CodeDuplicateEmail, "Another account verified this address first.")
		}
		return e, err
	}
	s.record(ctx, audit.Event{Type: audit.EmailVerified, SubjectUserID: e.UserID, Data: map[string]string{"email": e.ID}})
	return s.management.GetEmail(ctx, e.UserID, e.ID)
}

// wrongVerificationCode counts a failed attempt against the pending code
// of the address emailID, if it has one, and answers 400 CODE-INVALID.
func (s *Service) wrongVerificationCode(ctx context.Context, emailID string, nowMs int64) error {
	pending, err := s.management.GetPendingCode(ctx, db.CodeEmailVerification, emailID)
	switch {
	case err == nil:
		if _, err := s.management.RecordCodeAttempt(ctx, pending.ID, maxCodeAttempts, nowMs); err != nil && !errors.Is(err, db.ErrCodeSpent) && !isNotFound(err) {
			return err
		}
	case !isNotFound(err):
		return err
	}
	return apiError(http.StatusBadRequest, CodeCodeInvalid, "This is not the address's verification code.")
}
