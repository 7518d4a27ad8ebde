package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Console flash messages ("Note added.") travel from an action to the page
// it redirects to in a short-lived cookie sealed to the session (HMAC with
// the session secret), never in the URL: text in ?flash= would let anyone
// who sends an officer a link put words on our page. A missing, foreign
// or tampered cookie shows nothing.
const (
	flashCookie = "dsr_flash"
	flashMaxAge = 60 // seconds: the redirect follows at once
	flashMaxLen = 1000
)

func flashMAC(sessionRaw, msg string) []byte {
	m := hmac.New(sha256.New, []byte(sessionRaw))
	m.Write([]byte("dsrdesk flash v1\x00" + msg))
	return m.Sum(nil)
}

// redirectWithFlash redirects (303) to path and shows msg there once.
func (s *Server) redirectWithFlash(c echo.Context, path, msg string) error {
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" && len(msg) <= flashMaxLen {
		v := base64.RawURLEncoding.EncodeToString([]byte(msg)) + "." + base64.RawURLEncoding.EncodeToString(flashMAC(ck.Value, msg))
		c.SetCookie(&http.Cookie{Name: flashCookie, Value: v, Path: "/console", HttpOnly: true, Secure: s.secure,
			SameSite: http.SameSiteStrictMode, MaxAge: flashMaxAge})
	}
	return c.Redirect(http.StatusSeeOther, path)
}

// takeFlash returns the flash message sealed to this session, if any, and
// clears it.
func (s *Server) takeFlash(c echo.Context) string {
	ck, err := c.Cookie(flashCookie)
	if err != nil || ck.Value == "" {
		return ""
	}
	c.SetCookie(&http.Cookie{Name: flashCookie, Value: "", Path: "/console", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	sess, err := c.Cookie(sessionCookie)
	if err != nil || sess.Value == "" {
		return ""
	}
	b64msg, b64mac, ok := strings.Cut(ck.Value, ".")
	if !ok {
		return ""
	}
	msg, err1 := base64.RawURLEncoding.DecodeString(b64msg)
	mac, err2 := base64.RawURLEncoding.DecodeString(b64mac)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, flashMAC(sess.Value, string(msg))) {
		return ""
	}
	return string(msg)
}
