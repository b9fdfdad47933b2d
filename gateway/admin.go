package gateway

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Admin returns the handler of the admin listener: GET /healthz (200
// {"status":"ok"} while the process serves), GET /readyz and GET /metrics
// (Prometheus exposition of Config.Registry: the gateway's metrics and
// whatever else the process registered there), and InfoKeysPath and InfoKeysWellKnownPath
// (the request-info public keys, as on the gateway's listener). Serve it on a listener of its own, not exposed
// to clients.
//
// /readyz answers 503 {"status":"not-ready","detail":...} only when the
// gateway cannot serve (Ready fails: no snapshot loaded yet). Otherwise
// it answers 200: {"status":"ready"}, or {"status":"degraded",
// "degraded":[...]} with what Degraded reports, such as a snapshot kept
// while the database is down. A load balancer can thus take out an
// instance that cannot serve without taking out every instance when a
// shared dependency fails. With Config.Settings, the body also lists the
// settings read again while serving ("settings": SettingStatus); one whose
// file is refused makes the answer degraded, still 200, since the last
// good one keeps serving.
func (g *Gateway) Admin() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := g.Ready(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, readiness{Status: "not-ready", Detail: err.Error()})
			return
		}
		var settings []SettingStatus
		if g.cfg.Settings != nil {
			settings = g.cfg.Settings()
		}
		if d := g.Degraded(); len(d) > 0 {
			writeJSON(w, http.StatusOK, readiness{Status: "degraded", Degraded: d, Settings: settings})
			return
		}
		writeJSON(w, http.StatusOK, readiness{Status: "ready", Settings: settings})
	})
	mux.HandleFunc(InfoKeysPath, g.serveInfoKeys)
	mux.HandleFunc(InfoKeysWellKnownPath, g.serveInfoKeys)
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.cfg.Registry, promhttp.HandlerOpts{
		// A collector that fails (a process statistic the OS will not
		// give) costs its own series, not the whole page.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(g.cfg.Logger.Handler(), slog.LevelWarn),
	}))
	return mux
}

// readiness is the body of /readyz.
type readiness struct {
	Status   string   `json:"status"`             // "ready", "degraded" or "not-ready"
	Detail   string   `json:"detail,omitempty"`   // why not ready
	Degraded []string `json:"degraded,omitempty"` // what is degraded while serving
	// Settings are the settings read again while serving (Config.Settings).
	Settings []SettingStatus `json:"settings,omitempty"`
}

// SettingStatus is what /readyz says of a setting read again while
// serving (a policy directory, a key file): when its file was last
// loaded and, when the file now there is refused, why and since when,
// the last good one still in use.
type SettingStatus struct {
	// Setting names the setting, such as --policies.
	Setting string `json:"setting"`
	// Path is its file or directory.
	Path string `json:"path"`
	// LoadedAt is when the contents in use were loaded.
	LoadedAt time.Time `json:"loadedAt"`
	// Error says why the file now there is refused; "" when it is in use.
	Error string `json:"error,omitempty"`
	// FailedAt is when it was refused; zero when Error is "".
	FailedAt time.Time `json:"failedAt,omitzero"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
