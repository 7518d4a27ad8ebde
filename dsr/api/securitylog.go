package api

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// securityLog records a security event (sign-in, token use, role change,
// download …) as one slog line: event=security, action, the client
// address (c.RealIP, which honours Options.TrustedProxies), the request
// id and the signed-in user's id when there is one. attrs add detail;
// callers must never pass passwords, tokens, requesters' emails or
// names, or any other submitted text — ids and fixed words only.
func (s *Server) securityLog(c echo.Context, action string, attrs ...slog.Attr) {
	all := make([]slog.Attr, 0, 5+len(attrs))
	all = append(all, slog.String("event", "security"), slog.String("action", action), slog.String("ip", c.RealIP()),
		slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
	if u := currentUser(c); u != nil {
		all = append(all, slog.String("user_id", u.ID))
	}
	all = append(all, attrs...)
	s.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "security", all...)
}

// errorKind describes an error for the log without its text, which may
// quote what the client sent: the dsr error code, the PostgreSQL SQLSTATE
// when there is one, and the Go type.
func errorKind(err error) []slog.Attr {
	attrs := []slog.Attr{slog.String("error_code", dsr.ErrorCode(err))}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		attrs = append(attrs, slog.String("sqlstate", pg.SQLState()))
	}
	return append(attrs, slog.String("error_type", typeName(err)))
}

// typeName is the dynamic type of the innermost wrapped error.
func typeName(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	return fmt.Sprintf("%T", err)
}
