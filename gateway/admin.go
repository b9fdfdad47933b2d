package gateway

import (
	"encoding/json"
	"net/http"
)

// Admin returns the handler of the admin listener: GET /healthz (200
// {"status":"ok"} while the process serves), GET /readyz and GET /metrics
// (Prometheus text format), and InfoKeysPath and InfoKeysWellKnownPath
// (the request-info public keys, as on the gateway's listener). Serve it on a listener of its own, not exposed
// to clients.
//
// /readyz answers 503 {"status":"not-ready","detail":...} only when the
// gateway cannot serve (Ready fails: no snapshot loaded yet). Otherwise
// it answers 200: {"status":"ready"}, or {"status":"degraded",
// "degraded":[...]} with what Degraded reports, such as a snapshot kept
// while the database is down. A load balancer can thus take out an
// instance that cannot serve without taking out every instance when a
// shared dependency fails.
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
		if d := g.Degraded(); len(d) > 0 {
			writeJSON(w, http.StatusOK, readiness{Status: "degraded", Degraded: d})
			return
		}
		writeJSON(w, http.StatusOK, readiness{Status: "ready"})
	})
	mux.HandleFunc(InfoKeysPath, g.serveInfoKeys)
	mux.HandleFunc(InfoKeysWellKnownPath, g.serveInfoKeys)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		g.metrics.write(w)
	})
	return mux
}

// readiness is the body of /readyz.
type readiness struct {
	Status   string   `json:"status"`             // "ready", "degraded" or "not-ready"
	Detail   string   `json:"detail,omitempty"`   // why not ready
	Degraded []string `json:"degraded,omitempty"` // what is degraded while serving
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
