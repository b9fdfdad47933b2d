package policy

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxPathLength is the longest raw request path CanonicalPath accepts.
const MaxPathLength = 8192

// ErrNonCanonicalPath is the root of every error CanonicalPath returns.
var ErrNonCanonicalPath = errors.New("non-canonical path")

// Reasons a path is not canonical. Each wraps ErrNonCanonicalPath.
var (
	ErrPathNotAbsolute  = fmt.Errorf("%w: does not start with /", ErrNonCanonicalPath)
	ErrPathTooLong      = fmt.Errorf("%w: longer than %d bytes", ErrNonCanonicalPath, MaxPathLength)
	ErrPathEmptySegment = fmt.Errorf("%w: empty segment", ErrNonCanonicalPath)
	ErrPathDotSegment   = fmt.Errorf("%w: . or .. segment", ErrNonCanonicalPath)
	ErrPathByte         = fmt.Errorf("%w: byte not allowed in a path", ErrNonCanonicalPath)
	ErrPathBadEscape    = fmt.Errorf("%w: invalid percent-encoding", ErrNonCanonicalPath)
	ErrPathEncodedByte  = fmt.Errorf("%w: encoded separator, dot or control byte", ErrNonCanonicalPath)
	ErrPathInvalidUTF8  = fmt.Errorf("%w: decodes to invalid UTF-8", ErrNonCanonicalPath)
)

// CanonicalPath reports whether raw, a request path exactly as it arrived
// (still percent-encoded, without query), is canonical, and returns nil if it
// is. It returns an error wrapping ErrNonCanonicalPath when raw
//   - does not start with "/" or is longer than MaxPathLength;
//   - has an empty segment ("//", or a trailing "/" on anything but "/");
//   - has a "." or ".." segment, also when followed by a ";" parameter
//     (raw or %3B);
//   - has a byte outside visible ASCII, or a "\", "?" or "#";
//   - has invalid percent-encoding, or encodes "/", ".", "\", a control
//     byte or DEL;
//   - decodes to invalid UTF-8 (so overlong encodings are refused).
//
// It does not allocate for paths up to 512 decoded bytes.
func CanonicalPath(raw string) error {
	if len(raw) == 0 || raw[0] != '/' {
		return ErrPathNotAbsolute
	}
	if len(raw) > MaxPathLength {
		return ErrPathTooLong
	}
	if raw == "/" {
		return nil
	}
	var stack [512]byte
	decoded := stack[:0]
	segStart := 1
	for i := 1; i <= len(raw); i++ {
		if i == len(raw) || raw[i] == '/' {
			if err := checkSegment(raw[segStart:i]); err != nil {
				return err
			}
			segStart = i + 1
			// Keep the separator, so no multi-byte sequence is judged
			// valid across two segments ("/%C3/%A9").
			decoded = append(decoded, '/')
			continue
		}
		c := raw[i]
		switch {
		case c == '%':
			if i+2 >= len(raw) {
				return ErrPathBadEscape
			}
			hi, ok1 := unhex(raw[i+1])
			lo, ok2 := unhex(raw[i+2])
			if !ok1 || !ok2 {
				return ErrPathBadEscape
			}
			b := hi<<4 | lo
			if b == '/' || b == '.' || b == '\\' || b < 0x20 || b == 0x7f {
				return ErrPathEncodedByte
			}
			decoded = append(decoded, b)
			i += 2
		case c <= 0x20 || c >= 0x7f || c == '\\' || c == '?' || c == '#':
			return ErrPathByte
		default:
			decoded = append(decoded, c)
		}
	}
	if !utf8.Valid(decoded) {
		return ErrPathInvalidUTF8
	}
	return nil
}

// checkSegment rejects empty, dot and dot-dot raw segments. A ";"
// parameter, raw or encoded as %3B, hides neither: some servers strip it
// before routing, some after decoding.
func checkSegment(seg string) error {
	if seg == "" {
		return ErrPathEmptySegment
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] == ';' || (seg[i] == '%' && i+2 < len(seg) && seg[i+1] == '3' && (seg[i+2] == 'B' || seg[i+2] == 'b')) {
			seg = seg[:i]
			break
		}
	}
	if seg == "" {
		return ErrPathEmptySegment
	}
	if seg == "." || seg == ".." {
		return ErrPathDotSegment
	}
	return nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
