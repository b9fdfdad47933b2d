package accounts

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.1 description of every route of the
// table; TestOpenAPIMatchesRoutes keeps the two in step.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the service's OpenAPI 3.1 document (JSON), the one
// served at GET /accounts/v1/openapi.json. It describes every route of
// Routes: who may call it, its parameters, body and answers.
func OpenAPI() []byte { return append([]byte(nil), openAPIDocument...) }

// openAPI serves the OpenAPI document to anyone. It changes only with a
// release, so caches may keep it for five minutes.
func (s *Service) openAPI(r *request) error {
	h := r.Response().Header()
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	return r.Blob(http.StatusOK, "application/json", openAPIDocument)
}
