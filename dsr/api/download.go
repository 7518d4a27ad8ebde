package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/workflow"
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

// downloadFile streams one export file and records the download. A
// chunked file (the export package, up to gigabytes) is read from the
// database a chunk at a time while it is sent, never held whole.
func (s *Server) downloadFile(c echo.Context) error {
	f, err := s.engine.OpenExport(c.Request().Context(), c.Param("token"), c.Param("file"))
	if err != nil {
		return err
	}
	defer f.Body.Close()
	// The requester has no user id: the log line carries the address only.
	s.securityLog(c, "export_downloaded")
	return streamFile(c, f, false)
}

// streamFile sends a stored file as sendFile does, copying it from its
// reader (a chunked file is read a chunk at a time).
func streamFile(c echo.Context, f *workflow.ExportStream, inline bool) error {
	disp := "attachment"
	if inline {
		disp = "inline"
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", fmt.Sprintf("%s; filename=%q", disp, f.Filename))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	return c.Stream(http.StatusOK, f.ContentType, f.Body)
}
