package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authgw/authgw/gateway/changes"
)

// errBadRedisURL says a Redis URL does not parse, without repeating it.
var errBadRedisURL = errors.New("not a valid redis:// or rediss:// URL (redis://[user:password@]host:port/db[?options]; the value is not shown: it may hold a password)")

// redisDialTimeout bounds one attempt to connect to Redis when the URL
// sets no dial_timeout: a Redis on the network answers a connect in
// milliseconds, and go-redis's 5 s default would hold a subscription's
// reconnect (which has no deadline of its own) that long per attempt
// when Redis's host does not answer.
const redisDialTimeout = time.Second

// newRedisClient connects to the Redis of a redis:// URL (see
// redisOptions). It fails when the URL does not parse.
func newRedisClient(url string) (*redis.Client, error) {
	opts, err := redisOptions(url)
	if err != nil {
		return nil, err
	}
	return redis.NewClient(opts), nil
}

// redisOptions parses a redis:// URL into the options every Redis client
// of authgw uses: context deadlines honoured (ratelimit requires it), no
// command retries (MaxRetries -1) and one dial per connection attempt
// (DialerRetries 1), so that a call to a Redis that is down fails at once
// instead of after go-redis's default 3 retries of 5 dials each with
// backoffs; and redisDialTimeout unless the URL sets dial_timeout. Every
// caller is on a path that falls back without Redis (local rate limits,
// the database's revocation feed and snapshot refresh), so one failed
// attempt is enough to decide. It fails when the URL does not parse,
// with errBadRedisURL: go-redis's own error quotes the whole URL, and the
// URL may hold a password.
func redisOptions(url string) (*redis.Options, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, errBadRedisURL
	}
	opts.ContextTimeoutEnabled = true
	if opts.MaxRetries == 0 { // 0 is go-redis's default of 3
		opts.MaxRetries = -1
	}
	opts.DialerRetries = 1
	if opts.DialTimeout == 0 {
		opts.DialTimeout = redisDialTimeout
	}
	return opts, nil
}

// announceChange publishes a change notice when a Redis is configured
// (--redis, AUTHGW_REDIS or the config file). A failure is reported on
// stderr but is not an error: the gateways still pick the change up at
// their next refresh.
func announceChange(c *cli, s *settings, what string) error {
	return publishOnRedis(c, s, 2*time.Second, "could not announce the change on Redis (%v); gateways will see it at their next refresh",
		func(ctx context.Context, client *redis.Client) error { return changes.Announce(ctx, client, what) })
}

// publishOnRedis calls publish with a client of the Redis of the
// settings, within timeout, when one is configured. A failure of publish
// is reported on stderr as the warning (a format of one %v, the error)
// but is not an error: every message a command publishes is only the
// fast path, the gateways read the database anyway. It fails when the
// Redis URL does not parse.
func publishOnRedis(c *cli, s *settings, timeout time.Duration, warning string, publish func(context.Context, *redis.Client) error) error {
	url, label, found, err := s.lookup(c, "redis")
	if err != nil || !found {
		return err
	}
	client, err := newRedisClient(url)
	if err != nil {
		return &usageError{msg: fmt.Sprintf("%s: %v", label, err)}
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := publish(ctx, client); err != nil {
		fmt.Fprintf(c.stderr, "authgw: warning: "+warning+"\n", err)
	}
	return nil
}
