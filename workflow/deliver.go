package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/notify"
)

// deliverWorker sends one recorded message over SMTP. 4xx answers and
// network errors are retried with backoff; 5xx answers and exhausted
// retries mark the message failed, which officers see in the outbox.
type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	e *Engine
}

// NextRetry backs off RetryBase × attempt², capped at one hour.
func (w *deliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	d := w.e.retry * time.Duration(job.Attempt*job.Attempt)
	if d > time.Hour {
		d = time.Hour
	}
	return time.Now().Add(d)
}

// Timeout bounds one delivery attempt.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return time.Minute }

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	e := w.e
	m, err := db.GetMessage(ctx, e.pool, job.Args.MessageID, false)
	if err != nil {
		return err
	}
	if m.Status == db.MessageSent || e.mailer == nil {
		return nil // already delivered (a rescued duplicate run) or nothing to send with
	}
	// The stored bodies have their links redacted; the live ones are
	// sealed beside them. A message sealed under another key cannot get
	// its links back: it fails for good rather than send dead links.
	text, html := m.TextBody, m.HTMLBody
	if m.Sealed != nil {
		if text, html, err = openMail(e.sealKey, m.MessageID, m.Sealed); err != nil {
			return w.fail(ctx, m.ID, err)
		}
	}
	raw, err := notify.BuildMIME(notify.Message{
		From:      notify.Address{Name: e.org.Mail.FromName, Email: e.org.Mail.From},
		To:        []notify.Address{{Name: m.ToName, Email: m.ToEmail}},
		Subject:   m.Subject,
		Text:      text,
		HTML:      html,
		MessageID: m.MessageID,
		Date:      m.CreatedAt,
		Headers:   map[string]string{"Auto-Submitted": "auto-generated"},
	})
	if err != nil {
		return w.fail(ctx, m.ID, err)
	}
	sendErr := e.mailer.Send(ctx, e.org.Mail.From, []string{m.ToEmail}, raw)
	if sendErr == nil {
		return db.RecordAttempt(ctx, e.pool, m.ID, db.MessageSent, "", time.Now())
	}
	if !notify.Temporary(sendErr) || job.Attempt >= job.MaxAttempts {
		return w.fail(ctx, m.ID, sendErr)
	}
	if err := db.RecordAttempt(ctx, e.pool, m.ID, db.MessageQueued, sendErr.Error(), time.Now()); err != nil {
		return err
	}
	return safeErr("temporary failure", sendErr)
}

// safeErr is the error River records: the SMTP code only, since a relay's
// reply text may quote the recipient and River keeps job errors for days.
func safeErr(what string, cause error) error {
	return fmt.Errorf("deliver: %s (SMTP code %d)", what, notify.SMTPCode(cause))
}

func (w *deliverWorker) fail(ctx context.Context, id string, cause error) error {
	if err := db.RecordAttempt(ctx, w.e.pool, id, db.MessageFailed, cause.Error(), time.Now()); err != nil {
		return err
	}
	return river.JobCancel(safeErr("failed permanently", cause))
}
