package gateway

import (
	"context"
	"time"
)

// SnapshotSource loads what the gateway keeps in memory. It is the only
// use the gateway makes of the database, and never on the request path.
// The gateway declares the records it reads (Snapshot) so that it links
// no SQL driver; package db/gatewaystore adapts the SQL store to it.
type SnapshotSource interface {
	// LoadSnapshot returns every live client and every registered API
	// as of nowMs (Unix milliseconds). It fails when the store cannot be
	// read; the gateway then keeps its previous snapshot.
	LoadSnapshot(ctx context.Context, nowMs int64) (Snapshot, error)
}

// Snapshot is what the gateway keeps in memory: every live client with
// its roles and access restrictions, and every API, active or not.
type Snapshot struct {
	Clients []SnapshotClient
	APIs    []SnapshotAPI
}

// SnapshotClient is one live API client.
type SnapshotClient struct {
	ID string
	// SecretHash is the SHA-256 hex of the secret, or a legacy bcrypt
	// hash ("$2...").
	SecretHash string
	// ReqsPerSec is the rate limit; -1 means unlimited.
	ReqsPerSec int
	// Roles are the client's roles: system, internal, external.
	Roles []string
	// Restrictions limit where the client may call from and what; none
	// means no restriction.
	Restrictions []Restriction
}

// Restriction types. A restriction of any other type refuses its client
// everything (fail closed).
const (
	RestrictionIP   = "ip"   // Value is a CIDR or a single address
	RestrictionHost = "host" // Value is a host name or "*.example.com"
	RestrictionAPI  = "api"  // Value is an API name
)

// Restriction is one access restriction of a client.
type Restriction struct {
	ID    string
	Type  string
	Value string
}

// SnapshotAPI is one registered (name, version) of a backend API.
type SnapshotAPI struct {
	Name              string
	Version           int
	URL               string
	AllowUnidentified bool
	Active            bool
	// LoginRedirect sends a browser's GET or HEAD that would be refused
	// 401 for want of a valid token to the sign-in page (303) instead.
	LoginRedirect bool
	// Upstreams are every upstream URL, URL first; empty means URL alone.
	Upstreams []string
	// ConnectTimeout, HeaderTimeout and Timeout bound the connect (dial
	// and TLS handshake), the wait for response headers and the whole
	// exchange; 0 is the gateway's default (DefaultConnectTimeout,
	// Config.UpstreamTimeout, none).
	ConnectTimeout time.Duration
	HeaderTimeout  time.Duration
	Timeout        time.Duration
	// H2C speaks HTTP/2 without TLS (prior knowledge) to http://
	// upstreams; https:// upstreams of such an API must speak HTTP/2.
	H2C bool
	// Hosts are the host names bound to the API version (lower case, no
	// port, no trailing dot): any path of a request to such a host is
	// authorized as /<Name>/v<Version>/<path> and forwarded as sent.
	Hosts []string
}
