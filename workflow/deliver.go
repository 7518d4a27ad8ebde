package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/notify"
)

// Batched delivery. Every recorded message has its own delivery job (the
// outbox guarantee: the row and its job commit together), but a job does
// not send only its own message: it claims its own and up to
// deliveryBatch-1 other due messages, sends them all over one SMTP
// connection, and records every outcome with one statement. The jobs of
// the messages it sent then find them sent and finish at once.
const (
	// deliveryBatch is the most messages one job sends per connection.
	deliveryBatch = 50
	// deliveryLease is how long a claim holds; longer than the job's
	// Timeout plus the time to record the outcomes, so a live job never
	// loses its claim, while a dead one's messages become due again.
	deliveryLease = 2 * time.Minute
	// deliveryTimeout bounds one job's sending.
	deliveryTimeout = time.Minute
	// maxDeliveryAttempts is when a message that keeps getting temporary
	// failures fails for good (DeliverArgs' MaxAttempts: about a day and a
	// half with the default backoff).
	maxDeliveryAttempts = 12
	// claimedWait is the longest a job waits before looking again at its
	// message while another job holds it: that job usually finishes in
	// moments, and the check is one read.
	claimedWait = 5 * time.Second
)

// batchMailer is a Mailer that sends several messages over one connection
// (*notify.Sender); a plain Mailer gets one Send per message.
type batchMailer interface {
	SendMany(ctx context.Context, msgs []notify.Envelope) []error
}

// deliverWorker sends recorded messages over SMTP, in batches. 4xx answers
// and network errors are retried with backoff, per message; 5xx answers and
// exhausted retries mark the message failed, which officers see in the
// outbox.
type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	e *Engine
}

// NextRetry backs off like the message's own retry time (see backoff),
// from the engine clock.
func (w *deliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	return w.e.now().Add(w.e.backoff(job.Attempt))
}

// backoff is the wait after the nth failed attempt: RetryBase × n²,
// capped at one hour.
func (e *Engine) backoff(n int) time.Duration {
	d := e.retry * time.Duration(n*n)
	if d > time.Hour || d < 0 {
		d = time.Hour
	}
	return d
}

// Timeout bounds one delivery run.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return deliveryTimeout }

// Work claims the job's message (when due) and other due ones, sends them
// and records the outcomes; then it answers for its own message: done
// when sent, failed or captured, an error for River to retry when it got
// a temporary failure, and a snooze while another job holds it or its
// retry time has not come.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	e := w.e
	if e.mailer == nil {
		return nil // nothing to send with: messages stay captured
	}
	own := job.Args.MessageID
	now := e.now()
	batch, err := db.ClaimMessages(ctx, e.pool, own, deliveryBatch, now, now.Add(deliveryLease))
	if err != nil {
		return err
	}
	outcomes := w.send(ctx, batch, own, job.Attempt >= job.MaxAttempts)
	// Record even when the job's context ended: an accepted message left
	// queued would be sent again once its claim lapses.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := db.RecordDeliveries(rctx, e.pool, outcomes.records, e.now()); err != nil {
		return err
	}
	if len(batch) > 0 && batch[0].ID == own {
		switch o := outcomes.records[0]; o.Status {
		case db.MessageSent:
			return nil
		case db.MessageFailed:
			return river.JobCancel(safeErr("failed permanently", outcomes.own))
		default:
			return safeErr("temporary failure", outcomes.own)
		}
	}
	return w.waitOrFinish(ctx, own)
}

// waitOrFinish answers for a message the run did not claim.
func (w *deliverWorker) waitOrFinish(ctx context.Context, id string) error {
	st, err := db.MessageDelivery(ctx, w.e.pool, id)
	if err != nil {
		return err
	}
	now := w.e.now()
	switch {
	case st.Status == db.MessageFailed:
		return river.JobCancel(errors.New("deliver: failed permanently"))
	case st.Status != db.MessageQueued:
		return nil // sent (by another job's batch) or captured
	case st.NextAttempt != nil && st.NextAttempt.After(now):
		return river.JobSnooze(st.NextAttempt.Sub(now)) // its retry time, set by another job's batch
	case st.ClaimedUntil != nil && st.ClaimedUntil.After(now):
		return river.JobSnooze(min(st.ClaimedUntil.Sub(now), claimedWait)) // another job is sending it
	default:
		return river.JobSnooze(time.Second) // a concurrent claim held its row for a moment
	}
}

// sendOutcomes are the outcomes of one run, in batch order, and the error
// of the first message (the job's own, when claimed).
type sendOutcomes struct {
	records []db.DeliveryOutcome
	own     error
}

// send delivers batch over one connection and returns an outcome per
// message. lastTry makes a temporary failure of message own final (its
// job has no attempt left).
func (w *deliverWorker) send(ctx context.Context, batch []*db.Message, own string, lastTry bool) sendOutcomes {
	e := w.e
	out := sendOutcomes{records: make([]db.DeliveryOutcome, len(batch))}
	errs := make([]error, len(batch))
	var envs []notify.Envelope
	var sendIdx []int // batch index of each envelope
	for i, m := range batch {
		raw, err := e.buildMessage(m)
		if err != nil {
			errs[i] = permanent{err}
			continue
		}
		envs = append(envs, notify.Envelope{From: e.org.Mail.From, To: []string{m.ToEmail}, Raw: raw})
		sendIdx = append(sendIdx, i)
	}
	sctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	var sendErrs []error
	if bm, ok := e.mailer.(batchMailer); ok {
		sendErrs = bm.SendMany(sctx, envs)
	} else {
		sendErrs = make([]error, len(envs))
		for j, env := range envs {
			sendErrs[j] = e.mailer.Send(sctx, env.From, env.To, env.Raw)
		}
	}
	for j, i := range sendIdx {
		errs[i] = sendErrs[j]
	}
	now := e.now()
	for i, m := range batch {
		err := errs[i]
		o := db.DeliveryOutcome{ID: m.ID, Status: db.MessageSent}
		switch {
		case err == nil:
		case isPermanent(err) || m.Attempts+1 >= maxDeliveryAttempts || (m.ID == own && lastTry):
			o.Status, o.Error = db.MessageFailed, err.Error()
		default:
			o.Status, o.Error, o.NextAttempt = db.MessageQueued, err.Error(), now.Add(e.backoff(m.Attempts+1))
		}
		out.records[i] = o
	}
	if len(batch) > 0 {
		out.own = errs[0]
	}
	return out
}

// buildMessage opens a message's sealed live bodies and builds its MIME.
// The stored bodies have their links redacted; a message sealed under
// another key cannot get its links back: it fails for good rather than
// send dead links.
func (e *Engine) buildMessage(m *db.Message) ([]byte, error) {
	text, html := m.TextBody, m.HTMLBody
	if m.Sealed != nil {
		var err error
		if text, html, err = openMail(e.sealKey, m.MessageID, m.Sealed); err != nil {
			return nil, err
		}
	}
	return notify.BuildMIME(notify.Message{
		From:      notify.Address{Name: e.org.Mail.FromName, Email: e.org.Mail.From},
		To:        []notify.Address{{Name: m.ToName, Email: m.ToEmail}},
		Subject:   m.Subject,
		Text:      text,
		HTML:      html,
		MessageID: m.MessageID,
		Date:      m.CreatedAt,
		Headers:   map[string]string{"Auto-Submitted": "auto-generated"},
	})
}

// permanent marks an error no retry can fix (a message that cannot be
// opened or built), whatever notify.Temporary would say.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

func isPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p) || !notify.Temporary(err)
}

// safeErr is the error River records: the SMTP code only, since a relay's
// reply text may quote the recipient and River keeps job errors for days.
func safeErr(what string, cause error) error {
	return fmt.Errorf("deliver: %s (SMTP code %d)", what, notify.SMTPCode(cause))
}
