package verifier_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/authgw/authgw/verifier"
)

// BenchmarkMiddleware measures a request through each middleware, with
// the verified-token memo warm: one granted, one refused (no token). The
// app behind answers 204; Echo keeps its default HTTPErrorHandler.
func BenchmarkMiddleware(b *testing.B) {
	ring := testRing(b)
	get := mintTokens(b, ring, browserPolicy).ByMethod["GET"]
	cfg := baseConfig(ring)
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }
	v, err := verifier.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	e := echo.New()
	e.Use(v.EchoMiddleware(verifier.DefaultEchoConfig))
	e.GET("/*", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	handlers := []struct {
		name string
		h    http.Handler
	}{{"echo", e}, {"net-http", v.HTTPMiddleware(http.HandlerFunc(ok))}}
	for _, h := range handlers {
		for _, tc := range []struct {
			name   string
			token  string
			status int
		}{{"granted", get, http.StatusNoContent}, {"refused", "", http.StatusUnauthorized}} {
			b.Run(h.name+"/"+tc.name, func(b *testing.B) {
				req := httptest.NewRequest("GET", userPath(""), nil)
				if tc.token != "" {
					req.Header.Set("Authorization", "Macaroon "+tc.token)
				}
				b.ReportAllocs()
				for b.Loop() {
					rec := httptest.NewRecorder()
					h.h.ServeHTTP(rec, req)
					if rec.Code != tc.status {
						b.Fatalf("status %d, want %d", rec.Code, tc.status)
					}
				}
			})
		}
	}
}
