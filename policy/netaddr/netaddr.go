package netaddr

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrBadRange is the root of every error of this package.
var ErrBadRange = errors.New("not an IP address or CIDR")

// syntaxError is a malformed range: its message says what is wrong in
// plain words, and it matches ErrBadRange.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }
func (e *syntaxError) Unwrap() error { return ErrBadRange }

func badRange(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...)}
}

// HostBitsError is returned for a CIDR with bits set past its prefix
// length. Masked is the prefix with them cleared.
type HostBitsError struct {
	Given  string
	Masked netip.Prefix
}

func (e *HostBitsError) Error() string {
	return fmt.Sprintf("%q has host bits set (did you mean %s?)", e.Given, e.Masked)
}

// Unwrap makes a HostBitsError match ErrBadRange.
func (e *HostBitsError) Unwrap() error { return ErrBadRange }

// ShortMappedError is returned by Unmap and ParseRange for an
// IPv4-mapped prefix shorter than /96, which matches no unmapped address.
type ShortMappedError struct {
	Prefix netip.Prefix
}

func (e *ShortMappedError) Error() string {
	return fmt.Sprintf("the IPv4-mapped prefix %s is shorter than /96; write it as IPv4", e.Prefix)
}

// Unwrap makes a ShortMappedError match ErrBadRange.
func (e *ShortMappedError) Unwrap() error { return ErrBadRange }

// ParsePrefix reads one range exactly as written: a CIDR, or a single
// address as its full-length prefix. It fails with an error wrapping
// ErrBadRange for anything else, an address with a zone, a prefix length
// out of range or not plain decimal, and with a *HostBitsError for host
// bits set. It does not unmap IPv4-mapped addresses. It does not
// allocate when it succeeds.
func ParsePrefix(s string) (netip.Prefix, error) {
	p, err := parse(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, &HostBitsError{Given: s, Masked: m}
	}
	return p, nil
}

// parse is ParsePrefix without the host-bits check: the prefix as
// written, host bits included.
func parse(s string) (netip.Prefix, error) {
	addr, bits, isCIDR := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil {
		if isCIDR {
			return netip.Prefix{}, badRange("%q is not a CIDR: %q is not an IP address (want such as 10.0.0.0/8 or 2001:db8::/32)", s, addr)
		}
		return netip.Prefix{}, badRange("%q is not an IP address or CIDR (want such as 192.0.2.7 or 10.0.0.0/8)", s)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, badRange("%q: an address with a zone cannot be matched", s)
	}
	if !isCIDR {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	n, err := strconv.Atoi(bits)
	if err != nil || n < 0 || n > a.BitLen() || bits != strconv.Itoa(n) {
		return netip.Prefix{}, badRange("%q is not a CIDR: the prefix length must be a number from 0 to %d", s, a.BitLen())
	}
	return netip.PrefixFrom(a, n), nil
}

// Unmap returns p as client addresses, which are compared unmapped, are
// matched against it: an IPv4-mapped prefix of /96 or longer becomes its
// IPv4 form (::ffff:10.0.0.0/104 is 10.0.0.0/8), anything else is
// returned masked. It fails with a *ShortMappedError for an IPv4-mapped
// prefix shorter than /96.
func Unmap(p netip.Prefix) (netip.Prefix, error) {
	if !p.Addr().Is4In6() {
		return p.Masked(), nil
	}
	if p.Bits() < 96 {
		return netip.Prefix{}, &ShortMappedError{Prefix: p}
	}
	return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked(), nil
}

// ParseRange reads one range that is a setting or stored data (trusted
// proxies, forward-auth callers, a client's ip restriction): ParsePrefix,
// but with host bits cleared instead of refused, then Unmap (which looks
// at the address as written, so ::ffff:10.0.0.1/80 is a short mapped
// prefix). It fails as ParsePrefix does (but for host bits) and as Unmap
// does.
func ParseRange(s string) (netip.Prefix, error) {
	p, err := parse(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return Unmap(p)
}

// DNSName reports whether name, in lower case without a trailing dot, is
// a DNS host name as authgw accepts one: 1 to 253 bytes of labels of 1 to
// 63 ASCII letters, digits and hyphens, a hyphen neither first nor last
// (other scripts as IDNA A-labels, "xn--..."). It says nothing of the
// number of labels, or of names of digits alone: callers add their rule.
func DNSName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}
