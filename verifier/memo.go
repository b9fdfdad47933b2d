package verifier

import "sync"

// DefaultMemoSize is how many verified tokens a Verifier remembers by default.
const DefaultMemoSize = 8192

// maxMemoToken is the longest token the memo keeps.
const maxMemoToken = 4096

// memo remembers tokens whose signature held, keyed by their exact text,
// in two generations: when the current one fills, it becomes the old one
// and the previous old one is dropped. Only tokens with a valid signature
// enter it, so forged tokens cannot fill it; a Verifier's key ring and
// server ID never change, so an entry stays as true as when it was made.
//
// The same memo keeps verified discharges (T verifiedDischarge), keyed
// by the discharge's text.
type memo[T any] struct {
	mu       sync.RWMutex
	cur, old map[string]*T
	limit    int
}

func newMemo[T any](size int) *memo[T] {
	if size == 0 {
		size = DefaultMemoSize
	}
	if size < 0 {
		return &memo[T]{}
	}
	return &memo[T]{cur: map[string]*T{}, old: map[string]*T{}, limit: (size + 1) / 2}
}

func (m *memo[T]) get(token string) (*T, bool) {
	if m.limit == 0 {
		return nil, false
	}
	m.mu.RLock()
	vt, ok := m.cur[token]
	if !ok {
		vt, ok = m.old[token]
	}
	m.mu.RUnlock()
	return vt, ok
}

func (m *memo[T]) put(token string, vt *T) {
	if m.limit == 0 || len(token) > maxMemoToken {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.cur) >= m.limit {
		m.old, m.cur = m.cur, make(map[string]*T, m.limit)
	}
	m.cur[token] = vt
}
