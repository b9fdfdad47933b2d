package main

import (
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// processMetrics is the one registry a serve process exposes at the
// admin listener's /metrics: the gateway, the accounts service and any
// background worker register with it (a registry per process rather than
// prometheus's global one, so that tests running several in one binary
// keep theirs apart), plus what belongs to the process itself.
type processMetrics struct {
	registry *prometheus.Registry
	// revocationLag is the revocation poller's Lag.
	revocationLag prometheus.Histogram
}

// revocationLagBuckets are the upper bounds (seconds) of the revocation
// lag: the feed is polled every second, so most land between 0.1 and 2;
// the long tail is a poller that stopped reading.
var revocationLagBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 300}

// newProcessMetrics returns the registry with the Go runtime and
// process collectors, authgw_build_info and the revocation lag.
func newProcessMetrics() *processMetrics {
	m := &processMetrics{
		registry: prometheus.NewRegistry(),
		revocationLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "authgw_revocation_lag_seconds",
			Help:    "Time from a revocation's creation (the writer's clock) to this instance applying it from the database feed.",
			Buckets: revocationLagBuckets,
		}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(debug.ReadBuildInfo()),
		m.revocationLag,
	)
	return m
}

// buildInfo is authgw_build_info: always 1, labelled with the module
// version, the VCS revision the binary was built from and the Go
// version; "unknown" for what the build did not record (go run and
// tests record no revision).
func buildInfo(bi *debug.BuildInfo, ok bool) prometheus.Collector {
	version, revision, goVersion := "unknown", "unknown", "unknown"
	if ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "authgw_build_info",
		Help:        "Always 1; the labels say which build runs.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion},
	})
	g.Set(1)
	return g
}
