package infosign

import (
	"sync"
	"time"
)

// cacheShards spreads a cache over independently locked maps, so
// concurrent requests rarely wait on one another.
const cacheShards = 32

// evictionSample is how many entries a full shard looks at to find a
// stale one before evicting whichever it saw first. Map iteration starts
// at a random place, so that one is random.
const evictionSample = 8

// cache is a bounded, sharded map from a SHA-256 hash to a value usable
// from one instant up to (not including) another. The Signer keeps
// tokens in one, keyed by identity; the Verifier keeps verified claims,
// keyed by token.
type cache[V any] struct {
	perShard int
	shards   [cacheShards]cacheShard[V]
}

type cacheShard[V any] struct {
	mu sync.Mutex
	m  map[[32]byte]cacheEntry[V]
	_  [48]byte // keep shards on separate cache lines
}

type cacheEntry[V any] struct {
	value       V
	from, until time.Time
}

// usable reports whether e may be used at now. A clock that went back
// before from makes it unusable.
func (e *cacheEntry[V]) usable(now time.Time) bool {
	return !now.Before(e.from) && now.Before(e.until)
}

// newCache returns a cache of about size entries (rounded up to a
// multiple of cacheShards).
func newCache[V any](size int) *cache[V] {
	c := &cache[V]{perShard: max(1, (size+cacheShards-1)/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[[32]byte]cacheEntry[V])
	}
	return c
}

// get returns the value for id if it is usable at now.
func (c *cache[V]) get(id [32]byte, now time.Time) (V, bool) {
	sh := &c.shards[id[0]%cacheShards]
	sh.mu.Lock()
	e, ok := sh.m[id]
	sh.mu.Unlock()
	if !ok || !e.usable(now) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// put stores value for id, usable in [from, until), evicting an entry
// when the shard is full.
func (c *cache[V]) put(id [32]byte, value V, from, until time.Time) {
	sh := &c.shards[id[0]%cacheShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[id]; !ok && len(sh.m) >= c.perShard {
		var victim [32]byte
		seen, evicted := 0, false
		for k, e := range sh.m {
			if seen == 0 {
				victim = k
			}
			if !e.usable(from) {
				delete(sh.m, k)
				evicted = true
			}
			if seen++; seen == evictionSample {
				break
			}
		}
		if !evicted {
			delete(sh.m, victim)
		}
	}
	sh.m[id] = cacheEntry[V]{value: value, from: from, until: until}
}

// len returns the number of entries.
func (c *cache[V]) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
