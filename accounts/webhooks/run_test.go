package webhooks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/authgw/authgw/accounts/webhooks"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestMetricsAndRetention: the metrics count deliveries by outcome and
// the queue by state; Run deletes finished deliveries past Retention and
// returns when its context ends.
func TestMetricsAndRetention(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		hits := make(chan string, 10)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits <- r.Header.Get("webhook-id") }))
		defer srv.Close()
		f.subscribe(t, srv.URL+"/in", "*")
		f.event(t, "user.created")
		reg := prometheus.NewRegistry()
		disp, err := webhooks.New(webhooks.Config{Store: d, Sealer: f.sealer, Timeout: time.Second, Lease: 2 * time.Second, Poll: 10 * time.Millisecond,
			Retention: time.Hour, Now: f.clock.now, Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		disp.Round(t.Context())
		<-hits
		want := `
# HELP authgw_webhook_deliveries_total Webhook delivery attempts by outcome: delivered, retry (failed, to be tried again), dead (given up).
# TYPE authgw_webhook_deliveries_total counter
authgw_webhook_deliveries_total{outcome="dead"} 0
authgw_webhook_deliveries_total{outcome="delivered"} 1
authgw_webhook_deliveries_total{outcome="retry"} 0
# HELP authgw_webhook_queue_depth Webhook deliveries by state: pending, delivered, dead.
# TYPE authgw_webhook_queue_depth gauge
authgw_webhook_queue_depth{state="dead"} 0
authgw_webhook_queue_depth{state="delivered"} 1
authgw_webhook_queue_depth{state="pending"} 0
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
			t.Error(err)
		}
		if _, err := webhooks.New(webhooks.Config{Store: d, Sealer: f.sealer, Registerer: reg}); err == nil {
			t.Error("registering the metrics twice did not fail")
		}

		f.clock.advance(2 * time.Hour)
		runCtx, stop := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { disp.Run(runCtx); close(done) }()
		deadline := time.Now().Add(5 * time.Second)
		for {
			depth, err := d.WebhookQueueDepth(t.Context())
			if err == nil && depth[db.DeliveryDelivered] == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the delivered delivery was not deleted: %v, %v", depth, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		<-done
	})
}

// TestRedirectNotFollowed: a 3xx is a failed attempt; the signed event
// never goes to the URL the receiver redirects to.
func TestRedirectNotFollowed(t *testing.T) {
	d := dbtest.SQLite(t)
	f := newFixture(t, d)
	elsewhere := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			elsewhere <- struct{}{}
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	f.subscribe(t, srv.URL+"/in", "*")
	f.event(t, "user.created")
	f.dispatcher(t, d).Round(t.Context())
	if dl := f.delivery(t); dl.Status != db.DeliveryPending || dl.LastStatus != http.StatusTemporaryRedirect || dl.LastError != "HTTP 307" {
		t.Errorf("after a redirect: %+v", dl)
	}
	select {
	case <-elsewhere:
		t.Error("the redirect was followed")
	default:
	}
}
