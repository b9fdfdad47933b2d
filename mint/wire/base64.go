package wire

// b64 maps a byte to its 6-bit value, with class bits: b64URL for the
// characters only base64url has, b64Std for those only standard base64
// has, b64Bad for bytes in neither alphabet.
var b64 = func() (t [256]uint16) {
	for i := range t {
		t[i] = b64Bad
	}
	const common = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for i := 0; i < len(common); i++ {
		t[common[i]] = uint16(i)
	}
	t['-'], t['_'] = 62|b64URL, 63|b64URL
	t['+'], t['/'] = 62|b64Std, 63|b64Std
	return t
}()

const (
	b64URL = 1 << 8
	b64Std = 1 << 9
	b64Bad = 1 << 10
)

// AppendBase64 decodes s, base64url or standard base64 (not a mix of the
// two alphabets), padded or not, appending to dst[:0]. It refuses
// non-zero trailing bits, wrong padding and line breaks, so one byte
// string has few spellings. It does not allocate when dst is large enough.
func AppendBase64(dst []byte, s string) ([]byte, bool) {
	pad := 0
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
		pad++
	}
	rem := len(s) % 4
	if rem == 1 || pad > 2 || (pad > 0 && (len(s)+pad)%4 != 0) {
		return nil, false
	}
	dst = dst[:0]
	var seen uint16
	n := len(s) - rem
	for i := 0; i < n; i += 4 {
		a, b, c, d := b64[s[i]], b64[s[i+1]], b64[s[i+2]], b64[s[i+3]]
		seen |= a | b | c | d
		v := uint32(a&63)<<18 | uint32(b&63)<<12 | uint32(c&63)<<6 | uint32(d&63)
		dst = append(dst, byte(v>>16), byte(v>>8), byte(v))
	}
	switch rem {
	case 2:
		a, b := b64[s[n]], b64[s[n+1]]
		seen |= a | b
		v := uint32(a&63)<<6 | uint32(b&63)
		if v&0xf != 0 {
			return nil, false
		}
		dst = append(dst, byte(v>>4))
	case 3:
		a, b, c := b64[s[n]], b64[s[n+1]], b64[s[n+2]]
		seen |= a | b | c
		v := uint32(a&63)<<12 | uint32(b&63)<<6 | uint32(c&63)
		if v&3 != 0 {
			return nil, false
		}
		dst = append(dst, byte(v>>10), byte(v>>2))
	}
	if seen&b64Bad != 0 || seen&(b64URL|b64Std) == b64URL|b64Std {
		return nil, false
	}
	return dst, true
}
