package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// CSRF protection of the console.
//
// Before sign-in (the login form) the token is a random value in the
// _csrf cookie, submitted back in the form (double submit). Signing in
// deletes that cookie; from then on the token is derived from the
// session secret (HMAC), so it is bound to the session: a token from
// before sign-in or from another session does not match, and signing in
// again gives a new one. Forms send it as the _csrf field, scripts as the
// X-CSRF-Token header.
//
// River UI (/console/jobs) calls its JSON API with fetch and sends no
// token (riverui v0.22's frontend sets only Accept; its bodies are even
// text/plain, which any site could post). Its API accepts, besides the
// header, proof that the call comes from our own pages: Sec-Fetch-Site:
// same-origin, or, from browsers that do not send Sec-Fetch-* (plain http
// on a non-local host), an Origin header naming this very host. Browsers
// always send Origin on a cross-origin POST and scripts cannot forge it.
const (
	csrfCookie    = "_csrf"
	csrfField     = "_csrf"
	csrfHeader    = echo.HeaderXCSRFToken
	csrfKey       = "csrf"
	jobsAPIPrefix = "/console/jobs/api/"
)

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// submittedCSRF is the token the request carries: the header, else the
// form field. The form is parsed here with the console's own multipart
// settings (parseForm: files to temporary files, fields capped), within
// the body limit bodyLimiter set; other bodies (JSON) are left unread.
func submittedCSRF(c echo.Context) (string, error) {
	if t := c.Request().Header.Get(csrfHeader); t != "" {
		return t, nil
	}
	if err := parseForm(c.Request()); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", err // 413
		}
		return "", errBadRequest{"The form could not be read."}
	}
	return c.Request().PostFormValue(csrfField), nil
}

// checkCSRF is nil when the request carries token.
func checkCSRF(c echo.Context, token string) error {
	got, err := submittedCSRF(c)
	if err != nil {
		return err
	}
	if !sameToken(token, got) {
		return errCSRF
	}
	return nil
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

var errCSRF = dsr.Errorf(dsr.EFORBIDDEN, "The form has expired. Go back, reload the page and try again.")

// anonCSRF guards the console pages used before sign-in.
func (s *Server) anonCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token := ""
		if ck, err := c.Cookie(csrfCookie); err == nil && len(ck.Value) >= 32 && len(ck.Value) <= 64 {
			token = ck.Value
		}
		if !safeMethod(c.Request().Method) {
			if err := checkCSRF(c, token); err != nil {
				return err
			}
		}
		if token == "" {
			token = newSecret()
			c.SetCookie(&http.Cookie{Name: csrfCookie, Value: token, Path: "/console", HttpOnly: true, Secure: s.secure,
				SameSite: http.SameSiteStrictMode, MaxAge: 86400})
		}
		c.Set(csrfKey, token)
		c.Response().Header().Add(echo.HeaderVary, echo.HeaderCookie)
		return next(c)
	}
}

// clearAnonCSRF ends the pre-sign-in token (at sign-in).
func (s *Server) clearAnonCSRF(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: csrfCookie, Value: "", Path: "/console", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// sessionCSRFToken is the CSRF token of the session whose cookie value is
// raw. It reveals nothing about raw.
func sessionCSRFToken(raw string) string {
	m := hmac.New(sha256.New, []byte(raw))
	m.Write([]byte("dsrdesk csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sessionCSRF guards the signed-in console; it runs after sessionAuth, so
// there is a session cookie whose token to expect.
func (s *Server) sessionCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ck, err := c.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			return errCSRF
		}
		token := sessionCSRFToken(ck.Value)
		if !safeMethod(c.Request().Method) {
			jobsAPI := strings.HasPrefix(c.Request().URL.Path, jobsAPIPrefix)
			if !(jobsAPI && s.sameOrigin(c.Request())) {
				if err := checkCSRF(c, token); err != nil {
					return err
				}
			}
		}
		c.Set(csrfKey, token)
		c.Response().Header().Add(echo.HeaderVary, echo.HeaderCookie)
		return next(c)
	}
}

// sameOrigin reports whether the browser says the request comes from a
// page of this origin.
func (s *Server) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get(echo.HeaderSecFetchSite); site != "" {
		return site == "same-origin"
	}
	o := r.Header.Get(echo.HeaderOrigin)
	if o == "" || o == "null" {
		return false
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return false
	}
	if s.secure {
		return u.Scheme == "https"
	}
	return u.Scheme == "http" || u.Scheme == "https"
}
