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

// CookieNameFolds reports whether a server could read a cookie sent with
// this name (the bytes before "=", untrimmed) as the cookie called
// target, which must be in lower case and hold no "%", "+", " ", "."
// or "[". Servers differ: all trim spaces and tabs around the name;
// ASP.NET Core compares names ignoring case; PHP and Rack percent-decode
// names, reading "+" as a space; PHP reads a space or "." in a name as
// "_" and "target[key]" as an element of an array called target. Every
// one of those readings counts. It allocates nothing.
func CookieNameFolds(name, target string) bool {
	name = trimOWS(name)
	i := 0
	for j := 0; j < len(name); j++ {
		c := name[j]
		if c == '%' && j+2 < len(name) && isHex(name[j+1]) && isHex(name[j+2]) {
			c = unhex(name[j+1])<<4 | unhex(name[j+2])
			j += 2
		}
		switch {
		case c == '+' || c == ' ' || c == '.':
			c = '_'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if i == len(target) {
			return c == '['
		}
		if c != target[i] {
			return false
		}
		i++
	}
	return i == len(target)
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
