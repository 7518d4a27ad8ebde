package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// consoleRoutes registers the officer console: session cookies, CSRF on
// every form, a role on every route.
func (s *Server) consoleRoutes() {
	// Bodies are already bounded (bodyLimiter). The session is checked
	// before the CSRF token, which is the session's own.
	open := s.e.Group("/console", s.anonCSRF)
	open.GET("/login", s.loginPage)
	open.POST("/login", s.login)

	g := s.e.Group("/console", s.sessionAuth, s.sessionCSRF)
	read, work, admin := requireRole(readRoles...), requireRole(workRoles...), requireRole(adminRoles...)
	g.POST("/logout", s.logout, read)
	g.GET("", s.queuePage, read)
	g.GET("/requests/new", s.entryPage, work)
	g.POST("/requests/new", s.entrySubmit, work)
	g.GET("/requests/:id", s.requestPage, read)
	g.GET("/requests/:id/attachments/:att", s.consoleAttachment, read)
	g.GET("/requests/:id/letters/:msg", s.letterPrintPage, read)
	g.POST("/requests/:id/letters/:msg/posted", s.letterPosted, work)
	g.POST("/requests/:id/:action", s.consoleAction, work)
	g.POST("/requests/:id/tasks/:task/:action", s.consoleTaskAction, work)
	g.POST("/requests/:id/inbound/:email/accept", s.consoleAcceptReply, work)
	g.POST("/bulk", s.consoleBulk, work)
	g.GET("/outbox", s.outboxPage, read)
	g.GET("/redirects", s.redirectsPage, read)
	g.POST("/outbox/:id/retry", s.outboxRetry, work)
	s.userRoutes(g, admin)
	s.mountJobs(g, admin)
	s.reportRoutes(g, read, admin)
}

// today is the engine clock's date in the organisation's time zone.
func (s *Server) today() dsr.Date { return dsr.DateIn(s.engine.Now(), s.org.Location()) }

// consolePage is the base data of every console page.
func (s *Server) consolePage(c echo.Context) *pageData {
	d := s.page()
	d.User, d.CSRF = currentUser(c), csrfToken(c)
	d.CanWork = d.User != nil && d.User.Role != workflow.RoleViewer
	return d
}

func (s *Server) outboxPage(c echo.Context) error {
	d := s.consolePage(c)
	msgs, err := s.engine.Outbox(c.Request().Context(), 200)
	if err != nil {
		return err
	}
	d.Messages, d.Flash = msgs, s.takeFlash(c)
	return c.Render(http.StatusOK, "console_outbox.html", d)
}

func (s *Server) outboxRetry(c echo.Context) error {
	if !isUUID(c.Param("id")) {
		return dsr.Errorf(dsr.ENOTFOUND, "message not found")
	}
	if err := s.engine.RetryMessage(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/console/outbox", "Message queued again.")
}

// isUUID reports whether s is written as a UUID: ids in paths and forms
// are checked before they reach the engine, so a typo is a 404, not a
// database error.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if r != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}
