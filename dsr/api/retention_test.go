package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// An officer places and releases a legal hold over the admin API (field
// errors for a missing reason, 409 for a second hold or release) and
// from the console's request page; viewers may not.
func TestLegalHoldAPIAndConsole(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	_, viewerTok := staff(t, d, "vera@testorg.example", workflow.RoleViewer)
	rc := newRequest(t, d, "access", "hold@example.com", "NL", "")
	path := "/api/v1/admin/requests/" + rc.ID + "/legal-hold"

	code, out := adminCall(t, d, tok, "POST", path, map[string]string{"reason": " "})
	if code != http.StatusUnprocessableEntity || !strings.Contains(mustJSON(out), `"reason"`) {
		t.Fatalf("no reason: %d %v", code, out)
	}
	if code, out := adminCall(t, d, tok, "POST", path, map[string]string{"reason": strings.Repeat("x", 2001)}); code != http.StatusUnprocessableEntity {
		t.Fatalf("long reason: %d %v", code, out)
	}
	if code, _ := adminCall(t, d, viewerTok, "POST", path, map[string]string{"reason": "Litigation"}); code != http.StatusForbidden {
		t.Fatalf("viewer: %d", code)
	}
	if code, out := adminCall(t, d, tok, "POST", path, map[string]string{"reason": "Litigation, case 17"}); code != http.StatusOK {
		t.Fatalf("hold: %d %v", code, out)
	}
	if code, _ := adminCall(t, d, tok, "POST", path, map[string]string{"reason": "again"}); code != http.StatusConflict {
		t.Fatalf("second hold: %d", code)
	}
	_, detail := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+rc.ID, nil)
	if r, _ := detail["retention"].(map[string]any); r["held"] != true || r["hold_reason"] != "Litigation, case 17" || r["purged"] != false {
		t.Fatalf("retention in the request: %v", detail["retention"])
	}
	if code, out := adminCall(t, d, tok, "DELETE", path, nil); code != http.StatusOK || out["held"] != false {
		t.Fatalf("release: %d %v", code, out)
	}
	if code, _ := adminCall(t, d, tok, "DELETE", path, nil); code != http.StatusConflict {
		t.Fatalf("second release: %d", code)
	}
	if code, _ := adminCall(t, d, tok, "DELETE", "/api/v1/admin/requests/not-a-uuid/legal-hold", nil); code != http.StatusNotFound {
		t.Fatalf("bad id: %d", code)
	}

	// The console: the button on the request page, then the hold shown
	// with a release button, and the events in the timeline.
	b := login(t, d, "olga@testorg.example")
	_, page := b.get("/console/requests/" + rc.ID)
	if !strings.Contains(page, `action="/console/requests/`+rc.ID+`/legal-hold"`) {
		t.Fatal("no legal hold form on the request page")
	}
	if resp, _ := b.post("/console/requests/"+rc.ID+"/legal-hold", url.Values{"reason": {"Regulator inquiry"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("console hold: %d", resp.StatusCode)
	}
	_, page = b.get("/console/requests/" + rc.ID)
	if !strings.Contains(page, `id="legal-hold"`) || !strings.Contains(page, "Regulator inquiry") || !strings.Contains(page, "/release-hold") {
		t.Fatal("the hold is not shown on the request page")
	}
	if !strings.Contains(page, "placed a legal hold") || !strings.Contains(page, "released the legal hold") {
		t.Fatal("hold events missing from the timeline")
	}
	if resp, _ := b.post("/console/requests/"+rc.ID+"/release-hold", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("console release: %d", resp.StatusCode)
	}
}
