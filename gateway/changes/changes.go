package changes

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Channel is the Redis channel of change notices.
const Channel = "authgw:changes"

// Announce publishes a notice on Channel; what names the writer (it is
// not interpreted). It errors when Redis does not take it before ctx
// ends: the caller logs that, the gateways see the change at their next
// refresh.
func Announce(ctx context.Context, client *redis.Client, what string) error {
	return client.Publish(ctx, Channel, what).Err()
}

// Forward subscribes client to Channel and passes each notice to out
// until ctx ends, in the background. A notice that arrives while one is
// pending in out is merged with it: one reload covers them all. out is
// typically gateway.Config.Changes, which the gateway's own writers also
// send to.
func Forward(ctx context.Context, client *redis.Client, out chan<- struct{}) {
	sub := client.Subscribe(ctx, Channel)
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
}
