package api_test

// A browser test of the officer console: a real headless Chromium signs in,
// filters the queue, extends and completes an access request with an
// uploaded export, and the data subject downloads it. It reuses the
// browser helpers of browser_test.go.
//
// Set DSR_SCREENSHOTS=1 to write docs/console-queue.png and
// docs/console-request.png.

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// browserQueueRow is one row of the console queue as the browser shows it.
type browserQueueRow struct {
	Ref    string `json:"ref"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Due    string `json:"due"`
}

const browserQueueRowsJS = `[...document.querySelectorAll('table.queue tbody tr')].filter(tr => tr.querySelector('a[href^="/console/requests/"]')).map(tr => ({
	ref: tr.querySelector('a[href^="/console/requests/"]').textContent.trim(),
	kind: tr.children[3].textContent.trim(),
	status: tr.children[5].textContent.trim(),
	due: tr.querySelector('td.due').firstChild.textContent.trim(),
}))`

// browserHumanDate turns an API date (2006-01-02) into the console's format.
func browserHumanDate(t *testing.T, apiDate string) string {
	t.Helper()
	day, err := time.Parse(time.DateOnly, apiDate)
	if err != nil {
		t.Fatalf("date %q: %v", apiDate, err)
	}
	return day.Format("Mon 2 Jan 2006")
}

func browserQueueRefs(rows []browserQueueRow) []string {
	var refs []string
	for _, r := range rows {
		refs = append(refs, r.Ref)
	}
	return refs
}

func TestBrowserOfficerConsole(t *testing.T) {
	d := apitest.Start(t, apitest.Options{})
	_, token := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)

	// Three requests through the public API; the access request is confirmed.
	access := newRequest(t, d, "access", "anna@example.com", "NL", "")
	verify := apitest.LinkWith(t, d.MailTo(t, "anna@example.com", 1)[0], "/verify/")
	if resp := post(t, d, verify, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm the access request: status %d, want 303", resp.StatusCode)
	}
	erasure := newRequest(t, d, "erasure", "eric@example.com", "NL", "")
	optOut := newRequest(t, d, "opt_out", "otto@example.com", "US", "CA")
	byDue := []receipt{access, erasure, optOut}
	sort.SliceStable(byDue, func(i, j int) bool { return byDue[i].DueAt < byDue[j].DueAt })
	for _, rc := range byDue {
		t.Logf("%s %s (%s): due %s", rc.Ref, rc.Kind, rc.Regime, rc.DueAt)
	}
	for i := 1; i < len(byDue); i++ {
		if byDue[i].DueAt == byDue[i-1].DueAt {
			t.Fatalf("%s and %s are both due %s: the queue order between them is not defined by due date", byDue[i-1].Ref, byDue[i].Ref, byDue[i].DueAt)
		}
	}

	ctx := newBrowser(t)

	// Anonymous: the console sends the browser to the sign-in page.
	code, url := browserLoad(t, ctx, "open the console", chromedp.Navigate(d.URL+"/console"))
	if code != http.StatusOK || !strings.HasPrefix(url, d.URL+"/console/login") {
		t.Fatalf("GET /console anonymously: status %d at %s, want 200 on /console/login", code, url)
	}
	browserDo(t, ctx, "fill in the sign-in form",
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "olga@testorg.example"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
	)
	code, url = browserLoad(t, ctx, "sign in", chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type=submit]`)))
	// Signed in from /console, the officer is sent back there (?next=).
	if code != http.StatusOK || url != d.URL+"/console" {
		body := browserRun(t, ctx, "page text", chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("after signing in: status %d at %s, want 200 on /console; page:\n%s", code, url, body)
	}

	// The queue: all three, by due date, each with its due date.
	browserDo(t, ctx, "wait for the queue", chromedp.WaitVisible(chromedp.CSS("table.queue")))
	rows := browserRun(t, ctx, "queue rows", chromedp.Evaluate[[]browserQueueRow](browserQueueRowsJS))
	var want []string
	for _, rc := range byDue {
		want = append(want, rc.Ref)
	}
	if got := browserQueueRefs(rows); !slices.Equal(got, want) {
		t.Fatalf("queue lists %q, want %q (by due date)", got, want)
	}
	for i, rc := range byDue {
		if w := browserHumanDate(t, rc.DueAt); rows[i].Due != w {
			t.Errorf("queue row %s: due %q, want %q (the API receipt's due_at %s)", rc.Ref, rows[i].Due, w, rc.DueAt)
		}
		if short := dsr.Kind(rc.Kind).Short(); rows[i].Kind != strings.ToUpper(short[:1])+short[1:] {
			t.Errorf("queue row %s: kind %q, want the label of %q", rc.Ref, rows[i].Kind, rc.Kind)
		}
		wantStatus := rc.Status // a CCPA opt-out needs no verification: open at once
		if rc.ID == access.ID {
			wantStatus = "open" // confirmed through the email link
		}
		if rows[i].Status != dsr.Status(wantStatus).OfficerLabel() {
			t.Errorf("queue row %s: status %q, want %q", rc.Ref, rows[i].Status, wantStatus)
		}
	}
	browserScreenshot(t, ctx, "console-queue.png")

	// Filter by kind with the filter form.
	browserDo(t, ctx, "choose kind access", chromedp.SendKeys(chromedp.ID("f-kind"), "access"))
	if v := browserRun(t, ctx, "#f-kind value", chromedp.Value(chromedp.ID("f-kind"))); v != "access" {
		t.Fatalf("typing access into #f-kind chose %q", v)
	}
	code, url = browserLoad(t, ctx, "filter", chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)))
	if code != http.StatusOK || !strings.Contains(url, "kind=access") {
		t.Fatalf("filter: status %d at %s, want 200 with kind=access", code, url)
	}
	browserDo(t, ctx, "wait for the queue", chromedp.WaitVisible(chromedp.CSS("table.queue")))
	rows = browserRun(t, ctx, "filtered rows", chromedp.Evaluate[[]browserQueueRow](browserQueueRowsJS))
	if got := browserQueueRefs(rows); !slices.Equal(got, []string{access.Ref}) {
		t.Fatalf("queue filtered by kind access lists %q, want only %s", got, access.Ref)
	}
	if v := browserRun(t, ctx, "#f-kind value", chromedp.Value(chromedp.ID("f-kind"))); v != "access" {
		t.Errorf("after filtering, #f-kind shows %q, want access kept", v)
	}

	// The request page.
	link := chromedp.CSS(`table.queue a[href="/console/requests/` + access.ID + `"]`)
	if txt := strings.TrimSpace(browserRun(t, ctx, "ref link", chromedp.Text(link))); txt != access.Ref {
		t.Errorf("request link says %q, want %s", txt, access.Ref)
	}
	code, url = browserLoad(t, ctx, "open the request", chromedp.Click(link))
	if code != http.StatusOK || url != d.URL+"/console/requests/"+access.ID {
		t.Fatalf("open the request: status %d at %s", code, url)
	}
	browserDo(t, ctx, "wait for the request page", chromedp.WaitVisible(chromedp.ID("due")))
	headings := browserRun(t, ctx, "headings", chromedp.Evaluate[[]string](`[...document.querySelectorAll('main h2')].map(h => h.textContent.trim())`))
	for _, h := range []string{"Deadline ledger", "Timeline"} {
		if !slices.Contains(headings, h) {
			t.Errorf("request page has no %q heading; headings: %q", h, headings)
		}
	}
	if n := browserRun(t, ctx, "ledger rows", chromedp.Evaluate[int](`document.querySelectorAll('table.ledger tbody tr').length`)); n == 0 {
		t.Error("the deadline ledger is empty")
	}
	if n := browserRun(t, ctx, "timeline items", chromedp.Evaluate[int](`document.querySelectorAll('#timeline li').length`)); n == 0 {
		t.Error("the timeline is empty")
	}
	if s := strings.TrimSpace(browserRun(t, ctx, "#status", chromedp.Text(chromedp.ID("status")))); s != dsr.StatusOpen.OfficerLabel() {
		t.Errorf("#status = %q before any action, want %q (confirmed by the subject)", s, dsr.StatusOpen.OfficerLabel())
	}
	dueBefore := strings.TrimSpace(browserRun(t, ctx, "#due", chromedp.Text(chromedp.ID("due"))))
	if w := browserHumanDate(t, access.DueAt); !strings.HasPrefix(dueBefore, w) {
		t.Errorf("#due = %q, want it to start with %q", dueBefore, w)
	}

	// Extend the deadline.
	status, detail := adminCall(t, d, token, http.MethodGet, "/api/v1/admin/requests/"+access.ID, nil)
	extended, _ := detail["extended_due"].(string)
	if status != http.StatusOK || extended == "" {
		t.Fatalf("admin API detail: %d, extended_due %v", status, detail["extended_due"])
	}
	wantDue := browserHumanDate(t, extended)
	browserDo(t, ctx, "open Extend the deadline",
		chromedp.Click(chromedp.CSS("#extend > summary")),
		chromedp.WaitVisible(chromedp.ID("ext-reason")),
		chromedp.SendKeys(chromedp.ID("ext-reason"), "The data sits in three systems, one of them archived."),
	)
	code, url = browserLoad(t, ctx, "extend", chromedp.Click(chromedp.CSS(`#extend button[type=submit]`)))
	if code != http.StatusOK || url != d.URL+"/console/requests/"+access.ID {
		body := browserRun(t, ctx, "page text", chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("extend: status %d at %s, want 200 on the request page with a flash; page:\n%s", code, url, body)
	}
	browserDo(t, ctx, "wait for the flash", chromedp.WaitVisible(chromedp.ID("flash")))
	if f := browserRun(t, ctx, "#flash", chromedp.Text(chromedp.ID("flash"))); !strings.Contains(f, "Extended to "+wantDue) {
		t.Errorf("#flash = %q, want it to say Extended to %s", f, wantDue)
	}
	dueAfter := strings.TrimSpace(browserRun(t, ctx, "#due", chromedp.Text(chromedp.ID("due"))))
	if dueAfter == dueBefore || !strings.HasPrefix(dueAfter, wantDue) {
		t.Errorf("#due after extending = %q (before: %q), want %s", dueAfter, dueBefore, wantDue)
	}
	if _, detail = adminCall(t, d, token, http.MethodGet, "/api/v1/admin/requests/"+access.ID, nil); detail["due_on"] != extended || detail["extensions"] != 1.0 {
		t.Errorf("after extending, the API says due_on %v, extensions %v; want %s, 1", detail["due_on"], detail["extensions"], extended)
	}
	browserScreenshot(t, ctx, "console-request.png")

	// Complete with an export file.
	export := []byte(`{"name": "Anna", "email": "anna@example.com", "orders": [1042, 1077]}` + "\n")
	exportPath := filepath.Join(t.TempDir(), "data.json")
	if err := os.WriteFile(exportPath, export, 0o644); err != nil {
		t.Fatal(err)
	}
	browserDo(t, ctx, "fill in Complete",
		chromedp.Click(chromedp.CSS("#complete > summary")),
		chromedp.WaitVisible(chromedp.ID("exports")),
		chromedp.SetUploadFiles(chromedp.ID("exports"), []string{exportPath}),
		chromedp.SendKeys(chromedp.ID("c-summary"), "Attached is a copy of the personal data we hold about you."),
	)
	if n := browserRun(t, ctx, "chosen files", chromedp.Evaluate[int](`document.getElementById('exports').files.length`)); n != 1 {
		t.Fatalf("#exports holds %d files after SetUploadFiles, want 1", n)
	}
	code, url = browserLoad(t, ctx, "complete", chromedp.Click(chromedp.CSS(`#complete button[type=submit]`)))
	if code != http.StatusOK || !strings.HasPrefix(url, d.URL+"/console/requests/"+access.ID) {
		body := browserRun(t, ctx, "page text", chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("complete: status %d at %s; page:\n%s", code, url, body)
	}
	browserDo(t, ctx, "wait for the request page", chromedp.WaitVisible(chromedp.ID("status")))
	if s := strings.TrimSpace(browserRun(t, ctx, "#status", chromedp.Text(chromedp.ID("status")))); s != dsr.StatusCompleted.OfficerLabel() {
		body := browserRun(t, ctx, "page text", chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("#status = %q after Complete, want completed; page:\n%s", s, body)
	}

	// The data subject's email, the download page and the file.
	mail := d.MailWithSubject(t, "anna@example.com", "is complete")
	download := apitest.LinkWith(t, mail, "/download/")
	if code, _ := browserLoad(t, ctx, "open the download link", chromedp.Navigate(download)); code != http.StatusOK {
		t.Fatalf("GET download link: status %d", code)
	}
	browserDo(t, ctx, "wait for the file list", chromedp.WaitVisible(chromedp.CSS("#files a")))
	files := browserRun(t, ctx, "file links", chromedp.AttributesAll(chromedp.CSSAll("#files a")))
	names := browserRun(t, ctx, "file names", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#files a')].map(a => a.textContent.trim())`))
	if len(files) != 1 || !slices.Equal(names, []string{"data.json"}) {
		t.Fatalf("download page lists %q (%v), want data.json only", names, files)
	}
	href := files[0]["href"]
	if !strings.HasPrefix(href, "/download/") {
		t.Fatalf("file link href = %q", href)
	}
	resp, body := get(t, d, d.URL+href)
	if resp.StatusCode != http.StatusOK || body != string(export) {
		t.Fatalf("GET %s: status %d, body %q; want 200 with the uploaded bytes %q", href, resp.StatusCode, body, export)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, "data.json") {
		t.Errorf("file Content-Disposition = %q, want the filename data.json", cd)
	}
}
