package infosign

// CacheLen returns how many tokens s keeps for reuse.
func (s *Signer) CacheLen() int {
	if s.keys.Load().cache == nil {
		return 0
	}
	return s.keys.Load().cache.len()
}
