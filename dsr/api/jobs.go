package api

import (
	"context"
	"log/slog"

	"github.com/labstack/echo/v4"
	"riverqueue.com/riverui"
)

// mountJobs mounts River UI at /console/jobs for admins. The UI has no
// auth of its own: the console group's session and the admin role guard
// it, and sessionCSRF its JSON actions (cancel, retry, delete), which the
// UI's frontend sends without a token: they pass on same-origin proof
// (Sec-Fetch-Site or Origin) or an X-CSRF-Token header. Job arguments
// hold only IDs, and are hidden by default anyway.
func (s *Server) mountJobs(g *echo.Group, admin echo.MiddlewareFunc) {
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints:                riverui.NewEndpoints(s.engine.River(), nil),
		Logger:                   slog.New(slog.DiscardHandler),
		Prefix:                   "/console/jobs",
		JobListHideArgsByDefault: true,
	})
	if err != nil {
		s.log.Error("river ui unavailable", "error", err)
		return
	}
	if err := h.Start(context.Background()); err != nil {
		s.log.Error("river ui unavailable", "error", err)
		return
	}
	g.Any("/jobs", echo.WrapHandler(h), admin)
	g.Any("/jobs/*", echo.WrapHandler(h), admin)
}
