package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// The console's "today" is the engine clock's: when the clock passes a
// request's due date, the queue, the request page and the API's overdue
// filter all say so, with no request changed in between.
func TestConsoleCountsDaysFromTheEngineClock(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "dora@testorg.example", workflow.RoleOfficer)
	rc := newRequest(t, d, "access", "late@example.com", "NL", "")
	b := login(t, d, "dora@testorg.example")

	overdue := func() []any {
		t.Helper()
		code, out := adminCall(t, d, tok, "GET", "/api/v1/admin/requests?overdue=1", nil)
		if code != http.StatusOK {
			t.Fatalf("overdue list: %d %v", code, out)
		}
		data, _ := out["data"].([]any)
		return data
	}
	if got := overdue(); len(got) != 0 {
		t.Fatalf("overdue before the due date: %v", got)
	}
	if _, page := b.get("/console"); !strings.Contains(page, "days left") || strings.Contains(page, "overdue</span>") {
		t.Fatalf("queue before the due date shows no days left:\n%s", page)
	}
	if _, page := b.get("/console/requests/" + rc.ID); !strings.Contains(page, "days left)") {
		t.Fatalf("request page before the due date shows no days left:\n%s", page)
	}

	// A GDPR month is at most 31 days plus a long weekend or holidays.
	// The session has idled out by then (on the same clock): sign in again.
	d.Clock.Advance(40 * 24 * time.Hour)
	b = login(t, d, "dora@testorg.example")

	if got := overdue(); len(got) != 1 || !strings.Contains(mustJSON(got[0]), rc.ID) {
		t.Fatalf("overdue after the due date: %v, want %s", got, rc.ID)
	}
	if _, page := b.get("/console"); !strings.Contains(page, "days overdue") {
		t.Fatalf("queue after the due date shows nothing overdue:\n%s", page)
	}
	if _, page := b.get("/console/requests/" + rc.ID); !strings.Contains(page, `class="overdue"`) || !strings.Contains(page, "days overdue)") {
		t.Fatalf("request page after the due date is not overdue:\n%s", page)
	}
}

// The admin API's list and opt-out feed keep their JSON field names: they
// are the API's own types, not database rows, and this pins the contract.
func TestAdminAPIListFieldNames(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	officer, tok := staff(t, d, "fern@testorg.example", workflow.RoleOfficer)
	optOut := newRequest(t, d, "opt_out", "fields@example.com", "US", "CA")

	keys := func(v any) []string {
		t.Helper()
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("not an object: %s", mustJSON(v))
		}
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	list := func(path string) []any {
		t.Helper()
		code, out := adminCall(t, d, tok, "GET", path, nil)
		data, ok := out["data"].([]any)
		if code != http.StatusOK || !ok || len(data) != 1 {
			t.Fatalf("GET %s: %d %v", path, code, out)
		}
		if _, ok := out["next_cursor"]; !ok {
			t.Fatalf("GET %s: no next_cursor in %v", path, out)
		}
		return data
	}

	row := list("/api/v1/admin/requests")[0]
	want := []string{"channel", "due_on", "has_agent", "id", "kind", "received_on", "ref", "regime", "status"}
	if got := keys(row); !slices.Equal(got, want) {
		t.Errorf("queue row fields %v, want %v", got, want)
	}
	if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+optOut.ID+"/assign", map[string]string{"assignee": officer.ID}); code != http.StatusOK {
		t.Fatalf("assign: %d %v", code, out)
	}
	row = list("/api/v1/admin/requests")[0]
	want = []string{"assignee_email", "assignee_id", "channel", "due_on", "has_agent", "id", "kind", "received_on", "ref", "regime", "status"}
	if got := keys(row); !slices.Equal(got, want) {
		t.Errorf("assigned queue row fields %v, want %v", got, want)
	}
	if m := row.(map[string]any); m["assignee_email"] != officer.Email || m["kind"] != "opt_out" || m["has_agent"] != false {
		t.Errorf("queue row %s", mustJSON(m))
	}

	feed := list("/api/v1/admin/opt-outs?since=2000-01-01")[0]
	want = []string{"applied", "channel", "due_on", "email", "id", "opt_out_of", "received_at", "ref", "regime", "required_by", "status", "tasks"}
	if got := keys(feed); !slices.Equal(got, want) {
		t.Errorf("opt-out fields %v, want %v", got, want)
	}
	if applied := feed.(map[string]any)["applied"]; mustJSON(applied) != "[]" {
		t.Errorf("applied before any system: %s, want []", mustJSON(applied))
	}
	if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/opt-outs/"+optOut.ID+"/applied", map[string]string{"system": "adtech"}); code != http.StatusOK {
		t.Fatalf("mark applied: %d %v", code, out)
	}
	applied, _ := list("/api/v1/admin/opt-outs?since=2000-01-01")[0].(map[string]any)["applied"].([]any)
	if len(applied) != 1 || !slices.Equal(keys(applied[0]), []string{"applied_at", "system"}) || applied[0].(map[string]any)["system"] != "adtech" {
		t.Fatalf("applied after adtech: %s", mustJSON(applied))
	}
	var at time.Time
	if err := json.Unmarshal([]byte(mustJSON(applied[0].(map[string]any)["applied_at"])), &at); err != nil || at.IsZero() {
		t.Errorf("applied_at %v is not a time: %v", applied[0], err)
	}
}
