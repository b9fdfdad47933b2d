package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// MemoryConfig configures a Memory limiter.
type MemoryConfig struct {
	// Now is the clock. Offsets from its first reading are used, so the
	// monotonic reading of time.Now makes the limiter immune to wall-clock
	// jumps. Optional. Default time.Now.
	Now func() time.Time
	// Shards is the number of independently locked maps. Optional.
	// Default 64.
	Shards int
	// SweepEvery is how often each shard drops its idle keys (keys whose
	// bucket is full again, i.e. idle for up to one second), during the
	// first request to that shard after the interval. Optional. Default 10s.
	SweepEvery time.Duration
}

// Memory is the in-process GCRA limiter: one theoretical arrival time per
// key in sharded maps. It is safe for concurrent use and starts no
// goroutine: idle keys are swept lazily (see MemoryConfig.SweepEvery) and
// by Sweep, so a Memory that is no longer used is simply garbage.
type Memory struct {
	now        func() time.Time
	epoch      time.Time
	sweepEvery int64
	seed       maphash.Seed
	shards     []memoryShard
}

// memoryShard is one lock and its map of key → TAT (ns since the epoch).
type memoryShard struct {
	mu        sync.Mutex
	tats      map[string]int64
	nextSweep int64
	_         [64]byte // keep neighbouring shards' locks off one cache line
}

// NewMemory fills the defaults of cfg and returns a Memory. It cannot
// fail: non-positive Shards and SweepEvery mean the defaults.
func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 64
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = 10 * time.Second
	}
	m := &Memory{
		now:        cfg.Now,
		epoch:      cfg.Now(),
		sweepEvery: int64(cfg.SweepEvery),
		seed:       maphash.MakeSeed(),
		shards:     make([]memoryShard, cfg.Shards),
	}
	for i := range m.shards {
		m.shards[i].tats = make(map[string]int64)
	}
	return m
}

// Allow admits or refuses one request for key at perSecond (see Limiter).
// It errors only for a perSecond below -1 (ErrInvalidLimit); ctx is not
// used.
func (m *Memory) Allow(_ context.Context, key string, perSecond int) (Decision, error) {
	if d, ok, err := stateless(perSecond); ok {
		return d, err
	}
	interval, tolerance := cells(perSecond, int64(time.Second))
	now := int64(m.now().Sub(m.epoch))
	s := &m.shards[maphash.String(m.seed, key)%uint64(len(m.shards))]

	s.mu.Lock()
	if now >= s.nextSweep {
		s.sweep(now)
		s.nextSweep = now + m.sweepEvery
	}
	tat, found := s.tats[key]
	newTAT, allowed, remaining, retry, reset := gcra(now, tat, found, interval, tolerance)
	if allowed {
		s.tats[key] = newTAT
	}
	s.mu.Unlock()

	return Decision{
		Allowed:    allowed,
		Limit:      perSecond,
		Remaining:  int(remaining),
		ResetAfter: time.Duration(reset),
		RetryAfter: time.Duration(retry),
	}, nil
}

// Sweep drops every key whose bucket is full at now (a key idle for up to
// one second, whose state is then the same as none) and returns how many
// it dropped. Allow sweeps lazily on its own; Sweep is for a caller that
// wants memory back at once.
func (m *Memory) Sweep(now time.Time) int {
	n := int64(now.Sub(m.epoch))
	dropped := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		dropped += s.sweep(n)
		s.mu.Unlock()
	}
	return dropped
}

// Len returns the number of keys held, for metrics.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tats)
		s.mu.Unlock()
	}
	return n
}

// sweep drops the shard's keys whose TAT is not after now. The caller
// holds s.mu.
func (s *memoryShard) sweep(now int64) int {
	dropped := 0
	for key, tat := range s.tats {
		if tat <= now {
			delete(s.tats, key)
			dropped++
		}
	}
	return dropped
}
