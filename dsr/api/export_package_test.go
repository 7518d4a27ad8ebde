package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

var exportPackageConfig = strings.Replace(apitest.ConfigJSON, `"time_zone"`, `"systems": [
    {"name": "crm", "description": "Customer database", "kinds": ["access", "portability"], "connector": {"type": "manual"}, "owner_email": "crm-owner@testorg.example",
     "holds": {"purposes": ["running your account"], "retention": "7 years"}},
    {"name": "newsletter", "kinds": ["access", "portability"], "connector": {"type": "manual"}, "owner_email": "newsletter-owner@testorg.example",
     "holds": {"purposes": ["sending the newsletter"], "retention": "Until you unsubscribe"}}
  ],
  "time_zone"`, 1)

// seedPackage finishes the request's two manual tasks (created when it
// became workable) as the systems report them: crm done with data,
// newsletter found nothing; the package is then built by its job.
func seedPackage(t *testing.T, d *apitest.Desk, requestID string) {
	t.Helper()
	ctx := context.Background()
	d.RunDue(t, 0)
	tasks := taskMap(t, d, requestID)
	if len(tasks) != 2 {
		t.Fatalf("tasks %+v, want crm and newsletter", tasks)
	}
	crm := dsr.Report{Status: dsr.TaskDone, Count: 1, Sections: []dsr.Section{{Name: "customers", Columns: []string{"email", "id"},
		Rows: []map[string]any{{"id": 7, "email": "sub@example.com"}}}}}
	if _, err := d.Engine.ReportTask(ctx, "crm", tasks["crm"].ID, workflow.TaskReport{Report: crm}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Engine.ReportTask(ctx, "newsletter", tasks["newsletter"].ID, workflow.TaskReport{Report: dsr.Report{Status: dsr.TaskNotFound}}); err != nil {
		t.Fatal(err)
	}
	// The last report queued the build_export job, which runs now: wait
	// for it rather than build again (a second build replaces the first).
	d.WaitJobs(t, nil)
	if st, err := d.Engine.ExportPackageState(ctx, requestID); err != nil || !st.Ready || st.Systems != 2 {
		t.Fatalf("package %+v %v, want built from 2 systems", st, err)
	}
}

func TestExportPackageGoesToTheSubjectOnly(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{ConfigJSON: exportPackageConfig})
	_, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	perm := base64.StdEncoding.EncodeToString(minimalPDF)
	resp, b := postJSON(t, d, `{"kind": "portability", "subject": {"email": "sub@example.com", "country": "NL"}, "fields": {"format": "csv"},
		"agent": {"name": "Agency", "email": "agency@example.org", "permission": {"filename": "p.pdf", "content_base64": "`+perm+`"}}}`, nil)
	rc := mustReceipt(t, resp, b)
	post(t, d, apitest.LinkWith(t, d.MailTo(t, "sub@example.com", 1)[0], "/verify/"), nil)
	seedPackage(t, d, rc.ID)

	// The API's complete needs no files: the package is the export.
	if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+rc.ID+"/complete", map[string]any{"summary": "Your data from our systems."}); code != 200 {
		t.Fatalf("complete: %d %v", code, out)
	}
	subj := d.MailWithSubject(t, "sub@example.com", "is complete")
	agent := d.MailWithSubject(t, "agency@example.org", "is complete")
	if strings.Contains(agent.Text+agent.HTML, "/download/") {
		t.Fatalf("agent got the download link:\n%s", agent.Text)
	}
	link := apitest.LinkWith(t, subj, "/download/")
	resp, page := get(t, d, link)
	m := regexp.MustCompile(`href="(/download/[^"]+/[0-9a-f-]{36})"`).FindStringSubmatch(page)
	if resp.StatusCode != 200 || m == nil || !strings.Contains(page, ".zip") {
		t.Fatalf("download page %d:\n%s", resp.StatusCode, page)
	}
	resp, file := get(t, d, d.URL+m[1])
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("download: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var stored []byte
	if err := d.Pool.QueryRow(context.Background(), `SELECT sha256 FROM attachments WHERE id::text = $1`, m[1][strings.LastIndex(m[1], "/")+1:]).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(file)); !bytes.Equal(sum[:], stored) {
		t.Fatal("downloaded bytes differ from the stored package")
	}
	zr, err := zip.NewReader(strings.NewReader(file), int64(len(file)))
	if err != nil || len(zr.File) != 4 || zr.File[0].Name != "crm/customers.json" {
		t.Fatalf("zip: %v", err)
	}
}

func TestConsoleCompletesWithTheBuiltPackage(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{ConfigJSON: exportPackageConfig})
	staff(t, d, "otto@testorg.example", workflow.RoleOfficer)
	rc := newRequest(t, d, "access", "acc@example.com", "NL", "")
	post(t, d, apitest.LinkWith(t, d.MailTo(t, "acc@example.com", 1)[0], "/verify/"), nil)
	b := login(t, d, "otto@testorg.example")
	// Its tasks are open: the package is announced as pending, not ready.
	if _, page := b.get("/console/requests/" + rc.ID); !strings.Contains(page, `id="package-pending"`) || strings.Contains(page, `id="package-ready"`) {
		t.Fatal("a request with open tasks does not say the package is pending")
	}
	seedPackage(t, d, rc.ID)
	_, page := b.get("/console/requests/" + rc.ID)
	if !strings.Contains(page, "The export package built from 2 systems will be sent") {
		t.Fatalf("complete form does not announce the package:\n%s", page)
	}
	// The officer can open the (chunked) package from the request page.
	att := regexp.MustCompile(`/console/requests/[0-9a-f-]{36}/attachments/[0-9a-f-]{36}`).FindString(page)
	if resp, zipped := b.get(att); att == "" || resp.StatusCode != 200 || !strings.HasPrefix(zipped, "PK") {
		t.Fatalf("officer's package download %q: %d %.20q", att, resp.StatusCode, zipped)
	}
	if resp, page := b.post("/console/requests/"+rc.ID+"/complete", url.Values{"outcome": {"full"}, "summary": {"Your data."}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("complete: %d\n%s", resp.StatusCode, page)
	}
	apitest.LinkWith(t, d.MailWithSubject(t, "acc@example.com", "is complete"), "/download/")
}
