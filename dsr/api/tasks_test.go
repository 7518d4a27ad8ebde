package api_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// tasksConfigJSON is the test desk with three systems: a CRM and a
// newsletter reached through connectors (in-test runners here; the real
// connectors are tested in their own packages) and a manual paper archive.
var tasksConfigJSON = strings.Replace(apitest.ConfigJSON, `"mail":`, `"systems": [
    {"name": "crm", "description": "Customer database", "kinds": ["access", "erasure"], "connector": {"type": "webhook", "url": "https://crm.internal/dsr"}},
    {"name": "newsletter", "kinds": ["erasure", "opt_out"], "connector": {"type": "webhook", "url": "https://newsletter.internal/dsr"}},
    {"name": "paper-archive", "description": "Signed paper contracts", "kinds": ["erasure"], "owner_email": "archive@example.com", "connector": {"type": "manual"}}
  ],
  "mail":`, 1)

// stubRunner answers every task with the report it is set to.
type stubRunner struct {
	mu  sync.Mutex
	rep dsr.Report
}

func (s *stubRunner) Run(context.Context, dsr.Work) (dsr.Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rep, nil
}

func (s *stubRunner) set(r dsr.Report) { s.mu.Lock(); s.rep = r; s.mu.Unlock() }

type taskDesk struct {
	d               *apitest.Desk
	crm, newsletter *stubRunner
}

func startTaskDesk(t *testing.T) *taskDesk {
	t.Helper()
	td := &taskDesk{crm: &stubRunner{rep: dsr.Report{Status: dsr.TaskFailed, Note: "HTTP 500 from crm: table customers is locked"}},
		newsletter: &stubRunner{rep: dsr.Report{Status: dsr.TaskWaiting}}}
	td.d = apitest.Start(t, apitest.Options{ConfigJSON: tasksConfigJSON,
		Runners: map[string]dsr.TaskRunner{"crm": td.crm, "newsletter": td.newsletter}})
	return td
}

// confirmedErasure files a GDPR erasure, confirms it and runs the task
// jobs: crm failed, newsletter waiting, paper-archive mailed and waiting.
func confirmedErasure(t *testing.T, d *apitest.Desk, email string) (receipt, map[string]dsr.Task) {
	t.Helper()
	rc := newRequest(t, d, "erasure", email, "NL", "")
	link := apitest.LinkWith(t, d.MailTo(t, email, 1)[0], "/verify/")
	if resp := post(t, d, link, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	d.RunDue(t, 0)
	return rc, taskMap(t, d, rc.ID)
}

func taskMap(t *testing.T, d *apitest.Desk, id string) map[string]dsr.Task {
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

func systemToken(t *testing.T, d *apitest.Desk, system string) string {
	t.Helper()
	raw, hash := db.NewAPIToken()
	if _, err := db.CreateSystemToken(context.Background(), d.Pool, system, "test", hash, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestTaskCallbackAPI(t *testing.T) {
	t.Parallel()
	td := startTaskDesk(t)
	d := td.d
	rc, tasks := confirmedErasure(t, d, "callback@example.com")
	nl := tasks["newsletter"]
	if nl.Status != dsr.TaskWaiting {
		t.Fatalf("newsletter task %+v", nl)
	}
	_, userToken := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	newsletter, crm := systemToken(t, d, "newsletter"), systemToken(t, d, "crm")
	path := "/api/v1/tasks/" + nl.ID
	done := map[string]any{"status": "done", "data": map[string]any{"subscriptions": []any{map[string]any{"list": "weekly"}}}}

	if code, _ := adminCall(t, d, "", http.MethodPost, path, done); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	if code, _ := adminCall(t, d, userToken, http.MethodPost, path, done); code != http.StatusUnauthorized {
		t.Errorf("a user's token: %d, want 401 (only system tokens report)", code)
	}
	if code, _ := adminCall(t, d, crm, http.MethodPost, path, done); code != http.StatusForbidden {
		t.Errorf("another system's token: %d, want 403", code)
	}
	if code, _ := adminCall(t, d, newsletter, http.MethodPost, "/api/v1/tasks/00000000-0000-0000-0000-000000000000", done); code != http.StatusNotFound {
		t.Errorf("unknown task: %d, want 404", code)
	}
	if code, out := adminCall(t, d, newsletter, http.MethodPost, path, map[string]any{"status": "kept"}); code != http.StatusUnprocessableEntity || errorCode(out) != "invalid" {
		t.Errorf("kept without a basis: %d %v, want 422", code, out)
	}
	if code, _ := adminCall(t, d, newsletter, http.MethodPost, path, map[string]any{"status": "done", "url": "http://169.254.169.254/"}); code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
		t.Errorf("unknown field: %d, want 400/422 (nothing is fetched)", code)
	}
	code, out := adminCall(t, d, newsletter, http.MethodPost, path, done)
	if code != http.StatusOK || out["status"] != "done" || out["count"] != float64(1) {
		t.Fatalf("report: %d %v", code, out)
	}
	if code, again := adminCall(t, d, newsletter, http.MethodPost, path, done); code != http.StatusOK || again["status"] != "done" {
		t.Errorf("the same report again: %d %v, want 200", code, again)
	}
	if code, _ := adminCall(t, d, newsletter, http.MethodPost, path, map[string]any{"status": "not_found"}); code != http.StatusConflict {
		t.Errorf("a different report after done: %d, want 409", code)
	}
	secs, err := d.Engine.TaskSections(context.Background(), nl.ID)
	if err != nil || len(secs) != 1 || secs[0].Name != "subscriptions" || secs[0].Rows[0]["list"] != "weekly" {
		t.Errorf("sections %+v %v", secs, err)
	}

	// Multipart: a file becomes a task attachment.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("status", "done")
	_ = mw.WriteField("note", "Contract scans attached")
	fw, _ := mw.CreateFormFile("files", "contract.pdf")
	_, _ = fw.Write([]byte("%PDF-1.4 test"))
	_ = mw.Close()
	crmTask := tasks["crm"]
	if crmTask.Status != dsr.TaskFailed || !strings.Contains(crmTask.LastError, "table customers is locked") {
		t.Fatalf("crm task %+v", crmTask)
	}
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/api/v1/tasks/"+crmTask.ID, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+crm)
	if resp, b := do(t, d, req); resp.StatusCode != http.StatusOK {
		t.Fatalf("multipart report: %d %s", resp.StatusCode, b)
	}
	var files int
	if err := d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM attachments WHERE task_id = $1 AND purpose = 'task'`, crmTask.ID).Scan(&files); err != nil || files != 1 {
		t.Errorf("task files %d %v", files, err)
	}
	_ = rc
}

func TestAdminTaskAPIAndCompletionGuard(t *testing.T) {
	t.Parallel()
	td := startTaskDesk(t)
	d := td.d
	_, token := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	rc, tasks := confirmedErasure(t, d, "admin-api@example.com")
	base := "/api/v1/admin/requests/" + rc.ID

	code, out := adminCall(t, d, token, http.MethodGet, base+"/tasks", nil)
	if data, _ := out["data"].([]any); code != http.StatusOK || len(data) != 3 {
		t.Fatalf("list tasks: %d %v", code, out)
	}
	code, out = adminCall(t, d, token, http.MethodPost, base+"/complete", map[string]any{"summary": "Erased.", "systems": "crm"})
	if code != http.StatusConflict || !strings.Contains(mustJSON(out), "paper-archive") {
		t.Fatalf("complete with open tasks: %d %v, want 409 naming them", code, out)
	}
	if code, out := adminCall(t, d, token, http.MethodPost, base+"/tasks/"+tasks["newsletter"].ID+"/skip", map[string]any{}); code != http.StatusUnprocessableEntity {
		t.Errorf("skip without reason: %d %v", code, out)
	}
	code, out = adminCall(t, d, token, http.MethodPost, base+"/tasks/"+tasks["newsletter"].ID+"/skip", map[string]any{"reason": "List deleted"})
	if task, _ := out["task"].(map[string]any); code != http.StatusOK || task["status"] != "skipped" {
		t.Errorf("skip: %d %v", code, out)
	}
	code, out = adminCall(t, d, token, http.MethodPost, base+"/tasks/"+tasks["paper-archive"].ID+"/done", map[string]any{"note": "Shredded"})
	if task, _ := out["task"].(map[string]any); code != http.StatusOK || task["status"] != "done" {
		t.Errorf("done: %d %v", code, out)
	}
	if code, _ := adminCall(t, d, token, http.MethodPost, base+"/tasks/"+tasks["crm"].ID+"/explode", nil); code != http.StatusNotFound {
		t.Errorf("unknown task action: %d", code)
	}
	code, out = adminCall(t, d, token, http.MethodPost, base+"/complete", map[string]any{"summary": "Erased.", "systems": "crm",
		"override_tasks": true, "override_reason": "CRM erased by hand"})
	if code != http.StatusOK || out["status"] != "completed" {
		t.Fatalf("complete with override: %d %v", code, out)
	}
}

// TestBrowserTaskList is issue #15's "done when": an officer works a
// request's three tasks in a real browser (one failed, one waiting for
// its system, one manual): retry, mark done with a note, skip with a
// reason, and the page shows each result.
func TestBrowserTaskList(t *testing.T) {
	td := startTaskDesk(t)
	d := td.d
	staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	rc, tasks := confirmedErasure(t, d, "browser-tasks@example.com")
	if tasks["crm"].Status != dsr.TaskFailed || tasks["newsletter"].Status != dsr.TaskWaiting || tasks["paper-archive"].Status != dsr.TaskWaiting {
		t.Fatalf("tasks before the browser: %+v", tasks)
	}
	ctx := newBrowser(t)
	browserLoad(t, ctx, "open the sign-in page", chromedp.Navigate(d.URL+"/console/login"))
	browserDo(t, ctx, "fill in the sign-in form",
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "olga@testorg.example"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
	)
	browserLoad(t, ctx, "sign in", chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type=submit]`)))
	page := d.URL + "/console/requests/" + rc.ID
	code, _ := browserLoad(t, ctx, "open the request", chromedp.Navigate(page))
	if code != http.StatusOK {
		t.Fatalf("request page: %d", code)
	}
	cell := func(system, class string) string {
		t.Helper()
		return browserRun(t, ctx, system+" "+class, chromedp.Text(chromedp.CSS("#task-"+system+" ."+class)))
	}
	if s, e := cell("crm", "task-status"), cell("crm", "task-error"); !strings.Contains(s, "Failed") || !strings.Contains(e, "table customers is locked") {
		t.Fatalf("crm row: status %q, error %q", s, e)
	}
	if s := cell("newsletter", "task-status"); !strings.Contains(s, "Waiting") {
		t.Fatalf("newsletter row: %q", s)
	}
	browserScreenshot(t, ctx, "console-tasks.png")

	// Retry the failed task; its connector now succeeds.
	td.crm.set(dsr.Report{Status: dsr.TaskDone, Count: 3})
	code, url := browserLoad(t, ctx, "retry crm", chromedp.Click(chromedp.ID("retry-crm")))
	if code != http.StatusOK || !strings.HasPrefix(url, page) {
		t.Fatalf("retry: %d at %s", code, url)
	}
	if f := browserRun(t, ctx, "flash", chromedp.Text(chromedp.ID("flash"))); !strings.Contains(f, "retried") {
		t.Errorf("flash after retry: %q", f)
	}
	d.RunDue(t, 0)
	browserLoad(t, ctx, "reload", chromedp.Navigate(page))
	if s := cell("crm", "task-status"); !strings.Contains(s, "Done") {
		t.Errorf("crm after retry: %q", s)
	}

	// Mark the manual task done with a note.
	browserDo(t, ctx, "open mark done", chromedp.Click(chromedp.CSS("#done-paper-archive summary")),
		chromedp.WaitVisible(chromedp.ID("done-note-paper-archive")),
		chromedp.SendKeys(chromedp.ID("done-note-paper-archive"), "Contract shredded on site"))
	browserLoad(t, ctx, "mark done", chromedp.Click(chromedp.CSS("#done-paper-archive button[type=submit]")))
	if s := cell("paper-archive", "task-status"); !strings.Contains(s, "Done") || !strings.Contains(s, "Contract shredded on site") {
		t.Errorf("paper-archive after mark done: %q", s)
	}

	// Skip without a reason is refused on the page; with one it is skipped.
	browserDo(t, ctx, "open skip", chromedp.Click(chromedp.CSS("#skip-newsletter summary")), chromedp.WaitVisible(chromedp.ID("skip-reason-newsletter")))
	code, _ = browserLoad(t, ctx, "skip without reason", chromedp.Click(chromedp.CSS("#skip-newsletter button[type=submit]")))
	if e := browserRun(t, ctx, "error", chromedp.Text(chromedp.ID("action-error"))); code != http.StatusUnprocessableEntity || !strings.Contains(e, "reason") {
		t.Errorf("skip without reason: %d %q", code, e)
	}
	browserDo(t, ctx, "open skip again", chromedp.Click(chromedp.CSS("#skip-newsletter summary")),
		chromedp.WaitVisible(chromedp.ID("skip-reason-newsletter")),
		chromedp.SendKeys(chromedp.ID("skip-reason-newsletter"), "Mailing list deleted in 2025"))
	browserLoad(t, ctx, "skip", chromedp.Click(chromedp.CSS("#skip-newsletter button[type=submit]")))
	if s := cell("newsletter", "task-status"); !strings.Contains(s, "Skipped") || !strings.Contains(s, "Mailing list deleted in 2025") {
		t.Errorf("newsletter after skip: %q", s)
	}
	if n := browserRun(t, ctx, "retry buttons", chromedp.Evaluate[int](`document.querySelectorAll("#tasks button[id^=retry-]").length`)); n != 0 {
		t.Errorf("%d retry buttons left with every task finished", n)
	}
	got := taskMap(t, d, rc.ID)
	if got["crm"].Status != dsr.TaskDone || got["paper-archive"].Status != dsr.TaskDone || got["newsletter"].Status != dsr.TaskSkipped {
		t.Errorf("stored tasks %+v", got)
	}
}

func TestOptOutFeedShowsEachSystemsTask(t *testing.T) {
	t.Parallel()
	td := startTaskDesk(t)
	d := td.d
	_, token := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	rc := newRequest(t, d, "opt_out", "otto@example.com", "US", "CA") // CCPA: open at once
	d.RunDue(t, 0)
	tasks := taskMap(t, d, rc.ID)
	if len(tasks) != 1 || tasks["newsletter"].Status != dsr.TaskWaiting {
		t.Fatalf("opt-out tasks %+v, want the newsletter's, waiting", tasks)
	}
	feed := func(query string) []any {
		t.Helper()
		code, out := adminCall(t, d, token, http.MethodGet, "/api/v1/admin/opt-outs?since=2000-01-01"+query, nil)
		if code != http.StatusOK {
			t.Fatalf("feed: %d %v", code, out)
		}
		data, _ := out["data"].([]any)
		return data
	}
	data := feed("")
	if len(data) != 1 || !strings.Contains(mustJSON(data[0]), `"tasks":[{"finished_at":null,"status":"waiting","system":"newsletter"}]`) {
		t.Fatalf("feed entry %s", mustJSON(data))
	}
	if code, out := adminCall(t, d, systemToken(t, d, "newsletter"), http.MethodPost, "/api/v1/tasks/"+tasks["newsletter"].ID, map[string]any{"status": "done"}); code != http.StatusOK {
		t.Fatalf("report: %d %v", code, out)
	}
	if data := feed(""); !strings.Contains(mustJSON(data[0]), `"status":"done","system":"newsletter"`) {
		t.Errorf("feed after the report: %s", mustJSON(data))
	}
	if data := feed("&system=newsletter"); len(data) != 0 {
		t.Errorf("?system=newsletter still lists the opt-out its task finished: %s", mustJSON(data))
	}
}

func TestTaskCallbackBadInput(t *testing.T) {
	t.Parallel()
	td := startTaskDesk(t)
	d := td.d
	_, tasks := confirmedErasure(t, d, "bad-input@example.com")
	tok := systemToken(t, d, "newsletter")
	path := "/api/v1/tasks/" + tasks["newsletter"].ID
	call := func(ct string, body []byte) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, d.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, _ := do(t, d, req)
		return resp.StatusCode
	}
	for _, tt := range []struct {
		name, ct string
		body     []byte
		want     int
	}{
		{"broken JSON", "application/json", []byte(`{"status": `), http.StatusBadRequest},
		{"waiting is not a report", "application/json", []byte(`{"status": "waiting"}`), http.StatusUnprocessableEntity},
		{"rows that are not objects", "application/json", []byte(`{"status": "done", "data": {"x": [1, 2]}}`), http.StatusUnprocessableEntity},
		{"negative count", "application/json", []byte(`{"status": "done", "count": -1}`), http.StatusUnprocessableEntity},
		{"a NUL byte", "application/json", []byte(`{"status": "done", "note": "a\u0000b"}`), http.StatusUnprocessableEntity},
		{"plain text", "text/plain", []byte(`done`), http.StatusUnsupportedMediaType},
		{"over 15 MB", "application/json", append(append([]byte(`{"status": "done", "note": "`), bytes.Repeat([]byte("x"), 16<<20)...), []byte(`"}`)...), http.StatusRequestEntityTooLarge},
	} {
		if got := call(tt.ct, tt.body); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	if x := taskMap(t, d, tasks["newsletter"].RequestID)["newsletter"]; x.Status != dsr.TaskWaiting {
		t.Errorf("the task changed on bad input: %+v", x)
	}
}
