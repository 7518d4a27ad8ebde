package workflow

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/notify"
)

// ReminderArgs is one step of a request's deadline chain: officer
// reminders at the configured offsets before the due date (default 7, 3, 1
// and 0 days), then a daily overdue escalation to admins. Each step, when
// it runs, inserts the next one in the same transaction; a transaction that
// moves the due date inserts a new chain, and the old chain's next step
// sees the date moved and does nothing.
type ReminderArgs struct {
	RequestID string `json:"request_id" river:"unique"`
	Due       string `json:"due" river:"unique"`
	Step      int    `json:"step" river:"unique"`
}

// Kind is the River job kind.
func (ReminderArgs) Kind() string { return "deadline_reminder" }

// InsertOpts: unique per request, due date and step.
func (ReminderArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// reminderHour is the local time of day at which reminders go out.
const reminderHour = 9 * time.Hour

// offsets returns the reminder offsets, largest first, without repeats.
func (e *Engine) offsets() []int {
	seen := map[int]bool{}
	var out []int
	for _, o := range e.org.Reminders.OfficerDaysBefore {
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out
}

// stepTime is when step of the chain for due runs: 09:00 local on due
// minus offset for reminders, on due + n for the n-th escalation.
func (e *Engine) stepTime(due dsr.Date, step int) time.Time {
	offs := e.offsets()
	day := due.AddDays(step - len(offs) + 1)
	if step < len(offs) {
		day = due.AddDays(-offs[step])
	}
	return day.Start(e.org.Location()).Add(reminderHour)
}

// nextStep returns the first step of the chain for due that is still in
// the future at now.
func (e *Engine) nextStep(due dsr.Date, now time.Time) int {
	step := 0
	for !e.stepTime(due, step).After(now) {
		step++
	}
	return step
}

// reminderParams is the chain for req's current due date resumed at its
// first step still in the future at now: what the reconciliation sweep
// re-inserts for a request whose chain went missing (missed steps are not
// sent in a burst).
func (e *Engine) reminderParams(req *dsr.Request, now time.Time) river.InsertManyParams {
	step := e.nextStep(req.DueOn, now)
	return river.InsertManyParams{Args: ReminderArgs{RequestID: req.ID, Due: req.DueOn.String(), Step: step},
		InsertOpts: &river.InsertOpts{ScheduledAt: e.stepTime(req.DueOn, step)}}
}

// chainParams is the chain a change starts for req's due date at now.
// When a step's time has already passed (a letter entered weeks after it
// arrived, a date worked out again at triage), the latest of the passed
// steps runs at once and the chain goes on from there: a request due today
// alerts its officer now, not at tomorrow's overdue step, and one already
// overdue escalates now, not the next morning. Only the latest passed
// step runs (once: the job is unique by request, due date and step), so
// an officer gets one alert, not every missed one.
func (e *Engine) chainParams(req *dsr.Request, now time.Time) river.InsertManyParams {
	step := e.nextStep(req.DueOn, now)
	at := e.stepTime(req.DueOn, step)
	if step > 0 {
		step, at = step-1, now
	}
	return river.InsertManyParams{Args: ReminderArgs{RequestID: req.ID, Due: req.DueOn.String(), Step: step},
		InsertOpts: &river.InsertOpts{ScheduledAt: at}}
}

// scheduleReminders starts the deadline chain for req's current due date,
// in the transaction that set the date.
func (e *Engine) scheduleReminders(ctx context.Context, tx pgx.Tx, req *dsr.Request) error {
	p := e.chainParams(req, e.now())
	if err := e.enqueue(ctx, tx, p.Args, p.InsertOpts); err != nil {
		return &dsr.Error{Code: dsr.EINTERNAL, Err: fmt.Errorf("schedule reminders: %w", err)}
	}
	return nil
}

type reminderWorker struct {
	river.WorkerDefaults[ReminderArgs]
	e *Engine
}

// Work sends one reminder or escalation and schedules the next step. It
// does nothing when the request is closed or its date moved: the change
// that moved the date scheduled the chain for the new one. River runs a
// step at its time (ScheduledAt), so the worker does not second-guess the
// clock. While the clock is paused (waiting for the requester) the step is
// skipped and the chain goes on: an answer that moves the date starts a
// new chain, one that does not (paused for no day) keeps this one.
func (w *reminderWorker) Work(ctx context.Context, job *river.Job[ReminderArgs]) error {
	e := w.e
	return e.inTx(ctx, func(tx pgx.Tx) error {
		req, err := db.GetRequest(ctx, tx, job.Args.RequestID, true)
		if err != nil {
			if dsr.ErrorCode(err) == dsr.ENOTFOUND {
				return nil
			}
			return err
		}
		if req.Status.Closed() || req.DueOn.String() != job.Args.Due {
			return nil
		}
		now := e.now()
		if req.PausedSince == nil {
			if err := w.notify(ctx, tx, req, job.Args.Step, now); err != nil {
				return err
			}
		}
		next := e.followingStep(req.DueOn, job.Args.Step, now)
		return e.enqueue(ctx, tx, ReminderArgs{RequestID: req.ID, Due: job.Args.Due, Step: next},
			&river.InsertOpts{ScheduledAt: e.stepTime(req.DueOn, next)})
	})
}

// followingStep is the step of the chain for due after step ran at now:
// the next one, or the first still in the future when the step ran late
// (the workers were down, or the configured offsets changed), so missed
// reminders are not sent in a burst.
func (e *Engine) followingStep(due dsr.Date, step int, now time.Time) int {
	return max(step+1, e.nextStep(due, now))
}

func (w *reminderWorker) notify(ctx context.Context, tx pgx.Tx, req *dsr.Request, step int, now time.Time) error {
	e := w.e
	offs := e.offsets()
	today := dsr.DateIn(now, e.org.Location())
	d := e.officerMailData(req)
	if step < len(offs) {
		d.DaysLeft = today.DaysUntil(req.DueOn)
		d.Note = "Status: " + req.Status.Label() + "."
		users, err := e.reminderRecipients(ctx, tx, req)
		if err != nil {
			return err
		}
		if err := e.mailUsers(ctx, tx, req.ID, users, "officer_reminder", d); err != nil {
			return err
		}
		return event(ctx, tx, req, dsr.ActorSystem, dsr.EventReminderSent, false,
			map[string]string{"due": req.DueOn.String(), "days_before": fmt.Sprint(offs[step]), "recipients": fmt.Sprint(len(users))}, now)
	}
	d.DaysLeft, d.Overdue = req.DueOn.DaysUntil(today), true
	d.Note = "status: " + req.Status.Label()
	admins, err := db.ActiveUsers(ctx, tx, db.RoleAdmin)
	if err != nil {
		return err
	}
	if err := e.mailUsers(ctx, tx, req.ID, admins, "overdue_escalation", d); err != nil {
		return err
	}
	return event(ctx, tx, req, dsr.ActorSystem, dsr.EventOverdueEscalated, false,
		map[string]string{"due": req.DueOn.String(), "days_overdue": fmt.Sprint(d.DaysLeft), "recipients": fmt.Sprint(len(admins))}, now)
}

// reminderRecipients is the assignee, or every officer when unassigned.
func (e *Engine) reminderRecipients(ctx context.Context, tx pgx.Tx, req *dsr.Request) ([]db.User, error) {
	if req.AssigneeID != "" {
		u, err := db.UserByID(ctx, tx, req.AssigneeID)
		if err == nil && u.DisabledAt == nil {
			return []db.User{*u}, nil
		}
	}
	return db.ActiveUsers(ctx, tx, db.RoleOfficer)
}

func (e *Engine) officerMailData(req *dsr.Request) notify.MailData {
	return notify.MailData{Locale: e.org.Locale, OrgName: e.org.Organisation.Name, ContactEmail: e.org.Organisation.ContactEmail,
		Ref: req.RefString(), KindShort: req.Kind.Short(), DueOn: req.DueOn.Long(),
		ConsoleURL: e.link("/console/requests/" + req.ID)}
}

// mailUsers records one message per user for event and inserts their
// delivery jobs. Officer mails carry no requester personal data: the
// reference, the kind, the dates and a console link.
func (e *Engine) mailUsers(ctx context.Context, tx pgx.Tx, requestID string, users []db.User, event string, d notify.MailData) error {
	for _, u := range users {
		d.RecipientName = u.Name
		r, err := e.renderer.Render(e.org.Locale, event, d)
		if err != nil {
			return &dsr.Error{Code: dsr.EINTERNAL, Err: err}
		}
		role := "officer"
		if u.Role == db.RoleAdmin {
			role = "admin"
		}
		if err := e.recordMessage(ctx, tx, &db.Message{RequestID: requestID, Event: event, Locale: e.org.Locale,
			RecipientRole: role, ToName: u.Name, ToEmail: u.Email, Subject: r.Subject, TextBody: r.Text, HTMLBody: r.HTML}); err != nil {
			return err
		}
	}
	return nil
}
