package gatewaystore

import (
	"context"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/revocation"
)

// Store is the part of *db.DB the gateway and the revocation poller read.
type Store interface {
	LoadSnapshot(ctx context.Context, nowMs int64) (db.Snapshot, error)
	RevocationsSince(ctx context.Context, afterCursor int64, limit int) ([]db.Revocation, error)
	RevocationsCreatedSince(ctx context.Context, sinceMs int64) ([]db.Revocation, error)
}

var _ Store = (*db.DB)(nil)

// Source adapts a store to gateway.SnapshotSource and revocation.Feed.
type Source struct {
	store Store
}

var (
	_ gateway.SnapshotSource = Source{}
	_ revocation.Feed        = Source{}
)

// New returns the adapter of s, an open store (normally *db.DB); s must
// not be nil.
func New(s Store) Source { return Source{store: s} }

// LoadSnapshot loads the store's snapshot and converts it. It fails when
// the store fails.
func (s Source) LoadSnapshot(ctx context.Context, nowMs int64) (gateway.Snapshot, error) {
	snap, err := s.store.LoadSnapshot(ctx, nowMs)
	if err != nil {
		return gateway.Snapshot{}, err
	}
	return Snapshot(snap), nil
}

// RevocationsSince reads the store's feed after afterCursor and converts
// it. It fails when the store fails.
func (s Source) RevocationsSince(ctx context.Context, afterCursor int64, limit int) ([]revocation.Entry, error) {
	rs, err := s.store.RevocationsSince(ctx, afterCursor, limit)
	if err != nil {
		return nil, err
	}
	return entries(rs), nil
}

// RevocationsCreatedSince reads the store's entries created at or after
// sinceMs and converts them. It fails when the store fails.
func (s Source) RevocationsCreatedSince(ctx context.Context, sinceMs int64) ([]revocation.Entry, error) {
	rs, err := s.store.RevocationsCreatedSince(ctx, sinceMs)
	if err != nil {
		return nil, err
	}
	return entries(rs), nil
}

// Snapshot converts the store's snapshot into the gateway's. Restriction
// types are copied as they are: the gateway refuses a client with a type
// it does not know.
func Snapshot(s db.Snapshot) gateway.Snapshot {
	out := gateway.Snapshot{
		Clients: make([]gateway.SnapshotClient, len(s.Clients)),
		APIs:    make([]gateway.SnapshotAPI, len(s.APIs)),
	}
	for i, c := range s.Clients {
		gc := gateway.SnapshotClient{ID: c.ID, SecretHash: c.SecretHash, ReqsPerSec: c.ReqsPerSec, Roles: c.Roles}
		if c.Restrictions != nil {
			gc.Restrictions = make([]gateway.Restriction, len(c.Restrictions))
			for j, r := range c.Restrictions {
				gc.Restrictions[j] = gateway.Restriction{ID: r.ID, Type: r.Type, Value: r.Value}
			}
		}
		out.Clients[i] = gc
	}
	for i, a := range s.APIs {
		out.APIs[i] = gateway.SnapshotAPI{Name: a.Name, Version: a.Version, URL: a.URL,
			AllowUnidentified: a.AllowUnidentified, Active: a.Active, LoginRedirect: a.LoginRedirect,
			Upstreams: a.Upstreams, ConnectTimeout: time.Duration(a.ConnectTimeoutMs) * time.Millisecond,
			HeaderTimeout: time.Duration(a.HeaderTimeoutMs) * time.Millisecond, Timeout: time.Duration(a.TimeoutMs) * time.Millisecond,
			H2C: a.H2C, Hosts: a.Hosts}
	}
	return out
}

// Entry converts one revocation of the store's feed into the poller's.
func Entry(r db.Revocation) revocation.Entry {
	return revocation.Entry{Cursor: r.Cursor, Kind: r.Kind, Subject: r.Subject,
		NotBeforeMs: r.NotBeforeMs, ExpiresMs: r.ExpiresMs, CreatedMs: r.CreatedMs}
}

func entries(rs []db.Revocation) []revocation.Entry {
	if rs == nil {
		return nil
	}
	out := make([]revocation.Entry, len(rs))
	for i, r := range rs {
		out[i] = Entry(r)
	}
	return out
}
