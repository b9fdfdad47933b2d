package requestinfo

import "sync"

// memo remembers the claims of tokens whose signature held, keyed by the
// SHA-256 of the token, in two generations: when the current one fills,
// it becomes the old one and the previous old one is dropped. Only
// verified tokens enter it, so forged tokens cannot fill it; a remembered
// token's claims are checked again (exp above all) on every use.
type memo struct {
	mu       sync.RWMutex
	cur, old map[[32]byte]Claims
	limit    int // per generation
}

// newMemo returns a memo of at most about size entries.
func newMemo(size int) *memo {
	limit := max(1, size/2)
	return &memo{cur: make(map[[32]byte]Claims), old: make(map[[32]byte]Claims), limit: limit}
}

func (m *memo) get(id [32]byte) (Claims, bool) {
	m.mu.RLock()
	c, ok := m.cur[id]
	if !ok {
		c, ok = m.old[id]
	}
	m.mu.RUnlock()
	return c, ok
}

func (m *memo) put(id [32]byte, c Claims) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.cur) >= m.limit {
		m.old, m.cur = m.cur, make(map[[32]byte]Claims, m.limit)
	}
	m.cur[id] = c
}

// len returns the number of entries.
func (m *memo) len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.cur) + len(m.old)
}
