package dsr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// completedRequest is an access request under regime received on
// received and completed on completed (by user "u-refuser").
func completedRequest(t *testing.T, org *dsr.Config, regime string, received, completed time.Time) *dsr.Request {
	t.Helper()
	r := planRequest(t, org, regime, dsr.KindAccess, dsr.StatusCompleted, received, false)
	r.ClosedAt, r.CloseReason = &completed, string(dsr.EventCompleted)
	r.VerifiedAt = &received
	return r
}

// TestPlanAppealOfPartialCompletion: a completion in part is appealable
// as a refusal is, its window counting from the completion; a full or
// no-data completion is not, nor is a partial one under CCPA.
func TestPlanAppealOfPartialCompletion(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	in := dsr.AppealInput{Channel: dsr.AppealByStatusPage, Actor: dsr.ActorRequester, Reason: "You kept too much.", Refuser: "u-refuser", Reviewer: "u-reviewer"}
	for _, tc := range []struct {
		name, regime, outcome string
		appeal                time.Time
		wantCode, wantRule    string
		wantDue               string
		wantLate              bool
	}{
		// Completed 10 Mar. 20 Mar is day 1 of Virginia's 60: 18 May.
		{name: "partial", regime: "vcdpa", outcome: dsr.OutcomePartial, appeal: day(2026, 3, 20), wantDue: "2026-05-18"},
		// The 60-day window from the completion (from the day after) ends
		// 9 May; 12 May is late: day 1, 31 May day 20, 30 Jun day 50,
		// 10 Jul day 60.
		{name: "partial late", regime: "vcdpa", outcome: dsr.OutcomePartial, appeal: day(2026, 5, 12), wantDue: "2026-07-10", wantLate: true},
		{name: "full", regime: "vcdpa", outcome: dsr.OutcomeFull, appeal: day(2026, 3, 20), wantCode: dsr.ECONFLICT, wantRule: "completion in part"},
		{name: "no data", regime: "vcdpa", outcome: dsr.OutcomeNoData, appeal: day(2026, 3, 20), wantCode: dsr.ECONFLICT, wantRule: "completion in part"},
		{name: "no outcome stored", regime: "vcdpa", outcome: "", appeal: day(2026, 3, 20), wantCode: dsr.ECONFLICT, wantRule: "completion in part"},
		{name: "ccpa partial", regime: "ccpa", outcome: dsr.OutcomePartial, appeal: day(2026, 3, 20), wantCode: dsr.ECONFLICT, wantRule: "California Privacy Protection Agency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := completedRequest(t, org, tc.regime, day(2026, 2, 1), day(2026, 3, 10))
			in := in
			in.Outcome = tc.outcome
			c, a, err := dsr.PlanAppeal(org, r, in, tc.appeal)
			if tc.wantCode != "" {
				if codeOf(err) != tc.wantCode {
					t.Fatalf("err = %v, want %s", err, tc.wantCode)
				}
				if de := err.(*dsr.Error); !strings.Contains(de.Rule, tc.wantRule) {
					t.Errorf("rule %q, want it to contain %q", de.Rule, tc.wantRule)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.To != dsr.StatusAppealed || a.From != dsr.StatusCompleted {
				t.Errorf("To %q From %q, want appealed from completed", c.To, a.From)
			}
			if a.DueOn.String() != tc.wantDue || a.Late != tc.wantLate {
				t.Errorf("due %s late %v, want %s late %v", a.DueOn, a.Late, tc.wantDue, tc.wantLate)
			}
			if a.RefusedOn.String() != "2026-03-10" {
				t.Errorf("refused on %s, want the completion date 2026-03-10", a.RefusedOn)
			}
			if c.Assign == nil || *c.Assign != "u-reviewer" || c.Events[1].Data["refused_by"] != "u-refuser" {
				t.Errorf("assign %v event %v", c.Assign, c.Events[1].Data)
			}
		})
	}
	// A refusal's appeal comes from denied.
	_, a, err := dsr.PlanAppeal(org, refusedRequest(t, org, "vcdpa", day(2026, 2, 1), day(2026, 3, 10)), in, day(2026, 3, 20))
	if err != nil || a.From != dsr.StatusDenied {
		t.Errorf("refusal appeal: From %q err %v, want denied", a.From, err)
	}
}

// TestPlanAppealDecideOfPartialCompletion: upheld returns to completed,
// with the Attorney General's route; reversed reopens in progress.
func TestPlanAppealDecideOfPartialCompletion(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	r := completedRequest(t, org, "vcdpa", day(2026, 2, 1), day(2026, 3, 10))
	at := day(2026, 3, 20)
	c, a, err := dsr.PlanAppeal(org, r, dsr.AppealInput{Channel: dsr.AppealByOfficer, Actor: "user:u9", Reason: "why", Outcome: dsr.OutcomePartial,
		Refuser: "u-refuser", Reviewer: "u-reviewer"}, at)
	if err != nil {
		t.Fatal(err)
	}
	r = c.ApplyTo(r, at)
	if r.Status != dsr.StatusAppealed {
		t.Fatalf("status %q", r.Status)
	}
	decided := day(2026, 4, 15)
	up, out, err := dsr.PlanAppealDecide(org, r, &a, "user:u-reviewer", "u-reviewer", dsr.AppealUpheld, "The invoices must be kept.", decided)
	if err != nil {
		t.Fatal(err)
	}
	if up.To != dsr.StatusCompleted || out.Outcome != dsr.AppealUpheld {
		t.Errorf("upheld: To %q outcome %q, want completed", up.To, out.Outcome)
	}
	if after := up.ApplyTo(r, decided); after.Status != dsr.StatusCompleted || after.ClosedAt == nil {
		t.Errorf("after upheld: %q closed %v", after.Status, after.ClosedAt)
	}
	if len(up.Messages) != 1 || !strings.Contains(up.Messages[0].Appeal, "Virginia Attorney General") {
		t.Errorf("upheld mail %+v, want the Attorney General's route", up.Messages)
	}
	if up.Outcome != nil {
		t.Errorf("upheld rewrites the outcome %+v: the partial completion stands as it was", up.Outcome)
	}
	if _, _, err := dsr.PlanAppealDecide(org, r, &a, "user:u-refuser", "u-refuser", dsr.AppealUpheld, "Mine.", decided); codeOf(err) != dsr.ECONFLICT {
		t.Errorf("the completing officer deciding: %v, want ECONFLICT", err)
	}
	// An appeal is answered by deciding it, never by completing again.
	if _, err := dsr.PlanCompleteWith(org, r, "user:u-reviewer", "Done.", "", nil, dsr.Outcome{Result: dsr.OutcomeFull}, decided); codeOf(err) != dsr.ECONFLICT {
		t.Errorf("completing an appealed request: %v, want ECONFLICT", err)
	}
	if _, err := dsr.PlanComplete(r, "user:u-reviewer", "Done.", decided); codeOf(err) != dsr.ECONFLICT {
		t.Errorf("PlanComplete of an appealed request: %v, want ECONFLICT", err)
	}
	rev, _, err := dsr.PlanAppealDecide(org, r, &a, "user:u-reviewer", "u-reviewer", dsr.AppealReversed, "", decided)
	if err != nil {
		t.Fatal(err)
	}
	if rev.To != dsr.StatusInProgress {
		t.Errorf("reversed: To %q, want in_progress", rev.To)
	}
}

// TestWithPartialAppealNotice: the completion mail of a completion in
// part under Virginia says until when to appeal and carries the link
// (alive for the window); a full completion and CCPA's get none.
func TestWithPartialAppealNotice(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	now := day(2026, 3, 10)
	partial := dsr.Outcome{Result: dsr.OutcomePartial, Kept: []dsr.Kept{{Data: "invoices", Basis: "Va. Code § 58.1-9"}}}
	for _, tc := range []struct {
		name, regime string
		o            dsr.Outcome
		wantLink     bool
	}{
		{"virginia partial", "vcdpa", partial, true},
		{"virginia full", "vcdpa", dsr.Outcome{Result: dsr.OutcomeFull}, false},
		{"virginia no data", "vcdpa", dsr.Outcome{Result: dsr.OutcomeNoData}, false},
		{"ccpa partial", "ccpa", partial, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := planRequest(t, org, tc.regime, dsr.KindAccess, dsr.StatusInProgress, day(2026, 2, 1), true)
			r.VerifiedAt = &now
			c, err := dsr.PlanCompleteWith(org, r, "user:u1", "Here is your data.", "", nil, tc.o, now)
			if err != nil {
				t.Fatal(err)
			}
			reg, _ := dsr.LookupRegime(tc.regime)
			c = dsr.WithPartialAppealNotice(org, reg, r, tc.o, c, now)
			if len(c.Messages) != 2 {
				t.Fatalf("messages %+v, want subject and agent", c.Messages)
			}
			want := now.Add(60*24*time.Hour + dsr.StatusLinkGrace)
			for _, m := range c.Messages {
				if m.AppealLink != tc.wantLink {
					t.Errorf("%s: AppealLink %v, want %v", m.Holder, m.AppealLink, tc.wantLink)
				}
				if !tc.wantLink {
					if m.Appeal != "" {
						t.Errorf("%s: appeal text %q, want none", m.Holder, m.Appeal)
					}
					continue
				}
				if !strings.Contains(m.Appeal, "Saturday 9 May 2026") {
					t.Errorf("%s: appeal text %q, want the window end 9 May 2026", m.Holder, m.Appeal)
				}
				if !m.Status.Expires.Equal(want) {
					t.Errorf("%s: status link expires %s, want %s", m.Holder, m.Status.Expires, want)
				}
			}
		})
	}
}
