package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/workflow"
)

// redirectsShown is how many redirects the console lists (newest first).
const redirectsShown = 200

// redirectList is the console's list of requests answered on the
// processor path ("this is about data a client of ours controls"):
// recorded as redirected to the client, not as requests of ours.
type redirectList struct {
	Rows  []workflow.RedirectRow
	Total int
}

// redirectsPage lists the redirected requests with the instructions each
// requester was sent: GET /console/redirects.
func (s *Server) redirectsPage(c echo.Context) error {
	d := s.consolePage(c)
	rows, total, err := s.engine.Redirects(c.Request().Context(), redirectsShown)
	if err != nil {
		return err
	}
	d.Redirects = &redirectList{Rows: rows, Total: total}
	return c.Render(http.StatusOK, "console_redirects.html", d)
}

// ProcessorPath reports whether the organisation's form has the processor
// path (a processor notice in its config), so the console links to its
// redirects.
func (d *pageData) ProcessorPath() bool { return d.org != nil && d.org.Processor != nil }
