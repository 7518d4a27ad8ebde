package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// userRoutes registers the admin pages for accounts and API tokens (every
// POST behind the console's CSRF check, like the other console forms).
func (s *Server) userRoutes(g *echo.Group, admin echo.MiddlewareFunc) {
	g.GET("/users", s.usersPage, admin)
	g.POST("/users", s.addUser, admin)
	g.POST("/users/:id/:action", s.userAction, admin)
	g.GET("/tokens", s.tokensPage, admin)
	g.POST("/tokens", s.createToken, admin)
	g.POST("/tokens/:id/revoke", s.revokeToken, admin)
}

// accountsPage is the data of the users and tokens pages.
type accountsPage struct {
	*pageData
	Roles    []string
	Tokens   []workflow.APIToken
	NewToken string // a token just created, shown once
	Problem  string // why the last change was refused
}

// accounts loads the users page (tokens too when withTokens).
func (s *Server) accounts(c echo.Context, withTokens bool) (*accountsPage, error) {
	p := &accountsPage{pageData: s.consolePage(c), Roles: workflow.Roles}
	users, err := s.engine.Users(c.Request().Context())
	if err != nil {
		return nil, err
	}
	p.Users = users
	if withTokens {
		if p.Tokens, err = s.engine.APITokens(c.Request().Context(), ""); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Email returns the email of the listed user with this id, or "".
func (p *accountsPage) Email(id string) string {
	for _, u := range p.Users {
		if u.ID == id {
			return u.Email
		}
	}
	return ""
}

func (s *Server) usersPage(c echo.Context) error {
	p, err := s.accounts(c, false)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "console_users.html", p)
}

// addUser creates a user with a generated password, shown once.
func (s *Server) addUser(c echo.Context) error {
	email, role := strings.TrimSpace(c.FormValue("email")), c.FormValue("role")
	if !dsr.ValidEmail(email) || !slices.Contains(workflow.Roles, role) {
		return dsr.InvalidField("email", "Enter an email and choose a role.")
	}
	pw := dsr.GeneratePassword()
	hash, err := dsr.HashPassword(pw)
	if err != nil {
		return err
	}
	u := &workflow.User{Email: email, Name: c.FormValue("name"), Role: role, PasswordHash: hash}
	if err := s.engine.AddUser(c.Request().Context(), u); err != nil {
		return err
	}
	// Rendered, not redirected: the password must not travel in a URL.
	noStore(c)
	p, err := s.accounts(c, false)
	if err != nil {
		return err
	}
	p.Flash = fmt.Sprintf("User %s added. Password (shown once): %s", email, pw)
	return c.Render(http.StatusCreated, "console_users.html", p)
}

// userAction disables or enables a user, changes their role or sets their
// password, then shows the users page with the outcome. A refused input
// (unknown role, a password the rules refuse) shows the page again with
// the reason (422); an admin's own account cannot be disabled or demoted
// here (409); an unknown user or action is 404.
func (s *Server) userAction(c echo.Context) error {
	id, ctx, actor := c.Param("id"), c.Request().Context(), currentUser(c)
	if !isUUID(id) {
		return dsr.Errorf(dsr.ENOTFOUND, "user not found")
	}
	var err error
	var done string
	switch c.Param("action") {
	case "disable":
		err, done = s.engine.DisableUser(ctx, actor, id), "disabled; their sessions and API tokens no longer work"
	case "enable":
		err, done = s.engine.EnableUser(ctx, actor, id), "enabled; they can sign in again"
	case "role":
		err, done = s.engine.SetUserRole(ctx, actor, id, c.FormValue("role")), "now has the role "+c.FormValue("role")
	case "password":
		var keep []byte
		if ck, cerr := c.Cookie(sessionCookie); cerr == nil {
			keep = hashSecret(ck.Value)
		}
		err, done = s.engine.SetUserPassword(ctx, actor, id, c.FormValue("password"), keep), "has a new password; their other sessions are ended"
	default:
		return dsr.Errorf(dsr.ENOTFOUND, "no such user action")
	}
	noStore(c)
	status := http.StatusOK
	if dsr.ErrorCode(err) == dsr.EINVALID {
		status = http.StatusUnprocessableEntity
	} else if err != nil {
		return err
	}
	p, lerr := s.accounts(c, false)
	if lerr != nil {
		return lerr
	}
	if err != nil {
		p.Problem = dsr.ErrorMessage(err)
		if f := fieldMessages(err); f != "" {
			p.Problem += " " + f
		}
	} else {
		p.Flash = p.Email(id) + " " + done + "."
		s.securityLog(c, "account_"+c.Param("action"), slog.String("target_user_id", id))
	}
	return c.Render(status, "console_users.html", p)
}

// fieldMessages joins the field errors of err that differ from its message.
func fieldMessages(err error) string {
	var de *dsr.Error
	if !errors.As(err, &de) {
		return ""
	}
	var parts []string
	for _, m := range de.Fields {
		if m != de.Message {
			parts = append(parts, m)
		}
	}
	return strings.Join(parts, " ")
}

func (s *Server) tokensPage(c echo.Context) error {
	p, err := s.accounts(c, true)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "console_tokens.html", p)
}

// createToken makes an API token for the chosen user with an optional
// lifetime ("90d", "12h"; empty: no expiry) and shows the raw token once,
// in the page (never in a URL). Bad input shows the page again (422).
func (s *Server) createToken(c echo.Context) error {
	ctx, userID := c.Request().Context(), c.FormValue("user_id")
	noStore(c)
	var lifetime time.Duration
	var err error
	if v := strings.TrimSpace(c.FormValue("expires")); v != "" {
		lifetime, err = workflow.ParseTokenLifetime(v)
	}
	var raw string
	if err == nil {
		if !isUUID(userID) {
			err = dsr.Errorf(dsr.EINVALID, "Choose the user the token acts as.")
		} else {
			raw, err = s.engine.CreateAPIToken(ctx, currentUser(c), userID, strings.TrimSpace(c.FormValue("name")), lifetime)
		}
	}
	status := http.StatusCreated
	switch dsr.ErrorCode(err) {
	case "":
	case dsr.EINVALID, dsr.ENOTFOUND, dsr.ECONFLICT:
		status = http.StatusUnprocessableEntity
	default:
		return err
	}
	p, lerr := s.accounts(c, true)
	if lerr != nil {
		return lerr
	}
	if err != nil {
		p.Problem = dsr.ErrorMessage(err)
	} else {
		p.NewToken = raw
		p.Flash = "Token created for " + p.Email(userID) + ". Copy it now: it is shown only once."
	}
	return c.Render(status, "console_tokens.html", p)
}

// revokeToken revokes a token (401 from its next use). Errors: 404 for an
// unknown or already revoked token.
func (s *Server) revokeToken(c echo.Context) error {
	id := c.Param("id")
	if !isUUID(id) {
		return dsr.Errorf(dsr.ENOTFOUND, "token not found")
	}
	if err := s.engine.RevokeAPIToken(c.Request().Context(), currentUser(c), id); err != nil {
		return err
	}
	s.securityLog(c, "api_token_revoked", slog.String("token_id", id))
	p, err := s.accounts(c, true)
	if err != nil {
		return err
	}
	p.Flash = "Token revoked."
	return c.Render(http.StatusOK, "console_tokens.html", p)
}
