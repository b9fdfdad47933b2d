package netaddr_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/authgw/authgw/policy/netaddr"
)

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		name        string
		given       string
		expect      string // "" when refused
		expectRange string // ParseRange's result; "" when refused
	}{
		{name: "IPv4 CIDR", given: "10.0.0.0/8", expect: "10.0.0.0/8", expectRange: "10.0.0.0/8"},
		{name: "IPv6 CIDR", given: "2001:db8::/32", expect: "2001:db8::/32", expectRange: "2001:db8::/32"},
		{name: "single IPv4 is a /32", given: "192.0.2.7", expect: "192.0.2.7/32", expectRange: "192.0.2.7/32"},
		{name: "single IPv6 is a /128", given: "2001:DB8::1", expect: "2001:db8::1/128", expectRange: "2001:db8::1/128"},
		{name: "host bits: refused as written, masked as a range", given: "10.1.2.3/8", expectRange: "10.0.0.0/8"},
		{name: "mapped address: as written, unmapped as a range", given: "::ffff:192.0.2.7", expect: "::ffff:192.0.2.7/128", expectRange: "192.0.2.7/32"},
		{name: "mapped prefix of /104", given: "::ffff:10.0.0.0/104", expect: "::ffff:10.0.0.0/104", expectRange: "10.0.0.0/8"},
		{name: "mapped /96 is every IPv4 address", given: "::ffff:0:0/96", expect: "::ffff:0.0.0.0/96", expectRange: "0.0.0.0/0"},
		{name: "mapped prefix shorter than /96", given: "::ffff:0:0/95", expectRange: ""},
		{name: "short mapped prefix with host bits", given: "::ffff:10.0.0.1/80", expectRange: ""},
		{name: "zone", given: "fe80::1%eth0"},
		{name: "zone in a CIDR", given: "fe80::%eth0/64"},
		{name: "prefix too long", given: "10.0.0.0/33"},
		{name: "prefix with a sign", given: "10.0.0.0/+8"},
		{name: "prefix with a leading zero", given: "10.0.0.0/08"},
		{name: "empty prefix length", given: "10.0.0.0/"},
		{name: "host name", given: "localhost"},
		{name: "address out of range", given: "10.0.0.300"},
		{name: "empty", given: ""},
		{name: "two slashes", given: "10.0.0.0/8/8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := netaddr.ParsePrefix(tt.given)
			if got := prefixString(p, err); got != tt.expect {
				t.Errorf("ParsePrefix(%q) = %q (%v), want %q", tt.given, got, err, tt.expect)
			}
			if err != nil && !errors.Is(err, netaddr.ErrBadRange) {
				t.Errorf("ParsePrefix(%q) error %v does not match ErrBadRange", tt.given, err)
			}
			r, err := netaddr.ParseRange(tt.given)
			if got := prefixString(r, err); got != tt.expectRange {
				t.Errorf("ParseRange(%q) = %q (%v), want %q", tt.given, got, err, tt.expectRange)
			}
			if err != nil && !errors.Is(err, netaddr.ErrBadRange) {
				t.Errorf("ParseRange(%q) error %v does not match ErrBadRange", tt.given, err)
			}
		})
	}
}

func TestHostBitsErrorSuggests(t *testing.T) {
	_, err := netaddr.ParsePrefix("10.0.0.1/8")
	hb, ok := errors.AsType[*netaddr.HostBitsError](err)
	if !ok || hb.Masked != netip.MustParsePrefix("10.0.0.0/8") || !strings.Contains(err.Error(), "did you mean 10.0.0.0/8?") {
		t.Fatalf("error = %v, want a *HostBitsError suggesting 10.0.0.0/8", err)
	}
}

func TestUnmap(t *testing.T) {
	tests := []struct {
		given, expect string
	}{
		{"::ffff:192.0.2.7/128", "192.0.2.7/32"},
		{"::ffff:192.0.2.0/120", "192.0.2.0/24"},
		{"::ffff:10.0.0.0/95", ""},
		{"::ffff:0:0/64", ""},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"2001:db8::1/32", "2001:db8::/32"},
	}
	for _, tt := range tests {
		p, err := netaddr.Unmap(netip.MustParsePrefix(tt.given))
		if got := prefixString(p, err); got != tt.expect {
			t.Errorf("Unmap(%s) = %q (%v), want %q", tt.given, got, err, tt.expect)
		}
	}
}

func prefixString(p netip.Prefix, err error) string {
	if err != nil {
		return ""
	}
	return p.String()
}

func TestParsePrefixDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _, _ = netaddr.ParsePrefix("2001:db8::/32") }); n != 0 {
		t.Errorf("ParsePrefix allocates %v times", n)
	}
}
