package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
)

const mintUsage = `Usage: authgw mint --policy FILE [--policy FILE...] --user ID [--client ID]
                   [--session ID] [--roles R1,R2] [--ttl DURATION] [--org ORGID[:FLAGS]...]
                   [--keys FILE] [--server-id ID] [--data-dir DIR]

Mints, offline and as login does, one token per HTTP method that the
policies grant, and prints them as one JSON object, {"GET":"<token>",...}.
Every policy given applies (appliesTo is not consulted); the tokens live
as long as the shortest "expires" among them, or --ttl when shorter.

Flags:
  --policy FILE        a policy file; repeat for more (required)
  --user ID            the user: the user caveat and :userId (required)
  --client ID          the API client: :clientId, and the client caveat
                       that policies with "bindClient" require
  --session ID         the session: identifier, session caveat and
                       :sessionId (default: a new random UUIDv7)
  --roles R1,R2        the user's roles, written in the user-roles caveat
                       (backends read them as u.r); policies are not
                       chosen by them (default: none)
  --ttl DURATION       a lifetime shorter than the policies', e.g. 5m
  --org ORGID[:FLAGS]  a membership, listed in the orgs caveat that :orgId
                       routes match against; FLAGS is a
                       comma-separated subset of read,edit,manage,delete.
                       ORGID alone is a member with every flag, "ORGID:" a
                       member with none. Repeat for more organizations.
  --keys FILE          key-ring file; its first key mints
                       (default: $AUTHGW_KEYS, else DATA-DIR/keys.json)
  --server-id ID       the server ID written in every token
                       (default: $AUTHGW_SERVER_ID, else DATA-DIR/server-id)
  --data-dir DIR       (default: $AUTHGW_DATA_DIR, else ./authgw-data)
`

// mintCommand is "authgw mint".
type mintCommand struct {
	settings keySettings
	policies stringList
	orgs     stringList
	user     string
	client   string
	session  string
	roles    string
	ttl      durationFlag
}

// flagSet defines mint's flags.
func (m *mintCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("mint")
	m.settings.register(fs)
	fs.Var(&m.policies, "policy", "policy file (repeatable)")
	fs.Var(&m.orgs, "org", "membership ORGID[:FLAGS] (repeatable)")
	fs.StringVar(&m.user, "user", "", "user ID")
	fs.StringVar(&m.client, "client", "", "client ID")
	fs.StringVar(&m.session, "session", "", "session ID")
	fs.StringVar(&m.roles, "roles", "", "the user's roles, comma-separated, for the user-roles caveat")
	fs.Var(&m.ttl, "ttl", "lifetime")
	return fs
}

// run loads the policies and the key ring, mints and prints the tokens.
// It fails when a policy is invalid, two share a name or one's serverId
// is not the server ID, or when mint.Mint fails (nothing granted, a bad
// subject, a token too large).
func (m *mintCommand) run(c *cli, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q (mint takes flags only)", args[0])
	}
	if len(m.policies) == 0 {
		return usagef("--policy is required")
	}
	if m.user == "" {
		return usagef("--user is required")
	}
	if m.ttl.set && m.ttl.d <= 0 {
		return usagef("--ttl must be positive")
	}
	memberships, err := parseMemberships(m.orgs)
	if err != nil {
		return err
	}
	policies, err := loadPolicies(m.policies)
	if err != nil {
		return err
	}
	ring, err := m.settings.requireKeyRing(c)
	if err != nil {
		return err
	}
	serverID, err := m.settings.requireServerID(c)
	if err != nil {
		return err
	}
	if err := checkPolicySet(policies, serverID); err != nil {
		return err
	}
	session := m.session
	if session == "" {
		if session, err = newSessionID(c.now(), c.random); err != nil {
			return err
		}
	}
	roles, _ := parseList(m.roles)
	minter, err := mint.New(mint.Config{Keys: ring, ServerID: serverID, Now: c.now, Rand: c.random})
	if err != nil {
		return fmt.Errorf("--server-id: %w", err)
	}
	toks, err := minter.Mint(policies, mint.Subject{
		UserID:      m.user,
		SessionID:   session,
		ClientID:    m.client,
		Roles:       roles,
		Memberships: memberships,
		TTL:         m.ttl.d,
	})
	if errors.Is(err, mint.ErrBadSubject) {
		return fmt.Errorf("%w (see --user, --session, --client, --roles)", err)
	}
	if err != nil {
		return err
	}
	if lifetime := shortestLifetime(policies); m.ttl.set && m.ttl.d >= lifetime {
		fmt.Fprintf(c.stderr, "authgw: mint: warning: --ttl %v is not shorter than the policies' lifetime %v; the tokens expire at %s\n",
			m.ttl.d, lifetime, toks.Expires.Format(mint.TimeFormat))
	}
	return writeTokensJSON(c.stdout, toks.ByMethod)
}

// loadPolicies loads each policy file. An invalid one fails with its
// first problem and how many more there are.
func loadPolicies(files []string) ([]*policy.Policy, error) {
	policies := make([]*policy.Policy, 0, len(files))
	for _, file := range files {
		p, err := policy.LoadFile(file)
		if ve, ok := errors.AsType[*policy.ValidationError](err); ok && len(ve.Problems) > 0 {
			more := ""
			if n := len(ve.Problems) - 1; n > 0 {
				more = fmt.Sprintf(" (and %s more; run authgw policy check %s)", plural(n, "problem"), file)
			}
			return nil, fmt.Errorf("--policy: invalid policy: %s%s", ve.Problems[0], more)
		}
		if err != nil {
			return nil, fmt.Errorf("--policy: %w", err)
		}
		policies = append(policies, p)
	}
	return policies, nil
}

// checkPolicySet applies the rules of a policies directory to the
// policies given: distinct names, and a serverId, where set, equal to the
// server ID the tokens are minted for.
func checkPolicySet(policies []*policy.Policy, serverID string) error {
	set, err := policy.NewSet(policies...)
	if err == nil {
		err = set.CheckServerID(serverID)
	}
	if ve, ok := errors.AsType[*policy.ValidationError](err); ok && len(ve.Problems) > 0 {
		return fmt.Errorf("--policy: %s", ve.Problems[0])
	}
	return err
}

// shortestLifetime is the lifetime the policies give a token.
func shortestLifetime(policies []*policy.Policy) time.Duration {
	var d time.Duration
	for _, p := range policies {
		if d == 0 || p.Lifetime() < d {
			d = p.Lifetime()
		}
	}
	return d
}

// parseMemberships reads --org values: ORGID (every flag), ORGID: (no
// flag) or ORGID:FLAG,FLAG. It fails with a usage error on an empty ID
// or an unknown flag.
func parseMemberships(values []string) ([]mint.Membership, error) {
	var out []mint.Membership
	for _, v := range values {
		id, flags, hasFlags := strings.Cut(v, ":")
		if id == "" {
			return nil, usagef("--org %q: missing organization ID", v)
		}
		ms := mint.Membership{OrgID: id}
		if !hasFlags {
			ms.Read, ms.Edit, ms.Manage, ms.Delete = true, true, true, true
			out = append(out, ms)
			continue
		}
		for f := range strings.SplitSeq(flags, ",") {
			switch policy.MembershipFlag(strings.TrimSpace(f)) {
			case policy.AnyMembership:
			case policy.FlagRead:
				ms.Read = true
			case policy.FlagEdit:
				ms.Edit = true
			case policy.FlagManage:
				ms.Manage = true
			case policy.FlagDelete:
				ms.Delete = true
			default:
				return nil, usagef("--org %q: unknown membership flag %q (want read, edit, manage or delete)", v, f)
			}
		}
		out = append(out, ms)
	}
	return out, nil
}

// newSessionID returns a random UUIDv7 (RFC 9562) for now, the form of
// the session IDs login creates.
func newSessionID(now time.Time, random io.Reader) (string, error) {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	if _, err := io.ReadFull(random, b[6:]); err != nil {
		return "", fmt.Errorf("session ID: %w", err)
	}
	b[6] = 0x70 | b[6]&0x0f // version 7
	b[8] = 0x80 | b[8]&0x3f // variant 10
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// writeTokensJSON prints the tokens as one JSON object, methods in the
// order of mint.Methods().
func writeTokensJSON(w io.Writer, byMethod map[string]string) error {
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	for _, method := range mint.Methods() {
		tok, ok := byMethod[method]
		if !ok {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		k, _ := json.Marshal(method)
		v, _ := json.Marshal(tok)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
