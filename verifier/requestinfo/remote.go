package requestinfo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of RemoteKeysConfig.
const (
	// DefaultRefreshInterval is how long fetched keys are used before they
	// are fetched again: the gateway's max-age.
	DefaultRefreshInterval = 5 * time.Minute
	// DefaultMinRefetchInterval is the least time between two fetches
	// (successful or not) that a token with an unknown kid, or a failed
	// fetch, starts.
	DefaultMinRefetchInterval = 2 * time.Second
	// DefaultStaleLimit is how long the last keys fetched are still used
	// while every fetch fails.
	DefaultStaleLimit = 24 * time.Hour
	// DefaultFetchTimeout bounds one fetch.
	DefaultFetchTimeout = 5 * time.Second
	// DefaultMaxJWKSSize bounds a JWKS document.
	DefaultMaxJWKSSize = 64 << 10
)

// maxJWKSKeys bounds the keys of a JWKS document that a Verifier keeps.
const maxJWKSKeys = 16

// ErrKeysUnavailable is returned by Verify, wrapping ErrInvalid, when the
// Verifier fetches its keys (VerifierConfig.Remote) and has none it may
// use: none was ever fetched, or the last were fetched longer than the
// stale limit ago and every fetch since has failed.
var ErrKeysUnavailable = fmt.Errorf("%w: the gateway's keys are unavailable", ErrInvalid)

// RemoteKeysConfig configures RemoteKeys.
type RemoteKeysConfig struct {
	// URL is the gateway's JWKS, such as
	// https://gateway.example/.well-known/authgw-info-jwks.json. Required;
	// http or https.
	URL string
	// Client fetches it. Optional. Default an http.Client with
	// FetchTimeout as its timeout.
	Client *http.Client
	// RefreshInterval is how long fetched keys are used before the next
	// Verify fetches them again. Optional. Default DefaultRefreshInterval
	// (5 min); at least a second.
	RefreshInterval time.Duration
	// MinRefetchInterval is the least time between two fetches made
	// because a token names a kid the keys lack, or because the last fetch
	// failed: a flood of tokens with made-up kids costs the gateway one
	// request per interval. Optional. Default DefaultMinRefetchInterval
	// (2 s); not negative.
	MinRefetchInterval time.Duration
	// StaleLimit is how long after the last successful fetch its keys are
	// still used while fetches fail (stale-if-error); beyond it, Verify
	// fails with ErrKeysUnavailable. Optional. Default DefaultStaleLimit
	// (24 h); at least RefreshInterval.
	StaleLimit time.Duration
	// FetchTimeout bounds one fetch. Optional. Default DefaultFetchTimeout
	// (5 s).
	FetchTimeout time.Duration
	// MaxSize bounds the document. Optional. Default DefaultMaxJWKSSize
	// (64 KiB).
	MaxSize int64
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
}

// RemoteKeys fetches and caches the gateway's JWKS for a Verifier
// (VerifierConfig.Remote), so that a backend verifies X-Auth-Info with
// the gateway's URL and no key file, and follows its key rotations: keys
// are fetched at the first Verify (or Refresh), again every
// RefreshInterval, and at once (at most once per MinRefetchInterval) when
// a token names a kid they lack. A document that cannot be fetched or is
// refused (not JSON, too large, no ES256 P-256 key, private key material)
// leaves the last good keys in use, for at most StaleLimit. It is safe for
// concurrent use; a Verify never waits for a periodic refresh another
// Verify is making.
type RemoteKeys struct {
	url        string
	client     *http.Client
	refresh    time.Duration
	minRefetch time.Duration
	staleLimit time.Duration
	timeout    time.Duration
	maxSize    int64
	now        func() time.Time

	state   atomic.Pointer[remoteState]
	fetchMu sync.Mutex // one fetch at a time
	// attempted is when the last fetch started (UnixNano), under fetchMu
	// for writes.
	attempted atomic.Int64
	lastErr   atomic.Pointer[error]
}

// remoteState is the keys of the last successful fetch.
type remoteState struct {
	keys    []verifierKey
	fetched time.Time
}

// NewRemoteKeys checks cfg, fills its defaults and returns RemoteKeys. It
// fetches nothing (see Refresh). It errors for a URL that is not absolute
// http or https, and for out-of-range durations or size.
func NewRemoteKeys(cfg RemoteKeysConfig) (*RemoteKeys, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("requestinfo: RemoteKeysConfig.URL %q is not an http or https URL", cfg.URL)
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.RefreshInterval < time.Second {
		return nil, errors.New("requestinfo: RemoteKeysConfig.RefreshInterval is under a second")
	}
	if cfg.MinRefetchInterval < 0 {
		return nil, errors.New("requestinfo: RemoteKeysConfig.MinRefetchInterval is negative")
	}
	if cfg.MinRefetchInterval == 0 {
		cfg.MinRefetchInterval = DefaultMinRefetchInterval
	}
	if cfg.StaleLimit == 0 {
		cfg.StaleLimit = DefaultStaleLimit
	}
	if cfg.StaleLimit < cfg.RefreshInterval {
		return nil, errors.New("requestinfo: RemoteKeysConfig.StaleLimit is below RefreshInterval")
	}
	if cfg.FetchTimeout < 0 {
		return nil, errors.New("requestinfo: RemoteKeysConfig.FetchTimeout is negative")
	}
	if cfg.FetchTimeout == 0 {
		cfg.FetchTimeout = DefaultFetchTimeout
	}
	if cfg.MaxSize < 0 {
		return nil, errors.New("requestinfo: RemoteKeysConfig.MaxSize is negative")
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = DefaultMaxJWKSSize
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.FetchTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &RemoteKeys{
		url: cfg.URL, client: cfg.Client, refresh: cfg.RefreshInterval, minRefetch: cfg.MinRefetchInterval,
		staleLimit: cfg.StaleLimit, timeout: cfg.FetchTimeout, maxSize: cfg.MaxSize, now: cfg.Now,
	}, nil
}

// Refresh fetches the keys now, whatever the intervals say; a backend may
// call it at start to fail early. It returns the fetch's error (the last
// good keys are kept then).
func (k *RemoteKeys) Refresh(ctx context.Context) error {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	return k.fetchLocked(ctx)
}

// LastError returns the error of the last fetch, nil when it succeeded or
// none was made: for a backend's health check.
func (k *RemoteKeys) LastError() error {
	if p := k.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// keys returns the keys to verify with, fetching them when none were
// fetched, when they are older than the refresh interval (without waiting
// for a fetch another caller makes, unless they are unusable), or when
// kid is not among them (rate-limited). It errors with ErrKeysUnavailable
// when it has no usable keys.
func (k *RemoteKeys) keys(kid string) ([]verifierKey, error) {
	now := k.now()
	st := k.state.Load()
	switch {
	case !k.usable(st, now):
		k.fetchIfDue(now)
	case now.Sub(st.fetched) >= k.refresh:
		if k.fetchMu.TryLock() {
			if k.due(k.now()) {
				_ = k.fetchLocked(context.Background())
			}
			k.fetchMu.Unlock()
		}
	case kid != "" && !hasKID(st.keys, kid):
		k.fetchIfDue(now)
	}
	st = k.state.Load()
	if !k.usable(st, k.now()) {
		err := k.LastError()
		if err == nil {
			return nil, ErrKeysUnavailable
		}
		return nil, fmt.Errorf("%w: %v", ErrKeysUnavailable, err)
	}
	return st.keys, nil
}

// fetchIfDue fetches when the last attempt was at least MinRefetchInterval
// ago, or never made, waiting for a fetch in progress.
func (k *RemoteKeys) fetchIfDue(now time.Time) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	if k.attempted.Load() != 0 && now.Sub(time.Unix(0, k.attempted.Load())) < k.minRefetch {
		return // rate limit; a fetch that just ended counts too
	}
	_ = k.fetchLocked(context.Background())
}

// due reports whether a periodic refresh is due: the keys are older than
// the refresh interval and the last attempt is older than
// MinRefetchInterval (so a failing server is not asked on every request).
func (k *RemoteKeys) due(now time.Time) bool {
	st := k.state.Load()
	if st != nil && now.Sub(st.fetched) < k.refresh {
		return false
	}
	last := k.attempted.Load()
	return last == 0 || now.Sub(time.Unix(0, last)) >= k.minRefetch
}

// usable reports whether st's keys may be used at now.
func (k *RemoteKeys) usable(st *remoteState, now time.Time) bool {
	return st != nil && now.Sub(st.fetched) <= k.staleLimit
}

// fetchLocked fetches and parses the document; on success the keys
// replace the cached ones. Called with fetchMu held.
func (k *RemoteKeys) fetchLocked(ctx context.Context) error {
	start := k.now()
	k.attempted.Store(start.UnixNano())
	keys, err := k.fetch(ctx)
	if err != nil {
		err = fmt.Errorf("requestinfo: fetching %s: %w", k.url, err)
		k.lastErr.Store(&err)
		return err
	}
	k.state.Store(&remoteState{keys: keys, fetched: start})
	k.lastErr.Store(nil)
	return nil
}

// fetch GETs the document and returns its keys.
func (k *RemoteKeys) fetch(ctx context.Context) ([]verifierKey, error) {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	res, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
		return nil, fmt.Errorf("status %d", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/jwk-set+json" && mt != "application/json") {
			return nil, fmt.Errorf("content type %q is not a JWKS", ct)
		}
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, k.maxSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > k.maxSize {
		return nil, fmt.Errorf("document over %d bytes", k.maxSize)
	}
	pubs, err := ParseJWKS(body)
	if err != nil {
		return nil, err
	}
	if len(pubs) > maxJWKSKeys {
		return nil, fmt.Errorf("%d keys, more than %d", len(pubs), maxJWKSKeys)
	}
	keys := make([]verifierKey, len(pubs))
	for i, pub := range pubs {
		kid, err := Thumbprint(pub)
		if err != nil {
			return nil, err
		}
		keys[i] = verifierKey{pub: pub, kid: kid}
	}
	return keys, nil
}

// hasKID reports whether keys has one of ID kid.
func hasKID(keys []verifierKey, kid string) bool {
	for _, k := range keys {
		if k.kid == kid {
			return true
		}
	}
	return false
}
