package netaddr_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/authgw/authgw/policy/netaddr"
)

// legacyStoredRange is how the gateway read a stored ip restriction
// before this package (gateway/snapshot.go parsePrefix): FuzzParse
// checks that every value it read the same way still parses the same.
func legacyStoredRange(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// FuzzParse: ParsePrefix and ParseRange never panic; what ParsePrefix
// accepts is canonical (masked, no zone) and reads back the same from
// its String; what ParseRange accepts is masked, unmapped and reads back
// the same (a stored normalized value stays valid); and ParseRange reads
// every value the gateway read before the same way, but for zones and
// IPv4-mapped prefixes shorter than /96, which it refuses.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "2001:DB8::1", "10.1.2.3/8", "::ffff:192.0.2.7",
		"::ffff:10.0.0.0/104", "::ffff:0:0/96", "::ffff:0:0/95", "fe80::1%eth0", "10.0.0.0/33", "10.0.0.0/08",
		"0.0.0.0/0", "::/0", "", "/", "1.2.3.4/", "::ffff:10.0.0.1/80",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := netaddr.ParsePrefix(s)
		if err == nil {
			if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" {
				t.Fatalf("ParsePrefix(%q) = %v: not a canonical prefix", s, p)
			}
			if again, err := netaddr.ParsePrefix(p.String()); err != nil || again != p {
				t.Fatalf("ParsePrefix(%q) = %v, but its String reads %v, %v", s, p, again, err)
			}
			if want, werr := netip.ParsePrefix(s); strings.Contains(s, "/") && (werr != nil || want != p) {
				t.Fatalf("ParsePrefix(%q) = %v; netip.ParsePrefix = %v, %v", s, p, want, werr)
			}
		}
		r, rerr := netaddr.ParseRange(s)
		if rerr == nil {
			if !r.IsValid() || r != r.Masked() || r.Addr().Is4In6() || r.Addr().Zone() != "" {
				t.Fatalf("ParseRange(%q) = %v: not a masked, unmapped prefix", s, r)
			}
			if again, err := netaddr.ParseRange(r.String()); err != nil || again != r {
				t.Fatalf("ParseRange(%q) = %v, but its String reads %v, %v", s, r, again, err)
			}
		}
		if err == nil && rerr != nil && !p.Addr().Is4In6() {
			t.Fatalf("ParsePrefix(%q) accepts but ParseRange refuses: %v", s, rerr)
		}
		if old, ok := legacyStoredRange(s); ok {
			a, _, _ := strings.Cut(s, "/")
			zoned := strings.Contains(a, "%")
			shortMapped := false
			if q, err := netip.ParsePrefix(s); err == nil && q.Addr().Is4In6() && q.Bits() < 96 {
				shortMapped = true
			}
			leadingZero := strings.Contains(s, "/") && rerr != nil && !zoned && !shortMapped
			switch {
			case zoned || shortMapped:
				if rerr == nil {
					t.Fatalf("ParseRange(%q) = %v, want it refused", s, r)
				}
			case leadingZero:
				t.Fatalf("ParseRange(%q) refuses a value the gateway read as %v: %v", s, old, rerr)
			case r != old:
				t.Fatalf("ParseRange(%q) = %v, the gateway read %v", s, r, old)
			}
		}
	})
}
