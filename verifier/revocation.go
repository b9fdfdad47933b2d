package verifier

import (
	"sync"
	"time"
)

// RevocationSet is an in-memory Revocations: revoked session IDs and, per
// user, a not-before time before which every token is refused. Entries
// carry an expiry after which no token they could refuse is still valid,
// and Prune drops them. It is safe for concurrent use; reads take a shared
// lock only.
type RevocationSet struct {
	mu        sync.RWMutex
	sessions  map[string]time.Time // session ID → entry expiry
	notBefore map[string]userEntry // user ID → not-before
}

type userEntry struct {
	notBefore time.Time
	expires   time.Time
}

var _ Revocations = (*RevocationSet)(nil)

// NewRevocationSet returns an empty set.
func NewRevocationSet() *RevocationSet {
	return &RevocationSet{sessions: map[string]time.Time{}, notBefore: map[string]userEntry{}}
}

// RevokeSession refuses every token of the session until expires.
func (s *RevocationSet) RevokeSession(sessionID string, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.sessions[sessionID]; !ok || expires.After(old) {
		s.sessions[sessionID] = expires
	}
}

// RevokeUserBefore refuses every token of the user issued before
// notBefore, until expires.
func (s *RevocationSet) RevokeUserBefore(userID string, notBefore, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.notBefore[userID]
	if notBefore.After(old.notBefore) {
		old.notBefore = notBefore
	}
	if expires.After(old.expires) {
		old.expires = expires
	}
	s.notBefore[userID] = old
}

// Revoked implements Revocations.
func (s *RevocationSet) Revoked(sessionID, userID string, issuedAt time.Time) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.sessions[sessionID]; ok {
		return true
	}
	u, ok := s.notBefore[userID]
	return ok && issuedAt.Before(u.notBefore)
}

// Prune drops entries whose expiry is before now and returns how many
// entries remain.
func (s *RevocationSet) Prune(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, exp := range s.sessions {
		if exp.Before(now) {
			delete(s.sessions, id)
		}
	}
	for id, u := range s.notBefore {
		if u.expires.Before(now) {
			delete(s.notBefore, id)
		}
	}
	return len(s.sessions) + len(s.notBefore)
}
