package api

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// Officer actions, from the request page, the bulk form and the admin API.

// consoleAction runs one action from the request page and shows the
// request again: a flash on success, the rule or field errors on refusal.
func (s *Server) consoleAction(c echo.Context) error {
	u := currentUser(c)
	in, err := actionInputFromForm(c)
	if err != nil {
		return err
	}
	msg, err := s.runAction(c.Request().Context(), c.Param("id"), c.Param("action"), u, in)
	if err != nil {
		de, ok := err.(*dsr.Error)
		if ok && (de.Code == dsr.EINVALID || de.Code == dsr.ECONFLICT) {
			errs := de.Fields
			if len(errs) == 0 {
				errs = map[string]string{"refused": de.Message + ruleSuffix(de.Rule)}
			}
			return s.renderRequest(c, statusOf[de.Code], errs, "")
		}
		return err
	}
	return s.redirectWithFlash(c, "/console/requests/"+c.Param("id"), msg)
}

func ruleSuffix(rule string) string {
	if rule == "" {
		return ""
	}
	return " (rule: " + rule + ")"
}

// actionInput is the union of the action parameters.
type actionInput struct {
	Assignee    string     `json:"assignee"`
	Method      string     `json:"method"`
	Note        string     `json:"note"`
	Reason      string     `json:"reason"`
	Explanation string     `json:"explanation"`
	Summary     string     `json:"summary"`
	Systems     string     `json:"systems"`
	Kind        string     `json:"kind"`   // triage
	Regime      string     `json:"regime"` // triage
	Exports     []dsr.File `json:"-"`
	ExportsJSON []apiFile  `json:"exports"`
	// OverridePromise lets extend break the organisation's own promise.
	OverridePromise bool `json:"override_promise"`
	// Outcome (full, partial, no_data) and Kept complete a request.
	Outcome string     `json:"outcome"`
	Kept    []dsr.Kept `json:"kept"`
	// ShareWithAgent sends the completion summary to the agent too.
	ShareWithAgent bool `json:"share_with_agent"`
	// Amount and Currency (ISO 4217) of request-fee; its reason is Reason.
	Amount   feeAmount `json:"amount"`
	Currency string    `json:"currency"`
	// OverrideTasks and OverrideReason complete a request with open tasks.
	OverrideTasks  bool   `json:"override_tasks"`
	OverrideReason string `json:"override_reason"`
}

type apiFile struct {
	Filename      string `json:"filename"`
	ContentBase64 string `json:"content_base64"`
}

func actionInputFromForm(c echo.Context) (actionInput, error) {
	form, err := readForm(c)
	if err != nil {
		return actionInput{}, err
	}
	get := func(k string) string {
		if v := form.Value[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	in := actionInput{Assignee: get("assignee"), Method: get("method"), Note: get("note"), Reason: get("reason"),
		Explanation: get("explanation"), Summary: get("summary"), Systems: get("systems"), Kind: get("kind"), Regime: get("regime"),
		OverridePromise: get("override_promise") == "true", Outcome: get("outcome")}
	// The console's kept rows: kept_data and kept_basis repeat in
	// order, blank rows included (ParseOutcome drops them).
	data, basis := form.Value["kept_data"], form.Value["kept_basis"]
	for i := 0; i < len(data) || i < len(basis); i++ {
		var k dsr.Kept
		if i < len(data) {
			k.Data = data[i]
		}
		if i < len(basis) {
			k.Basis = basis[i]
		}
		in.Kept = append(in.Kept, k)
	}
	in.ShareWithAgent = get("share_with_agent") != ""
	in.OverrideTasks, in.OverrideReason = get("override_tasks") != "", get("override_reason")
	in.Amount, in.Currency = feeAmount(get("amount")), get("currency")
	for _, fh := range form.File["exports"] {
		f, err := readExport(fh)
		if err != nil {
			return in, err
		}
		if len(f.Content) > 0 {
			in.Exports = append(in.Exports, *f)
		}
	}
	return in, nil
}

func readExport(fh *multipart.FileHeader) (*dsr.File, error) {
	if fh.Size > workflow.MaxExportBytes {
		return nil, dsr.Errorf(dsr.ETOOLARGE, "An export file may be at most 50 MB.")
	}
	f, err := fh.Open()
	if err != nil {
		return nil, errBadRequest{"The file could not be read."}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, workflow.MaxExportBytes+1))
	if err != nil {
		return nil, errBadRequest{"The file could not be read."}
	}
	return &dsr.File{Filename: fh.Filename, Content: b, ContentType: http.DetectContentType(b)}, nil
}

// runAction dispatches one officer action; it is shared by the console and
// the admin API. It returns a message for the officer.
func (s *Server) runAction(ctx context.Context, id, action string, u *workflow.User, in actionInput) (string, error) {
	if !isUUID(id) {
		return "", dsr.Errorf(dsr.ENOTFOUND, "request not found")
	}
	if err := in.check(); err != nil {
		return "", err
	}
	e, actor := s.engine, workflow.Actor(u.ID)
	switch action {
	case "triage":
		if err := e.Triage(ctx, id, actor, dsr.Kind(in.Kind), in.Regime); err != nil {
			return "", err
		}
		req, err := e.Request(ctx, id)
		if err != nil {
			return "", err
		}
		if req.Status == dsr.StatusPendingVerification {
			return "Triaged: the sender was asked to confirm their email address.", nil
		}
		return "Triaged: the request is open and the requester was told.", nil
	case "not-a-request":
		return "Closed as not a request; the sender was not told.", e.NotARequest(ctx, id, actor, in.Reason)
	case "claim":
		return "Assigned to you.", e.Assign(ctx, id, actor, u.ID)
	case "assign":
		return "Assignment saved.", e.Assign(ctx, id, actor, in.Assignee)
	case "unassign":
		return "Unassigned.", e.Assign(ctx, id, actor, "")
	case "verify":
		return "Identity marked verified; the requester was told.", e.VerifyOther(ctx, id, actor, in.Method, in.Note)
	case "request-info":
		res, err := e.RequestInfo(ctx, id, actor, in.Reason, in.Note)
		if err != nil {
			return "", err
		}
		return "Question sent. " + res.Explanation, nil
	case "extend":
		due, err := e.Extend(ctx, id, actor, in.Reason, in.OverridePromise)
		return "Extended to " + due.Human() + "; the requester was told why.", err
	case "note":
		return "Note added.", e.AddNote(ctx, id, actor, in.Note)
	case "complete":
		return "Completed; the requester was told.", e.CompleteWith(ctx, id, actor, workflow.Completion{Summary: in.Summary, Systems: in.Systems, Exports: in.Exports,
			Outcome: in.Outcome, Kept: in.Kept, ShareWithAgent: in.ShareWithAgent, OverrideTasks: in.OverrideTasks, OverrideReason: in.OverrideReason})
	case "deny":
		return "Denied; the requester was told.", e.Deny(ctx, id, actor, in.Reason, in.Explanation)
	case "withdraw":
		return "Withdrawn.", e.WithdrawFor(ctx, id, actor, in.Reason)
	case "request-fee":
		return "Fee requested; the requester was told how to pay.", e.RequestFee(ctx, id, actor, string(in.Amount), in.Currency, in.Reason)
	case "fee-paid":
		return "Fee marked paid; the requester was told.", e.FeePaid(ctx, id, actor)
	case "fee-waived":
		return "Fee waived; the requester was told.", e.FeeWaived(ctx, id, actor)
	case "legal-hold": // retention.go
		return "Legal hold placed: nothing of this request is purged until it is released.", e.PlaceLegalHold(ctx, id, actor, in.Reason)
	case "release-hold":
		return "Legal hold released: the retention periods apply again.", e.ReleaseLegalHold(ctx, id, actor)
	}
	return "", dsr.Errorf(dsr.ENOTFOUND, "unknown action %q", action)
}

// consoleBulk assigns or denies-as-duplicate several requests.
func (s *Server) consoleBulk(c echo.Context) error {
	form, err := readForm(c)
	if err != nil {
		return err
	}
	ids := form.Value["ids"]
	if len(ids) == 0 {
		return c.Redirect(http.StatusSeeOther, "/console")
	}
	u := currentUser(c)
	var in actionInput
	action := ""
	if v := form.Value["action"]; len(v) > 0 {
		action = v[0]
	}
	switch action {
	case "assign":
		if v := form.Value["assignee"]; len(v) > 0 {
			in.Assignee = v[0]
		}
	case "deny_duplicate":
		action = "deny"
		in.Reason = "duplicate"
		dup := ""
		if v := form.Value["duplicate_of"]; len(v) > 0 {
			dup = strings.TrimSpace(v[0])
		}
		in.Explanation = "This request duplicates request " + dup + ", which we are handling."
		if dup == "" {
			return dsr.Errorf(dsr.EINVALID, "Give the reference of the original request.")
		}
	default:
		return errBadRequest{"Unknown bulk action."}
	}
	for _, id := range ids {
		if _, err := s.runAction(c.Request().Context(), id, action, u, in); err != nil {
			return err
		}
	}
	return c.Redirect(http.StatusSeeOther, "/console")
}
