package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/oidcop"
	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
)

// Reloading without a restart: serve reads the policies, the key ring,
// the request-info key file and the TOTP key file again on SIGHUP and
// when their contents change (a poll every --reload-interval). A file
// that is broken, or whose key material the other instances do not
// share, is reported in one log line naming the setting and kept out: the
// last good one goes on applying, and /readyz lists it as degraded until
// a good one replaces it.

// reloadIntervalSetting is how often serve looks for changed files.
const reloadIntervalSetting = "reload-interval"

// defaultReloadInterval is --reload-interval's default.
const defaultReloadInterval = 3 * time.Second

// reloadCheckTimeout bounds a reload's database work (the shared-material
// check).
const reloadCheckTimeout = 5 * time.Second

// reloader re-reads serve's reloadable settings and hands what it loads
// to the minter, the accounts service, the gateway, the request-info
// signer and the TOTP sealer.
type reloader struct {
	c        *cli
	logger   *slog.Logger
	store    *db.DB
	interval time.Duration

	// policies are the policies logins mint from (currentPolicies).
	policies atomic.Pointer[policy.Set]

	// statusMu guards the files' status, read by /readyz, which must not
	// wait for a reload's database check.
	statusMu sync.Mutex
	// mu serializes reloads and guards what follows.
	mu sync.Mutex
	// cfg holds the material in use (keys, the TOTP keys, the server
	// ID), checked against the database's fingerprints on a reload.
	cfg      serveConfig
	infoKeys infosign.KeySet
	files    []*watchedFile
	// Set once the service and the gateway are built.
	minter   *mint.Minter
	accounts *accounts.Service
	oidc     *oidcop.Provider
	gw       *gateway.Gateway
	signer   *infosign.Signer
	totp     *totp.TOTP
}

// watchedFile is one reloadable setting: its file (or directory), the
// hash of the contents last read, and the outcome of the last load.
type watchedFile struct {
	setting string // as the log and /readyz name it, e.g. --policies
	path    string
	dir     bool
	stamp   [sha256.Size]byte
	// load reads path and applies it; an error keeps the last good one.
	load   func(ctx context.Context) error
	status gateway.SettingStatus
}

// newReloader makes serve's reloader on the settings loaded at start; it
// watches the policies directory, the key ring file (unless the ring came
// as JSON in AUTHGW_KEYS), the request-info key file and the TOTP key
// file.
func (s *serveCommand) newReloader(c *cli, cfg serveConfig, infoKeys infosign.KeySet, store *db.DB, logger *slog.Logger) (*reloader, error) {
	r := &reloader{c: c, logger: logger, store: store, interval: cfg.reloadInterval, cfg: cfg, infoKeys: infoKeys}
	r.policies.Store(cfg.policies)
	now := c.now()

	dir, _, found, err := s.lookup(c, "policies")
	if err != nil {
		return nil, err
	}
	if !found {
		dir = filepath.Join(cfg.dataDir, examplePoliciesDir)
	}
	r.watch("--policies", dir, true, r.loadPolicies, now)

	keys, _, found, err := s.lookup(c, "keys")
	if err != nil {
		return nil, err
	}
	switch {
	case !found:
		r.watch("--keys", filepath.Join(cfg.dataDir, keysFile), false, r.loadKeys, now)
	case !strings.HasPrefix(strings.TrimSpace(keys), "{"):
		r.watch("--keys", keys, false, r.loadKeys, now)
	}
	r.watch("--info-key", cfg.infoKeyPath, false, r.loadInfoKeys, now)

	totpPath, _, found, err := s.lookup(c, "totp-key")
	if err != nil {
		return nil, err
	}
	if !found {
		totpPath = filepath.Join(cfg.dataDir, totpKeyFile)
	}
	r.watch("--totp-key", totpPath, false, r.loadTOTPKeys, now)

	return r, nil
}

// watch adds a setting whose contents at start are the ones loaded.
func (r *reloader) watch(setting, path string, dir bool, load func(string) func(context.Context) error, now time.Time) {
	f := &watchedFile{setting: setting, path: path, dir: dir, stamp: contentStamp(path, dir)}
	f.load = load(path)
	f.status = gateway.SettingStatus{Setting: setting, Path: path, LoadedAt: now}
	r.files = append(r.files, f)
}

// currentPolicies is accounts.Config.Policies: the last good policies.
func (r *reloader) currentPolicies() *policy.Set { return r.policies.Load() }

// start reloads on SIGHUP (every setting, changed or not) and, every
// interval, the settings whose contents changed, until ctx ends. SIGHUP
// is caught before start returns, so that it never ends the process.
func (r *reloader) start(ctx context.Context) {
	hangup := make(chan os.Signal, 1)
	signal.Notify(hangup, syscall.SIGHUP)
	var tick <-chan time.Time
	var ticker *time.Ticker
	if r.interval > 0 {
		ticker = time.NewTicker(r.interval)
		tick = ticker.C
	}
	go func() {
		defer signal.Stop(hangup)
		if ticker != nil {
			defer ticker.Stop()
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-hangup:
				r.logger.Info("SIGHUP: reading the policies, the key ring, the request-info key and the TOTP key again")
				r.reload(ctx, true)
			case <-tick:
				r.reload(ctx, false)
			}
		}
	}()
}

// reload loads the settings whose contents changed since their last
// load, or all of them with force. A failure is logged once per content.
func (r *reloader) reload(ctx context.Context, force bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.files {
		stamp := contentStamp(f.path, f.dir)
		if stamp == f.stamp && !force {
			continue
		}
		f.stamp = stamp
		now := r.c.now()
		err := f.load(ctx)
		r.statusMu.Lock()
		if err != nil {
			f.status.Error, f.status.FailedAt = err.Error(), now
		} else {
			f.status.Error, f.status.FailedAt, f.status.LoadedAt = "", time.Time{}, now
		}
		r.statusMu.Unlock()
		if err != nil {
			r.logger.Error("reload refused: the last good one stays in use", "setting", f.setting, "path", f.path, "err", err)
			continue
		}
		r.logger.Info("reloaded", "setting", f.setting, "path", f.path)
	}
}

// contentStamp hashes the file's contents, or the names and contents of
// the directory's files; a read error hashes the error, so that a
// missing file counts as a change once.
func contentStamp(path string, dir bool) [sha256.Size]byte {
	h := sha256.New()
	if !dir {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(h, "error %v", err)
		}
		h.Write(b)
		return [sha256.Size]byte(h.Sum(nil))
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		fmt.Fprintf(h, "error %v", err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(path, e.Name()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(h, "error %v", err)
		}
		fmt.Fprintf(h, "%q %d\x00", e.Name(), len(b))
		h.Write(b)
	}
	return [sha256.Size]byte(h.Sum(nil))
}

// loadPolicies reads the policies directory: the next login and refresh
// mint from it.
func (r *reloader) loadPolicies(dir string) func(context.Context) error {
	return func(context.Context) error {
		set, err := policy.LoadDir(dir)
		if err == nil {
			err = set.CheckServerID(r.cfg.serverID)
		}
		if err != nil {
			return err
		}
		if old := longestTokenLifetime(r.policies.Load()); longestTokenLifetime(set) > old {
			r.logger.Warn("a reloaded policy's expires is longer than at start: revocations are kept for the start's longest until a restart",
				"setting", "--policies", "kept", old.String())
		}
		r.policies.Store(set)
		return nil
	}
}

// loadKeys reads the key ring file; a ring that shares no key with the
// instances on the database is refused (sharedmaterial), a key added is
// recorded. The minter mints with its first key and the gateway verifies
// with all of them from the next request on.
func (r *reloader) loadKeys(path string) func(context.Context) error {
	return func(ctx context.Context) error {
		ring, err := mint.LoadKeyRing(path)
		if err != nil {
			return err
		}
		if ring.Equal(r.cfg.keys) {
			// SIGHUP with the same ring: the memo of verified tokens stays.
			return nil
		}
		cfg := r.cfg
		cfg.keys = ring
		if err := r.checkShared(ctx, cfg, r.infoKeys); err != nil {
			return err
		}
		if err := r.gw.SetKeys(ring); err != nil {
			return err
		}
		if err := r.minter.SetKeys(ring); err != nil {
			return err
		}
		r.accounts.SetKeys(ring)
		if r.oidc != nil {
			if err := r.oidc.SetKeys(ring); err != nil {
				return err
			}
		}
		r.cfg = cfg
		return nil
	}
}

// loadInfoKeys reads the request-info key file (a rotation by authgw keys
// rotate-info): the next X-Auth-Info is signed with its signing key and
// the published keys follow.
func (r *reloader) loadInfoKeys(path string) func(context.Context) error {
	return func(ctx context.Context) error {
		keys, err := infosign.LoadKeySet(path)
		if err != nil {
			return err
		}
		if err := r.checkShared(ctx, r.cfg, keys); err != nil {
			return err
		}
		if err := r.signer.SetKeys(keys.Signing, previousInfoKeys(keys)); err != nil {
			return err
		}
		r.infoKeys = keys
		return nil
	}
}

// loadTOTPKeys reads the TOTP key file (a key ring rotation, see authgw
// totp --help): the first key seals the next secret, every key opens.
// A ring sharing no key with the instances on the database is refused.
func (r *reloader) loadTOTPKeys(path string) func(context.Context) error {
	return func(ctx context.Context) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		keys, err := totp.ParseKeyFile(b)
		if err != nil {
			return err
		}
		cfg := r.cfg
		cfg.totpKeys = keys
		if err := r.checkShared(ctx, cfg, r.infoKeys); err != nil {
			return err
		}
		if err := r.totp.SetKeys(keys); err != nil {
			return err
		}
		r.cfg = cfg
		return nil
	}
}

// checkShared checks the material against the database's fingerprints,
// recording a rotation; a refusal is returned without serve's hints.
func (r *reloader) checkShared(ctx context.Context, cfg serveConfig, keys infosign.KeySet) error {
	ctx, cancel := context.WithTimeout(ctx, reloadCheckTimeout)
	defer cancel()
	err := checkSharedInfoKeys(ctx, r.store, cfg, keys, false, r.c.now(), r.logger)
	if u, ok := errors.AsType[*usageError](err); ok {
		return errors.New(u.msg)
	}
	return err
}

// Settings is gateway.Config.Settings: each reloadable setting, when it
// was loaded, and why its file is refused, if it is.
func (r *reloader) Settings() []gateway.SettingStatus {
	r.statusMu.Lock()
	defer r.statusMu.Unlock()
	out := make([]gateway.SettingStatus, 0, len(r.files))
	for _, f := range r.files {
		out = append(out, f.status)
	}
	return out
}

// Degraded is a gateway.Config.Health check: the settings whose file is
// refused, the last good one still in use.
func (r *reloader) Degraded() string {
	var broken []string
	for _, s := range r.Settings() {
		if s.Error != "" {
			broken = append(broken, s.Setting+" ("+s.Path+")")
		}
	}
	if len(broken) == 0 {
		return ""
	}
	slices.Sort(broken)
	return "reload refused, the last good one in use: " + strings.Join(broken, ", ")
}
