package requestinfo

// CacheLen returns how many tokens s keeps for reuse.
func (s *Signer) CacheLen() int {
	if s.cache == nil {
		return 0
	}
	return s.cache.len()
}

// CacheLen returns how many verified tokens v remembers.
func (v *Verifier) CacheLen() int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}
