// Package hdr matches HTTP header names the way the servers behind a
// gateway may read them.
package hdr

// FoldedPrefix reports whether name starts with prefix, which must be in
// lower case (the whole name when whole), ASCII case ignored and "_" read
// as "-": CGI-style servers (WSGI, Rack, PHP) read X_Auth_Info as
// X-Auth-Info, so a client's underscore spelling can shadow a header the
// gateway sets. It allocates nothing: it runs for every header of every
// request.
func FoldedPrefix(name, prefix string, whole bool) bool {
	if len(name) < len(prefix) || (whole && len(name) != len(prefix)) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := name[i]
		switch {
		case c == '_':
			c = '-'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}
