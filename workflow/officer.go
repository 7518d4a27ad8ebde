package workflow

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// Actor returns the event actor string of a console or API user.
func Actor(userID string) string { return "user:" + userID }

// Assign gives the request to assigneeID ("" unassigns). Assigning an open
// request starts work on it (open → in_progress). Errors: ENOTFOUND (request
// or user), ECONFLICT (closed), EINVALID (the user cannot work requests).
func (e *Engine) Assign(ctx context.Context, requestID, actor, assigneeID string) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		return e.assignTx(ctx, tx, requestID, actor, assigneeID)
	})
}

// assignTx is Assign inside tx: the decision is dsr.PlanAssign; whether
// the user may work requests is checked here, against the user list.
func (e *Engine) assignTx(ctx context.Context, tx pgx.Tx, requestID, actor, assigneeID string) error {
	req, head, err := db.LockRequest(ctx, tx, requestID)
	if err != nil {
		return err
	}
	now := e.now()
	c, err := dsr.PlanAssign(req, actor, assigneeID, now)
	if err != nil {
		return err
	}
	if assigneeID != "" {
		u, err := db.UserByID(ctx, tx, assigneeID)
		if err != nil {
			return err
		}
		if u.DisabledAt != nil || (u.Role != db.RoleOfficer && u.Role != db.RoleAdmin) {
			return &dsr.Error{Code: dsr.EINVALID, Message: "Only active officers and admins can be assigned.", Fields: map[string]string{"assignee": "cannot work requests"}}
		}
	}
	_, err = e.apply(ctx, tx, req, head, c, now)
	return err
}

// VerifyOther records that the officer verified the subject's identity by
// another method (method and note required) and opens a pending request;
// as with the subject's own confirmation, every earlier status link is
// revoked and the acknowledgment carries fresh full ones. Errors:
// EINVALID, ENOTFOUND, ECONFLICT.
func (e *Engine) VerifyOther(ctx context.Context, requestID, actor, method, note string) error {
	return e.change(ctx, requestID, func(r *dsr.Request, now time.Time) (dsr.Change, error) {
		return dsr.PlanVerify(r, actor, method, note, now)
	})
}

// AddNote stores an internal note. Errors: EINVALID, ENOTFOUND.
func (e *Engine) AddNote(ctx context.Context, requestID, actor, text string) error {
	if _, err := dsr.PlanNote(nil, actor, text); err != nil {
		return err // an empty note is refused before the request is looked up
	}
	return e.change(ctx, requestID, func(r *dsr.Request, _ time.Time) (dsr.Change, error) {
		return dsr.PlanNote(r, actor, text)
	})
}

// WithdrawFor withdraws a request on the requester's behalf (e.g. they
// asked by phone). Errors: EINVALID (no reason), ENOTFOUND, ECONFLICT.
func (e *Engine) WithdrawFor(ctx context.Context, requestID, actor, reason string) error {
	return e.change(ctx, requestID, func(r *dsr.Request, now time.Time) (dsr.Change, error) {
		return dsr.PlanWithdraw(r, actor, reason, now)
	})
}

// Completion is what an officer records when completing a request.
type Completion struct {
	Summary string     // what was done, told to the requester
	Systems string     // systems touched (erasure, rectification, …)
	Exports []dsr.File // access and portability: the files handed over
	// Outcome is full (""), partial or no_data; Kept lists what a
	// partial outcome kept and why (dsr.ParseOutcome).
	Outcome string
	Kept    []dsr.Kept
	// ShareWithAgent: the officer ticked "share with the agent", so the
	// agent's completion mail carries the summary too (by default it goes
	// to the data subject only: it may describe their data).
	ShareWithAgent bool
	// OverrideTasks completes the request although some of its systems'
	// tasks are open, for OverrideReason (recorded in the ledger).
	OverrideTasks  bool
	OverrideReason string
}

// MaxExportBytes bounds one export file.
const MaxExportBytes = 50 << 20

// CompleteWith closes the request as done. Access and portability
// requests need export files: the data subject — never the agent — gets
// an expiring download link. Other kinds need a summary of what was done
// and the systems touched. Errors: EINVALID, ENOTFOUND, ECONFLICT.
func (e *Engine) CompleteWith(ctx context.Context, requestID, actor string, c Completion) error {
	if len(c.Exports) == 0 && c.Outcome != dsr.OutcomeNoData {
		// Access/portability with system tasks: the built export package.
		if handled, err := e.completeWithPackage(ctx, requestID, actor, c); handled || err != nil {
			return err
		}
	}
	return e.change(ctx, requestID, func(r *dsr.Request, now time.Time) (dsr.Change, error) {
		o, oerr := dsr.ParseOutcome(c.Outcome, c.Kept)
		if err := validateCompletion(r.Kind, o.Result, c); err != nil || oerr != nil {
			return dsr.Change{}, mergeFieldErrors(err, oerr)
		}
		ch, err := dsr.PlanCompleteWith(e.org, r, actor, c.Summary, c.Systems, c.Exports, o, now)
		if err == nil && c.ShareWithAgent {
			shareSummaryWithAgent(&ch, c.Summary)
		}
		if c.OverrideTasks {
			ch.TasksOverride = &c.OverrideReason
		}
		if err == nil {
			// A completion in part refuses the rest: where the law gives an
			// appeal, the mail says how to appeal, with the link.
			reg, _ := dsr.LookupRegime(r.Regime)
			ch = dsr.WithPartialAppealNotice(e.org, reg, r, o, ch, now)
			ch = dsr.WithOwnRecordsErasure(e.org, r, ch) // retention.go
		}
		return ch, err
	})
}

// mergeFieldErrors joins the field errors of two validations; nil when
// both passed.
func mergeFieldErrors(errs ...error) error {
	fe := dsr.FieldErrors{}
	for _, err := range errs {
		if err == nil {
			continue
		}
		de, ok := err.(*dsr.Error)
		if !ok || len(de.Fields) == 0 {
			return err
		}
		for f, m := range de.Fields {
			fe.Add(f, m)
		}
	}
	return fe.Err()
}

// validateCompletion checks what the officer recorded for the kind: an
// access or portability request completed in full or in part hands over
// export files; one that found no data, and every other kind, says what
// was done (and, except for no data, the systems touched).
func validateCompletion(k dsr.Kind, outcome string, c Completion) error {
	fe := dsr.FieldErrors{}
	if outcome == dsr.OutcomeNoData {
		if strings.TrimSpace(c.Summary) == "" {
			fe.Add("summary", "Say where you searched; the requester is told no data was found.")
		}
		return fe.Err()
	}
	switch k {
	case dsr.KindAccess, dsr.KindPortability:
		if len(c.Exports) == 0 {
			fe.Add("exports", "Attach the export files for the data subject.")
		}
		for i := range c.Exports {
			f := &c.Exports[i]
			if len(f.Content) == 0 || len(f.Content) > MaxExportBytes {
				fe.Add("exports", "Each export file must be between 1 byte and 50 MB.")
			}
			f.Filename = dsr.SafeFilename(f.Filename, "application/octet-stream")
		}
	default:
		if strings.TrimSpace(c.Summary) == "" {
			fe.Add("summary", "Say what was done; the requester is told.")
		}
		if strings.TrimSpace(c.Systems) == "" {
			fe.Add("systems", "List the systems touched.")
		}
	}
	return fe.Err()
}

// Download is an export the data subject may fetch.
type Download struct {
	Request *dsr.Request
	Files   []db.AttachmentInfo
	Expires time.Time
}

// DownloadView returns the exports behind a download link (no state
// change). Errors: ENOTFOUND; EGONE when expired.
func (e *Engine) DownloadView(ctx context.Context, token string) (*Download, error) {
	t, err := db.FindToken(ctx, e.pool, HashToken(token), db.TokenDownload, false)
	if err != nil {
		return nil, err
	}
	if err := e.validToken(t, false); err != nil {
		return nil, dsr.Errorf(dsr.EGONE, "This download link expired on %s. Write to %s and we will send you a new one.",
			dsr.DateIn(t.ExpiresAt, e.org.Location()).Long(), e.org.Organisation.ContactEmail)
	}
	req, err := db.GetRequest(ctx, e.pool, t.RequestID, false)
	if err != nil {
		return nil, err
	}
	files, err := db.Attachments(ctx, e.pool, req.ID, "export")
	return &Download{Request: req, Files: files, Expires: t.ExpiresAt}, err
}

// FetchExport returns one export file and records the download in the
// audit trail. Errors: ENOTFOUND, EGONE.
func (e *Engine) FetchExport(ctx context.Context, token, attachmentID string) (*dsr.File, error) {
	dl, err := e.DownloadView(ctx, token)
	if err != nil {
		return nil, err
	}
	var f *dsr.File
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		f, err = db.AttachmentContent(ctx, tx, dl.Request.ID, attachmentID, "export")
		if err != nil {
			return err
		}
		req, err := db.GetRequest(ctx, tx, dl.Request.ID, true)
		if err != nil {
			return err
		}
		return event(ctx, tx, req, dsr.ActorRequester, dsr.EventExportDownload, true, map[string]string{"attachment": attachmentID}, e.now())
	})
	return f, err
}

// RetryMessage queues a failed message again. Errors: ENOTFOUND,
// ECONFLICT when it is not failed or no relay is configured.
func (e *Engine) RetryMessage(ctx context.Context, messageID string) error {
	if e.mailer == nil {
		return &dsr.Error{Code: dsr.ECONFLICT, Message: "No mail relay is configured (DSR_SMTP_URL); messages stay captured.", Rule: "DSR_SMTP_URL"}
	}
	return e.inTx(ctx, func(tx pgx.Tx) error {
		m, err := db.GetMessage(ctx, tx, messageID, true)
		if err != nil {
			return err
		}
		if m.Status != db.MessageFailed {
			return &dsr.Error{Code: dsr.ECONFLICT, Message: "Only failed messages can be retried.", Rule: "outbox retry"}
		}
		if err := db.RequeueMessage(ctx, tx, m.ID); err != nil {
			return err
		}
		// The failed attempt's job may still be finishing (River marks it
		// cancelled just after the message is marked failed); deliveries are
		// unique per message, so a retry then would be dropped silently.
		res, err := e.river.InsertTx(ctx, tx, DeliverArgs{MessageID: m.ID}, nil)
		if err != nil {
			return dsr.Internalf("insert deliver job: %w", err)
		}
		if res.UniqueSkippedAsDuplicate {
			return &dsr.Error{Code: dsr.ECONFLICT, Message: "The last delivery attempt is still finishing. Try again in a moment.", Rule: "outbox retry"}
		}
		return nil
	})
}
