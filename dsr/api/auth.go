package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

const (
	sessionCookie = "dsr_session"
	sessionTTL    = 12 * time.Hour
	userKey       = "user"
)

// Roles that may do each class of thing.
var (
	readRoles  = []string{workflow.RoleAdmin, workflow.RoleOfficer, workflow.RoleViewer}
	workRoles  = []string{workflow.RoleAdmin, workflow.RoleOfficer}
	adminRoles = []string{workflow.RoleAdmin}
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
func currentUser(c echo.Context) *workflow.User {
	u, _ := c.Get(userKey).(*workflow.User)
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
			s.securityLog(c, "api_token_refused")
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="dsrdesk", error="invalid_token"`)
			return dsr.Errorf(dsr.EUNAUTHORIZED, "The API token is not valid.")
		}
		if err != nil {
			return err
		}
		c.Set(userKey, u)
		s.securityLog(c, "api_token_used")
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
	if n, err := s.engine.CountUsers(c.Request().Context()); err == nil && n == 0 {
		d.Message = "No users yet. Create the first admin on the server: dsrdesk user add --email you@example.com --role admin"
	}
	return c.Render(http.StatusOK, "console_login.html", d)
}

// login checks email and password (argon2id) and starts a session.
// Every attempt that gets as far as the check costs one argon2id
// verification, whether the account exists, is disabled or is active, so
// the answer time does not tell them apart. Failures count against the
// client address and the account (loginLimiter); successes count against
// neither. 429 when either limit is used up.
func (s *Server) login(c echo.Context) error {
	email, pw := strings.TrimSpace(c.FormValue("email")), c.FormValue("password")
	now := time.Now()
	ip := c.RealIP()
	try, which := s.loginLimit.begin(ip, email, now)
	if try == nil {
		s.securityLog(c, "login_limited", slog.String("limit", which))
		return dsr.Errorf(dsr.ERATELIMIT, "Too many sign-in attempts. Wait a few minutes.")
	}
	u, err := s.engine.UserByEmail(c.Request().Context(), email)
	if err != nil && dsr.ErrorCode(err) != dsr.ENOTFOUND {
		try.release(now)
		return err
	}
	hash := dummyHash
	if err == nil {
		hash = u.PasswordHash
	}
	// Verify first, then look at the account's state: a disabled account
	// must cost what an active one does.
	good := s.checkPassword(hash, pw)
	ok := err == nil && good && u.DisabledAt == nil
	if !ok {
		var attrs []slog.Attr
		switch {
		case err != nil:
			attrs = append(attrs, slog.String("reason", "unknown_account"))
		case u.DisabledAt != nil:
			attrs = append(attrs, slog.String("reason", "disabled"), slog.String("user_id", u.ID))
		default:
			attrs = append(attrs, slog.String("reason", "wrong_password"), slog.String("user_id", u.ID))
		}
		s.securityLog(c, "login_failed", attrs...)
		d := s.page()
		d.V["email"], d.V["next"] = email, safeNext(c.FormValue("next"))
		d.CSRF = csrfToken(c)
		d.Errors = map[string]string{"password": "The email or password is wrong."}
		return c.Render(http.StatusUnauthorized, "console_login.html", d)
	}
	raw := newSecret()
	try.release(now)
	if err := s.engine.StartSession(c.Request().Context(), u.ID, hashSecret(raw), sessionTTL); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: raw, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(sessionTTL.Seconds())})
	// The pre-sign-in CSRF token dies here; the session's own token
	// (derived from the new session) is used from now on.
	s.clearAnonCSRF(c)
	s.securityLog(c, "login_succeeded", slog.String("user_id", u.ID))
	return c.Redirect(http.StatusSeeOther, safeNext(c.FormValue("next")))
}

// checkPassword verifies pw against an argon2id hash, counting the
// verification (the count shows in tests that every path pays for one).
func (s *Server) checkPassword(hash, pw string) bool {
	s.passwordChecks.Add(1)
	return dsr.CheckPassword(hash, pw)
}

func (s *Server) logout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		_ = s.engine.EndSession(context.WithoutCancel(c.Request().Context()), hashSecret(ck.Value))
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure, MaxAge: -1})
	return c.Redirect(http.StatusSeeOther, "/console/login")
}

// safeNext keeps post-login redirects inside the console.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return consoleLanding
}

// consoleLanding is where an officer lands after signing in: the
// dashboard (what needs attention now, by kind and law, and the trends).
const consoleLanding = "/console/dashboard"

func csrfToken(c echo.Context) string {
	t, _ := c.Get("csrf").(string)
	return t
}

// dummyHash is checked when the email is unknown, so timing does not tell
// which emails have accounts. It is made with the same parameters as real
// hashes (dsr.HashPassword), so it costs the same to verify.
var dummyHash, _ = dsr.HashPassword("not-a-real-password-for-timing")
