package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// downloadPage lists the export files behind a data subject's link. An
// expired link says so and offers to contact the company.
func (s *Server) downloadPage(c echo.Context) error {
	dl, err := s.engine.DownloadView(c.Request().Context(), c.Param("token"))
	if err != nil {
		return err
	}
	noStore(c)
	d := s.page()
	d.Token, d.Download = c.Param("token"), dl
	return c.Render(http.StatusOK, "download.html", d)
}

// downloadFile sends one export file and records the download.
func (s *Server) downloadFile(c echo.Context) error {
	f, err := s.engine.FetchExport(c.Request().Context(), c.Param("token"), c.Param("file"))
	if err != nil {
		return err
	}
	// The requester has no user id: the log line carries the address only.
	s.securityLog(c, "export_downloaded")
	return sendFile(c, f, false)
}
