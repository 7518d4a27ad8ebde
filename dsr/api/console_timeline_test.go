package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// The request page speaks to the officer: the status chip reads the
// officer's label, and the timeline tells events in sentences with
// people's names, not raw types and user ids.
func TestRequestPageTimelineInSentences(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	olly, tok := staff(t, d, "olly@testorg.example", workflow.RoleOfficer)
	piet, _ := staff(t, d, "piet@testorg.example", workflow.RoleOfficer)
	officer := login(t, d, "olly@testorg.example")
	code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests", map[string]any{"kind": "access", "channel": "phone",
		"received_at": d.Clock.Now().UTC().Format(time.RFC3339), "subject": map[string]any{"email": "tim@example.com", "country": "NL"}})
	if code != 201 {
		t.Fatalf("enter: %d %v", code, out)
	}
	id := out["id"].(string)
	if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+id+"/assign", map[string]string{"assignee": piet.ID}); code != 200 {
		t.Fatalf("assign: %d %v", code, out)
	}
	_, page := officer.get("/console/requests/" + id)
	for _, want := range []string{olly.Name + " entered the request (phone)", olly.Name + " assigned it to " + piet.Name,
		`data-status="pending_verification">` + dsr.StatusPendingVerification.OfficerLabel() + `</span>`} {
		if !strings.Contains(page, want) {
			t.Errorf("request page lacks %q", want)
		}
	}
	for _, raw := range []string{"to=" + piet.ID, piet.ID + "</", "user:" + olly.ID, "Waiting for your answer"} {
		if strings.Contains(page, raw) {
			t.Errorf("request page shows %q", raw)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", page)
	}
}

// The triage dropdown lists only the kinds the organisation offers.
func TestTriageListsOfferedKindsOnly(t *testing.T) {
	t.Parallel()
	cfg := strings.Replace(apitest.ConfigJSON, `"time_zone"`, `"kinds": ["access", "erasure"], "time_zone"`, 1)
	d := apitest.Start(t, apitest.Options{ConfigJSON: cfg})
	staff(t, d, "tom@testorg.example", workflow.RoleOfficer)
	id := emailed(t, d, "gus@example.com", "Question", "What data do you hold about me?")
	b := login(t, d, "tom@testorg.example")
	_, page := b.get("/console/requests/" + id)
	i := strings.Index(page, `id="t-kind"`)
	if i < 0 {
		t.Fatalf("no triage kind select:\n%s", page)
	}
	sel := page[i : i+strings.Index(page[i:], "</select>")]
	for _, k := range []string{"access", "erasure"} {
		if !strings.Contains(sel, `value="`+k+`"`) {
			t.Errorf("triage lacks offered kind %s: %s", k, sel)
		}
	}
	for _, k := range []string{"portability", "opt_out", "rectification", "restriction", "objection"} {
		if strings.Contains(sel, `value="`+k+`"`) {
			t.Errorf("triage offers %s, which the organisation does not: %s", k, sel)
		}
	}
}
