package api

import (
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// The unfiltered queue (and a filter by status alone) takes "more than
// the cap" from the per-status counts; any other filter, or a total at or
// under the cap, needs a count.
func TestStatusOnlyMore(t *testing.T) {
	big := map[dsr.Status]int{dsr.StatusOpen: workflow.QueueCountCap, dsr.StatusInProgress: 1, dsr.StatusCompleted: 50000}
	cases := []struct {
		name string
		f    workflow.QueueFilter
		want bool
	}{
		{"open statuses over the cap", workflow.QueueFilter{}, true},
		{"one status at the cap", workflow.QueueFilter{Statuses: []dsr.Status{dsr.StatusOpen}}, false},
		{"the same status twice is not twice the count", workflow.QueueFilter{Statuses: []dsr.Status{dsr.StatusOpen, dsr.StatusOpen}}, false},
		{"two statuses over the cap", workflow.QueueFilter{Statuses: []dsr.Status{dsr.StatusOpen, dsr.StatusInProgress}}, true},
		{"a closed status", workflow.QueueFilter{Statuses: []dsr.Status{dsr.StatusCompleted}}, true},
		{"kind", workflow.QueueFilter{Kind: "access"}, false},
		{"regime", workflow.QueueFilter{Regime: "gdpr"}, false},
		{"assignee", workflow.QueueFilter{Assignee: "unassigned"}, false},
		{"overdue", workflow.QueueFilter{Overdue: true}, false},
		{"has agent", workflow.QueueFilter{HasAgent: true}, false},
		{"search", workflow.QueueFilter{Search: "ana"}, false},
		{"blank search is no filter", workflow.QueueFilter{Search: "  "}, true},
	}
	for _, c := range cases {
		if got := statusOnlyMore(c.f, big); got != c.want {
			t.Errorf("%s: statusOnlyMore = %v, want %v", c.name, got, c.want)
		}
	}
	if statusOnlyMore(workflow.QueueFilter{}, map[dsr.Status]int{dsr.StatusOpen: workflow.QueueCountCap}) {
		t.Errorf("exactly the cap counted as more")
	}
}

// A filter counted as more than the cap is remembered for countTTL, per
// filter, and forgotten when the clock goes back.
func TestMoreCache(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	kind := queueFilterKey(workflow.QueueFilter{Kind: "access", Limit: 50})
	var mc moreCache
	if mc.known(kind, t0) {
		t.Fatal("empty cache knows a filter")
	}
	mc.remember(kind, t0)
	if !mc.known(kind, t0.Add(countTTL-time.Second)) {
		t.Error("forgotten within countTTL")
	}
	if !mc.known(queueFilterKey(workflow.QueueFilter{Kind: "access", Offset: 500, Limit: 10}), t0) {
		t.Error("the page (offset, limit) changed the key")
	}
	if mc.known(queueFilterKey(workflow.QueueFilter{Kind: "erasure"}), t0) {
		t.Error("another kind shares the key")
	}
	if mc.known(kind, t0.Add(countTTL)) {
		t.Error("still known after countTTL")
	}
	if mc.known(kind, t0.Add(-time.Second)) {
		t.Error("known with the clock set back")
	}
	day := func(d int) dsr.Date { return dsr.DateOf(t0.AddDate(0, 0, d)) }
	overdue := func(d int) string { return queueFilterKey(workflow.QueueFilter{Overdue: true, Today: day(d)}) }
	if overdue(0) == overdue(1) {
		t.Error("overdue on two days shares the key")
	}
	if queueFilterKey(workflow.QueueFilter{Today: day(0)}) != queueFilterKey(workflow.QueueFilter{Today: day(1)}) {
		t.Error("today changed the key of a filter without overdue")
	}
	for i := 0; i < moreCacheSize+1; i++ {
		mc.remember(queueFilterKey(workflow.QueueFilter{Search: string(rune('a' + i%26)), Kind: time.Duration(i).String()}), t0)
	}
	if len(mc.at) > moreCacheSize {
		t.Errorf("cache holds %d filters, more than %d", len(mc.at), moreCacheSize)
	}
}
