package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// TestContractCoversHoldsAndTasks: the legal hold, retention, task and
// system callback exchanges of a real desk match the document, POST
// …/legal-hold is validated as the generic action (its concrete path is
// documented for DELETE only), and the same answers altered are rejected.
func TestContractCoversHoldsAndTasks(t *testing.T) {
	t.Parallel()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	td := startTaskDesk(t)
	d := td.d
	rc, tasks := confirmedErasure(t, d, "contract-tasks@example.com")
	_, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	base := "/api/v1/admin/requests/" + rc.ID
	hold := base + "/legal-hold"
	skip := base + "/tasks/" + tasks["paper-archive"].ID + "/skip"
	report := "/api/v1/tasks/" + tasks["newsletter"].ID

	calls := []struct {
		method, path string
		token        string
		body         any
	}{
		{http.MethodPost, hold, tok, map[string]string{"reason": "Regulator inquiry"}},
		{http.MethodGet, base, tok, nil},
		{http.MethodDelete, hold, tok, nil},
		{http.MethodPost, skip, tok, map[string]string{"reason": "The archive was destroyed in 2019"}},
		{http.MethodGet, base + "/tasks", tok, nil},
		{http.MethodPost, report, systemToken(t, d, "newsletter"), map[string]any{"status": "done", "count": 2}},
	}
	real := map[string]apitest.Exchange{}
	for _, x := range calls {
		if code, out := adminCall(t, d, x.token, x.method, x.path, x.body); code != http.StatusOK {
			t.Fatalf("%s %s: %d %v", x.method, x.path, code, out)
		}
		ex := findExchange(t, t.Name(), x.method, x.path, http.StatusOK)
		if err := c.check(ex); err != nil {
			t.Errorf("real %s %s rejected: %v", x.method, x.path, err)
		}
		real[x.method+" "+x.path] = ex
	}
	route, params, err := c.router.FindRoute(exchangeRequest(real["POST "+hold]))
	if err != nil || route.Path != "/api/v1/admin/requests/{id}/{action}" || params["action"] != "legal-hold" {
		t.Fatalf("POST …/legal-hold routed to %v %v %v, want the {action} operation", route, params, err)
	}

	edit := func(x apitest.Exchange, f func(m map[string]any)) apitest.Exchange {
		var m map[string]any
		if err := json.Unmarshal(x.RespBody, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		x.RespBody, _ = json.Marshal(m)
		return x
	}
	firstTask := func(m map[string]any) map[string]any { return m["data"].([]any)[0].(map[string]any) }
	wrong := map[string]apitest.Exchange{
		"detail without retention": edit(real["GET "+base], func(m map[string]any) { delete(m, "retention") }),
		"retention held not a bool": edit(real["GET "+base], func(m map[string]any) {
			m["retention"].(map[string]any)["held"] = "yes"
		}),
		"retention with an extra": edit(real["GET "+base], func(m map[string]any) {
			m["retention"].(map[string]any)["until"] = "2030-01-01"
		}),
		"release saying held":       edit(real["DELETE "+hold], func(m map[string]any) { m["held"] = true }),
		"task action without task":  edit(real["POST "+skip], func(m map[string]any) { delete(m, "task") }),
		"task with a bad status":    edit(real["GET "+base+"/tasks"], func(m map[string]any) { firstTask(m)["status"] = "paused" }),
		"task with a bad connector": edit(real["GET "+base+"/tasks"], func(m map[string]any) { firstTask(m)["connector"] = "ftp" }),
		"task with an extra":        edit(real["GET "+base+"/tasks"], func(m map[string]any) { firstTask(m)["request_id"] = rc.ID }),
		"task without affected":     edit(real["GET "+base+"/tasks"], func(m map[string]any) { delete(firstTask(m), "affected") }),
		"report answer bad status":  edit(real["POST "+report], func(m map[string]any) { m["status"] = "archived" }),
		"report accepted with an unknown status": func() apitest.Exchange {
			x := real["POST "+report]
			x.Body = []byte(`{"status": "archived"}`)
			return x
		}(),
		"unknown task action accepted": func() apitest.Exchange {
			x := real["POST "+skip]
			x.Path = base + "/tasks/" + tasks["paper-archive"].ID + "/pause"
			return x
		}(),
	}
	for name, x := range wrong {
		if err := c.check(x); err == nil {
			t.Errorf("%s: accepted, want rejected", name)
		}
	}
}
