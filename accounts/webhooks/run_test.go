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
authgw_webhook_deliveries_total{outcome="delivered"} 1
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
