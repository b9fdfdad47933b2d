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
// or "[". Servers differ: all trim spaces and tabs around the name, and
// some trim more: Python's str.strip (Django's parse_cookie, Starlette)
// also drops \x1c-\x1f, \x85 and \xa0 of a name read as latin-1, and
// JavaScript's trim (jshttp/cookie) \xa0; PHP skips spaces before a name
// after percent-decoding it. So every byte up to 0x20 and from 0x7f on
// is trimmed from both ends of the name as sent and again from both ends
// of the decoded name. ASP.NET Core compares names ignoring case; PHP
// and Rack percent-decode names, reading "+" as a space; PHP reads a
// space or "." in a name as "_" and "target[key]" as an element of an
// array called target. Every one of those readings counts. It allocates
// nothing.
func CookieNameFolds(name, target string) bool {
	name = trimOuter(name)
	return folds(name, target, true) || folds(name, target, false)
}

// QueryKeyFolds reports whether a server could read a query parameter
// sent with this key (the bytes before "=") as the parameter called
// target, under the same rules as CookieNameFolds: frameworks
// percent-decode keys with "+" as a space, PHP (Laravel, Symfony) reads
// " " and "." as "_" and "key[x]" as an array, ASP.NET Core ignores
// case. It allocates nothing.
func QueryKeyFolds(key, target string) bool {
	return CookieNameFolds(key, target)
}

// folds compares name, percent-decoded ("+" a space), with target: " "
// and "." read as "_", ASCII case ignored; after the whole target, a
// "[" or nothing but trimmed bytes may follow. With skipLead, trimmed
// bytes before the first matching one are skipped (the decoded name
// trimmed); without, a leading space reads as "_".
func folds(name, target string, skipLead bool) bool {
	i := 0
	for j := 0; j < len(name); j++ {
		c := name[j]
		if c == '%' && j+2 < len(name) && isHex(name[j+1]) && isHex(name[j+2]) {
			c = unhex(name[j+1])<<4 | unhex(name[j+2])
			j += 2
		} else if c == '+' {
			c = ' '
		}
		if i == len(target) {
			if c == '[' {
				return true
			}
			if !trimmed(c) {
				return false
			}
			continue
		}
		if skipLead && i == 0 && trimmed(c) {
			continue
		}
		switch {
		case c == ' ' || c == '.':
			c = '_'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != target[i] {
			return false
		}
		i++
	}
	return i == len(target)
}

// trimmed reports whether some server trims c from the ends of a name:
// ASCII controls and space, DEL, and every non-ASCII byte (\x85 and
// \xa0 are whitespace to Python and JavaScript).
func trimmed(c byte) bool { return c <= 0x20 || c >= 0x7f }

// trimOuter trims the bytes trimmed reports from both ends of s.
func trimOuter(s string) string {
	for len(s) > 0 && trimmed(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && trimmed(s[len(s)-1]) {
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
