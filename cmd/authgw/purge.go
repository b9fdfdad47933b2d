package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/purge"
	"github.com/authgw/authgw/db"
)

// Settings of the purge of data past its retention.
const (
	purgeIntervalSetting  = "purge-interval"
	personalDataSetting   = "personal-data-retention"
	auditRetentionSetting = "audit-retention"
	defaultPurgeInterval  = time.Hour
	defaultPersonalData   = purge.DefaultPersonalDataRetention
	defaultAuditRetention = purge.DefaultAuditRetention
)

// purgeSettings are serve's purge settings, resolved.
type purgeSettings struct {
	// interval is --purge-interval; 0 turns the purge off.
	interval time.Duration
	// personalData is --personal-data-retention.
	personalData time.Duration
	// audit is --audit-retention.
	audit time.Duration
}

// resolvePurge reads --purge-interval, --personal-data-retention and
// --audit-retention.
func (s *serveCommand) resolvePurge(c *cli) (purgeSettings, error) {
	var ps purgeSettings
	var err error
	if ps.interval, err = resolveSetting(c, &s.settings, purgeIntervalSetting, defaultPurgeInterval, parseDays(true)); err != nil {
		return ps, err
	}
	if ps.personalData, err = resolveSetting(c, &s.settings, personalDataSetting, defaultPersonalData, parseDays(false)); err != nil {
		return ps, err
	}
	if ps.audit, err = resolveSetting(c, &s.settings, auditRetentionSetting, defaultAuditRetention, parseDays(false)); err != nil {
		return ps, err
	}
	return ps, nil
}

// parseDays reads a Go duration, or a whole number of days such as
// "30d"; zero only when zeroOK.
func parseDays(zeroOK bool) func(string) (time.Duration, error) {
	return func(v string) (time.Duration, error) {
		var d time.Duration
		var err error
		if n, ok := strings.CutSuffix(v, "d"); ok {
			var days int
			days, err = strconv.Atoi(n)
			if days > 100*365 {
				err = fmt.Errorf("too long")
			}
			d = time.Duration(days) * 24 * time.Hour
		} else {
			d, err = time.ParseDuration(v)
		}
		if err != nil || d < 0 || (d == 0 && !zeroOK) {
			if zeroOK {
				return 0, fmt.Errorf("%q is not a duration such as 1h, 30m or 1d (0: off)", v)
			}
			return 0, fmt.Errorf("%q is not a positive duration such as 720h or 30d", v)
		}
		return d, nil
	}
}

// startPurge runs the purge in the background until ctx ends, unless
// its interval is 0. Every instance on a database may purge it: deletes
// are idempotent.
func startPurge(ctx context.Context, c *cli, ps purgeSettings, store *db.DB, logger *slog.Logger) error {
	if ps.interval == 0 {
		logger.Info("purge of data past its retention is off (--purge-interval 0)")
		return nil
	}
	p, err := purge.New(purge.Config{
		Store:                 store,
		Interval:              ps.interval,
		PersonalDataRetention: ps.personalData,
		AuditRetention:        ps.audit,
		// serve keeps the accounts service's mail window.
		MailWindow: accounts.DefaultMailWindow,
		Logger:     logger,
		Now:        c.now,
	})
	if err != nil {
		return err
	}
	go p.Run(ctx)
	return nil
}
