package workflow_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// tasksConfig is the test desk's config with three systems: a CRM and a
// newsletter reached by connectors (fakes here: the real ones are tested
// with their packages) and a manual paper archive.
var tasksConfig = strings.Replace(apitest.ConfigJSON, `"mail":`, `"systems": [
    {"name": "crm", "description": "Customer database", "owner_email": "crm-team@example.com", "kinds": ["access", "erasure"],
     "connector": {"type": "webhook", "url": "https://crm.internal/dsr"}},
    {"name": "newsletter", "kinds": ["erasure", "opt_out"], "connector": {"type": "webhook", "url": "https://newsletter.internal/dsr"}},
    {"name": "paper-archive", "kinds": ["erasure"], "owner_email": "archive@example.com", "connector": {"type": "manual"}}
  ],
  "mail":`, 1)

// fakeRunner is an in-process connector: it answers with rep, or fails
// with err while err is set, and records the work it was given.
type fakeRunner struct {
	mu    sync.Mutex
	err   error
	rep   dsr.Report
	works []dsr.Work
}

func (f *fakeRunner) Run(_ context.Context, w dsr.Work) (dsr.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.works = append(f.works, w)
	return f.rep, f.err
}

func (f *fakeRunner) set(rep dsr.Report, err error) {
	f.mu.Lock()
	f.rep, f.err = rep, err
	f.mu.Unlock()
}

func (f *fakeRunner) calls() []dsr.Work {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]dsr.Work(nil), f.works...)
}

type tasksSetup struct {
	d               *apitest.Desk
	crm, newsletter *fakeRunner
}

func setupTasks(t *testing.T) *tasksSetup {
	t.Helper()
	s := &tasksSetup{crm: &fakeRunner{}, newsletter: &fakeRunner{}}
	s.crm.set(dsr.Report{Status: dsr.TaskDone, Count: 2}, nil)
	s.newsletter.set(dsr.Report{Status: dsr.TaskWaiting}, nil)
	s.d = apitest.Start(t, apitest.Options{ConfigJSON: tasksConfig,
		Runners: map[string]dsr.TaskRunner{"crm": s.crm, "newsletter": s.newsletter}})
	return s
}

func tasksOf(t *testing.T, d *apitest.Desk, id string) map[string]dsr.Task {
	t.Helper()
	list, err := d.Engine.Tasks(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]dsr.Task{}
	for _, x := range list {
		out[x.System] = x
	}
	return out
}

func TestTasksCreatedWhenIdentityConfirmed(t *testing.T) {
	t.Parallel()
	s := setupTasks(t)
	d := s.d
	rc := submit(t, d, dsr.KindErasure, "erase-me@example.com", "NL", "", nil)
	if got := tasksOf(t, d, rc.ID); len(got) != 0 {
		t.Fatalf("tasks before confirmation: %v", got)
	}
	verify(t, d, "erase-me@example.com")
	req := request(t, d, rc.ID)
	got := tasksOf(t, d, rc.ID)
	if len(got) != 3 {
		t.Fatalf("tasks after confirmation: %v", got)
	}
	for name, task := range got {
		want := req.DueOn.AddDays(-dsr.DefaultTaskMarginDays)
		if task.DueOn != want || task.Kind != dsr.KindErasure {
			t.Errorf("%s: due %v kind %s, want due %v", name, task.DueOn, task.Kind, want)
		}
	}
	if !containsAll(eventTypes(t, d, rc.ID), string(dsr.EventVerified), string(dsr.EventTaskCreated)) {
		t.Errorf("events %v", eventTypes(t, d, rc.ID))
	}

	d.RunDue(t, 0)
	got = tasksOf(t, d, rc.ID)
	if x := got["crm"]; x.Status != dsr.TaskDone || x.Count != 2 || x.Attempts != 1 || x.FinishedBy != "connector" {
		t.Errorf("crm task %+v", x)
	}
	if x := got["newsletter"]; x.Status != dsr.TaskWaiting {
		t.Errorf("newsletter task %+v", x)
	}
	if x := got["paper-archive"]; x.Status != dsr.TaskWaiting {
		t.Errorf("paper-archive task %+v", x)
	}
	// The work order carries the email; the job args do not.
	if w := s.crm.calls(); len(w) != 1 || w[0].Email != "erase-me@example.com" || w[0].Kind != dsr.KindErasure {
		t.Errorf("crm work %+v", w)
	}
	var argsHoldEmail int
	if err := d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind LIKE 'task%' AND args::text LIKE '%erase-me%'`).Scan(&argsHoldEmail); err != nil || argsHoldEmail != 0 {
		t.Errorf("task job args hold the email: %d %v", argsHoldEmail, err)
	}
	// The manual system's owner is mailed a console link, and nothing of
	// the requester.
	m := d.MailWithSubject(t, "archive@example.com", "Task for paper-archive")
	if !strings.Contains(m.Text, "/console/requests/"+rc.ID) || strings.Contains(m.Text, "erase-me") || strings.Contains(m.Text, "Test Person") {
		t.Errorf("owner mail:\n%s", m.Text)
	}
}

func TestTaskConnectorDownRetriesAndStaysVisible(t *testing.T) {
	t.Parallel()
	s := setupTasks(t)
	d := s.d
	s.crm.set(dsr.Report{}, errors.New("dial tcp 10.0.0.5:443: connect: connection refused"))
	rc := submit(t, d, dsr.KindAccess, "see-me@example.com", "NL", "", nil)
	verify(t, d, "see-me@example.com")
	d.RunDue(t, 0)
	x := tasksOf(t, d, rc.ID)["crm"]
	if x.Status != dsr.TaskRunning || x.Attempts != 1 || !strings.Contains(x.LastError, "connection refused") {
		t.Fatalf("crm task after a failed attempt: %+v", x)
	}
	s.crm.set(dsr.Report{Status: dsr.TaskDone, Count: 1, Sections: []dsr.Section{{Name: "customers", Columns: []string{"id"},
		Rows: []map[string]any{{"id": 7}}}}}, nil)
	d.RunDue(t, time.Minute) // the retry
	x = tasksOf(t, d, rc.ID)["crm"]
	if x.Status != dsr.TaskDone || x.Attempts != 2 {
		t.Fatalf("crm task after the retry: %+v", x)
	}
	secs, err := d.Engine.TaskSections(context.Background(), x.ID)
	if err != nil || len(secs) != 1 || secs[0].Name != "customers" || len(secs[0].Rows) != 1 {
		t.Errorf("sections %+v %v", secs, err)
	}
}

func TestTaskSectionsChunked(t *testing.T) {
	t.Parallel()
	s := setupTasks(t)
	d := s.d
	rows := make([]map[string]any, db.SectionChunkRows*2+1)
	for i := range rows {
		rows[i] = map[string]any{"n": float64(i)}
	}
	s.crm.set(dsr.Report{Status: dsr.TaskDone, Count: len(rows), Sections: []dsr.Section{{Name: "events", Columns: []string{"n"}, Rows: rows}}}, nil)
	rc := submit(t, d, dsr.KindAccess, "many@example.com", "NL", "", nil)
	verify(t, d, "many@example.com")
	d.RunDue(t, 0)
	x := tasksOf(t, d, rc.ID)["crm"]
	var chunks int
	if err := d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM task_sections WHERE task_id = $1`, x.ID).Scan(&chunks); err != nil || chunks != 3 {
		t.Errorf("chunks = %d (%v), want 3", chunks, err)
	}
	secs, err := d.Engine.TaskSections(context.Background(), x.ID)
	if err != nil || len(secs) != 1 || len(secs[0].Rows) != len(rows) || secs[0].Rows[len(rows)-1]["n"] != float64(len(rows)-1) {
		t.Errorf("sections back: %d rows, %v", len(secs[0].Rows), err)
	}
}

func TestOptOutFansOutToOptOutSystems(t *testing.T) {
	t.Parallel()
	s := setupTasks(t)
	d := s.d
	// CCPA forbids verifying an opt-out: it is workable at once.
	rc := submit(t, d, dsr.KindOptOut, "no-sale@example.com", "US", "CA", map[string]string{"opt_out_of": "sale"})
	got := tasksOf(t, d, rc.ID)
	if len(got) != 1 || got["newsletter"].Kind != dsr.KindOptOut {
		t.Fatalf("opt-out tasks %v, want the newsletter only", got)
	}
	d.RunDue(t, 0)
	if w := s.newsletter.calls(); len(w) != 1 || w[0].Kind != dsr.KindOptOut {
		t.Errorf("newsletter work %+v", w)
	}
}

func TestCompleteRefusedWhileTasksOpenUnlessOverridden(t *testing.T) {
	t.Parallel()
	s := setupTasks(t)
	d := s.d
	ctx := context.Background()
	rc := submit(t, d, dsr.KindErasure, "done-soon@example.com", "NL", "", nil)
	verify(t, d, "done-soon@example.com")
	d.RunDue(t, 0)
	c := workflow.Completion{Summary: "Erased.", Systems: "crm"}
	err := d.Engine.CompleteWith(ctx, rc.ID, officer, c)
	var de *dsr.Error
	if !asErr(err, &de) || de.Code != dsr.ECONFLICT || !strings.Contains(de.Message, "newsletter") || !strings.Contains(de.Message, "paper-archive") {
		t.Fatalf("complete with open tasks: %v", err)
	}
	c.OverrideTasks = true
	if err := d.Engine.CompleteWith(ctx, rc.ID, officer, c); dsr.ErrorCode(err) != dsr.EINVALID {
		t.Fatalf("override without reason: %v", err)
	}
	c.OverrideReason = "The archive was destroyed in 2024."
	if err := d.Engine.CompleteWith(ctx, rc.ID, officer, c); err != nil {
		t.Fatal(err)
	}
	if r := request(t, d, rc.ID); r.Status != dsr.StatusCompleted {
		t.Fatalf("status %s", r.Status)
	}
	det, err := d.Engine.RequestDetail(ctx, rc.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range det.Ledger {
		found = found || (l.What == dsr.LedgerTasksOverridden && strings.Contains(l.Rule, "destroyed in 2024"))
	}
	if !found || !containsAll(eventTypes(t, d, rc.ID), string(dsr.EventTasksOverridden)) {
		t.Errorf("override not recorded: ledger %+v", det.Ledger)
	}
}

func TestTaskOfficerDecisions(t *testing.T) {
	t.Parallel()
	s := setupTasks(t)
	d := s.d
	ctx := context.Background()
	s.crm.set(dsr.Report{}, errors.New("HTTP 503 from crm"))
	rc := submit(t, d, dsr.KindErasure, "decide@example.com", "NL", "", nil)
	verify(t, d, "decide@example.com")
	d.RunDue(t, 0)
	tasks := tasksOf(t, d, rc.ID)
	if err := d.Engine.SkipTask(ctx, rc.ID, tasks["newsletter"].ID, officer, ""); dsr.ErrorCode(err) != dsr.EINVALID {
		t.Errorf("skip without reason: %v", err)
	}
	if err := d.Engine.SkipTask(ctx, rc.ID, tasks["newsletter"].ID, officer, "Unsubscribed by hand"); err != nil {
		t.Fatal(err)
	}
	if err := d.Engine.MarkTaskDone(ctx, rc.ID, tasks["paper-archive"].ID, officer, "Shredded the file", []dsr.File{{Filename: "cert.txt", Content: []byte("shredded"), ContentType: "text/plain"}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Engine.RetryTask(ctx, rc.ID, tasks["paper-archive"].ID, officer); dsr.ErrorCode(err) != dsr.ECONFLICT {
		t.Errorf("retry a done task: %v", err)
	}
	if err := d.Engine.RetryTask(ctx, "00000000-0000-0000-0000-000000000000", tasks["crm"].ID, officer); dsr.ErrorCode(err) != dsr.ENOTFOUND {
		t.Errorf("retry on another request: %v", err)
	}
	s.crm.set(dsr.Report{Status: dsr.TaskNotFound}, nil)
	if err := d.Engine.RetryTask(ctx, rc.ID, tasks["crm"].ID, officer); err != nil {
		t.Fatal(err)
	}
	d.RunDue(t, 0)
	tasks = tasksOf(t, d, rc.ID)
	if tasks["newsletter"].Status != dsr.TaskSkipped || tasks["newsletter"].Note != "Unsubscribed by hand" ||
		tasks["paper-archive"].Status != dsr.TaskDone || tasks["crm"].Status != dsr.TaskNotFound {
		t.Errorf("tasks %+v", tasks)
	}
	var files int
	if err := d.Pool.QueryRow(ctx, `SELECT count(*) FROM attachments WHERE task_id = $1 AND purpose = 'task'`, tasks["paper-archive"].ID).Scan(&files); err != nil || files != 1 {
		t.Errorf("task files %d %v", files, err)
	}
	// Every task is finished: the request completes without an override.
	if err := d.Engine.CompleteWith(ctx, rc.ID, officer, workflow.Completion{Summary: "Erased.", Systems: "crm"}); err != nil {
		t.Fatal(err)
	}
}

func TestTaskReportIdempotent(t *testing.T) {
	t.Parallel()
	s := setupTasks(t)
	d := s.d
	ctx := context.Background()
	rc := submit(t, d, dsr.KindErasure, "report@example.com", "NL", "", nil)
	verify(t, d, "report@example.com")
	d.RunDue(t, 0)
	id := tasksOf(t, d, rc.ID)["newsletter"].ID
	rep := workflow.TaskReport{Report: dsr.Report{Status: dsr.TaskDone, Count: 1}}
	if _, err := d.Engine.ReportTask(ctx, "crm", id, rep); dsr.ErrorCode(err) != dsr.EFORBIDDEN {
		t.Errorf("another system's report: %v", err)
	}
	first, err := d.Engine.ReportTask(ctx, "newsletter", id, rep)
	if err != nil || first.Status != dsr.TaskDone {
		t.Fatalf("report: %+v %v", first, err)
	}
	again, err := d.Engine.ReportTask(ctx, "newsletter", id, rep)
	if err != nil || again.Status != dsr.TaskDone || *again.FinishedAt != *first.FinishedAt {
		t.Errorf("same report again: %+v %v", again, err)
	}
	rep.Report.Count = 2
	if _, err := d.Engine.ReportTask(ctx, "newsletter", id, rep); dsr.ErrorCode(err) != dsr.ECONFLICT {
		t.Errorf("a different report after finishing: %v", err)
	}
	finished := 0
	for _, ty := range eventTypes(t, d, rc.ID) {
		if ty == string(dsr.EventTaskFinished) {
			finished++
		}
	}
	if finished != 2 { // crm by its connector, newsletter once by its report
		t.Errorf("task_finished events = %d, want 2", finished)
	}
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, x := range list {
			found = found || x == w
		}
		if !found {
			return false
		}
	}
	return true
}

// advanceTo runs the jobs due by 09:01 local time on day.
func advanceTo(t *testing.T, d *apitest.Desk, day dsr.Date) {
	t.Helper()
	at := day.Start(d.Org.Location()).Add(9*time.Hour + time.Minute)
	d.RunDue(t, at.Sub(d.Clock.Now()))
}

func TestTaskRemindersAndEscalation(t *testing.T) {
	t.Parallel()
	s := setupTasks(t)
	d := s.d
	rc := submit(t, d, dsr.KindErasure, "remind@example.com", "NL", "", nil)
	verify(t, d, "remind@example.com")
	d.RunDue(t, 0)
	req := request(t, d, rc.ID)
	archive := tasksOf(t, d, rc.ID)["paper-archive"]
	if req.PolicyDue.IsZero() || archive.Status != dsr.TaskWaiting {
		t.Fatalf("policy due %v, archive task %+v", req.PolicyDue, archive)
	}
	escalations := func() []map[string]string {
		evs, err := db.Events(context.Background(), d.Pool, rc.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		var out []map[string]string
		for _, e := range evs {
			if e.Type == string(dsr.EventTaskEscalated) && e.Data["system"] == "paper-archive" {
				out = append(out, e.Data)
			}
		}
		return out
	}

	advanceTo(t, d, archive.DueOn.AddDays(-1))
	m := d.MailWithSubject(t, "archive@example.com", "Due in 1 day: paper-archive task")
	if !strings.Contains(m.Text, "/console/requests/"+rc.ID) || strings.Contains(m.Text, "remind@example.com") {
		t.Errorf("owner reminder:\n%s", m.Text)
	}
	for _, msg := range d.SMTP.Messages() {
		for _, to := range msg.To {
			if to == "crm-team@example.com" {
				t.Errorf("the crm task is done, yet its owner got %q", msg.Subject)
			}
		}
	}
	if n := len(escalations()); n != 0 {
		t.Fatalf("%d escalations before the task is overdue", n)
	}

	advanceTo(t, d, archive.DueOn.AddDays(1))
	d.MailWithSubject(t, "archive@example.com", "Overdue: paper-archive task")
	if esc := escalations(); len(esc) != 1 || esc[0]["step"] != "1" {
		t.Fatalf("escalations after the due date: %v", esc)
	}
	if !archive.DueOn.AddDays(1).Before(req.PolicyDue) {
		t.Skipf("the promise date %v is not after the escalation", req.PolicyDue)
	}
	advanceTo(t, d, req.PolicyDue)
	if esc := escalations(); len(esc) != 2 || esc[1]["step"] != "2" {
		t.Fatalf("escalations on the promise date %v: %v", req.PolicyDue, esc)
	}
}
