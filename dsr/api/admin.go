package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// adminRoutes registers the admin JSON API (bearer tokens).
func (s *Server) adminRoutes() {
	g := s.e.Group("/api/v1/admin", s.bearerAuth)
	g.GET("/requests", s.apiQueue, requireRole(readRoles...))
	g.GET("/requests/:id", s.apiRequest, requireRole(readRoles...))
	g.POST("/requests", s.apiEnterRequest, requireRole(workRoles...))
	g.POST("/requests/:id/:action", s.apiAction, requireRole(workRoles...))
	g.DELETE("/requests/:id/legal-hold", s.apiReleaseHold, requireRole(workRoles...)) // retention.go
	g.POST("/requests/:id/inbound/:email/accept", s.apiAcceptReply, requireRole(workRoles...))
	g.GET("/requests/:id/tasks", s.apiTasks, requireRole(readRoles...))
	g.POST("/requests/:id/tasks/:task/:action", s.apiTaskAction, requireRole(workRoles...))
	g.GET("/opt-outs", s.apiOptOuts, requireRole(readRoles...))
	g.POST("/opt-outs/:id/applied", s.apiOptOutApplied, requireRole(workRoles...))
}

// apiQueue lists requests with the queue's filters and order: ?status,
// kind, regime, assignee (mine|unassigned|id), overdue, agent, q, limit,
// cursor. The answer has "data" and "next_cursor".
func (s *Server) apiQueue(c echo.Context) error {
	f, err := s.queueFilter(c, currentUser(c))
	if err != nil {
		return err
	}
	rows, next, err := s.engine.Queue(c.Request().Context(), f)
	if err != nil {
		return err
	}
	data := make([]apiQueueRow, 0, len(rows))
	for _, r := range rows {
		data = append(data, apiQueueRowOf(r))
	}
	out := map[string]any{"data": data, "next_cursor": nil}
	if next != nil {
		out["next_cursor"] = next.String()
	}
	return c.JSON(http.StatusOK, out)
}

// apiQueueRow is one request in GET /api/v1/admin/requests.
type apiQueueRow struct {
	ID            string     `json:"id"`
	Ref           string     `json:"ref"`
	Kind          dsr.Kind   `json:"kind"`
	Regime        string     `json:"regime"`
	Status        dsr.Status `json:"status"`
	Channel       string     `json:"channel"`
	ReceivedOn    dsr.Date   `json:"received_on"`
	DueOn         dsr.Date   `json:"due_on"`
	HasAgent      bool       `json:"has_agent"`
	AssigneeID    string     `json:"assignee_id,omitempty"`
	AssigneeEmail string     `json:"assignee_email,omitempty"`
}

func apiQueueRowOf(r workflow.QueueRow) apiQueueRow {
	return apiQueueRow{ID: r.ID, Ref: r.Ref, Kind: r.Kind, Regime: r.Regime, Status: r.Status, Channel: r.Channel,
		ReceivedOn: r.ReceivedOn, DueOn: r.DueOn, HasAgent: r.HasAgent, AssigneeID: r.AssigneeID, AssigneeEmail: r.AssigneeEmail}
}

type apiRequestDetail struct {
	ID                string            `json:"id"`
	Ref               string            `json:"ref"`
	Kind              dsr.Kind          `json:"kind"`
	Regime            string            `json:"regime"`
	Status            dsr.Status        `json:"status"`
	Channel           dsr.Channel       `json:"channel"`
	Subject           map[string]string `json:"subject"`
	Agent             map[string]any    `json:"agent"`
	Details           string            `json:"details"`
	Fields            map[string]string `json:"fields"`
	ReceivedAt        any               `json:"received_at"`
	AckDue            dsr.Date          `json:"ack_due"`
	DueOn             dsr.Date          `json:"due_on"`
	LegalDue          dsr.Date          `json:"legal_due"`
	PolicyDue         dsr.Date          `json:"policy_due"`
	ExtendedDue       dsr.Date          `json:"extended_due"`
	Extensions        int               `json:"extensions"`
	AssigneeID        string            `json:"assignee_id"`
	Ledger            []dsr.LedgerEntry `json:"ledger"`
	Events            []apiEvent        `json:"events"`
	Messages          []apiMessage      `json:"messages"`
	NeedsVerification bool              `json:"needs_verification"`
	// Outcome of a completed request (full, partial, no_data; "" while
	// open) and, in part, what was kept with its legal basis.
	Outcome string     `json:"outcome"`
	Kept    []dsr.Kept `json:"kept"`
	// Fee is the fee awaited (null: none); RepeatOf the same person's
	// request of the same kind within the 12 months before (null: none).
	Fee      *apiFee      `json:"fee"`
	RepeatOf *apiRepeatOf `json:"repeat_of"`
	// Retention: the legal hold and whether the request was purged.
	Retention apiRetention `json:"retention"`
}

type apiEvent struct {
	Seq    int               `json:"seq"`
	At     any               `json:"at"`
	Actor  string            `json:"actor"`
	Type   string            `json:"type"`
	Public bool              `json:"public"`
	Data   map[string]string `json:"data"`
}

type apiMessage struct {
	ID       string `json:"id"`
	Event    string `json:"event"`
	To       string `json:"to"`
	Role     string `json:"recipient_role"`
	Subject  string `json:"subject"`
	Status   string `json:"status"`
	Attempts int    `json:"attempts"`
	Created  any    `json:"created_at"`
	Sent     any    `json:"sent_at"`
}

// apiRequest returns one request with its ledger, events and messages.
func (s *Server) apiRequest(c echo.Context) error {
	d, err := s.loadDetail(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	r := d.Request
	out := apiRequestDetail{ID: r.ID, Ref: r.RefString(), Kind: r.Kind, Regime: r.Regime, Status: r.Status, Channel: r.Channel,
		Subject: map[string]string{"email": r.Subject.Email, "name": r.Subject.Name, "country": r.Subject.Country, "state": r.Subject.State},
		Details: r.Details, Fields: r.Fields, ReceivedAt: r.ReceivedAt, AckDue: r.AckDue, DueOn: r.DueOn, LegalDue: r.LegalDue,
		PolicyDue: r.PolicyDue, ExtendedDue: r.ExtendedDue, Extensions: r.Extensions, AssigneeID: r.AssigneeID,
		Ledger: d.Ledger, NeedsVerification: r.NeedsVerification, Outcome: d.Outcome.Result, Kept: d.Outcome.Kept}
	if out.Kept == nil {
		out.Kept = []dsr.Kept{}
	}
	if r.Agent != nil {
		out.Agent = map[string]any{"name": r.Agent.Name, "email": r.Agent.Email, "authority_confirmed": r.AgentConfirmedAt != nil}
	}
	if r.Subject.PostalAddress != "" {
		out.Subject["postal_address"] = r.Subject.PostalAddress
	}
	out.Fee, out.RepeatOf = apiFeesOf(d)
	out.Retention = apiRetentionOf(d.Retention)
	for _, e := range d.Events {
		out.Events = append(out.Events, apiEvent{Seq: e.Seq, At: e.At, Actor: e.Actor, Type: e.Type, Public: e.Public, Data: e.Data})
	}
	for _, m := range d.Messages {
		out.Messages = append(out.Messages, apiMessage{ID: m.ID, Event: m.Event, To: m.ToEmail, Role: m.RecipientRole,
			Subject: m.Subject, Status: m.Status, Attempts: m.Attempts, Created: m.CreatedAt, Sent: m.SentAt})
	}
	return c.JSON(http.StatusOK, out)
}

// apiAction runs triage, not-a-request, claim, assign, unassign, verify,
// request-info, extend, note, complete, deny or withdraw. JSON body, or multipart for complete with files
// ("exports" parts). 409 with the rule when the state machine or the law
// refuses.
func (s *Server) apiAction(c echo.Context) error {
	var in actionInput
	ct := c.Request().Header.Get(echo.HeaderContentType)
	switch {
	case strings.HasPrefix(ct, echo.MIMEMultipartForm):
		var err error
		if in, err = actionInputFromForm(c); err != nil {
			return err
		}
	case strings.HasPrefix(ct, echo.MIMEApplicationJSON):
		dec := newStrictDecoder(c.Request().Body)
		if err := dec.Decode(&in); err != nil {
			return jsonError(err)
		}
		for _, f := range in.ExportsJSON {
			b, err := base64.StdEncoding.DecodeString(f.ContentBase64)
			if err != nil {
				return dsr.InvalidField("exports", "content_base64 must be base64")
			}
			in.Exports = append(in.Exports, dsr.File{Filename: f.Filename, Content: b, ContentType: http.DetectContentType(b)})
		}
	case c.Request().ContentLength == 0:
	default:
		return dsr.Errorf(dsr.EUNSUPPORTED, "Send JSON or multipart/form-data.")
	}
	msg, err := s.runAction(c.Request().Context(), c.Param("id"), c.Param("action"), currentUser(c), in)
	if err != nil {
		var de *dsr.Error
		if errors.As(err, &de) && de.Code == dsr.ENOTFOUND && strings.HasPrefix(de.Message, "unknown action") {
			return dsr.Errorf(dsr.ENOTFOUND, "unknown action %q (valid: triage, not-a-request, claim, assign, unassign, verify, request-info, extend, note, complete, deny, withdraw, request-fee, fee-paid, fee-waived, legal-hold, release-hold)", c.Param("action"))
		}
		return err
	}
	req, err := s.engine.Request(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"message": msg, "status": req.Status, "due_on": req.DueOn, "assignee_id": req.AssigneeID})
}

// adminRequest is a request entered by an officer: the public body plus
// when it was received (a letter, a phone call).
type adminRequest struct {
	apiRequest
	ReceivedAt *time.Time `json:"received_at"`
	// Channel is how it came: letter, phone or in_person ("" for the
	// generic officer channel).
	Channel string `json:"channel"`
}

// apiEnterRequest lets an officer enter a request that came by letter or
// phone: POST /api/v1/admin/requests with the public body and
// "received_at" (RFC 3339, within the last year), optionally "channel"
// (letter, phone, in_person) and "subject.postal_address". Dates count
// from that receipt; where an acknowledgment is due (CCPA) it is sent at
// once, and recorded as late when it is. With a postal address and no
// email, no confirmation link can be sent: the request waits for an
// officer to verify the identity another way, and every message it sends
// is a letter to print (GET /console/requests/:id/letters/:msg) and mark
// posted. Errors: 422 with field errors.
func (s *Server) apiEnterRequest(c echo.Context) error {
	if err := requireJSON(c.Request()); err != nil {
		return err
	}
	var in adminRequest
	dec := newStrictDecoder(c.Request().Body)
	if err := dec.Decode(&in); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return dsr.Errorf(dsr.ETOOLARGE, "The request is too large (the limit is 15 MB).")
		}
		return jsonError(err)
	}
	if in.ReceivedAt == nil {
		return dsr.InvalidField("received_at", "is required (RFC 3339, e.g. 2026-11-02T09:30:00Z)")
	}
	ch, err := dsr.ParseOfficerChannel(in.Channel)
	if err != nil {
		return err
	}
	sub, err := in.apiRequest.submission()
	if err != nil {
		return err
	}
	sub.Channel, sub.ReceivedAt, sub.EnteredBy = ch, *in.ReceivedAt, workflow.Actor(currentUser(c).ID)
	rc, err := s.engine.Submit(c.Request().Context(), *sub, strings.TrimSpace(c.Request().Header.Get("Idempotency-Key")))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, rc)
}

// maxKeptRows bounds what one partial completion may list as kept.
const maxKeptRows = 50

// check refuses action input that cannot be stored (a NUL byte, broken
// UTF-8) and an assignee that is not a user id, before any of it reaches
// the engine. Errors: EINVALID with the fields.
func (in actionInput) check() error {
	texts := map[string]string{"assignee": in.Assignee, "method": in.Method, "note": in.Note, "reason": in.Reason,
		"explanation": in.Explanation, "summary": in.Summary, "systems": in.Systems, "kind": in.Kind, "regime": in.Regime,
		"override_reason": in.OverrideReason}
	for i, f := range in.Exports {
		texts[fmt.Sprintf("exports.%d.filename", i)] = f.Filename
	}
	texts["outcome"] = in.Outcome
	texts["amount"], texts["currency"] = string(in.Amount), in.Currency
	if len(in.Kept) > maxKeptRows {
		return dsr.InvalidField("kept", fmt.Sprintf("at most %d rows", maxKeptRows))
	}
	for i, k := range in.Kept {
		texts[fmt.Sprintf("kept.%d.data", i)], texts[fmt.Sprintf("kept.%d.basis", i)] = k.Data, k.Basis
	}
	if err := dsr.CheckTexts(texts); err != nil {
		return err
	}
	if in.Assignee != "" && !isUUID(in.Assignee) {
		return dsr.InvalidField("assignee", "is not a user id")
	}
	return nil
}

// checkQueryTexts refuses query parameters that cannot be stored or
// compared as text (a NUL byte, broken UTF-8): 400, naming the parameter
// but not quoting it.
func checkQueryTexts(c echo.Context) error {
	for k, vs := range c.QueryParams() {
		for _, v := range vs {
			if msg := dsr.TextProblem(k + v); msg != "" {
				return errBadRequest{"The query parameter " + strings.ToValidUTF8(strings.ReplaceAll(k, "\x00", ""), "") + " " + msg + "."}
			}
		}
	}
	return nil
}
