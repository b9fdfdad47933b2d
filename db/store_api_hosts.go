package db

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/authgw/authgw/policy/netaddr"
)

// MaxAPIHosts is how many host names one API version may be bound to.
const MaxAPIHosts = 16

// NormalizeAPIHost returns host as an API host binding is stored: lower
// case, without a trailing dot. It fails with ErrInvalid for anything but
// an ASCII DNS name (IDNA A-labels, "xn--..."; letters, digits and
// hyphens, labels of 1 to 63 characters not starting or ending with a
// hyphen, 253 characters at most): no port, no IP literal, no wildcard,
// no single label.
func NormalizeAPIHost(host string) (string, error) {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "" || len(h) > 253 {
		return "", invalid("", "a host must be a DNS name of 1 to 253 characters")
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return "", invalid("", "host %q: a host needs at least two labels (wiki.example.com)", host)
	}
	if !netaddr.DNSName(h) {
		return "", invalid("", "host %q: only ASCII letters, digits, hyphens and dots (IDNA A-labels for other scripts), no port; each label 1 to 63 of them, not starting or ending with a hyphen", host)
	}
	if last := labels[len(labels)-1]; last[0] >= '0' && last[0] <= '9' {
		return "", invalid("", "host %q: an IP address cannot be bound", host)
	}
	return h, nil
}

// apiHosts normalizes a.Hosts in place, sorted; it fails with ErrInvalid
// for more than MaxAPIHosts, a bad name or a duplicate.
func apiHosts(a *API) error {
	if len(a.Hosts) > MaxAPIHosts {
		return invalid("", "at most %d hosts, got %d", MaxAPIHosts, len(a.Hosts))
	}
	out := make([]string, 0, len(a.Hosts))
	for _, h := range a.Hosts {
		n, err := NormalizeAPIHost(h)
		if err != nil {
			return err
		}
		if slices.Contains(out, n) {
			return invalid("", "host %q is listed twice", n)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	if len(out) == 0 {
		out = nil
	}
	a.Hosts = out
	return nil
}

// writeAPIHosts replaces the hosts of (a.Name, a.Version) with a.Hosts.
// A host bound to another API fails with ErrDuplicate.
func writeAPIHosts(ctx context.Context, tx *sql.Tx, a API) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM api_hosts WHERE api_name = ? AND api_version = ?", a.Name, a.Version); err != nil {
		return err
	}
	for _, h := range a.Hosts {
		if _, err := tx.ExecContext(ctx, "INSERT INTO api_hosts (host, api_name, api_version) VALUES (?, ?, ?)", h, a.Name, a.Version); err != nil {
			return err
		}
	}
	return nil
}

// apiHostKey names an API version in readAPIHosts' map.
type apiHostKey struct {
	name    string
	version int
}

// readAPIHosts returns every binding, by API version, hosts sorted.
func readAPIHosts(ctx context.Context, q querier) (map[apiHostKey][]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT host, api_name, api_version FROM api_hosts ORDER BY host")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[apiHostKey][]string{}
	for rows.Next() {
		var h string
		var k apiHostKey
		if err := rows.Scan(&h, &k.name, &k.version); err != nil {
			return nil, err
		}
		out[k] = append(out[k], h)
	}
	return out, rows.Err()
}

// attachAPIHosts sets the Hosts of each of apis from the store.
func attachAPIHosts(ctx context.Context, q querier, apis []API) error {
	m, err := readAPIHosts(ctx, q)
	if err != nil {
		return err
	}
	for i := range apis {
		apis[i].Hosts = m[apiHostKey{apis[i].Name, apis[i].Version}]
	}
	return nil
}
