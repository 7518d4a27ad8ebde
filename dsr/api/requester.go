package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// verifyPage shows the confirm button (GET changes nothing).
func (s *Server) verifyPage(c echo.Context) error {
	token := c.Param("token")
	req, err := s.engine.VerificationView(c.Request().Context(), token)
	if err != nil {
		return err
	}
	noStore(c)
	d := s.page()
	d.Request, d.Token = req, token
	return c.Render(http.StatusOK, "verify.html", d)
}

// verifySubmit confirms and redirects to the status page.
func (s *Server) verifySubmit(c echo.Context) error {
	status, err := s.engine.Verify(c.Request().Context(), c.Param("token"))
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/status/"+status+"?confirmed=1")
}

// statusPage shows a request to its requester or agent.
func (s *Server) statusPage(c echo.Context) error {
	return s.renderStatus(c, http.StatusOK, nil)
}

func (s *Server) renderStatus(c echo.Context, code int, errs map[string]string) error {
	token := c.Param("token")
	v, err := s.engine.Status(c.Request().Context(), token)
	if err != nil {
		return err
	}
	noStore(c)
	d := s.page()
	d.View, d.Token, d.Errors = v, token, errs
	switch {
	case c.QueryParam("confirmed") == "1":
		d.Flash = "Thank you — your request is confirmed. We will respond by " + v.Request.DueOn.Long() + " at the latest."
	case c.QueryParam("answered") == "1":
		d.Flash = "Thank you — we received your answer."
	case c.QueryParam("withdrawn") == "1":
		d.Flash = "Your request has been withdrawn."
	case c.QueryParam("appealed") == "1":
		d.Flash = "Thank you — we received your appeal. We will answer by " + v.Request.DueOn.Long() + " at the latest."
	}
	return c.Render(code, "status.html", d)
}

func (s *Server) withdrawPage(c echo.Context) error {
	token := c.Param("token")
	v, err := s.engine.Status(c.Request().Context(), token)
	if err != nil {
		return err
	}
	if err := v.CheckWithdraw(); err != nil {
		return err // a link from before confirmation, an unverified opt-out, or closed
	}
	noStore(c)
	d := s.page()
	d.View, d.Token = v, token
	return c.Render(http.StatusOK, "withdraw.html", d)
}

func (s *Server) withdrawSubmit(c echo.Context) error {
	token := c.Param("token")
	if err := s.engine.Withdraw(c.Request().Context(), token); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/status/"+token+"?withdrawn=1")
}

// answerSubmit takes the requester's answer (text and an optional file).
func (s *Server) answerSubmit(c echo.Context) error {
	token := c.Param("token")
	text, file, bad, err := readTextAndFile(c, "answer", "Your answer")
	if err != nil {
		return err
	}
	if bad != nil {
		return s.renderStatus(c, http.StatusUnprocessableEntity, bad)
	}
	err = s.engine.Answer(c.Request().Context(), token, text, file)
	var de *dsr.Error
	if errors.As(err, &de) && de.Code == dsr.EINVALID {
		return s.renderStatus(c, http.StatusUnprocessableEntity, de.Fields)
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/status/"+token+"?answered=1")
}

// noStore keeps token pages out of shared caches.
func noStore(c echo.Context) { c.Response().Header().Set("Cache-Control", "no-store") }

// readTextAndFile reads a status-page form with one text field and an
// optional "attachment" upload (the answer, the appeal). A field the
// requester must fix comes back in bad (keyed by field, the message
// starting with noun); err is a body that could not be read at all.
func readTextAndFile(c echo.Context, field, noun string) (text string, file *dsr.File, bad map[string]string, err error) {
	form, err := readForm(c)
	if err != nil {
		return "", nil, nil, err
	}
	if fhs := form.File["attachment"]; len(fhs) > 0 && fhs[0].Size > 0 {
		if file, err = readUpload(fhs[0]); err != nil {
			return "", nil, map[string]string{"attachment": err.Error()}, nil
		}
	}
	if vs := form.Value[field]; len(vs) > 0 {
		text = vs[0]
	}
	if msg := dsr.TextProblem(text); msg != "" {
		return "", nil, map[string]string{field: noun + " " + msg + "."}, nil
	}
	return text, file, nil, nil
}
