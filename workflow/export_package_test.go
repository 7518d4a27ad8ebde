package workflow_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// packageConfig is the test config with four systems described for the
// package's README.
var packageConfig = strings.Replace(apitest.ConfigJSON, `"time_zone"`, `"systems": [
    {"name": "crm", "description": "Customer database", "kinds": ["access", "portability"], "owner_email": "owner@testorg.example", "connector": {"type": "manual"},
     "holds": {"summary": "Your customer account and orders.", "purposes": ["running your account", "billing"],
               "categories": ["contact details", "order history"], "recipients": ["our payment provider"],
               "retention": "7 years after the last order (Dutch tax law)", "source": "You, when you signed up."}},
    {"name": "newsletter", "description": "Mailing list", "kinds": ["access", "portability"], "owner_email": "owner@testorg.example", "connector": {"type": "manual"},
     "holds": {"summary": "Your newsletter subscription.", "purposes": ["sending the newsletter"],
               "categories": ["email address"], "retention": "Until you unsubscribe"}},
    {"name": "billing", "kinds": ["access", "portability"], "owner_email": "owner@testorg.example", "connector": {"type": "manual"},
     "holds": {"purposes": ["invoicing"], "retention": "10 years"}},
    {"name": "legacy", "kinds": ["access", "portability"], "owner_email": "owner@testorg.example", "connector": {"type": "manual"},
     "holds": {"purposes": ["old support tickets"], "retention": "2 years"}}
  ],
  "time_zone"`, 1)

// packageRequest is a confirmed portability request with four finished
// tasks: crm (two sections, one of two chunks, and an uploaded file
// with a hostile name), newsletter (one section), billing (kept on a
// basis) and legacy (no data). The crm task is left open.
type packageRequest struct {
	d       *apitest.Desk
	id, crm string
}

func setupPackage(t *testing.T) packageRequest {
	t.Helper()
	ctx := context.Background()
	d := apitest.Start(t, apitest.Options{ConfigJSON: packageConfig})
	rc := submit(t, d, dsr.KindPortability, "pia@example.com", "NL", "", map[string]string{"format": "csv"})
	verify(t, d, "pia@example.com")
	d.RunDue(t, 0) // the engine's own task jobs (manual: mail the owner) finish first
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	crm, err := dbtest.SeedTask(ctx, d.Pool, rc.ID, "crm", "portability", "running", "")
	must(err)
	news, err := dbtest.SeedTask(ctx, d.Pool, rc.ID, "newsletter", "portability", "done", "")
	must(err)
	_, err = dbtest.SeedTask(ctx, d.Pool, rc.ID, "billing", "portability", "kept", "Invoices are kept 10 years under Dutch tax law (AWR art. 52).")
	must(err)
	_, err = dbtest.SeedTask(ctx, d.Pool, rc.ID, "legacy", "portability", "not_found", "")
	must(err)
	cols := []string{"id", "name", "email"}
	must(dbtest.SeedSection(ctx, d.Pool, crm, "customers", 0, cols, []map[string]any{
		{"id": 1, "name": "Pia", "email": "pia@example.com"}, {"id": 2, "name": "Pia, \"P\"", "email": nil}}))
	must(dbtest.SeedSection(ctx, d.Pool, crm, "customers", 1, cols, []map[string]any{{"id": 3, "name": "Pía", "email": "p@example.com"}}))
	must(dbtest.SeedSection(ctx, d.Pool, crm, "orders", 0, nil, []map[string]any{
		{"order": "A-1", "total": 12.5}, {"order": "A-2", "items": []any{"x", "y"}}}))
	must(dbtest.SeedSection(ctx, d.Pool, news, "subscriptions", 0, []string{"list", "since"}, []map[string]any{{"list": "weekly", "since": "2025-03-01"}}))
	_, err = dbtest.SeedTaskFile(ctx, d.Pool, rc.ID, crm, "../../etc/passwd", "text/plain", []byte("not really\n"))
	must(err)
	return packageRequest{d: d, id: rc.ID, crm: crm}
}

func buildJobs(t *testing.T, d *apitest.Desk) int {
	t.Helper()
	res, err := d.Engine.River().JobList(context.Background(), river.NewJobListParams().Kinds("build_export").
		States(rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateCompleted, rivertype.JobStateRetryable, rivertype.JobStateScheduled))
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Jobs)
}

func TestExportPackageIsBuiltWhenEveryTaskIsFinished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := setupPackage(t)
	d := p.d

	// One task open: nothing queued, and complete without files refuses.
	if err := workflow.QueueExportIfReady(ctx, d.Engine, p.id); err != nil {
		t.Fatal(err)
	}
	if n := buildJobs(t, d); n != 0 {
		t.Fatalf("%d build jobs with a task open", n)
	}
	var de *dsr.Error
	if err := d.Engine.CompleteWith(ctx, p.id, officer, workflow.Completion{Summary: "Your data."}); !asErr(err, &de) || de.Code != dsr.ECONFLICT || !strings.Contains(de.Message, "still open") {
		t.Fatalf("complete with a task open: %v", err)
	}

	// The last task finishes: one build however often it is asked for.
	if err := dbtest.SetTaskStatus(ctx, d.Pool, p.crm, "done"); err != nil {
		t.Fatal(err)
	}
	if err := d.Engine.CompleteWith(ctx, p.id, officer, workflow.Completion{Summary: "Your data."}); !asErr(err, &de) || de.Code != dsr.ECONFLICT || !strings.Contains(de.Message, "still being built") {
		t.Fatalf("complete before the package is built: %v", err)
	}
	for range 2 {
		if err := workflow.QueueExportIfReady(ctx, d.Engine, p.id); err != nil {
			t.Fatal(err)
		}
	}
	d.RunDue(t, 0)
	if n := buildJobs(t, d); n != 1 {
		t.Fatalf("%d build jobs, want 1", n)
	}
	st, err := d.Engine.ExportPackageState(ctx, p.id)
	if err != nil || !st.Ready || st.Systems != 4 {
		t.Fatalf("package state %+v %v", st, err)
	}
	if err := d.Engine.CompleteWith(ctx, p.id, officer, workflow.Completion{Summary: "Your data."}); err != nil {
		t.Fatal(err)
	}
	if st, _ := d.Engine.ExportPackageState(ctx, p.id); st.Ready {
		t.Fatal("the package is still offered after it was handed over")
	}
	if err := d.Engine.CompleteWith(ctx, p.id, officer, workflow.Completion{Summary: "Again."}); dsr.ErrorCode(err) != dsr.ECONFLICT {
		t.Fatalf("second complete: %v", err)
	}
}

func TestExportPackageContent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := setupPackage(t)
	d := p.d
	if err := dbtest.SetTaskStatus(ctx, d.Pool, p.crm, "done"); err != nil {
		t.Fatal(err)
	}
	pkg, err := d.Engine.BuildExportPackage(ctx, p.id)
	if err != nil || pkg == nil {
		t.Fatalf("build: %v %v", pkg, err)
	}
	if pkg.Size == 0 || pkg.Purpose != "package" {
		t.Fatalf("package %+v", pkg)
	}
	zr := openZip(t, d, p.id, pkg.AttachmentID, "package")
	var names []string
	files := map[string]string{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		files[f.Name] = readZipFile(t, f)
	}
	want := []string{"crm/customers.json", "crm/customers.csv", "crm/orders.json", "crm/orders.csv", "crm/files/passwd",
		"newsletter/subscriptions.json", "newsletter/subscriptions.csv", "README.html", "manifest.json"}
	if !slices.Equal(names, want) {
		t.Fatalf("files:\n%q\nwant\n%q", names, want)
	}

	var customers []map[string]any
	if err := json.Unmarshal([]byte(files["crm/customers.json"]), &customers); err != nil {
		t.Fatalf("customers.json: %v\n%s", err, files["crm/customers.json"])
	}
	wantCustomers := []map[string]any{{"id": 1.0, "name": "Pia", "email": "pia@example.com"}, {"id": 2.0, "name": "Pia, \"P\"", "email": nil},
		{"id": 3.0, "name": "Pía", "email": "p@example.com"}}
	if mustJSON(customers) != mustJSON(wantCustomers) {
		t.Fatalf("customers.json rows:\n%s", files["crm/customers.json"])
	}
	if got := files["crm/customers.csv"]; got != "id,name,email\n1,Pia,pia@example.com\n2,\"Pia, \"\"P\"\"\",\n3,Pía,p@example.com\n" {
		t.Fatalf("customers.csv:\n%s", got)
	}
	// No declared columns: the union of the rows' keys, sorted.
	if got := files["crm/orders.csv"]; got != "items,order,total\n,A-1,12.5\n\"[\"\"x\"\", \"\"y\"\"]\",A-2,\n" {
		t.Fatalf("orders.csv:\n%s", got)
	}
	if files["crm/files/passwd"] != "not really\n" {
		t.Fatalf("uploaded file: %q", files["crm/files/passwd"])
	}

	readme := files["README.html"]
	for _, s := range []string{"Testorg B.V.", "running your account; billing", "7 years after the last order (Dutch tax law)",
		"our payment provider", "contact details; order history", "You, when you signed up.",
		"sending the newsletter", "Until you unsubscribe", "invoicing", "10 years", "old support tickets", "2 years",
		"Invoices are kept 10 years under Dutch tax law (AWR art. 52).", "holds no data about you",
		"crm/customers.json", "— 3 records", "supervisory authority", "(the purposes)"} {
		if !strings.Contains(readme, htmlEscape(s)) {
			t.Errorf("README.html lacks %q", s)
		}
	}

	var manifest struct {
		Files []struct {
			Path   string
			Size   int64
			SHA256 string
		}
	}
	if err := json.Unmarshal([]byte(files["manifest.json"]), &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest.Files) != len(names)-1 {
		t.Fatalf("manifest lists %d files, want %d", len(manifest.Files), len(names)-1)
	}
	for _, m := range manifest.Files {
		sum := sha256.Sum256([]byte(files[m.Path]))
		if m.SHA256 != hex.EncodeToString(sum[:]) || m.Size != int64(len(files[m.Path])) {
			t.Errorf("manifest %s: %d %s, file %d bytes", m.Path, m.Size, m.SHA256, len(files[m.Path]))
		}
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func openZip(t *testing.T, d *apitest.Desk, requestID, attachmentID, purpose string) *zip.Reader {
	t.Helper()
	a, err := db.OpenAttachment(context.Background(), d.Pool, requestID, attachmentID, purpose)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Body.Close()
	b, err := io.ReadAll(a.Body)
	if err != nil || int64(len(b)) != a.Size {
		t.Fatalf("read package: %d bytes of %d, %v", len(b), a.Size, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

func readZipFile(t *testing.T, f *zip.File) string {
	t.Helper()
	r, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
