package workflow_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// Workers as specifications: each test works one job with rivertest, the
// job row inside a transaction rolled back at the end, under River's test
// time set to the desk's clock. The worker's own transaction (it locks the
// request and commits the change, as in production) is the engine's; the
// jobs it schedules are asserted with rivertest.RequireInserted.

// riverTime is the desk's clock as River's time generator.
type riverTime struct{ c *apitest.Clock }

func (r riverTime) Now() time.Time { return r.c.Now() }
func (r riverTime) NowOrNil() *time.Time {
	now := r.c.Now().UTC()
	return &now
}

// workerTx is a transaction for rivertest, rolled back when t ends.
func workerTx(t *testing.T, d *apitest.Desk) pgx.Tx {
	t.Helper()
	tx, err := d.Pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

func testWorker[T river.JobArgs](t *testing.T, d *apitest.Desk, w river.Worker[T]) *rivertest.Worker[T, pgx.Tx] {
	return rivertest.NewWorker(t, riverpgxv5.New(nil), &river.Config{Test: river.TestConfig{Time: riverTime{d.Clock}}}, w)
}

func work[T river.JobArgs](t *testing.T, d *apitest.Desk, w river.Worker[T], args T, at time.Time) *rivertest.WorkResult {
	t.Helper()
	res, err := testWorker(t, d, w).Work(context.Background(), t, workerTx(t, d), args, &river.InsertOpts{ScheduledAt: at})
	if err != nil {
		t.Fatalf("work %s: %v", args.Kind(), err)
	}
	return res
}

func wantCompleted(t *testing.T, res *rivertest.WorkResult) {
	t.Helper()
	if res.EventKind != river.EventKindJobCompleted {
		t.Fatalf("job %s: %s (state %s), want completed", res.Job.Kind, res.EventKind, res.Job.State)
	}
}

// reminderJobs lists the deadline chain jobs of request id (River's
// JobList: rivertest.RequireInserted matches by kind only).
func reminderJobs(t *testing.T, d *apitest.Desk, id string) map[workflow.ReminderArgs]*rivertype.JobRow {
	t.Helper()
	res, err := d.Engine.River().JobList(context.Background(), river.NewJobListParams().Kinds(workflow.ReminderArgs{}.Kind()).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	out := map[workflow.ReminderArgs]*rivertype.JobRow{}
	for _, j := range res.Jobs {
		var a workflow.ReminderArgs
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		if a.RequestID == id {
			out[a] = j
		}
	}
	return out
}

// requestJobs lists, with River's JobList, the jobs of the given kinds
// (all kinds when none) whose args name request id (all when id is "")
// and, when due is not "", that due date.
func requestJobs(t *testing.T, d *apitest.Desk, id, due string, kinds ...string) []*rivertype.JobRow {
	t.Helper()
	params := river.NewJobListParams().First(10000)
	if len(kinds) > 0 {
		params = params.Kinds(kinds...)
	}
	res, err := d.Engine.River().JobList(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	var out []*rivertype.JobRow
	for _, j := range res.Jobs {
		var a struct {
			RequestID string `json:"request_id"`
			Due       string `json:"due"`
		}
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		if (id == "" || a.RequestID == id) && (due == "" || a.Due == due) {
			out = append(out, j)
		}
	}
	return out
}

// nextReminder asserts the chain step the worker scheduled.
func nextReminder(t *testing.T, d *apitest.Desk, id string, due dsr.Date, step int, at time.Time) {
	t.Helper()
	j := reminderJobs(t, d, id)[workflow.ReminderArgs{RequestID: id, Due: due.String(), Step: step}]
	if j == nil || j.State != rivertype.JobStateScheduled || !j.ScheduledAt.Equal(at) {
		t.Fatalf("step %d for %s: job %+v, want scheduled at %s", step, due, j, at)
	}
}

// noReminder asserts that the chain has no job for step.
func noReminder(t *testing.T, d *apitest.Desk, id string, due dsr.Date, step int) {
	t.Helper()
	if j := reminderJobs(t, d, id)[workflow.ReminderArgs{RequestID: id, Due: due.String(), Step: step}]; j != nil {
		t.Fatalf("step %d for %s: unexpected job %+v", step, due, j)
	}
}

// at9sharp is 09:00 exactly in the organisation's zone on day: when a
// step of the deadline chain is scheduled.
func at9sharp(d *apitest.Desk, day dsr.Date) time.Time {
	return day.Start(d.Org.Location()).Add(9 * time.Hour)
}

func openRequest(t *testing.T, d *apitest.Desk, email string) *dsr.Request {
	t.Helper()
	rc := submit(t, d, dsr.KindAccess, email, "NL", "", nil)
	verify(t, d, email)
	return request(t, d, rc.ID)
}

func TestReminderStepActsWhenRiverRunsIt(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	addUser(t, d, "olga@testorg.example", db.RoleOfficer)
	req := openRequest(t, d, "vic@example.com")
	// River decides when a step is due; the worker does not re-check the
	// clock (no snooze "when early"): run now, the first step (7 days
	// before) sends its reminder and schedules the second (3 days before).
	res := work(t, d, workflow.ReminderWorker(d.Engine), workflow.ReminderArgs{RequestID: req.ID, Due: req.DueOn.String(), Step: 0}, time.Time{})
	wantCompleted(t, res)
	if n := countEvents(t, d, req.ID, "reminder_sent"); n != 1 {
		t.Fatalf("%d reminder_sent events, want 1", n)
	}
	if ms := d.MailTo(t, "olga@testorg.example", 1); len(ms) != 1 {
		t.Fatalf("%d reminders to the officer", len(ms))
	}
	nextReminder(t, d, req.ID, req.DueOn, 1, at9sharp(d, req.DueOn.AddDays(-3)))
}

func TestReminderRunLateSkipsTheMissedSteps(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	addUser(t, d, "olga@testorg.example", db.RoleOfficer)
	req := openRequest(t, d, "vic@example.com")
	// The workers were down from 7 days before the due date until the day
	// before: step 0 runs then, sends one reminder, and the chain goes on
	// with the first step still ahead (due day), not with a burst of the
	// 3- and 1-day reminders.
	d.Clock.Advance(at9(d, req.DueOn.AddDays(-1)).Sub(d.Clock.Now()))
	res := work(t, d, workflow.ReminderWorker(d.Engine), workflow.ReminderArgs{RequestID: req.ID, Due: req.DueOn.String(), Step: 0},
		at9sharp(d, req.DueOn.AddDays(-7)))
	wantCompleted(t, res)
	if n := countEvents(t, d, req.ID, "reminder_sent"); n != 1 {
		t.Fatalf("%d reminder_sent events, want 1", n)
	}
	nextReminder(t, d, req.ID, req.DueOn, 3, at9sharp(d, req.DueOn))
	noReminder(t, d, req.ID, req.DueOn, 1)
}

func TestReminderForAMovedDateOrClosedRequestDoesNothing(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	addUser(t, d, "olga@testorg.example", db.RoleOfficer)
	req := openRequest(t, d, "vic@example.com")
	old := req.DueOn.AddDays(-30) // a date the request no longer has
	wantCompleted(t, work(t, d, workflow.ReminderWorker(d.Engine), workflow.ReminderArgs{RequestID: req.ID, Due: old.String(), Step: 0}, time.Time{}))
	noReminder(t, d, req.ID, old, 1)

	if err := d.Engine.Complete(context.Background(), req.ID, officer, "sent the copy"); err != nil {
		t.Fatal(err)
	}
	wantCompleted(t, work(t, d, workflow.ReminderWorker(d.Engine), workflow.ReminderArgs{RequestID: req.ID, Due: req.DueOn.String(), Step: 0}, time.Time{}))
	noReminder(t, d, req.ID, req.DueOn, 1)
	if n := countEvents(t, d, req.ID, "reminder_sent"); n != 0 {
		t.Fatalf("%d reminder_sent events for a moved date and a closed request", n)
	}
	// Run the deliveries, then look: no officer mail.
	d.RunDue(t, 0)
	if n := len(mailsTo(d, "olga@testorg.example")); n != 0 {
		t.Fatalf("%d officer mails", n)
	}
}

func TestReminderWhilePausedSkipsTheStepAndKeepsTheChain(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	addUser(t, d, "olga@testorg.example", db.RoleOfficer)
	rc := submit(t, d, dsr.KindAccess, "ula@example.com", "GB", "", nil)
	verify(t, d, "ula@example.com")
	if _, err := d.Engine.RequestInfo(context.Background(), rc.ID, officer, "clarification", "Which accounts do you mean?"); err != nil {
		t.Fatal(err)
	}
	req := request(t, d, rc.ID)
	if req.PausedSince == nil {
		t.Fatalf("UK request waiting for the requester is not paused")
	}
	// While the clock is stopped the reminder is not sent (its date will
	// move when the answer arrives), and the job is not snoozed: the chain
	// goes on with the next step, which an answer that moves the date
	// leaves behind and one that does not (paused for no day) keeps.
	res := work(t, d, workflow.ReminderWorker(d.Engine), workflow.ReminderArgs{RequestID: req.ID, Due: req.DueOn.String(), Step: 0}, time.Time{})
	wantCompleted(t, res)
	if n := countEvents(t, d, req.ID, "reminder_sent"); n != 0 {
		t.Fatalf("%d reminders while paused", n)
	}
	nextReminder(t, d, req.ID, req.DueOn, 1, at9sharp(d, req.DueOn.AddDays(-3)))
}

func TestVerificationJobsActWhenRiverRunsThem(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	rc := submit(t, d, dsr.KindAccess, "mo@example.com", "NL", "", nil)
	d.MailTo(t, "mo@example.com", 1)
	// No snooze "when early": the reminder the job is for goes out when
	// River runs it.
	wantCompleted(t, work(t, d, workflow.VerifyReminderWorker(d.Engine), workflow.VerifyReminderArgs{RequestID: rc.ID}, time.Time{}))
	if n := countEvents(t, d, rc.ID, "verification_reminder_sent"); n != 1 {
		t.Fatalf("%d verification_reminder_sent events", n)
	}
	d.MailWithSubject(t, "mo@example.com", "Reminder: please confirm")
	wantCompleted(t, work(t, d, workflow.VerifyExpiryWorker(d.Engine), workflow.VerifyExpiryArgs{RequestID: rc.ID}, time.Time{}))
	if st := request(t, d, rc.ID).Status; st != dsr.StatusExpired {
		t.Fatalf("status %s after the expiry job, want expired", st)
	}
	d.MailWithSubject(t, "mo@example.com", "has expired")
}

func TestVerificationJobsForAConfirmedRequestDoNothing(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	req := openRequest(t, d, "ned@example.com")
	d.MailTo(t, "ned@example.com", 2)
	wantCompleted(t, work(t, d, workflow.VerifyReminderWorker(d.Engine), workflow.VerifyReminderArgs{RequestID: req.ID}, time.Time{}))
	wantCompleted(t, work(t, d, workflow.VerifyExpiryWorker(d.Engine), workflow.VerifyExpiryArgs{RequestID: req.ID}, time.Time{}))
	if st := request(t, d, req.ID).Status; st != dsr.StatusOpen {
		t.Fatalf("status %s, want still open", st)
	}
	if n := countEvents(t, d, req.ID, "verification_reminder_sent"); n != 0 {
		t.Fatalf("%d verification reminders for a confirmed request", n)
	}
	d.RunDue(t, 0) // deliver anything they queued, then count
	if n := len(mailsTo(d, "ned@example.com")); n != 2 {
		t.Fatalf("%d mails, want 2 (received, acknowledged)", n)
	}
}
