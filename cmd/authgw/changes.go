package main

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// changesChannel is the Redis channel on which the writers of clients and
// APIs announce a change, so that every gateway reloads its snapshot at
// once instead of at its next refresh (SPEC §5.1).
const changesChannel = "authgw:changes"

// newRedisClient connects to the Redis of a redis:// URL, with context
// deadlines honoured (ratelimit requires it).
func newRedisClient(url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opts.ContextTimeoutEnabled = true
	return redis.NewClient(opts), nil
}

// announceChange publishes a change notice when a Redis is configured
// (--redis, AUTHGW_REDIS or the config file). A failure is reported on
// stderr but is not an error: the gateways still pick the change up at
// their next refresh.
func announceChange(c *cli, s *settings, what string) error {
	url, label, found, err := s.lookup(c, "redis")
	if err != nil || !found {
		return err
	}
	client, err := newRedisClient(url)
	if err != nil {
		return &usageError{msg: fmt.Sprintf("%s: %v", label, err)}
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Publish(ctx, changesChannel, what).Err(); err != nil {
		fmt.Fprintf(c.stderr, "authgw: warning: could not announce the change on Redis (%v); gateways will see it at their next refresh\n", err)
	}
	return nil
}

// subscribeChanges forwards the change notices of changesChannel to the
// returned channel until ctx ends. Notices that arrive while one is
// pending are merged: one reload covers them all.
func subscribeChanges(ctx context.Context, client *redis.Client) <-chan struct{} {
	out := make(chan struct{}, 1)
	sub := client.Subscribe(ctx, changesChannel)
	go func() {
		defer sub.Close()
		msgs := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-msgs:
				if !ok {
					return
				}
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}
