package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// dueReminder is the request's deadline-chain job that is runnable at the
// desk's now (waiting to run, scheduled no later than now), or nil.
func dueReminder(t *testing.T, d *apitest.Desk, id string) *workflow.ReminderArgs {
	t.Helper()
	return reminderIn(t, d, id, rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable)
}

// firstReminder is dueReminder that also sees the job when River's worker
// has already picked it up (it is available at once, so it may run before
// the test looks).
func firstReminder(t *testing.T, d *apitest.Desk, id string) *workflow.ReminderArgs {
	t.Helper()
	return reminderIn(t, d, id, rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateCompleted)
}

func reminderIn(t *testing.T, d *apitest.Desk, id string, states ...rivertype.JobState) *workflow.ReminderArgs {
	t.Helper()
	res, err := d.Engine.River().JobList(context.Background(), river.NewJobListParams().Kinds(workflow.ReminderArgs{}.Kind()).
		States(states...).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range res.Jobs {
		var a workflow.ReminderArgs
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		if a.RequestID == id && !j.ScheduledAt.After(d.Clock.Now()) {
			return &a
		}
	}
	return nil
}

// A request entered late alerts at once: a CCPA letter received 44 days
// ago is due today and its officer hears of it now, not at tomorrow's
// overdue step; one already 6 days overdue escalates to the admins now,
// not the next morning. Only the latest passed step runs.
func TestLateEntryAlertsAtOnce(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "olly@testorg.example", workflow.RoleOfficer)
	staff(t, d, "adam@testorg.example", workflow.RoleAdmin)
	loc := d.Org.Location()
	today := dsr.DateIn(d.Clock.Now(), loc)
	enter := func(email string, daysAgo int) string {
		// Noon on the organisation's calendar day, so a daylight-saving
		// change in between cannot move the receipt to another day.
		received := today.AddDays(-daysAgo).Start(loc).Add(12 * time.Hour).UTC()
		code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests", map[string]any{"kind": "access", "received_at": received.Format(time.RFC3339),
			"subject": map[string]any{"email": email, "name": "Lou", "country": "US", "state": "CA"}})
		if code != 201 {
			t.Fatalf("enter: %d %v", code, out)
		}
		return out["id"].(string)
	}
	dueToday := enter("today@example.com", 44)
	overdue := enter("overdue@example.com", 50)
	// Steps run at 09:00 local: before that hour today's step is still to
	// come, and the latest passed one is the day before's.
	early := 0
	if d.Clock.Now().Before(today.Start(loc).Add(9 * time.Hour)) {
		early = 1
	}
	if a := firstReminder(t, d, dueToday); a == nil || a.Step != 3-early {
		t.Fatalf("due today: runnable step %+v, want step %d (the latest passed reminder) now", a, 3-early)
	}
	if a := firstReminder(t, d, overdue); a == nil || a.Step != 9-early {
		t.Fatalf("6 days overdue: runnable step %+v, want step %d (the latest passed escalation) now", a, 9-early)
	}
	d.RunDue(t, 0)
	d.MailWithSubject(t, "olly@testorg.example", "Due today")
	d.MailWithSubject(t, "adam@testorg.example", "OVERDUE by 6 days")
	// Once: what runs next is in the future.
	if a := dueReminder(t, d, dueToday); a != nil {
		t.Fatalf("after the alert, still runnable: %+v", a)
	}
	if a := dueReminder(t, d, overdue); a != nil {
		t.Fatalf("after the escalation, still runnable: %+v", a)
	}
}

// verificationJobs counts the request's confirmation reminder and expiry
// jobs still waiting to run.
func verificationJobs(t *testing.T, d *apitest.Desk, id string) int {
	t.Helper()
	res, err := d.Engine.River().JobList(context.Background(), river.NewJobListParams().
		Kinds(workflow.VerifyReminderArgs{}.Kind(), workflow.VerifyExpiryArgs{}.Kind()).
		States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range res.Jobs {
		var a workflow.VerifyReminderArgs
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		if a.RequestID == id {
			n++
		}
	}
	return n
}

// An officer's verification removes the confirmation reminder and expiry
// in the same transaction: nothing stays scheduled to wake up for a
// confirmed request.
func TestOfficerVerificationRemovesVerificationJobs(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "olly@testorg.example", workflow.RoleOfficer)
	code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests", map[string]any{"kind": "access", "received_at": d.Clock.Now().UTC().Format(time.RFC3339),
		"subject": map[string]any{"email": "vic@example.com", "country": "NL"}})
	if code != 201 {
		t.Fatalf("enter: %d %v", code, out)
	}
	id := out["id"].(string)
	if n := verificationJobs(t, d, id); n != 2 {
		t.Fatalf("before verification: %d verification jobs, want 2", n)
	}
	if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+id+"/verify", map[string]string{"method": "ID document", "note": "passport checked at the desk"}); code != 200 {
		t.Fatalf("verify: %d %v", code, out)
	}
	if n := verificationJobs(t, d, id); n != 0 {
		t.Fatalf("after the officer verified: %d verification jobs still waiting", n)
	}
}
