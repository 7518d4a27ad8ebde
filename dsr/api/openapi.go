package api

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument is the OpenAPI 3.1 contract of every /api/ route. The
// contract test (contract_test.go) checks that it names exactly the
// registered /api/ routes and validates every response of the test suite
// against it; README "API contract (OpenAPI)" says how to add a route.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the embedded OpenAPI 3.1 document (JSON).
func OpenAPIDocument() []byte { return openAPIDocument }

// openAPIRoute serves the document at GET /api/openapi.json, public: it
// holds no secret and clients generate code from it.
func (s *Server) openAPIRoute() {
	s.e.GET("/api/openapi.json", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=300")
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
	})
}
