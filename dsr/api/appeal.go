package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// appealRoutes registers the requester's appeal form on the status page
// and the officers' appeal actions in the admin API (issue #13 §2).
func (s *Server) appealRoutes(limit echo.MiddlewareFunc) {
	s.e.GET("/status/:token/appeal", s.appealPage)
	s.e.POST("/status/:token/appeal", s.appealSubmit, limit)
	g := s.e.Group("/api/v1/admin/requests/:id", s.bearerAuth, requireRole(workRoles...))
	g.POST("/appeal", s.apiEnterAppeal)
	g.POST("/appeal-decide", s.apiDecideAppeal)
	g.POST("/appeal-extend", s.apiExtendAppeal)
}

// appealPage shows the appeal form to a full link of a refused request
// under a law with an appeal right. Errors: EFORBIDDEN (a pending link),
// ECONFLICT (nothing to appeal), ENOTFOUND, EGONE.
func (s *Server) appealPage(c echo.Context) error {
	return s.renderAppeal(c, http.StatusOK, nil)
}

func (s *Server) renderAppeal(c echo.Context, code int, errs map[string]string) error {
	token := c.Param("token")
	v, err := s.engine.Status(c.Request().Context(), token)
	if err != nil {
		return err
	}
	if err := v.CheckAppeal(); err != nil {
		return err
	}
	noStore(c)
	d := s.page()
	d.View, d.Token, d.Errors = v, token, errs
	return c.Render(code, "appeal.html", d)
}

// appealSubmit takes the appeal: why they disagree (required unless a
// document is attached) and an optional document.
func (s *Server) appealSubmit(c echo.Context) error {
	token := c.Param("token")
	reason, file, bad, err := readTextAndFile(c, "reason", "Your appeal")
	if err != nil {
		return err
	}
	if bad != nil {
		return s.renderAppeal(c, http.StatusUnprocessableEntity, bad)
	}
	err = s.engine.FileAppeal(c.Request().Context(), token, reason, file)
	var de *dsr.Error
	if errors.As(err, &de) && de.Code == dsr.EINVALID && len(de.Fields) > 0 {
		return s.renderAppeal(c, http.StatusUnprocessableEntity, de.Fields)
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/status/"+token+"?appealed=1")
}

// apiAppealInput is the body of the admin appeal actions.
type apiAppealInput struct {
	ReceivedAt  *time.Time `json:"received_at"`
	Reason      string     `json:"reason"`
	Outcome     string     `json:"outcome"`
	Explanation string     `json:"explanation"`
}

func decodeAppeal(c echo.Context) (apiAppealInput, error) {
	var in apiAppealInput
	if !isUUID(c.Param("id")) {
		return in, dsr.Errorf(dsr.ENOTFOUND, "request not found")
	}
	if err := requireJSON(c.Request()); err != nil {
		return in, err
	}
	if err := newStrictDecoder(c.Request().Body).Decode(&in); err != nil {
		return in, jsonError(err)
	}
	return in, nil
}

// appealAnswer is the request after an appeal action.
func (s *Server) appealAnswer(c echo.Context, msg string) error {
	req, err := s.engine.Request(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"message": msg, "status": req.Status, "due_on": req.DueOn, "assignee_id": req.AssigneeID})
}

// apiEnterAppeal records an appeal that came by letter, phone or email:
// POST /api/v1/admin/requests/{id}/appeal with "reason" and "received_at"
// (RFC 3339; omitted: now).
func (s *Server) apiEnterAppeal(c echo.Context) error {
	in, err := decodeAppeal(c)
	if err != nil {
		return err
	}
	var at time.Time
	if in.ReceivedAt != nil {
		at = *in.ReceivedAt
	}
	if err := s.engine.EnterAppeal(c.Request().Context(), c.Param("id"), workflow.Actor(currentUser(c).ID), at, in.Reason); err != nil {
		return err
	}
	return s.appealAnswer(c, "Appeal recorded; the reviewer is assigned and the requester was told the answer date.")
}

// apiDecideAppeal answers the open appeal: POST
// /api/v1/admin/requests/{id}/appeal-decide with "outcome" (reversed or
// upheld) and "explanation" (required for upheld).
func (s *Server) apiDecideAppeal(c echo.Context) error {
	in, err := decodeAppeal(c)
	if err != nil {
		return err
	}
	if err := s.engine.DecideAppeal(c.Request().Context(), c.Param("id"), currentUser(c).ID, in.Outcome, in.Explanation); err != nil {
		return err
	}
	if in.Outcome == dsr.AppealReversed {
		return s.appealAnswer(c, "Appeal reversed: the request is open again; the requester was told.")
	}
	return s.appealAnswer(c, "Appeal upheld: the refusal stands; the requester was told where to complain.")
}

// apiExtendAppeal extends the open appeal's answer once where its law
// allows: POST /api/v1/admin/requests/{id}/appeal-extend with "reason".
func (s *Server) apiExtendAppeal(c echo.Context) error {
	in, err := decodeAppeal(c)
	if err != nil {
		return err
	}
	due, err := s.engine.ExtendAppeal(c.Request().Context(), c.Param("id"), workflow.Actor(currentUser(c).ID), in.Reason)
	if err != nil {
		return err
	}
	return s.appealAnswer(c, "Appeal answer extended to "+due.Human()+"; the requester was told why.")
}

func init() {
	ledgerLabels[dsr.LedgerAppealReceived] = "Appeal received"
	ledgerLabels[dsr.LedgerAppealDue] = "Appeal answer due"
	ledgerLabels[dsr.LedgerAppealExtendedDue] = "Appeal: latest with extension"
	ledgerLabels[dsr.LedgerAppealLate] = "Appeal late (window ended)"
	ledgerLabels[dsr.LedgerAppealExtended] = "Appeal extended to"
	ledgerLabels[dsr.LedgerAppealReopened] = "Reopened on appeal, due"
}

// appealView is one appeal on the console's request page.
type appealView struct {
	*workflow.Appeal
	Refuser, Reviewer string // emails ("" when unknown)
}

// appealViews are the request's appeals with their people named, and the
// ledger's appeal entries.
func (s *Server) appealViews(ctx context.Context, rd *workflow.RequestDetail) ([]appealView, []dsr.LedgerEntry) {
	if len(rd.Appeals) == 0 {
		return nil, nil
	}
	emails := map[string]string{}
	if users, err := s.engine.ActiveUsers(ctx, workflow.RoleOfficer, workflow.RoleAdmin); err == nil {
		for _, u := range users {
			emails[u.ID] = u.Email
		}
	}
	out := make([]appealView, len(rd.Appeals))
	for i, a := range rd.Appeals {
		out[i] = appealView{Appeal: a, Refuser: emails[a.RefuserID], Reviewer: emails[a.ReviewerID]}
	}
	var ledger []dsr.LedgerEntry
	for _, l := range rd.Ledger {
		if strings.HasPrefix(l.What, "appeal_") {
			ledger = append(ledger, l)
		}
	}
	return out, ledger
}
