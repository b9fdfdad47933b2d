package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/db"
)

// Errors of the subscription rules, checked with errors.Is. Each wraps
// ErrInvalidSubscription.
var (
	// ErrInvalidSubscription is the root of every refusal of a
	// subscription's URL or event types.
	ErrInvalidSubscription = errors.New("webhooks: invalid subscription")
	// ErrForbiddenAddress means a URL's host is, or resolved to, an
	// address webhooks never go to (link-local, the cloud metadata
	// service, unspecified, multicast).
	ErrForbiddenAddress = fmt.Errorf("%w: forbidden address", ErrInvalidSubscription)
)

// SecretPrefix starts a subscription's secret as shown to the operator,
// as Standard Webhooks libraries expect: "whsec_" and the base64 of the
// key.
const SecretPrefix = "whsec_"

// SecretSize is the size in bytes of the HMAC keys NewSecret makes.
const SecretSize = 32

// AllEvents in a subscription's events stands for every event type.
const AllEvents = "*"

// MaxEvents bounds the event types of one subscription.
const MaxEvents = 64

// CheckEvents checks a subscription's event types: 1 to MaxEvents of
// them, each AllEvents or a type the audit log records (audit.Known),
// none twice. It returns them sorted, or an error wrapping
// ErrInvalidSubscription that says which one is wrong.
func CheckEvents(events []string) ([]string, error) {
	if len(events) == 0 || len(events) > MaxEvents {
		return nil, fmt.Errorf("%w: events must list 1 to %d event types", ErrInvalidSubscription, MaxEvents)
	}
	out := make([]string, 0, len(events))
	for i, e := range events {
		switch {
		case e != AllEvents && !audit.Known(e):
			// Only the audit log's types: a misspelt one would never fire.
			return nil, fmt.Errorf("%w: events[%d] is not an event type the audit log records (login.failed, user.created, ... or *)", ErrInvalidSubscription, i)
		case slices.Contains(out, e):
			return nil, fmt.Errorf("%w: events[%d] is listed twice", ErrInvalidSubscription, i)
		}
		out = append(out, e)
	}
	slices.Sort(out)
	return out, nil
}

// matches reports whether a subscription to events receives an event of
// type typ.
func matches(events []string, typ string) bool {
	return slices.Contains(events, AllEvents) || slices.Contains(events, typ)
}

// CheckURL checks a subscription's URL and returns it in canonical form:
// absolute https, or http when allowHTTP is true or the host is a
// loopback address or "localhost" (a receiver on the same machine); no
// user name or password (they would be shown in every list), no
// fragment, at most db.MaxWebhookURL bytes. A host that is an IP address
// must not be link-local (169.254.0.0/16 holds the cloud metadata
// service, 169.254.169.254: a webhook must not become a way to read the
// instance's credentials), unspecified, multicast or the IPv6 metadata
// address; names are checked again, once resolved, when a delivery
// dials (Dialer). Errors wrap ErrInvalidSubscription.
func CheckURL(raw string, allowHTTP bool) (string, error) {
	if raw == "" || len(raw) > db.MaxWebhookURL {
		return "", fmt.Errorf("%w: url must be 1 to %d bytes", ErrInvalidSubscription, db.MaxWebhookURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%w: url is not an absolute http(s) URL", ErrInvalidSubscription)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("%w: url must start with https://", ErrInvalidSubscription)
	case u.User != nil:
		return "", fmt.Errorf("%w: url must not carry a user name or password", ErrInvalidSubscription)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", fmt.Errorf("%w: url must not have a fragment", ErrInvalidSubscription)
	case host == "":
		return "", fmt.Errorf("%w: url has no host", ErrInvalidSubscription)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%w: url has a bad port", ErrInvalidSubscription)
		}
	}
	loopback := host == "localhost"
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := checkAddr(ip); err != nil {
			return "", err
		}
		loopback = ip.Unmap().IsLoopback()
	}
	if u.Scheme == "http" && !allowHTTP && !loopback {
		return "", fmt.Errorf("%w: url must start with https:// (http only to a loopback address, unless webhooks are allowed plain http)", ErrInvalidSubscription)
	}
	u.Host = strings.ToLower(u.Host)
	return u.String(), nil
}

// metadataV6 is the IPv6 address of the AWS instance metadata service
// (outside the link-local range).
var metadataV6 = netip.MustParseAddr("fd00:ec2::254")

// checkAddr refuses the addresses a webhook never goes to.
func checkAddr(ip netip.Addr) error {
	ip = ip.Unmap()
	switch {
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		return fmt.Errorf("%w: %s is link-local (169.254.169.254 is the cloud metadata service)", ErrForbiddenAddress, ip)
	case ip == metadataV6:
		return fmt.Errorf("%w: %s is the cloud metadata service", ErrForbiddenAddress, ip)
	case ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast():
		return fmt.Errorf("%w: %s is not a unicast address", ErrForbiddenAddress, ip)
	}
	return nil
}

// Dialer returns a dialer that refuses, after name resolution, the
// addresses CheckURL refuses: a name that resolves to 169.254.169.254
// is refused as the literal is.
func Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{
		Timeout: timeout,
		ControlContext: func(_ context.Context, _ string, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil {
				return fmt.Errorf("%w: %q is not an address", ErrForbiddenAddress, host)
			}
			return checkAddr(ip)
		},
	}
}

// NewSecret returns a new signing secret: SecretSize bytes from random,
// and the form shown to the operator once, SecretPrefix and their
// standard base64.
func NewSecret(random io.Reader) (key []byte, shown string, err error) {
	key = make([]byte, SecretSize)
	if _, err := io.ReadFull(random, key); err != nil {
		return nil, "", fmt.Errorf("webhooks: reading a secret: %w", err)
	}
	return key, SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// Sign returns the webhook-signature header of a delivery: "v1," and
// the base64 HMAC-SHA256, under key, of "id.timestamp.body" (timestamp in
// Unix seconds), as Standard Webhooks defines it.
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, timestamp, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// sealContext binds a sealed secret to its subscription: the sealer's
// additional data, and distinct from any user ID (a TOTP secret's), so
// that a ciphertext moved between rows or tables no longer opens.
func sealContext(subscriptionID string) string { return "webhook:" + subscriptionID }

// Sealer seals the secrets at rest (AES-GCM bound to a context string);
// *totp.TOTP is one, with the TOTP key ring.
type Sealer interface {
	Seal(context string, secret []byte) ([]byte, error)
	Open(context string, ciphertext []byte) ([]byte, error)
}

// SealSecret seals key for storage in the subscription subscriptionID's
// row. It fails when the sealer does (a key of the wrong size, a failing
// random source).
func SealSecret(s Sealer, subscriptionID string, key []byte) ([]byte, error) {
	return s.Seal(sealContext(subscriptionID), key)
}

// Payload is the JSON body of the delivery of event e:
//
//	{"type": e.Type, "timestamp": RFC 3339 time of the event (ms),
//	 "data": {"eventId", "outcome", "reason", "actorUserId",
//	          "actorClientId", "subjectUserId", "organizationId", "ip",
//	          "details": {...}}}
//
// with the empty fields of data left out. It holds what the audit event
// holds, which is never a secret, code, token or mail address. It fails
// only if JSON encoding does, which it cannot for these types.
func Payload(e db.AuditEvent) ([]byte, error) {
	type data struct {
		EventID        string            `json:"eventId"`
		Outcome        string            `json:"outcome"`
		Reason         string            `json:"reason,omitempty"`
		ActorUserID    string            `json:"actorUserId,omitempty"`
		ActorClientID  string            `json:"actorClientId,omitempty"`
		SubjectUserID  string            `json:"subjectUserId,omitempty"`
		OrganizationID string            `json:"organizationId,omitempty"`
		IP             string            `json:"ip,omitempty"`
		Details        map[string]string `json:"details,omitempty"`
	}
	return json.Marshal(struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      data   `json:"data"`
	}{
		Type:      e.Type,
		Timestamp: time.UnixMilli(e.TimeMs).UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Data: data{EventID: e.ID, Outcome: e.Outcome, Reason: e.Reason, ActorUserID: e.ActorUserID, ActorClientID: e.ActorClientID,
			SubjectUserID: e.SubjectUserID, OrganizationID: e.OrgID, IP: e.IP, Details: e.Data},
	})
}

// NewSubscription makes a subscription of url to events (both checked
// by the caller with CheckURL and CheckEvents), created at now, with a
// new ID and a new secret sealed by sealer, and returns the secret as
// shown to the operator, once. It fails when random or the sealer fails.
func NewSubscription(sealer Sealer, random io.Reader, now time.Time, url string, events []string, active bool) (db.WebhookSubscription, string, error) {
	key, shown, err := NewSecret(random)
	if err != nil {
		return db.WebhookSubscription{}, "", err
	}
	defer clear(key)
	sub := db.WebhookSubscription{ID: db.NewID(now, random), URL: url, Events: events, Active: active,
		CreatedMs: now.UnixMilli(), UpdatedMs: now.UnixMilli()}
	if sub.SecretCiphertext, err = SealSecret(sealer, sub.ID, key); err != nil {
		return db.WebhookSubscription{}, "", err
	}
	return sub, shown, nil
}

// Resealer re-seals a sealed secret with the newest key of its ring;
// *totp.TOTP is one.
type Resealer interface {
	Reseal(context string, ciphertext []byte) (out []byte, changed bool, err error)
}

// ResealSecret re-seals the secret of the subscription subscriptionID
// with r's newest key (authgw totp reseal, before an old key leaves the
// ring): changed is false when that key sealed it already.
func ResealSecret(r Resealer, subscriptionID string, ciphertext []byte) (out []byte, changed bool, err error) {
	return r.Reseal(sealContext(subscriptionID), ciphertext)
}
