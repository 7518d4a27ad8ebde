package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

const (
	sessionCookie = "dsr_session"
	sessionTTL    = 12 * time.Hour
	userKey       = "user"
)

// Roles that may do each class of thing.
var (
	readRoles  = []string{db.RoleAdmin, db.RoleOfficer, db.RoleViewer}
	workRoles  = []string{db.RoleAdmin, db.RoleOfficer}
	adminRoles = []string{db.RoleAdmin}
)

func hashSecret(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// currentUser returns the authenticated user of the request, or nil.
func currentUser(c echo.Context) *db.User {
	u, _ := c.Get(userKey).(*db.User)
	return u
}

// sessionAuth loads the console user from the session cookie; anonymous
// visitors are sent to the login page.
func (s *Server) sessionAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ck, err := c.Cookie(sessionCookie)
		if err == nil && ck.Value != "" {
			u, err := s.engine.SessionUser(c.Request().Context(), hashSecret(ck.Value))
			if err == nil {
				c.Set(userKey, u)
				return next(c)
			}
			if dsr.ErrorCode(err) != dsr.ENOTFOUND {
				return err
			}
		}
		if c.Request().Method == http.MethodGet {
			return c.Redirect(http.StatusSeeOther, "/console/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		return c.Redirect(http.StatusSeeOther, "/console/login")
	}
}

// bearerAuth authenticates admin API calls by API token: 401 without one.
func (s *Server) bearerAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || strings.TrimSpace(raw) == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="dsrdesk"`)
			return dsr.Errorf(dsr.EUNAUTHORIZED, "Send an API token: Authorization: Bearer <token> (dsrdesk token create).")
		}
		u, err := s.engine.APITokenUser(c.Request().Context(), hashSecret(strings.TrimSpace(raw)))
		if dsr.ErrorCode(err) == dsr.ENOTFOUND {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="dsrdesk", error="invalid_token"`)
			return dsr.Errorf(dsr.EUNAUTHORIZED, "The API token is not valid.")
		}
		if err != nil {
			return err
		}
		c.Set(userKey, u)
		return next(c)
	}
}

// requireRole lets only users with one of roles through: 403 otherwise.
func requireRole(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u := currentUser(c)
			if u == nil {
				return dsr.Errorf(dsr.EUNAUTHORIZED, "Sign in first.")
			}
			for _, r := range roles {
				if u.Role == r {
					return next(c)
				}
			}
			return dsr.Errorf(dsr.EFORBIDDEN, "Your role (%s) may not do this.", u.Role)
		}
	}
}

func (s *Server) loginPage(c echo.Context) error {
	d := s.page()
	d.V["next"] = safeNext(c.QueryParam("next"))
	d.CSRF = csrfToken(c)
	if n, err := db.CountUsers(c.Request().Context(), s.pool); err == nil && n == 0 {
		d.Message = "No users yet. Create the first admin on the server: dsrdesk user add --email you@example.com --role admin"
	}
	return c.Render(http.StatusOK, "console_login.html", d)
}

// login checks email and password (argon2id) and starts a session.
func (s *Server) login(c echo.Context) error {
	email, pw := strings.TrimSpace(c.FormValue("email")), c.FormValue("password")
	u, err := db.UserByEmail(c.Request().Context(), s.pool, email)
	ok := err == nil && u.DisabledAt == nil && dsr.CheckPassword(u.PasswordHash, pw)
	if err != nil && dsr.ErrorCode(err) != dsr.ENOTFOUND {
		return err
	}
	if !ok {
		if err != nil { // spend the same time as a real check
			dsr.CheckPassword(dummyHash, pw)
		}
		d := s.page()
		d.V["email"], d.V["next"] = email, safeNext(c.FormValue("next"))
		d.CSRF = csrfToken(c)
		d.Errors = map[string]string{"password": "The email or password is wrong."}
		return c.Render(http.StatusUnauthorized, "console_login.html", d)
	}
	raw := newSecret()
	if err := s.engine.StartSession(c.Request().Context(), u.ID, hashSecret(raw), sessionTTL); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: raw, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(sessionTTL.Seconds())})
	return c.Redirect(http.StatusSeeOther, safeNext(c.FormValue("next")))
}

func (s *Server) logout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		_ = db.DeleteSession(context.WithoutCancel(c.Request().Context()), s.pool, hashSecret(ck.Value))
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure, MaxAge: -1})
	return c.Redirect(http.StatusSeeOther, "/console/login")
}

// safeNext keeps post-login redirects inside the console.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return "/console"
}

func csrfToken(c echo.Context) string {
	t, _ := c.Get("csrf").(string)
	return t
}

// dummyHash is checked when the email is unknown, so timing does not tell
// which emails have accounts.
var dummyHash, _ = dsr.HashPassword("not-a-real-password-for-timing")
