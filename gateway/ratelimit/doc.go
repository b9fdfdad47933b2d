// Package ratelimit decides whether one more request for a key (an API
// client, or the IP address of an unidentified caller) fits that key's
// per-second limit. It is step 6 of the gateway pipeline (the README's "The gateway"); it
// says yes or no and how long to wait, and nothing else: the HTTP 429 and
// its error envelope are the gateway's.
//
// # Algorithm
//
// Both limiters run GCRA, the generic cell rate algorithm: per key one
// number, the theoretical arrival time (TAT) of the next request were the
// client sending at exactly its rate. At perSecond requests per second the
// emission interval is T = 1s/perSecond and the burst is one second of
// traffic, perSecond requests, so the burst tolerance is perSecond × T ≈ 1s.
// A request at time now is admitted when max(TAT, now) + T − 1s ≤ now, and
// then TAT becomes max(TAT, now) + T. At 10/s a fresh key gets 10 requests
// at once, the 11th is refused with RetryAfter 100ms, and from then on one
// request passes every 100ms. A key idle for one second is back to a full
// burst, which is also why its state can be dropped then.
//
// perSecond is read as: Unlimited (-1) admits everything and keeps no state;
// 0 refuses everything (a client switched off by its limit) and keeps no
// state; 1 to 1,000,000 is a rate (above that the arithmetic uses
// 1,000,000, one request per microsecond); anything below -1 is an error.
//
// # Limiters
//
// Memory is the in-process limiter, the default of a single gateway:
// sharded maps of key → TAT on a monotonic clock. Idle keys are swept
// lazily, one shard at a time while a request holds that shard's lock, so
// there is no background goroutine to start, stop or leak; Sweep does a
// full pass on demand.
//
// Redis is the limiter of N gateway processes sharing one limit: one Lua
// script per request (EVALSHA, with EVAL when the script is not cached)
// reads the Redis server's clock with TIME, so the processes' own clocks
// never disagree, updates the TAT (µs) atomically and sets it to expire
// when the bucket would be full again (at most one second).
//
// # When Redis is unreachable: fail to local
//
// When a Redis call fails or takes longer than RedisConfig.Timeout (50ms by
// default), Allow asks the Fallback limiter (an in-process Memory by
// default) and returns its decision with a nil error. Each gateway process
// then still enforces the full limit on its own, so N processes admit at
// most N times the limit during the outage; the gateway never fails open
// to unlimited and never answers 500 because of Redis. After a failure,
// Redis is retried once per RedisConfig.Cooldown (one probe request; the
// others go straight to the fallback, so a hung Redis costs one timeout
// per cooldown, not one per request). The failure is logged at most once
// per RedisConfig.LogEvery, recovery once; Redis.Degraded reports the state
// for /readyz and Redis.Failures counts failed calls for metrics.
//
// Headers writes the RateLimit-Limit, RateLimit-Remaining and
// RateLimit-Reset fields (drafts 00–06 of draft-ietf-httpapi-ratelimit-headers)
// and Retry-After for a Decision.
package ratelimit
