package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

var statusOf = map[string]int{
	dsr.EINVALID:      http.StatusUnprocessableEntity,
	dsr.ENOTFOUND:     http.StatusNotFound,
	dsr.ECONFLICT:     http.StatusConflict,
	dsr.EUNAUTHORIZED: http.StatusUnauthorized,
	dsr.EFORBIDDEN:    http.StatusForbidden,
	dsr.EGONE:         http.StatusGone,
	dsr.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	dsr.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	dsr.ERATELIMIT:    http.StatusTooManyRequests,
	dsr.EUNAVAILABLE:  http.StatusUnprocessableEntity,
	dsr.ETEMPORARY:    http.StatusServiceUnavailable,
	dsr.EINTERNAL:     http.StatusInternalServerError,
}

var codeOfStatus = map[int]string{
	http.StatusBadRequest:            dsr.EINVALID,
	http.StatusNotFound:              dsr.ENOTFOUND,
	http.StatusMethodNotAllowed:      dsr.ENOTFOUND,
	http.StatusRequestEntityTooLarge: dsr.ETOOLARGE,
	http.StatusUnsupportedMediaType:  dsr.EUNSUPPORTED,
	http.StatusTooManyRequests:       dsr.ERATELIMIT,
	http.StatusForbidden:             dsr.EFORBIDDEN,
	http.StatusUnauthorized:          dsr.EUNAUTHORIZED,
	http.StatusServiceUnavailable:    dsr.EINTERNAL,
}

// errBadRequest marks malformed input that is not a field problem: 400.
type errBadRequest struct{ msg string }

func (e errBadRequest) Error() string { return e.msg }

// apiError is the JSON error envelope.
type apiError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	Rule    string            `json:"rule,omitempty"`
}

// classify turns any error into (HTTP status, envelope).
func classify(err error) (int, apiError) {
	var br errBadRequest
	if errors.As(err, &br) {
		return http.StatusBadRequest, apiError{Code: dsr.EINVALID, Message: br.msg}
	}
	// A body cut off at its route's limit (see bodyLimiter), wherever it
	// was being read: 413, not the 400 of a malformed form.
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, apiError{Code: dsr.ETOOLARGE, Message: "The request is too large."}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code, ok := codeOfStatus[he.Code]
		if !ok {
			code = dsr.EINTERNAL
		}
		msg := http.StatusText(he.Code)
		if he.Code == http.StatusRequestEntityTooLarge {
			msg = "The request is too large."
		}
		return he.Code, apiError{Code: code, Message: msg}
	}
	if workflow.InvalidInput(err) {
		// The safety net behind validation: PostgreSQL refused a value
		// (a NUL byte, broken UTF-8, a non-UUID id: SQLSTATE class 22). 400,
		// and the message quotes nothing of the input.
		return http.StatusBadRequest, apiError{Code: dsr.EINVALID, Message: "Some input is not valid text or not a valid id."}
	}
	var de *dsr.Error
	if errors.As(err, &de) && de.Code != dsr.EINTERNAL {
		return statusOf[de.Code], apiError{Code: de.Code, Message: de.Message, Fields: de.Fields, Rule: de.Rule}
	}
	if workflow.Unreachable(err) {
		return http.StatusServiceUnavailable, apiError{Code: dsr.ETEMPORARY, Message: "The service is briefly unavailable. Please try again in a minute."}
	}
	return http.StatusInternalServerError, apiError{Code: dsr.EINTERNAL, Message: "Internal error. Please try again later."}
}

// handleError is Echo's single error handler: JSON for /api/, an HTML page
// for everything else. Internal errors are logged by kind (code, SQLSTATE,
// type: never the error text, which can quote request content) and shown
// generically.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, body := classify(err)
	if status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "30")
	}
	if status >= 500 {
		// The kind of error only: its text can quote what the client sent.
		attrs := append([]slog.Attr{slog.String("route", c.Path()),
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID))}, errorKind(err)...)
		s.log.LogAttrs(c.Request().Context(), slog.LevelError, "internal error", attrs...)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if strings.HasPrefix(c.Request().URL.Path, "/api/") {
		_ = c.JSON(status, map[string]apiError{"error": body})
		return
	}
	_ = s.renderError(c, status, body.Message)
}

func (s *Server) renderError(c echo.Context, status int, msg string) error {
	title := map[int]string{
		http.StatusNotFound:        "Page not found",
		http.StatusGone:            "This link no longer works",
		http.StatusTooManyRequests: "Too many requests",
		http.StatusConflict:        "This cannot be done",
	}[status]
	if title == "" {
		title = "Something went wrong"
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	d := s.page()
	d.Title, d.Message = title, msg
	return c.Render(status, "error.html", d)
}
