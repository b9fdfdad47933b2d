package gateway

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/authgw/authgw/policy/netaddr"
)

// ownHosts reads Config.Hosts into the host keys routed by path: nil
// (every host) for "*", or when neither Hosts nor publicURL names one.
// Without Hosts they are publicURL's host, with the other loopback names
// when it is one of them, so a gateway reached at http://127.0.0.1:8080
// also answers http://localhost:8080.
func ownHosts(hosts []string, publicURL string) (map[string]bool, error) {
	if len(hosts) == 0 {
		if publicURL == "" {
			return nil, nil
		}
		u, err := url.Parse(publicURL)
		if err != nil {
			return nil, fmt.Errorf("gateway: PublicURL: %w", err)
		}
		hosts = []string{u.Hostname()}
		if loopbackName(hostKey(hosts[0])) {
			hosts = append(hosts, "localhost", "127.0.0.1", "::1")
		}
	}
	own := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		if h == "*" {
			if len(hosts) > 1 {
				return nil, fmt.Errorf("gateway: Hosts: * serves every host and stands alone")
			}
			return nil, nil
		}
		if err := CheckHost(h); err != nil {
			return nil, fmt.Errorf("gateway: Hosts: %w", err)
		}
		own[hostKey(h)] = true
	}
	return own, nil
}

// CheckHost checks one of the gateway's own host names (Config.Hosts): a
// DNS name, one label will do ("localhost", an internal name), or an IP
// address without zone; no port. Case and one trailing dot do not count.
func CheckHost(h string) error {
	key := hostKey(h)
	if !validOwnHost(key) || key != strings.ToLower(strings.Trim(strings.TrimSuffix(h, "."), "[]")) {
		return fmt.Errorf("%q must be a host name or IP address, without port", h)
	}
	return nil
}

// loopbackName reports whether key, a host key, names the local machine.
func loopbackName(key string) bool {
	if key == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(key)
	return err == nil && ip.IsLoopback()
}

// validOwnHost reports whether key is an IP address (no zone) or a DNS
// name; a single label ("localhost", an internal name) will do.
func validOwnHost(key string) bool {
	if ip, err := netip.ParseAddr(key); err == nil {
		return ip.Zone() == ""
	}
	return netaddr.DNSName(key)
}
