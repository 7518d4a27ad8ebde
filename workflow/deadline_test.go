package workflow_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/notify/smtptest"
	"github.com/dsrdesk/dsrdesk/workflow"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

func addUser(t *testing.T, d *apitest.Desk, email, role string) *db.User {
	t.Helper()
	u := &db.User{Email: email, Name: strings.Split(email, "@")[0], Role: role, PasswordHash: "x"}
	if err := db.InsertUser(context.Background(), d.Pool, u); err != nil {
		t.Fatal(err)
	}
	return u
}

// runUntil moves the fake clock to at and works every job due by then.
func runUntil(t *testing.T, d *apitest.Desk, at time.Time) {
	t.Helper()
	if by := at.Sub(d.Clock.Now()); by > 0 {
		d.RunDue(t, by)
		return
	}
	d.RunDue(t, 0)
}

// at9 is 09:00 in the organisation's zone on day.
func at9(d *apitest.Desk, day dsr.Date) time.Time {
	return day.Start(d.Org.Location()).Add(9*time.Hour + time.Minute)
}

func mailsTo(d *apitest.Desk, addr string) []smtptest.Received {
	var out []smtptest.Received
	for _, m := range d.SMTP.Messages() {
		if len(m.To) > 0 && strings.EqualFold(m.To[0], addr) {
			out = append(out, m)
		}
	}
	return out
}

func countEvents(t *testing.T, d *apitest.Desk, id, typ string) int {
	n := 0
	for _, e := range eventTypes(t, d, id) {
		if e == typ {
			n++
		}
	}
	return n
}

func TestGDPRRequestRemindsOfficersThenEscalatesDaily(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	addUser(t, d, "olga@testorg.example", db.RoleOfficer)
	addUser(t, d, "pat@testorg.example", db.RoleOfficer)
	addUser(t, d, "ada@testorg.example", db.RoleAdmin)
	rc := submit(t, d, dsr.KindAccess, "vic@example.com", "NL", "", nil)
	verify(t, d, "vic@example.com")
	req := request(t, d, rc.ID)
	ledgerHas(t, d, rc.ID, dsr.LedgerDue, req.DueOn.String())

	for i, days := range []int{7, 3, 1, 0} {
		runUntil(t, d, at9(d, req.DueOn.AddDays(-days)))
		for _, officer := range []string{"olga@testorg.example", "pat@testorg.example"} {
			ms := mailsTo(d, officer)
			if len(ms) != i+1 {
				t.Fatalf("%d days before: %d reminders to %s, want %d", days, len(ms), officer, i+1)
			}
			want := "Due in " + map[int]string{7: "7 days", 3: "3 days", 1: "1 day", 0: ""}[days]
			if days == 0 {
				want = "Due today"
			}
			if last := ms[len(ms)-1]; !strings.Contains(last.Subject, want) || !strings.Contains(last.Text, rc.Ref) || strings.Contains(last.Text, "vic@example.com") {
				t.Fatalf("reminder %q:\n%s", last.Subject, last.Text)
			}
		}
	}
	if n := len(mailsTo(d, "ada@testorg.example")); n != 0 {
		t.Fatalf("admin got %d mails before the due date passed", n)
	}
	for day := 1; day <= 2; day++ {
		runUntil(t, d, at9(d, req.DueOn.AddDays(day)))
		ms := mailsTo(d, "ada@testorg.example")
		if len(ms) != day || !strings.Contains(ms[day-1].Subject, "OVERDUE by "+map[int]string{1: "1 day:", 2: "2 days"}[day]) {
			t.Fatalf("day %d after due: admin mails %d, last %q", day, len(ms), ms[len(ms)-1].Subject)
		}
	}
	if n, m := countEvents(t, d, rc.ID, "reminder_sent"), countEvents(t, d, rc.ID, "overdue_escalated"); n != 4 || m != 2 {
		t.Fatalf("events: %d reminders, %d escalations", n, m)
	}
	// Closing stops the escalation.
	if err := d.Engine.Complete(context.Background(), rc.ID, officer, "sent the copy"); err != nil {
		t.Fatal(err)
	}
	runUntil(t, d, at9(d, req.DueOn.AddDays(3)))
	if n := len(mailsTo(d, "ada@testorg.example")); n != 2 {
		t.Fatalf("escalations after close: %d mails, want still 2", n)
	}
}

func TestRequestClosedBeforeItsRemindersGetsNone(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	addUser(t, d, "oscar@testorg.example", db.RoleOfficer)
	addUser(t, d, "adam@testorg.example", db.RoleAdmin)
	rc := submit(t, d, dsr.KindErasure, "wes@example.com", "NL", "", nil)
	verify(t, d, "wes@example.com")
	req := request(t, d, rc.ID)
	if req.DueOn != req.ReceivedOn.AddDays(14) {
		t.Fatalf("erasure due %s, want the 14-day promise", req.DueOn)
	}
	if err := d.Engine.Complete(context.Background(), rc.ID, officer, "deleted from CRM, billing, backups expire in 14 days"); err != nil {
		t.Fatal(err)
	}
	runUntil(t, d, at9(d, req.DueOn.AddDays(3)))
	if n := len(mailsTo(d, "oscar@testorg.example")) + len(mailsTo(d, "adam@testorg.example")); n != 0 {
		t.Fatalf("%d officer mails for a closed request", n)
	}
	if n := countEvents(t, d, rc.ID, "reminder_sent"); n != 0 {
		t.Fatalf("%d reminder events", n)
	}
}

func TestExtensionMovesTheReminders(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	addUser(t, d, "otto@testorg.example", db.RoleOfficer)
	rc := submit(t, d, dsr.KindAccess, "xia@example.com", "US", "CA", nil)
	verify(t, d, "xia@example.com")
	before := request(t, d, rc.ID)
	newDue, err := d.Engine.Extend(context.Background(), rc.ID, officer, "Large volume of records.", false)
	if err != nil {
		t.Fatal(err)
	}
	if newDue.String() != before.ReceivedOn.AddDays(89).String() {
		t.Fatalf("CCPA extended due %s, want receipt + 89 days (day 90)", newDue)
	}
	// The old chain's first step (7 days before the old date) now does nothing.
	runUntil(t, d, at9(d, before.DueOn.AddDays(-7)))
	if n := len(mailsTo(d, "otto@testorg.example")); n != 0 {
		t.Fatalf("%d reminders for the old date", n)
	}
	runUntil(t, d, at9(d, newDue.AddDays(-7)))
	ms := mailsTo(d, "otto@testorg.example")
	if len(ms) != 1 || !strings.Contains(ms[0].Text, newDue.Long()) {
		t.Fatalf("reminders for the new date: %d", len(ms))
	}
}

func TestSweepRepairsMissingJobsAndIsIdempotent(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	pending := submit(t, d, dsr.KindAccess, "yan@example.com", "NL", "", nil)
	open := submit(t, d, dsr.KindOptOut, "zoe@example.com", "US", "CA", map[string]string{"opt_out_of": "sale"})
	closed := submit(t, d, dsr.KindAccess, "abe@example.com", "NL", "", nil)
	if _, err := d.Engine.Sweep(ctx); err != nil { // nothing to do yet
		t.Fatal(err)
	}
	if err := d.Engine.Deny(ctx, closed.ID, officer, "duplicate", "Same as DSR-000001."); err != nil {
		t.Fatal(err)
	}
	// Simulate lost jobs: a crash, a restore, an operator deleting rows.
	if n := deleteJobs(t, d, pending.ID, open.ID); n < 4 {
		t.Fatalf("deleted %d jobs, want at least 4", n)
	}
	res, err := d.Engine.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.RemindersScheduled != 2 || res.ExpiriesScheduled != 1 || res.StaleRemoved != 1 {
		t.Fatalf("sweep %+v, want 2 reminder chains, 1 expiry, 1 stale (the denied request's chain)", res)
	}
	for _, id := range []string{pending.ID, open.ID} {
		n := 0
		for _, j := range requestJobs(t, d, id, request(t, d, id).DueOn.String(), "deadline_reminder") {
			if j.State == rivertype.JobStateScheduled {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("request %s has %d live reminder jobs after the sweep", id, n)
		}
		if countEvents(t, d, id, "deadline_jobs_repaired") == 0 {
			t.Fatalf("request %s: no repair event", id)
		}
	}
	if again, err := d.Engine.Sweep(ctx); err != nil || again != (workflow.SweepResult{}) {
		t.Fatalf("second sweep %+v %v, want nothing to repair", again, err)
	}
	// The repaired events still form a valid chain.
	assertChain(t, d, pending.ID)
}

// deleteJobs deletes the deadline and verification jobs of the requests
// with River's JobDelete and returns how many.
func deleteJobs(t *testing.T, d *apitest.Desk, ids ...string) int {
	t.Helper()
	ctx := context.Background()
	res, err := d.Engine.River().JobList(ctx, river.NewJobListParams().Kinds("deadline_reminder", "verify_expiry", "verify_reminder").First(10000))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range res.Jobs {
		var a struct {
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ids, a.RequestID) {
			if _, err := d.Engine.River().JobDelete(ctx, j.ID); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	return n
}

func TestIntakeFailureLeavesNeitherRequestNorJobs(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	// Make the last write of the intake transaction (the first message) fail.
	if _, err := d.Pool.Exec(ctx, `CREATE FUNCTION fail_msg() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.to_email = 'crash@example.com' THEN RAISE EXCEPTION 'simulated crash'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER fail_msg BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION fail_msg();`); err != nil {
		t.Fatal(err)
	}
	_, err := d.Engine.Submit(ctx, dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelAPI,
		Subject: dsr.Person{Email: "crash@example.com", Country: "NL"}}, "")
	if dsr.ErrorCode(err) != dsr.EINTERNAL {
		t.Fatalf("submit: %v", err)
	}
	var reqs, jobs int
	_ = d.Pool.QueryRow(ctx, `SELECT count(*) FROM requests`).Scan(&reqs)
	for _, j := range requestJobs(t, d, "", "") {
		if j.Kind != "reconcile_deadlines" {
			jobs++
		}
	}
	if reqs != 0 || jobs != 0 {
		t.Fatalf("after a failed intake: %d requests, %d jobs; want none", reqs, jobs)
	}
	ok := submit(t, d, dsr.KindAccess, "fine@example.com", "NL", "", nil)
	jobs = len(requestJobs(t, d, ok.ID, ""))
	if jobs != 3 { // deadline chain, verification reminder, verification expiry
		t.Fatalf("a good intake has %d jobs, want 3", jobs)
	}
}

// A failure in intake's first round trip (the request's rows, which River's
// job insert travels with) is reported as that failure, not as the job
// insert's, and leaves neither the request nor its jobs.
func TestIntakeFailureInTheFirstRoundTrip(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	if _, err := d.Pool.Exec(ctx, `CREATE FUNCTION fail_event() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'simulated event failure'; END $$;
		CREATE TRIGGER fail_event BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION fail_event();`); err != nil {
		t.Fatal(err)
	}
	_, err := d.Engine.Submit(ctx, dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelAPI,
		Subject: dsr.Person{Email: "first@example.com", Country: "NL"}}, "")
	if dsr.ErrorCode(err) != dsr.EINTERNAL || strings.Contains(err.Error(), "insert jobs") {
		t.Fatalf("submit: %v; want EINTERNAL from the request's statements, not the job insert", err)
	}
	var reqs, jobs int
	_ = d.Pool.QueryRow(ctx, `SELECT count(*) FROM requests`).Scan(&reqs)
	for _, j := range requestJobs(t, d, "", "") {
		if j.Kind != "reconcile_deadlines" {
			jobs++
		}
	}
	if reqs != 0 || jobs != 0 {
		t.Fatalf("after a failed intake: %d requests, %d jobs; want none", reqs, jobs)
	}
}

func TestDigestListsOwnDueOverdueAndUnassigned(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	me := addUser(t, d, "dora@testorg.example", db.RoleOfficer)
	other := addUser(t, d, "eli@testorg.example", db.RoleOfficer)
	mine := submit(t, d, dsr.KindErasure, "f1@example.com", "NL", "", nil)   // due in 14 days
	theirs := submit(t, d, dsr.KindErasure, "f2@example.com", "NL", "", nil) // assigned to the other officer
	free := submit(t, d, dsr.KindErasure, "f3@example.com", "NL", "", nil)   // unassigned
	_, _ = d.Pool.Exec(ctx, `UPDATE requests SET assignee_id = $2 WHERE id = $1`, mine.ID, me.ID)
	_, _ = d.Pool.Exec(ctx, `UPDATE requests SET assignee_id = $2 WHERE id = $1`, theirs.ID, other.ID)
	d.Clock.Advance(10 * 24 * time.Hour) // all three now due within the week
	if n, err := d.Engine.SendDigests(ctx); err != nil || n != 2 {
		t.Fatalf("digests sent %d, %v", n, err)
	}
	m := d.MailWithSubject(t, "dora@testorg.example", "Your privacy requests")
	if !strings.Contains(m.Text, mine.Ref) || !strings.Contains(m.Text, free.Ref+" erasure") || strings.Contains(m.Text, theirs.Ref) {
		t.Fatalf("digest:\n%s", m.Text)
	}
	d.Clock.Advance(5 * 24 * time.Hour)
	if _, err := d.Engine.SendDigests(ctx); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, m := range d.MailTo(t, "dora@testorg.example", 2) {
		found = found || strings.Contains(m.Text, "OVERDUE since")
	}
	if !found {
		t.Fatal("no digest lists the overdue request")
	}
}

func assertChain(t *testing.T, d *apitest.Desk, id string) {
	t.Helper()
	rows, err := d.Pool.Query(context.Background(), `SELECT seq, at, actor, type, public, data, prev_hash, hash, personal_digest FROM events WHERE request_id = $1 ORDER BY seq`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prev []byte
	for rows.Next() {
		var ev dsr.Event
		var p, h, digest []byte
		if err := rows.Scan(&ev.Seq, &ev.At, &ev.Actor, &ev.Type, &ev.Public, &ev.Data, &p, &h, &digest); err != nil {
			t.Fatal(err)
		}
		if (prev != nil && string(p) != string(prev)) || string(db.EventHashV2(p, id, ev, digest)) != string(h) {
			t.Fatalf("chain broken at event %d (%s)", ev.Seq, ev.Type)
		}
		prev = h
	}
}
