package dsr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// exampleSystems is the example: a postgres CRM, a webhook
// newsletter and a manual paper archive.
func exampleSystems() []any {
	return []any{
		map[string]any{"name": "crm", "description": "Customer database", "owner_email": "crm-team@example.com",
			"kinds": []any{"access", "portability", "erasure"},
			"connector": map[string]any{"type": "postgres",
				"access":  []any{map[string]any{"section": "customers", "sql": "select id, name::text from customers where email = :email"}},
				"erasure": []any{map[string]any{"sql": "delete from customers where email = :email"}}}},
		map[string]any{"name": "newsletter", "kinds": []any{"opt_out", "erasure"},
			"connector": map[string]any{"type": "webhook", "url": "https://newsletter.internal/dsr"}},
		map[string]any{"name": "paper-archive", "kinds": []any{"erasure"}, "owner_email": "archive@example.com",
			"connector": map[string]any{"type": "manual"}},
	}
}

func TestSystemsConfigValid(t *testing.T) {
	t.Parallel()
	c, err := parseConfigString(configJSON(t, func(m map[string]any) { m["systems"] = exampleSystems() }))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Systems) != 3 || c.Systems[2].Margin() != dsr.DefaultTaskMarginDays {
		t.Fatalf("systems = %+v", c.Systems)
	}
	env := map[string]string{"DSR_SYSTEM_CRM_DSN": "postgres://x"}
	got := c.MissingSecrets(func(k string) string { return env[k] })
	if len(got) != 1 || got[0] != "DSR_SYSTEM_NEWSLETTER_SECRET" {
		t.Errorf("MissingSecrets = %v, want only the newsletter's secret", got)
	}
	if n := dsr.EnvName("paper-archive"); n != "DSR_SYSTEM_PAPER_ARCHIVE" {
		t.Errorf("EnvName = %q", n)
	}
}

func TestSystemsConfigInvalid(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		edit  func(s []any)
		field string
	}{
		{"bad name", func(s []any) { s[0].(map[string]any)["name"] = "CRM DB" }, "systems[0].name"},
		{"duplicate name", func(s []any) { s[1].(map[string]any)["name"] = "crm" }, "systems[1].name"},
		{"unknown kind", func(s []any) { s[2].(map[string]any)["kinds"] = []any{"erase"} }, "systems[2].kinds[0]"},
		{"unknown connector", func(s []any) { s[2].(map[string]any)["connector"] = map[string]any{"type": "ftp"} }, "systems[2].connector.type"},
		{"webhook over http", func(s []any) {
			s[1].(map[string]any)["connector"] = map[string]any{"type": "webhook", "url": "http://newsletter.internal/dsr"}
		}, "systems[1].connector.url"},
		{"manual without owner", func(s []any) { delete(s[2].(map[string]any), "owner_email") }, "systems[2].owner_email"},
		{"bad owner", func(s []any) { s[0].(map[string]any)["owner_email"] = "nobody" }, "systems[0].owner_email"},
		{"missing SQL for a kind", func(s []any) { delete(s[0].(map[string]any)["connector"].(map[string]any), "erasure") }, "systems[0].connector.erasure"},
		{"unknown parameter", func(s []any) {
			s[0].(map[string]any)["connector"].(map[string]any)["erasure"] = []any{map[string]any{"sql": "delete from t where mail = :mail"}}
		}, "systems[0].connector.erasure[0].sql"},
		{"access without section", func(s []any) {
			s[0].(map[string]any)["connector"].(map[string]any)["access"] = []any{map[string]any{"sql": "select 1 where :email = ''"}}
		}, "systems[0].connector.access[0].section"},
		{"negative margin", func(s []any) { s[2].(map[string]any)["margin_days"] = -1 }, "systems[2].margin_days"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseConfigString(configJSON(t, func(m map[string]any) {
				s := exampleSystems()
				tt.edit(s)
				m["systems"] = s
			}))
			if err == nil || !strings.Contains(err.Error(), tt.field+":") {
				t.Fatalf("err = %v, want one naming %s", err, tt.field)
			}
		})
	}
}

func TestSystemsWebhookLocalhostAllowed(t *testing.T) {
	t.Parallel()
	_, err := parseConfigString(configJSON(t, func(m map[string]any) {
		s := exampleSystems()
		s[1].(map[string]any)["connector"] = map[string]any{"type": "webhook", "url": "http://127.0.0.1:9999/dsr"}
		m["systems"] = s
	}))
	if err != nil {
		t.Fatal(err)
	}
}

func TestPlanTasks(t *testing.T) {
	t.Parallel()
	two := 2
	c, err := parseConfigString(configJSON(t, func(m map[string]any) {
		s := exampleSystems()
		s[2].(map[string]any)["margin_days"] = two
		m["systems"] = s
	}))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	today := dsr.DateIn(now, c.Location())
	for _, tt := range []struct {
		name string
		kind dsr.Kind
		due  dsr.Date
		want map[string]dsr.Date
	}{
		{"erasure: every system that takes it, due minus margin", dsr.KindErasure, dsr.NewDate(2026, 3, 16),
			map[string]dsr.Date{"crm": dsr.NewDate(2026, 3, 13), "newsletter": dsr.NewDate(2026, 3, 13), "paper-archive": dsr.NewDate(2026, 3, 14)}},
		{"access: the crm only", dsr.KindAccess, dsr.NewDate(2026, 4, 2), map[string]dsr.Date{"crm": dsr.NewDate(2026, 3, 30)}},
		{"opt-out fans out to the systems taking opt_out", dsr.KindOptOut, dsr.NewDate(2026, 3, 20), map[string]dsr.Date{"newsletter": dsr.NewDate(2026, 3, 17)}},
		{"never before today", dsr.KindErasure, today.AddDays(1),
			map[string]dsr.Date{"crm": today, "newsletter": today, "paper-archive": today}},
		{"no system takes it", dsr.KindRestriction, dsr.NewDate(2026, 4, 2), map[string]dsr.Date{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &dsr.Request{Kind: tt.kind, DueOn: tt.due}
			got := dsr.PlanTasks(c, r, now)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d tasks %+v, want %v", len(got), got, tt.want)
			}
			for _, task := range got {
				if want, ok := tt.want[task.System]; !ok || task.Due != want || task.Kind != tt.kind || task.ID == "" {
					t.Errorf("task %+v, want due %v", task, want)
				}
			}
			if evs := dsr.TaskEvents(got); len(evs) != len(got) || (len(evs) > 0 && (evs[0].Public || evs[0].Type != dsr.EventTaskCreated)) {
				t.Errorf("events %+v", evs)
			}
		})
	}
}

func TestWorkable(t *testing.T) {
	t.Parallel()
	open := &dsr.Request{Status: dsr.StatusOpen}
	for _, tt := range []struct {
		before *dsr.Request
		after  *dsr.Request
		want   bool
	}{
		{nil, open, true},
		{&dsr.Request{Status: dsr.StatusPendingVerification}, open, true},
		{&dsr.Request{Status: dsr.StatusPendingTriage}, open, true},
		{nil, &dsr.Request{Status: dsr.StatusPendingVerification}, false},
		{&dsr.Request{Status: dsr.StatusInProgress}, open, false},
		{&dsr.Request{Status: dsr.StatusAppealed}, open, false},
	} {
		if got := dsr.Workable(tt.before, tt.after); got != tt.want {
			t.Errorf("Workable(%v → %s) = %v", tt.before, tt.after.Status, got)
		}
	}
}

func TestTaskDecisions(t *testing.T) {
	t.Parallel()
	failed := &dsr.Task{ID: "t", System: "crm", Status: dsr.TaskFailed}
	done := &dsr.Task{ID: "t", System: "crm", Status: dsr.TaskDone}
	if d, err := dsr.PlanTaskRetry(failed, "user:1"); err != nil || d.To != dsr.TaskPending || d.Event.Type != dsr.EventTaskRetried {
		t.Errorf("retry failed: %+v %v", d, err)
	}
	if _, err := dsr.PlanTaskRetry(done, "user:1"); dsr.ErrorCode(err) != dsr.ECONFLICT {
		t.Errorf("retry done: %v", err)
	}
	if _, err := dsr.PlanTaskDone(failed, "user:1", "  ", 0); dsr.ErrorCode(err) != dsr.EINVALID {
		t.Errorf("done without note: %v", err)
	}
	if d, err := dsr.PlanTaskDone(failed, "user:1", "shredded", 1); err != nil || d.To != dsr.TaskDone || d.Note != "shredded" {
		t.Errorf("done: %+v %v", d, err)
	}
	if _, err := dsr.PlanTaskSkip(done, "user:1", "n/a"); dsr.ErrorCode(err) != dsr.ECONFLICT {
		t.Errorf("skip done: %v", err)
	}
	if _, err := dsr.PlanTaskSkip(failed, "user:1", ""); dsr.ErrorCode(err) != dsr.EINVALID {
		t.Errorf("skip without reason: %v", err)
	}
}

func TestCheckTasksClosed(t *testing.T) {
	t.Parallel()
	today := dsr.NewDate(2026, 3, 2)
	closed := []dsr.Task{{System: "crm", Status: dsr.TaskDone}, {System: "archive", Status: dsr.TaskSkipped}}
	if l, ev, err := dsr.CheckTasksClosed(closed, false, "", "user:1", today); err != nil || l != nil || ev != nil {
		t.Errorf("closed tasks: %v %v %v", l, ev, err)
	}
	open := append(closed, dsr.Task{System: "newsletter", Status: dsr.TaskWaiting})
	_, _, err := dsr.CheckTasksClosed(open, false, "", "user:1", today)
	if dsr.ErrorCode(err) != dsr.ECONFLICT || !strings.Contains(dsr.ErrorMessage(err), "newsletter") {
		t.Errorf("open task: %v", err)
	}
	if _, _, err := dsr.CheckTasksClosed(open, true, " ", "user:1", today); dsr.ErrorCode(err) != dsr.EINVALID {
		t.Errorf("override without reason: %v", err)
	}
	l, ev, err := dsr.CheckTasksClosed(open, true, "system retired", "user:1", today)
	if err != nil || len(l) != 1 || l[0].What != dsr.LedgerTasksOverridden || !strings.Contains(l[0].Rule, "system retired") ||
		len(ev) != 1 || ev[0].Type != dsr.EventTasksOverridden {
		t.Errorf("override: %+v %+v %v", l, ev, err)
	}
}
