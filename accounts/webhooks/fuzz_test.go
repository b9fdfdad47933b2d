package webhooks_test

import (
	"net/netip"
	"net/url"
	"testing"

	"github.com/authgw/authgw/accounts/webhooks"
)

// FuzzCheckURL: whatever CheckURL accepts is an absolute http(s) URL
// without credentials or fragment whose literal IP host, if any, is not
// link-local, unspecified or multicast; plain http only to loopback
// unless allowed; and its canonical form is accepted again unchanged.
func FuzzCheckURL(f *testing.F) {
	for _, seed := range []string{"https://hooks.example.com/in", "http://127.0.0.1:8080/x", "http://[::ffff:169.254.169.254]/",
		"https://169.254.169.254/", "http://localhost./", "HTTPS://A.EXAMPLE/%2e%2e/", "https://[fe80::1%25eth0]/", "http://0x7f.1/",
		"https://u@h/", "https://h/#f", "//h/", "http://[fd00:ec2::254]/"} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, raw string, allowHTTP bool) {
		canonical, err := webhooks.CheckURL(raw, allowHTTP)
		if err != nil {
			return
		}
		u, perr := url.Parse(canonical)
		if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.Fragment != "" || u.Hostname() == "" {
			t.Fatalf("CheckURL(%q) accepted %q", raw, canonical)
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
			ip = ip.Unmap()
			if ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
				t.Fatalf("CheckURL(%q) accepted the address %s", raw, ip)
			}
			if u.Scheme == "http" && !allowHTTP && !ip.IsLoopback() {
				t.Fatalf("CheckURL(%q) accepted plain http to %s", raw, ip)
			}
		} else if u.Scheme == "http" && !allowHTTP && u.Hostname() != "localhost" {
			t.Fatalf("CheckURL(%q) accepted plain http to %s", raw, u.Hostname())
		}
		again, err := webhooks.CheckURL(canonical, allowHTTP)
		if err != nil || again != canonical {
			t.Fatalf("canonical %q of %q: again %q, %v", canonical, raw, again, err)
		}
	})
}
