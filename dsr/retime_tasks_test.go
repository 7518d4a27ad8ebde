package dsr_test

import (
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

func TestRetimeTasks(t *testing.T) {
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
	d := dsr.NewDate
	task := func(system string, kind dsr.Kind, st dsr.TaskStatus, due dsr.Date) dsr.Task {
		return dsr.Task{ID: system + "-id", System: system, Kind: kind, Status: st, DueOn: due}
	}
	erasure := []dsr.Task{
		task("crm", dsr.KindErasure, dsr.TaskDone, d(2026, 3, 13)),
		task("newsletter", dsr.KindErasure, dsr.TaskWaiting, d(2026, 3, 13)),
		task("paper-archive", dsr.KindErasure, dsr.TaskPending, d(2026, 3, 14)),
	}
	type want struct {
		due   dsr.Date
		moved bool
	}
	for _, tt := range []struct {
		name                string
		before, after       dsr.Request
		tasks               []dsr.Task
		want                map[string]want
		wantPromiseInEvents bool
	}{
		{"an extension moves every open task, margin by system, not a finished one",
			dsr.Request{DueOn: d(2026, 3, 16)}, dsr.Request{DueOn: d(2026, 5, 18)}, erasure,
			map[string]want{"newsletter": {d(2026, 5, 15), true}, "paper-archive": {d(2026, 5, 16), true}}, false},
		{"every open status follows: pending, running, waiting, failed; skipped and kept do not",
			dsr.Request{DueOn: d(2026, 3, 16)}, dsr.Request{DueOn: d(2026, 3, 26)}, []dsr.Task{
				task("crm", dsr.KindAccess, dsr.TaskRunning, d(2026, 3, 13)),
				task("newsletter", dsr.KindAccess, dsr.TaskFailed, d(2026, 3, 13)),
				task("paper-archive", dsr.KindAccess, dsr.TaskSkipped, d(2026, 3, 14)),
				task("gone", dsr.KindAccess, dsr.TaskKept, d(2026, 3, 13)),
			},
			map[string]want{"crm": {d(2026, 3, 23), true}, "newsletter": {d(2026, 3, 23), true}}, false},
		{"a due date moved earlier never puts a task before today",
			dsr.Request{DueOn: d(2026, 3, 16)}, dsr.Request{DueOn: today.AddDays(1)}, erasure,
			map[string]want{"newsletter": {today, true}, "paper-archive": {today, true}}, false},
		{"a system no longer configured keeps the default margin",
			dsr.Request{DueOn: d(2026, 3, 16)}, dsr.Request{DueOn: d(2026, 3, 30)},
			[]dsr.Task{task("retired", dsr.KindAccess, dsr.TaskWaiting, d(2026, 3, 13))},
			map[string]want{"retired": {d(2026, 3, 30).AddDays(-dsr.DefaultTaskMarginDays), true}}, false},
		{"a new promise date re-times erasure tasks whose due date stays",
			dsr.Request{DueOn: d(2026, 3, 16), PolicyDue: d(2026, 3, 16)}, dsr.Request{DueOn: d(2026, 3, 16), PolicyDue: d(2026, 3, 20)}, erasure,
			map[string]want{"newsletter": {d(2026, 3, 13), false}, "paper-archive": {d(2026, 3, 14), false}}, true},
		{"dates unchanged: nothing", dsr.Request{DueOn: d(2026, 3, 16)}, dsr.Request{DueOn: d(2026, 3, 16)}, erasure, map[string]want{}, false},
		{"a paused clock that resumes without moving the date: nothing",
			dsr.Request{DueOn: d(2026, 3, 16), PausedSince: &now}, dsr.Request{DueOn: d(2026, 3, 16)}, erasure, map[string]want{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, evs := dsr.RetimeTasks(c, &tt.before, &tt.after, tt.tasks, now)
			if len(got) != len(tt.want) || len(evs) != len(got) {
				t.Fatalf("got %+v events %+v, want %v", got, evs, tt.want)
			}
			for i, rt := range got {
				w, ok := tt.want[rt.Task.System]
				if !ok || rt.Task.Due != w.due || rt.Moved != w.moved || rt.Task.ID != rt.Task.System+"-id" {
					t.Errorf("%+v, want %+v", rt, w)
				}
				var from dsr.Date
				for _, x := range tt.tasks {
					if x.ID == rt.Task.ID {
						from = x.DueOn
					}
				}
				if rt.From != from {
					t.Errorf("%s from %v, want %v", rt.Task.System, rt.From, from)
				}
				ev := evs[i]
				if ev.Type != dsr.EventTaskDueMoved || ev.Public || ev.Data["task"] != rt.Task.ID || ev.Data["due"] != w.due.String() ||
					ev.Data["from"] != from.String() || ev.Data["request_due"] != tt.after.DueOn.String() {
					t.Errorf("event %+v", ev)
				}
				if _, has := ev.Data["promise"]; has != tt.wantPromiseInEvents {
					t.Errorf("event %+v: promise recorded %v, want %v", ev, has, tt.wantPromiseInEvents)
				}
			}
		})
	}
	if dsr.EventTaskDueMoved.Description() == "" {
		t.Error("task_due_moved has no description")
	}
}
