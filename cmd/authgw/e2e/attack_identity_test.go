package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/notify/notifytest"
	"github.com/authgw/authgw/accounts/totp/totptest"
	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
)

// Source addresses of the identity cases: the regulation bans per IP, so
// each group that fails on purpose has its own.
const (
	attackFromIdentity   = "127.0.0.31"
	attackFromHijack     = "127.0.0.32"
	attackFromGuesses    = "127.0.0.33"
	attackFromMailBomb   = "127.0.0.34"
	attackFromCase       = "127.0.0.35"
	attackFromStolenTOTP = "127.0.0.36"
)

// TestAttackIdentity runs the account-lifecycle attacks of issue 12
// (points 4, 5, 6, 11 and 12) against a running authgw serve: a stolen
// token turned into a takeover through a new address or TOTP, account
// pre-hijacking and address squatting, addresses differing in case,
// mail bombing and concurrent password guesses.
func TestAttackIdentity(t *testing.T) {
	if testing.Short() {
		t.Skip("starts authgw serve")
	}
	s := newAttackSuite(t)
	t.Run("stolen token: a new address opens nothing", s.stolenTokenNewAddress)
	t.Run("stolen token: TOTP enrolment needs the password", s.stolenTokenTOTP)
	t.Run("pre-hijacking: the owner registers and verifies", s.preHijackRegister)
	t.Run("pre-hijacking: the owner logs in by code", s.preHijackCode)
	t.Run("address case", s.addressCase)
	t.Run("mail bombing", s.mailBomb)
	t.Run("concurrent TOTP-delete guesses", s.concurrentTOTPDeleteGuesses)
}

// identityMail is one message the file notifier wrote.
type identityMail struct {
	to, subject, text string
	name              string
}

// mails returns the messages serve wrote to addr (exactly as typed),
// oldest first.
func (s *attackSuite) mails(t *testing.T, addr string) []identityMail {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.dir, "mail", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []identityMail
	for _, f := range files { // names start with the time: sorted oldest first
		h, body := notifytest.ReadEML(t, f)
		if h.Get("To") != addr {
			continue
		}
		out = append(out, identityMail{to: addr, subject: h.Get("Subject"), text: body, name: filepath.Base(f)})
	}
	return out
}

var identityCode = regexp.MustCompile(`\b([a-z2-7]{26})\b`)

// waitMail waits until more than seen messages were written to addr and
// returns the code of the newest.
func (s *attackSuite) waitMail(t *testing.T, addr string, seen int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ms := s.mails(t, addr); len(ms) > seen {
			m := identityCode.FindStringSubmatch(ms[len(ms)-1].text)
			if m == nil {
				t.Fatalf("no code in the mail to %s: %q", addr, ms[len(ms)-1].text)
			}
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new mail to %s within 10 s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// identityJSON marshals {"data": data}.
func identityJSON(t *testing.T, data any) string {
	return string(attackJSON(t, map[string]any{"data": data}))
}

// registerWith registers name at addr with password pw ("" for none)
// and returns the answer.
func (s *attackSuite) registerWith(t *testing.T, from, name, addr, pw string) attackReply {
	t.Helper()
	body := map[string]any{"type": "users", "name": name, "email": addr}
	if pw != "" {
		body["password"] = pw
	}
	return s.call(t, from, "POST", "/accounts/v1/users", s.system, identityJSON(t, body))
}

// codeLogin runs the email and code steps for addr, reading the code
// from the mail serve wrote, and returns the code step's answer.
func (s *attackSuite) codeLogin(t *testing.T, from, addr string) attackReply {
	t.Helper()
	state := clitest.NewState(t)
	seen := len(s.mails(t, addr))
	r := s.call(t, from, "POST", "/accounts/v1/sessions/login/email", s.system, identityJSON(t, map[string]string{"email": addr, "state": state}))
	if r.Status != http.StatusOK {
		t.Fatalf("email step = %d %s", r.Status, r.Body)
	}
	code := s.waitMail(t, addr, seen)
	return s.call(t, from, "POST", "/accounts/v1/sessions/login/code", s.system, identityJSON(t, map[string]string{"code": code, "state": state}))
}

// emailID returns the ID of the session user's address addr.
func (s *attackSuite) emailID(t *testing.T, from string, sess attackSession, addr string) string {
	t.Helper()
	r := s.call(t, from, "GET", "/accounts/v1/users/"+sess.UserID+"/emails", s.auth(sess, "GET"), "")
	var out struct {
		Data []struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"data"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &out) != nil {
		t.Fatalf("list emails = %d %s", r.Status, r.Body)
	}
	for _, e := range out.Data {
		if e.Email == addr {
			return e.ID
		}
	}
	t.Fatalf("no address %s in %s", addr, r.Body)
	return ""
}

// verifyAddress verifies the session user's address addr with the code
// of the newest mail to it.
func (s *attackSuite) verifyAddress(t *testing.T, from string, sess attackSession, addr string) {
	t.Helper()
	r := s.call(t, from, "POST", "/accounts/v1/users/"+sess.UserID+"/emails/"+s.emailID(t, from, sess, addr)+"/verify",
		s.auth(sess, "POST"), identityJSON(t, map[string]string{"code": s.waitMail(t, addr, 0)}))
	if r.Status != http.StatusOK {
		t.Fatalf("verifying %s = %d %s", addr, r.Status, r.Body)
	}
}

// stolenTokenNewAddress: with the victim's token alone the thief cannot
// add his address (the proof is missing or wrong), and an address the
// victim added but never verified receives no login code; the victim is
// told on their verified address when one is added.
func (s *attackSuite) stolenTokenNewAddress(t *testing.T) {
	const victimAddr, victimPw = "vic.identity@example.com", "the victim's long passphrase"
	victim := attackSessionFrom(t, s.registerWith(t, attackFromIdentity, "Vic", victimAddr, victimPw), http.StatusCreated)
	s.verifyAddress(t, attackFromIdentity, victim, victimAddr)
	path := "/accounts/v1/users/" + victim.UserID + "/emails"
	attackExpectRefusal(t, "adding the thief's address with the token alone",
		s.call(t, attackFromIdentity, "POST", path, s.auth(victim, "POST"), identityJSON(t, map[string]string{"email": "x@evil.example"})), http.StatusBadRequest, "USER_DATA_INVALID")
	attackExpectRefusal(t, "adding the thief's address with a guessed password",
		s.call(t, attackFromIdentity, "POST", path, s.auth(victim, "POST"), identityJSON(t, map[string]string{"email": "x@evil.example", "currentPassword": "Winter2024!"})), http.StatusForbidden, "INCORRECT-PASSWORD")
	if ms := s.mails(t, "x@evil.example"); len(ms) != 0 {
		t.Fatalf("the thief's address got %d mails", len(ms))
	}

	// The victim adds a second address and does not verify it: it
	// receives no login code, and the victim is told.
	if r := s.call(t, attackFromIdentity, "POST", path, s.auth(victim, "POST"),
		identityJSON(t, map[string]string{"email": "vic.other@example.com", "currentPassword": victimPw})); r.Status != http.StatusCreated {
		t.Fatalf("adding an address with the password = %d %s", r.Status, r.Body)
	}
	noticed := false
	for _, m := range s.mails(t, victimAddr) {
		noticed = noticed || strings.Contains(m.subject, "address was added")
	}
	if !noticed {
		t.Error("the victim's verified address was not told of the new address")
	}
	before := len(s.mails(t, "vic.other@example.com"))
	r := s.call(t, attackFromIdentity, "POST", "/accounts/v1/sessions/login/email", s.system, identityJSON(t, map[string]string{"email": "vic.other@example.com", "state": clitest.NewState(t)}))
	if r.Status != http.StatusOK {
		t.Fatalf("email step = %d %s", r.Status, r.Body)
	}
	time.Sleep(500 * time.Millisecond) // the login-code mail is sent in the background
	if n := len(s.mails(t, "vic.other@example.com")); n != before {
		t.Errorf("a login code went to an unverified address (%d mails, %d before)", n, before)
	}
}

// stolenTokenTOTP: the token alone cannot enrol the thief's TOTP app.
func (s *attackSuite) stolenTokenTOTP(t *testing.T) {
	victim := s.register(t, attackFromStolenTOTP, "Tina", "tina.identity@example.com")
	path := "/accounts/v1/users/" + victim.UserID + "/totp"
	attackExpectRefusal(t, "enrolling TOTP with the token alone",
		s.call(t, attackFromStolenTOTP, "POST", path, s.auth(victim, "POST"), `{"data":{}}`), http.StatusBadRequest, "USER_DATA_INVALID")
	attackExpectRefusal(t, "enrolling TOTP with a guessed password",
		s.call(t, attackFromStolenTOTP, "POST", path, s.auth(victim, "POST"), `{"data":{"currentPassword":"Winter2024!"}}`), http.StatusForbidden, "INCORRECT-PASSWORD")
	if r := s.call(t, attackFromStolenTOTP, "POST", path, s.auth(victim, "POST"), identityJSON(t, map[string]string{"currentPassword": attackPassword})); r.Status != http.StatusCreated {
		t.Errorf("enrolling with the password = %d %s, want 201", r.Status, r.Body)
	}
}

// preHijackRegister: the attacker registers the owner's address with his
// own password; the owner can still register it, and once the owner
// verifies it the attacker's password opens nothing.
func (s *attackSuite) preHijackRegister(t *testing.T) {
	const addr, thiefPw, ownerPw = "olive.identity@example.com", "the attacker's passphrase", "olive's own passphrase"
	attackSessionFrom(t, s.registerWith(t, attackFromHijack, "Olive", addr, thiefPw), http.StatusCreated)
	owner := attackSessionFrom(t, s.registerWith(t, attackFromHijack, "Olive", addr, ownerPw), http.StatusCreated)
	code := s.waitMail(t, addr, 1)
	if r := s.call(t, attackFromHijack, "POST", "/accounts/v1/users/"+owner.UserID+"/emails/"+s.emailID(t, attackFromHijack, owner, addr)+"/verify",
		s.auth(owner, "POST"), identityJSON(t, map[string]string{"code": code})); r.Status != http.StatusOK {
		t.Fatalf("the owner's verification = %d %s", r.Status, r.Body)
	}
	attackExpectRefusal(t, "the attacker's password after the owner verified", s.login(t, attackFromHijack, addr, thiefPw, clitest.NewState(t)), http.StatusUnauthorized, "INCORRECT-PASSWORD")
	if got := attackSessionFrom(t, s.login(t, attackFromHijack, addr, ownerPw, clitest.NewState(t)), http.StatusOK); got.UserID != owner.UserID {
		t.Errorf("the owner's login opened %s, want %s", got.UserID, owner.UserID)
	}
}

// preHijackCode: the attacker registers the owner's address with his own
// password; the owner logs in by code; the attacker's password and
// sessions are gone.
func (s *attackSuite) preHijackCode(t *testing.T) {
	const addr, thiefPw = "otto.identity@example.com", "the attacker's passphrase"
	thief := attackSessionFrom(t, s.registerWith(t, attackFromHijack, "Otto", addr, thiefPw), http.StatusCreated)
	owner := attackSessionFrom(t, s.codeLogin(t, attackFromHijack, addr), http.StatusOK)
	if owner.UserID != thief.UserID {
		t.Fatalf("the code login opened %s, want the registration %s", owner.UserID, thief.UserID)
	}
	attackExpectRefusal(t, "the attacker's password after the owner's first code login", s.login(t, attackFromHijack, addr, thiefPw, clitest.NewState(t)), http.StatusUnauthorized, "INCORRECT-PASSWORD")
	if r := s.refresh(t, attackFromHijack, s.system, thief.Refresh); r.Status != http.StatusUnauthorized {
		t.Errorf("the attacker's refresh = %d %s, want 401", r.Status, r.Body)
	}
	if r := s.call(t, attackFromHijack, "GET", "/accounts/v1/users/current", s.auth(owner, "GET"), ""); r.Status != http.StatusOK {
		t.Errorf("the owner's new session = %d %s", r.Status, r.Body)
	}
}

// addressCase: an address is one identity whatever its case.
func (s *attackSuite) addressCase(t *testing.T) {
	attackExpectRefusal(t, "registering the sysadmin's address in capitals",
		s.registerWith(t, attackFromCase, "Admin Two", strings.ToUpper(clitest.LoginEmail), "a long enough passphrase"), http.StatusConflict, "DUPLICATE-EMAIL")
	carl := s.register(t, attackFromCase, "Carl", "carl.identity@example.com")
	attackExpectRefusal(t, "adding the sysadmin's address in another case to another account",
		s.call(t, attackFromCase, "POST", "/accounts/v1/users/"+carl.UserID+"/emails", s.auth(carl, "POST"),
			identityJSON(t, map[string]string{"email": "Admin@Example.com", "currentPassword": attackPassword})), http.StatusConflict, "DUPLICATE-EMAIL")
	if r := s.login(t, attackFromCase, strings.ToUpper(clitest.LoginEmail), clitest.LoginPassword, clitest.NewState(t)); r.Status != http.StatusOK {
		t.Errorf("login with the address in capitals = %d %s", r.Status, r.Body)
	}
}

// mailBomb: 25 generate-verification calls for one address send at most
// the address's limit of mails; the rest answer 429 with Retry-After.
func (s *attackSuite) mailBomb(t *testing.T) {
	const target = "bombed.identity@example.net"
	bomber := s.register(t, attackFromMailBomb, "Bomber", "bomber.identity@example.com")
	base := "/accounts/v1/users/" + bomber.UserID + "/emails"
	if r := s.call(t, attackFromMailBomb, "POST", base, s.auth(bomber, "POST"),
		identityJSON(t, map[string]string{"email": target, "currentPassword": attackPassword})); r.Status != http.StatusCreated {
		t.Fatalf("adding the target = %d %s", r.Status, r.Body)
	}
	path := base + "/" + s.emailID(t, attackFromMailBomb, bomber, target) + "/generate-verification"
	refused := 0
	for range 25 {
		r := s.call(t, attackFromMailBomb, "POST", path, s.auth(bomber, "POST"), "")
		switch r.Status {
		case http.StatusOK:
		case http.StatusTooManyRequests:
			refused++
			if code, _ := attackErrorCode(r); code != "TOO-MANY-MAILS" || r.header.Get("Retry-After") == "" {
				t.Errorf("refusal = %d %s %v", r.Status, r.Body, r.header)
			}
		default:
			t.Fatalf("generate-verification = %d %s", r.Status, r.Body)
		}
	}
	if n := len(s.mails(t, target)); n > 5 || refused == 0 {
		t.Errorf("%d mails to the target, %d calls refused; want at most 5 mails", n, refused)
	}
}

// identityTOTP is the RFC 6238 code (SHA-1, 6 digits, 30 s) of the
// base32 secret at t.
var identityTOTP = totptest.At

// concurrentTOTPDeleteGuesses: 30 wrong passwords sent at once to
// DELETE .../totp (as {"password"}, the field the attack used) with a
// stolen token: at most the account's limit (5)
// are checked, give or take the hashing slots racing past the ban, and
// then the right password is refused while the ban lasts.
func (s *attackSuite) concurrentTOTPDeleteGuesses(t *testing.T) {
	victim := s.register(t, attackFromGuesses, "Gus", "gus.identity@example.com")
	path := "/accounts/v1/users/" + victim.UserID + "/totp"
	secret := attackDataString(t, s.call(t, attackFromGuesses, "POST", path, s.auth(victim, "POST"),
		identityJSON(t, map[string]string{"currentPassword": attackPassword})), http.StatusCreated, "secret")
	if r := s.call(t, attackFromGuesses, "POST", path+"/confirm", s.auth(victim, "POST"),
		identityJSON(t, map[string]string{"totp": identityTOTP(t, secret, time.Now())})); r.Status != http.StatusOK {
		t.Fatalf("confirm = %d %s", r.Status, r.Body)
	}
	const n = 30
	replies := make(chan attackReply, n)
	for i := range n {
		req := attackReq{from: attackFromGuesses, method: "DELETE", target: path,
			header: []string{"Authorization", s.auth(victim, "DELETE"), "Content-Type", "application/json"},
			body:   []byte(identityJSON(t, map[string]string{"password": fmt.Sprintf("wrong guess %d", i)}))}
		go func() {
			r, err := s.trySend(req)
			if err != nil {
				r.Status = -1
			}
			replies <- r
		}()
	}
	checked := 0
	for range n {
		switch r := <-replies; r.Status {
		case http.StatusForbidden:
			checked++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("a guess answered %d %s", r.Status, r.Body)
		}
	}
	if bound := 5 + runtime.GOMAXPROCS(0) - 1; checked > bound {
		t.Errorf("%d of %d concurrent wrong guesses were checked, want at most %d", checked, n, bound)
	}
	attackExpectRefusal(t, "the right password while banned",
		s.call(t, attackFromGuesses, "DELETE", path, s.auth(victim, "DELETE"), identityJSON(t, map[string]string{"password": attackPassword})),
		http.StatusTooManyRequests, "TOO-MANY-FAILURES")
}

// Source addresses of the review's identity cases (findings 3, 5, 6).
const (
	attackFromAcDelete   = "127.0.0.71"
	attackFromAcStranger = "127.0.0.72"
	attackFromAcOwner    = "127.0.0.73"
)

// TestAttackIdentityReview runs the attacker review's identity findings
// against a running authgw serve: a stolen token deleting the account,
// strangers' registrations using up the owner's mails, and a code login
// landing in the attacker's earlier registration.
func TestAttackIdentityReview(t *testing.T) {
	if testing.Short() {
		t.Skip("starts authgw serve")
	}
	s := newAttackSuite(t)
	t.Run("stolen token: deleting the account needs a proof", s.stolenTokenDelete)
	t.Run("strangers' registrations do not use up the owner's mails", s.strangersRegistrations)
	t.Run("pre-registration: the owner picks the account at the code step", s.codeLoginChoice)
}

// stolenTokenDelete: with the token alone, or a guessed password, the
// thief cannot delete the account; the owner with the password can, and
// the verified address is told.
func (s *attackSuite) stolenTokenDelete(t *testing.T) {
	const addr = "dora.identity@example.com"
	victim := s.register(t, attackFromAcDelete, "Dora", addr)
	path := "/accounts/v1/users/current"
	// Closing the account is under a step-up in the example policies: the
	// ordinary token never reaches it, the step-up token not without a
	// discharge (which needs the password).
	attackExpectRefusal(t, "deleting with the ordinary token", s.call(t, attackFromAcDelete, "DELETE", path, s.auth(victim, "DELETE"), `{"data":{}}`), http.StatusForbidden, "STEP-UP-TOKEN-REQUIRED")
	attackExpectRefusal(t, "deleting with the step-up token alone", s.call(t, attackFromAcDelete, "DELETE", path, s.system+", Macaroon "+victim.StepUp["DELETE"], `{"data":{}}`), http.StatusUnauthorized, "STEP-UP-REQUIRED")
	// Even stepped up, the request itself needs the password.
	stepped := s.stepUp(t, s.system, victim, "DELETE")
	attackExpectRefusal(t, "deleting with the token alone", s.call(t, attackFromAcDelete, "DELETE", path, stepped, `{"data":{}}`), http.StatusBadRequest, "USER_DATA_INVALID")
	attackExpectRefusal(t, "deleting with the token and no body", s.call(t, attackFromAcDelete, "DELETE", path, stepped, ""), http.StatusUnsupportedMediaType, "UNSUPPORTED-MEDIA-TYPE")
	attackExpectRefusal(t, "deleting with a guessed password",
		s.call(t, attackFromAcDelete, "DELETE", path, stepped, identityJSON(t, map[string]string{"currentPassword": "Winter2024!"})), http.StatusForbidden, "INCORRECT-PASSWORD")
	if r := s.login(t, attackFromAcDelete, addr, attackPassword, clitest.NewState(t)); r.Status != http.StatusOK {
		t.Fatalf("the owner's login after the attempts = %d %s", r.Status, r.Body)
	}
	if r := s.call(t, attackFromAcDelete, "DELETE", path, stepped, identityJSON(t, map[string]string{"currentPassword": attackPassword})); r.Status != http.StatusOK {
		t.Fatalf("deleting with the password = %d %s", r.Status, r.Body)
	}
	noticed := false
	for _, m := range s.mails(t, addr) {
		noticed = noticed || m.subject == "Your account was deleted"
	}
	if !noticed {
		t.Error("the verified address was not told of the deletion")
	}
}

// strangersRegistrations: the review's repro: a stranger registers the
// newcomer's address over and over; the owner's own registration and the
// verification code the owner asks for still go through.
func (s *attackSuite) strangersRegistrations(t *testing.T) {
	const addr = "newcomer.identity@example.org"
	for i := range 7 {
		if r := s.registerWith(t, attackFromAcStranger, fmt.Sprintf("Stranger %d", i), addr, ""); r.Status != http.StatusCreated {
			t.Fatalf("stranger's registration %d = %d %s, want 201 (never refused over the mail limits)", i, r.Status, r.Body)
		}
	}
	if n := len(s.mails(t, addr)); n > 2 {
		t.Errorf("%d mails from one source's registrations of one address, want at most 2", n)
	}
	owner := attackSessionFrom(t, s.registerWith(t, attackFromAcOwner, "Newcomer", addr, "the newcomer's passphrase"), http.StatusCreated)
	seen := len(s.mails(t, addr))
	r := s.call(t, attackFromAcOwner, "POST", "/accounts/v1/users/"+owner.UserID+"/emails/"+s.emailID(t, attackFromAcOwner, owner, addr)+"/generate-verification", s.auth(owner, "POST"), "")
	if r.Status != http.StatusOK {
		t.Fatalf("the owner's generate-verification = %d %s, want 200", r.Status, r.Body)
	}
	code := s.waitMail(t, addr, seen)
	if r := s.call(t, attackFromAcOwner, "POST", "/accounts/v1/users/"+owner.UserID+"/emails/"+s.emailID(t, attackFromAcOwner, owner, addr)+"/verify",
		s.auth(owner, "POST"), identityJSON(t, map[string]string{"code": code})); r.Status != http.StatusOK {
		t.Fatalf("the owner's verification = %d %s", r.Status, r.Body)
	}
}

// codeLoginChoice: the review's scenario: the attacker registers the
// owner's address first; the owner registers later, creates an
// organization with the registration's session, and logs in by code. The
// code step lists both registrations instead of opening the attacker's;
// the owner picks theirs, and the attacker's account loses the address.
func (s *attackSuite) codeLoginChoice(t *testing.T) {
	const addr = "pia.identity@example.com"
	thief := attackSessionFrom(t, s.registerWith(t, attackFromAcStranger, "Pia", addr, "the attacker's passphrase"), http.StatusCreated)
	time.Sleep(5 * time.Millisecond) // a later creation time
	owner := attackSessionFrom(t, s.registerWith(t, attackFromAcOwner, "Pia", addr, "pia's own passphrase"), http.StatusCreated)
	if r := s.call(t, attackFromAcOwner, "POST", "/accounts/v1/organizations", s.auth(owner, "POST"),
		identityJSON(t, map[string]string{"type": "organizations", "name": "Pia's work"})); r.Status != http.StatusCreated {
		t.Fatalf("the owner's organization = %d %s", r.Status, r.Body)
	}
	state := clitest.NewState(t)
	seen := len(s.mails(t, addr))
	if r := s.call(t, attackFromAcOwner, "POST", "/accounts/v1/sessions/login/email", s.system, identityJSON(t, map[string]string{"email": addr, "state": state})); r.Status != http.StatusOK {
		t.Fatalf("email step = %d %s", r.Status, r.Body)
	}
	code := s.waitMail(t, addr, seen)
	r := s.call(t, attackFromAcOwner, "POST", "/accounts/v1/sessions/login/code", s.system, identityJSON(t, map[string]string{"code": code, "state": state}))
	var choice struct {
		T    string `json:"t"`
		Data struct {
			Step     string `json:"step"`
			Accounts []struct {
				ID string `json:"id"`
			} `json:"accounts"`
		} `json:"data"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &choice) != nil || choice.T != "step" || len(choice.Data.Accounts) != 2 {
		t.Fatalf("the code step = %d %s, want the step listing both registrations", r.Status, r.Body)
	}
	if choice.Data.Accounts[0].ID != owner.UserID || choice.Data.Accounts[1].ID != thief.UserID {
		t.Fatalf("accounts listed %s, want the owner's then the attacker's", r.Body)
	}
	got := attackSessionFrom(t, s.call(t, attackFromAcOwner, "POST", "/accounts/v1/sessions/login/code", s.system,
		identityJSON(t, map[string]string{"code": code, "state": state, "account": owner.UserID})), http.StatusOK)
	if got.UserID != owner.UserID {
		t.Fatalf("the code opened %s, want the owner's %s", got.UserID, owner.UserID)
	}
	if r := s.call(t, attackFromAcOwner, "GET", "/accounts/v1/users/current/memberships", s.auth(got, "GET"), ""); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "organization") {
		t.Errorf("the owner's memberships = %d %s", r.Status, r.Body)
	}
	// The attacker's registration lost the address: the next code login
	// opens the owner's account at once.
	if again := attackSessionFrom(t, s.codeLogin(t, attackFromAcOwner, addr), http.StatusOK); again.UserID != owner.UserID {
		t.Errorf("the next code login opened %s", again.UserID)
	}
}
