package workflow

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/notify"
)

// deliverable is the mail layer's answer to "can a message to p be
// written at all", which the planners need to count an acknowledgment.
func deliverable(p dsr.Person) error {
	return notify.CheckRecipient(notify.Address{Name: p.Name, Email: p.Email})
}

// issuedLinks are the raw tokens drawn for a change's messages, by
// message index: only their hashes are stored.
type issuedLinks struct {
	status, action, download []string
	// ids are the messages' ids, drawn with the links so that their
	// delivery jobs can be built before the messages are rendered.
	ids []string
}

// issueLinks draws the ids and tokens of a change's messages (and extra
// grants, returned raw in the same order) for request id, and returns the
// rows to store.
func issueLinks(id string, now time.Time, msgs []dsr.Message, extra ...dsr.TokenGrant) (issuedLinks, []string, []db.NewToken) {
	var l issuedLinks
	var rows []db.NewToken
	grant := func(g dsr.TokenGrant) string {
		raw, hash := newToken()
		rows = append(rows, db.NewToken{RequestID: id, Purpose: g.Purpose, Holder: g.Holder, Scope: g.Scope, Hash: hash, Expires: g.Expires})
		return raw
	}
	l.status, l.action, l.download, l.ids = make([]string, len(msgs)), make([]string, len(msgs)), make([]string, len(msgs)), make([]string, len(msgs))
	for i, m := range msgs {
		l.ids[i] = dsr.NewID(now)
		if m.Action != nil {
			l.action[i] = grant(*m.Action)
		}
		if m.Download != nil {
			l.download[i] = grant(*m.Download)
		}
		if !m.Letter { // paper carries no link
			l.status[i] = grant(m.Status)
		}
	}
	raws := make([]string, len(extra))
	for i, g := range extra {
		raws[i] = grant(g)
	}
	return l, raws, rows
}

// planEvents turns planned events into events at now.
func planEvents(evs []dsr.NewEvent, now time.Time) []dsr.Event {
	out := make([]dsr.Event, len(evs))
	for i, ev := range evs {
		out[i] = dsr.Event{At: now, Actor: ev.Actor, Type: string(ev.Type), Public: ev.Public, Data: ev.Data}
	}
	return out
}

// renderAll renders a change's messages with their links.
func (e *Engine) renderAll(req *dsr.Request, msgs []dsr.Message, l issuedLinks, now time.Time) ([]*db.Message, error) {
	out := make([]*db.Message, 0, len(msgs))
	for i, pm := range msgs {
		m, err := e.renderPlanned(req, pm, l.ids[i], l.status[i], l.action[i], l.download[i], now)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// jobParams maps a change's jobs, and the delivery of its messages (msgs,
// with the ids l drew) when a relay is configured, to River insert
// parameters. It needs the messages planned, not rendered.
func (e *Engine) jobParams(req *dsr.Request, jobs []dsr.Job, msgs []dsr.Message, l issuedLinks, now time.Time) []river.InsertManyParams {
	var out []river.InsertManyParams
	for _, j := range jobs {
		switch j.Kind {
		case dsr.JobDeadlineReminders:
			out = append(out, e.chainParams(req, now))
		case dsr.JobVerification, dsr.JobVerificationFromNow:
			remind, expire := e.verifyTimes(req)
			if j.Kind == dsr.JobVerificationFromNow {
				remind, expire = e.triagedVerificationTimes(now)
			}
			out = append(out,
				river.InsertManyParams{Args: VerifyReminderArgs{RequestID: req.ID}, InsertOpts: &river.InsertOpts{ScheduledAt: remind}},
				river.InsertManyParams{Args: VerifyExpiryArgs{RequestID: req.ID}, InsertOpts: &river.InsertOpts{ScheduledAt: expire}})
		case dsr.JobEraseOwnRecords:
			out = append(out, river.InsertManyParams{Args: EraseOwnRecordsArgs{RequestID: req.ID}})
		}
	}
	if e.mailer != nil {
		for i, m := range msgs {
			if m.Letter {
				continue // printed and posted by an officer, never mailed
			}
			out = append(out, river.InsertManyParams{Args: DeliverArgs{MessageID: l.ids[i]}})
		}
	}
	return out
}

// insertIntake writes a new request's plan inside tx, a transaction the
// caller owns (inbound mail processing): the request row, ledger, events
// and tokens in one batch, the messages, which need the request number,
// in a second; the jobs join the transaction's batch (inTx). It returns
// the request as stored.
func (e *Engine) insertIntake(ctx context.Context, tx pgx.Tx, in *dsr.Intake, now time.Time) (*dsr.Request, error) {
	req, c := in.Request, in.Change
	e.withTasks(nil, req, &c, now)
	links, _, tokens := issueLinks(req.ID, now, c.Messages)
	first := &pgx.Batch{}
	db.QueueNewRequest(first, req, in.Permission, &req.Ref)
	db.QueueAttachments(first, req.ID, c.Attachments) // the scanned letter, when an officer attached one
	db.QueueLedger(first, req.ID, now, c.Ledger)
	db.QueueEvents(first, req.ID, db.ChainHead{}, planEvents(c.Events, now))
	db.QueueTokens(first, tokens)
	db.QueueTasks(first, req.ID, c.Tasks, now)
	if err := db.SendBatch(ctx, tx, first); err != nil {
		return nil, err
	}
	msgs, err := e.renderAll(req, c.Messages, links, now)
	if err != nil {
		return nil, err
	}
	last := &pgx.Batch{}
	db.QueueMessages(last, msgs)
	db.QueueLetters(last, msgs)
	if err := db.SendBatch(ctx, tx, last); err != nil {
		return nil, err
	}
	for _, p := range append(e.jobParams(req, c.Jobs, c.Messages, links, now), e.taskParams(req, c.Tasks, now)...) {
		if err := e.enqueue(ctx, tx, p.Args, p.InsertOpts); err != nil {
			return nil, dsr.Internalf("insert jobs: %w", err)
		}
	}
	return req, nil
}

// applyIntake writes a new request's plan in one transaction of two
// round trips: BEGIN with the request row (and its subject, agent and
// permission), ledger, events, tokens and the jobs (River's insert,
// travelling with them: db.BeginHeld); then the messages, which need the
// request number the first round trip returned, with the idempotency
// record (when idemKey is set) and COMMIT. The jobs need only the
// messages' ids, drawn before anything is sent. Errors: ECONFLICT (an
// idempotency key stored concurrently), ETEMPORARY, EINTERNAL.
func (e *Engine) applyIntake(ctx context.Context, in *dsr.Intake, now time.Time, idemKey string, fp []byte) (*Receipt, error) {
	req, c := in.Request, in.Change
	e.withTasks(nil, req, &c, now)
	links, receipt, tokens := issueLinks(req.ID, now, c.Messages, in.Receipt)

	first := &pgx.Batch{}
	db.QueueNewRequest(first, req, in.Permission, &req.Ref)
	db.QueueAttachments(first, req.ID, c.Attachments) // the scanned letter, when an officer attached one
	db.QueueLedger(first, req.ID, now, c.Ledger)
	db.QueueEvents(first, req.ID, db.ChainHead{}, planEvents(c.Events, now))
	db.QueueTokens(first, tokens)
	db.QueueTasks(first, req.ID, c.Tasks, now)
	tx, err := db.BeginHeld(ctx, e.pool, first)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck

	if jobs := append(e.jobParams(req, c.Jobs, c.Messages, links, now), e.taskParams(req, c.Tasks, now)...); len(jobs) > 0 {
		if _, err := e.river.InsertManyTx(ctx, tx, jobs); err != nil {
			if herr := tx.HeldErr(); herr != nil {
				return nil, herr // the request's own statements failed
			}
			return nil, dsr.Internalf("insert jobs: %w", err)
		}
	}
	if err := tx.Flush(ctx); err != nil { // sent with the jobs, or alone when there are none
		return nil, err
	}
	msgs, err := e.renderAll(req, c.Messages, links, now)
	if err != nil {
		return nil, err
	}
	rc := &Receipt{ID: req.ID, Ref: req.RefString(), Kind: req.Kind, Regime: req.Regime, Status: req.Status,
		ReceivedAt: req.ReceivedAt, DueAt: req.DueOn, StatusURL: e.link("/status/" + receipt[0])}
	last := &pgx.Batch{}
	db.QueueMessages(last, msgs)
	db.QueueLetters(last, msgs)
	if idemKey != "" {
		lookup, sealed, err := e.sealReceipt(idemKey, rc)
		if err != nil {
			return nil, err
		}
		db.QueueIdempotent(last, lookup, db.Idempotent{Fingerprint: fp, RequestID: rc.ID, Response: sealed})
	}
	if err := tx.CommitWith(ctx, last); err != nil {
		return nil, err
	}
	return rc, nil
}

// change runs one action on a request: lock it (with the head of its
// event chain), decide with the engine clock, apply the Change, all in one
// transaction. decide must not write anything; it may refuse with a
// *dsr.Error, which rolls back. Errors: ENOTFOUND, and whatever decide or
// the database returns.
func (e *Engine) change(ctx context.Context, id string, decide func(r *dsr.Request, now time.Time) (dsr.Change, error)) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		req, head, err := db.LockRequest(ctx, tx, id)
		if err != nil {
			return err
		}
		if req.Status == dsr.StatusAwaitingRequester || req.Status == dsr.StatusInProgress {
			// A fee may be awaited: a close names and settles it.
			if req.Fee, err = db.GetFee(ctx, tx, id); err != nil {
				return err
			}
		}
		now := e.now()
		c, err := decide(req, now)
		if err != nil {
			return err
		}
		_, err = e.apply(ctx, tx, req, head, c, now)
		return err
	})
}

// apply writes c to the locked request req in tx: the request row, ledger,
// events (after head), tokens and messages as multi-row statements in one
// batch, one round trip; the jobs join the transaction's batch, inserted
// with one InsertManyTx at commit (inTx). req becomes the request after
// the change. It returns the raw values of c.Links, in order.
func (e *Engine) apply(ctx context.Context, tx pgx.Tx, req *dsr.Request, head db.ChainHead, c dsr.Change, now time.Time) ([]string, error) {
	after := c.ApplyTo(req, now)
	e.withTasks(req, after, &c, now)
	retimed, err := e.retimeTasks(ctx, tx, req, after, &c, now)
	if err != nil {
		return nil, err
	}
	if after.Status == dsr.StatusCompleted && req.Status != dsr.StatusCompleted {
		if err := e.checkTasksClosed(ctx, tx, req, &c, now); err != nil {
			return nil, err
		}
	}
	links, raws, tokens := issueLinks(req.ID, now, c.Messages, c.Links...)
	msgs, err := e.renderAll(after, c.Messages, links, now)
	if err != nil {
		return nil, err
	}
	b := &pgx.Batch{}
	if c.TouchesRequest() {
		db.QueueRequestUpdate(b, after, after.Status.Closed() && !req.Status.Closed())
	}
	if c.Verified != nil {
		db.QueueVerified(b, req.ID, now) // before this change's own links
	}
	for _, j := range c.Jobs {
		if j.Kind == dsr.JobCancelVerification {
			db.QueueRemoveVerificationJobs(b, req.ID)
		}
	}
	db.QueueNotes(b, req.ID, now, c.Notes)
	db.QueueAttachments(b, req.ID, c.Attachments)
	db.QueueLedger(b, req.ID, now, c.Ledger)
	db.QueueEvents(b, req.ID, head, planEvents(c.Events, now))
	db.QueueTokens(b, tokens)
	db.QueueMessages(b, msgs)
	if c.Outcome != nil {
		db.QueueOutcome(b, req.ID, *c.Outcome)
	}
	if c.Fee != nil {
		db.QueueFee(b, req.ID, c.Fee)
	}
	db.QueueLetters(b, msgs)
	db.QueueTasks(b, req.ID, c.Tasks, now)
	queueTaskDues(b, retimed, now)
	if err := db.SendBatch(ctx, tx, b); err != nil {
		return nil, err
	}
	jobs := append(e.jobParams(after, c.Jobs, c.Messages, links, now), e.taskParams(after, c.Tasks, now)...)
	for _, rt := range retimed {
		jobs = append(jobs, e.taskReminderParams(after, rt.Task, now)...)
	}
	for _, p := range jobs {
		if err := e.enqueue(ctx, tx, p.Args, p.InsertOpts); err != nil {
			return nil, dsr.Internalf("insert jobs: %w", err)
		}
	}
	*req = *after
	return raws, nil
}
