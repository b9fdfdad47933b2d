package requestinfo

// CacheLen returns how many verified tokens v remembers.
func (v *Verifier) CacheLen() int {
	if v.memo == nil {
		return 0
	}
	return v.memo.len()
}

// CanonicalBase64URL exposes canonicalBase64URL to the tests.
var CanonicalBase64URL = canonicalBase64URL
