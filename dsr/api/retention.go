package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// Legal holds through the admin API: POST /api/v1/admin/requests/:id/
// legal-hold {"reason"} places one (the generic action route, runAction
// "legal-hold"); DELETE on the same path, or POST …/release-hold,
// releases it. The console's request page has the same two buttons.

// apiReleaseHold is DELETE /api/v1/admin/requests/:id/legal-hold.
// Errors: 404 (request), 409 (not held).
func (s *Server) apiReleaseHold(c echo.Context) error {
	id := c.Param("id")
	if !isUUID(id) {
		return dsr.Errorf(dsr.ENOTFOUND, "request not found")
	}
	ctx := c.Request().Context()
	if err := s.engine.ReleaseLegalHold(ctx, id, workflow.Actor(currentUser(c).ID)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"message": "Legal hold released: the retention periods apply again.", "held": false})
}

// apiRetention is "retention" in GET /api/v1/admin/requests/:id.
type apiRetention struct {
	Held       bool       `json:"held"`
	HeldAt     *time.Time `json:"held_at,omitempty"`
	HeldBy     string     `json:"held_by,omitempty"`
	HoldReason string     `json:"hold_reason,omitempty"`
	Purged     bool       `json:"purged"` // only the record form is kept
}

func apiRetentionOf(r workflow.Retention) apiRetention {
	out := apiRetention{Purged: r.Purged}
	if h := r.Hold; h != nil {
		out.Held, out.HeldAt, out.HeldBy, out.HoldReason = true, &h.At, h.By, h.Reason
	}
	return out
}
