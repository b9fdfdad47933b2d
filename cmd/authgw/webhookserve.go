package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/authgw/authgw/accounts/webhooks"
	"github.com/authgw/authgw/db"
	"github.com/prometheus/client_golang/prometheus"
)

// Settings of the webhook dispatcher of serve.
const (
	webhookWorkersSetting   = "webhook-workers"
	webhookAllowHTTPSetting = "webhook-allow-http"
	defaultWebhookWorkers   = 4
	maxWebhookWorkers       = 256
)

// webhookSettings are serve's webhook settings, resolved.
type webhookSettings struct {
	// workers is --webhook-workers: deliveries sent at once by this
	// instance; 0 sends none here (other instances do).
	workers int
	// allowHTTP is --webhook-allow-http: plain http URLs on any host.
	allowHTTP bool
}

// resolveWebhooks reads --webhook-workers and --webhook-allow-http.
func (s *serveCommand) resolveWebhooks(c *cli) (webhookSettings, error) {
	var ws webhookSettings
	var err error
	if ws.workers, err = resolveSetting(c, &s.settings, webhookWorkersSetting, defaultWebhookWorkers, parseWebhookWorkers); err != nil {
		return ws, err
	}
	if ws.allowHTTP, err = resolveSetting(c, &s.settings, webhookAllowHTTPSetting, false, parseBool); err != nil {
		return ws, err
	}
	return ws, nil
}

// parseWebhookWorkers reads a number of workers, 0 to maxWebhookWorkers.
func parseWebhookWorkers(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxWebhookWorkers {
		return 0, fmt.Errorf("%q is not a number from 0 (no deliveries from this instance) to %d", v, maxWebhookWorkers)
	}
	return n, nil
}

// startWebhooks runs the webhook dispatcher in the background, off the
// request path, until ctx ends; stop ends it and waits for its requests
// in flight to end (each within the delivery timeout, 10 s) and be
// recorded, before the store closes. With 0 workers it does nothing. sealer opens the subscriptions' secrets: the accounts
// service's TOTP sealer, whose key ring a reload replaces. Its metrics
// go to the process's registry.
func startWebhooks(ctx context.Context, c *cli, ws webhookSettings, store *db.DB, sealer webhooks.Sealer, logger *slog.Logger, metrics prometheus.Registerer) (stop func(), err error) {
	if ws.workers == 0 {
		logger.Info("webhook deliveries are off on this instance (--webhook-workers 0)")
		return func() {}, nil
	}
	d, err := webhooks.New(webhooks.Config{Store: store, Sealer: sealer, Workers: ws.workers, AllowHTTP: ws.allowHTTP,
		Logger: logger, Now: c.now, Registerer: metrics})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	return func() { cancel(); <-done }, nil
}
