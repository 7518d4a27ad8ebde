package api

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
)

// PasswordChecks is how many argon2id verifications s has run.
func PasswordChecks(s *Server) int64 { return s.passwordChecks.Load() }

// SessionCSRFToken is the CSRF token of the session with cookie value raw.
func SessionCSRFToken(raw string) string { return sessionCSRFToken(raw) }

// AddFailingQueryRoute adds POST /test/fail, which sends the submitted
// "text" field to PostgreSQL as a table name: the query fails with a
// PostgreSQL error (42P01, not an invalid-input class 22 error, which is a
// 400) whose message quotes the text, the way a real unhandled database
// error on user input would. The server holds no pool (it reaches the
// database only through the engine), so the test passes its own.
func AddFailingQueryRoute(s *Server, pool *pgxpool.Pool) {
	s.e.POST("/test/fail", func(c echo.Context) error {
		var n string
		return pool.QueryRow(c.Request().Context(), "SELECT format('%I', $1::text)::regclass::text", c.FormValue("text")).Scan(&n)
	})
}
