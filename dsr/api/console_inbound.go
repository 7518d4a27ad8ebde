package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// acceptReply runs the officer's accept of a reply held because of its
// sender; shared by the console and the admin API. Errors: ENOTFOUND for
// ids that are not UUIDs or do not belong together, ECONFLICT when the
// email is no held reply.
func (s *Server) acceptReply(ctx context.Context, requestID, emailID string, u *workflow.User) error {
	if !isUUID(requestID) || !isUUID(emailID) {
		return dsr.Errorf(dsr.ENOTFOUND, "inbound email not found")
	}
	return s.engine.AcceptReply(ctx, requestID, emailID, workflow.Actor(u.ID))
}

// consoleAcceptReply is POST /console/requests/:id/inbound/:email/accept:
// the held reply is applied as the requester's, and the request page shows
// it accepted; a refusal is shown on the page.
func (s *Server) consoleAcceptReply(c echo.Context) error {
	err := s.acceptReply(c.Request().Context(), c.Param("id"), c.Param("email"), currentUser(c))
	var de *dsr.Error
	if errors.As(err, &de) && de.Code == dsr.ECONFLICT {
		return s.renderRequest(c, http.StatusConflict, map[string]string{"refused": de.Message + ruleSuffix(de.Rule)}, "")
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/console/requests/"+c.Param("id")+"#held-replies")
}

// apiAcceptReply is POST /api/v1/admin/requests/:id/inbound/:email/accept:
// 200 with the request's status after the reply was applied; 404, 409 as
// acceptReply.
func (s *Server) apiAcceptReply(c echo.Context) error {
	if err := s.acceptReply(c.Request().Context(), c.Param("id"), c.Param("email"), currentUser(c)); err != nil {
		return err
	}
	req, err := s.engine.Request(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"message": "Reply accepted as the requester's.", "status": req.Status, "due_on": req.DueOn})
}
