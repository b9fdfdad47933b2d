package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/gatewaystore"
	"github.com/authgw/authgw/gateway/revocation/broadcast"
)

const sessionsUsage = `Usage: authgw sessions revoke (--all | --user ID | --session ID)
       [--reason R] [--database DSN] [--data-dir DIR] [--config FILE] [--redis URL]

Ends sessions from the command line: their refresh tokens stop working at
once and their tokens are refused by every gateway within a poll (at once
with --redis, which publishes the revocations).
  --all         every live session: with a new server ID or after removing
                a master key (which refuse every token but let sessions
                refresh onto the new one), this logs everyone out
  --user ID     every session of one user (tokens issued before now are
                refused, whichever session they belong to)
  --session ID  one session
  --reason R    recorded with each session (default "revoked-by-admin";
                at most 32 characters)
The database is found as for authgw migrate (see authgw migrate --help).

Exit status: 0 done, 1 failed (no such session, database failure),
2 usage error.
`

// revocationRetention is how long the revocations this command writes
// are kept: the longest a session lives, which bounds every token of it.
const revocationRetention = 24 * time.Hour

// sessionsCommand is "authgw sessions revoke".
type sessionsCommand struct {
	db        databaseSettings
	all       bool
	user      string
	session   string
	reason    string
	listLimit int
}

func (s *sessionsCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("sessions")
	fs.BoolVar(&s.all, "all", false, "every live session")
	fs.StringVar(&s.user, "user", "", "user ID")
	fs.StringVar(&s.session, "session", "", "session ID")
	fs.StringVar(&s.reason, "reason", "revoked-by-admin", "reason recorded")
	s.db.register(fs)
	s.db.define(fs, "redis", "Redis URL to publish the revocations on")
	return fs
}

// run revokes the sessions named. It fails with a usage error unless
// exactly one of --all, --user and --session is given.
func (s *sessionsCommand) run(c *cli, args []string) error {
	if len(args) != 1 || args[0] != "revoke" {
		return usagef("want: authgw sessions revoke (--all | --user ID | --session ID)")
	}
	given := 0
	for _, set := range []bool{s.all, s.user != "", s.session != ""} {
		if set {
			given++
		}
	}
	if given != 1 {
		return usagef("give exactly one of --all, --user ID and --session ID")
	}
	if s.reason == "" || len(s.reason) > 32 {
		return usagef("--reason: 1 to 32 characters")
	}
	// A bad --redis is a usage error found before anything is revoked.
	if url, label, found, err := s.db.settings.lookup(c, "redis"); err != nil {
		return err
	} else if found {
		if _, err := redisOptions(url); err != nil {
			return &usageError{msg: fmt.Sprintf("%s: %v", label, err)}
		}
	}
	ctx := context.Background()
	d, err := s.db.openMigrated(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	now := c.now()
	expires := now.Add(revocationRetention).UnixMilli()
	var revoked []db.Revocation
	// Whatever was revoked is recorded, also when a later one fails.
	defer func() { recordRevocations(ctx, c, d, s.reason, revoked) }()
	switch {
	case s.session != "":
		if _, err := d.GetSession(ctx, s.session); err != nil {
			return fmt.Errorf("session %s: %w", s.session, err)
		}
		if err := d.InvalidateSession(ctx, s.session, s.reason, db.Revoking{AtMs: now.UnixMilli(), ExpiresMs: expires}); err != nil {
			return err
		}
		revoked = append(revoked, db.Revocation{Kind: db.RevokeSession, Subject: s.session, NotBeforeMs: now.UnixMilli(), ExpiresMs: expires})
		fmt.Fprintf(c.stdout, "revoked session %s\n", s.session)
	case s.user != "":
		// A mistyped ID must not read as "revoked 0 sessions". A deleted
		// user is fine: revoking again is harmless.
		if _, err := d.GetUser(ctx, s.user); err != nil && !errors.Is(err, db.ErrDeleted) {
			return fmt.Errorf("user %s: %w", s.user, err)
		}
		n, err := d.InvalidateUserSessions(ctx, s.user, s.reason, db.Revoking{AtMs: now.UnixMilli(), ExpiresMs: expires})
		if err != nil {
			return err
		}
		revoked = append(revoked, db.Revocation{Kind: db.RevokeUser, Subject: s.user, NotBeforeMs: now.UnixMilli(), ExpiresMs: expires})
		fmt.Fprintf(c.stdout, "revoked %d sessions of user %s\n", n, s.user)
	default:
		n := 0
		limit := s.listLimit
		if limit == 0 {
			limit = 1000
		}
		for after := ""; ; {
			page, err := d.ListSessions(ctx, after, limit)
			if err != nil {
				return err
			}
			for _, sess := range page {
				if !sess.Live(now.UnixMilli()) {
					continue
				}
				if err := d.InvalidateSession(ctx, sess.ID, s.reason, db.Revoking{AtMs: now.UnixMilli(), ExpiresMs: expires}); err != nil {
					return fmt.Errorf("session %s: %w (%d revoked before it)", sess.ID, err, n)
				}
				revoked = append(revoked, db.Revocation{Kind: db.RevokeSession, Subject: sess.ID, NotBeforeMs: now.UnixMilli(), ExpiresMs: expires})
				n++
			}
			if len(page) < limit {
				break
			}
			after = page[len(page)-1].ID
		}
		fmt.Fprintf(c.stdout, "revoked %d sessions\n", n)
	}
	return publishRevocations(c, &s.db.settings, revoked)
}

// publishRevocations publishes the revocations on Redis when one is
// configured. A failure is reported on stderr but is not an error: the
// gateways see the revocations at their next poll of the database.
func publishRevocations(c *cli, s *settings, revoked []db.Revocation) error {
	if len(revoked) == 0 {
		return nil
	}
	return publishOnRedis(c, s, 5*time.Second, "could not publish the revocations on Redis (%v); gateways apply them at their next poll",
		func(ctx context.Context, client *redis.Client) error {
			for _, r := range revoked {
				if err := broadcast.Publish(ctx, client, gatewaystore.Entry(r)); err != nil {
					return err
				}
			}
			return nil
		})
}
