package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Letters: a request entered without an email address sends every
// message as a letter, which an officer prints from its print view and
// marks posted.

// letterPrintPage shows one letter ready to print: GET
// /console/requests/:id/letters/:msg. Errors: 404 for an unknown request
// or letter.
func (s *Server) letterPrintPage(c echo.Context) error {
	if !isUUID(c.Param("id")) || !isUUID(c.Param("msg")) {
		return dsr.Errorf(dsr.ENOTFOUND, "letter not found")
	}
	ctx := c.Request().Context()
	l, err := s.engine.Letter(ctx, c.Param("id"), c.Param("msg"))
	if err != nil {
		return err
	}
	req, err := s.engine.Request(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	d := s.consolePage(c)
	d.Letter, d.Request, d.Flash = l, req, s.takeFlash(c)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Render(http.StatusOK, "console_print.html", d)
}

// letterPosted records that the officer posted the letter: POST
// /console/requests/:id/letters/:msg/posted, then back to the request
// page. Errors: 404 unknown letter; 409 already marked posted.
func (s *Server) letterPosted(c echo.Context) error {
	if !isUUID(c.Param("id")) || !isUUID(c.Param("msg")) {
		return dsr.Errorf(dsr.ENOTFOUND, "letter not found")
	}
	id := c.Param("id")
	if err := s.engine.MarkLetterPosted(c.Request().Context(), id, c.Param("msg"), currentUser(c).ID); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/console/requests/"+id, "Letter marked posted.")
}
