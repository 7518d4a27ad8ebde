package dsr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// refusedRequest is an access request under regime received on received
// and refused on refused (by user "u-refuser").
func refusedRequest(t *testing.T, org *dsr.Config, regime string, received, refused time.Time) *dsr.Request {
	t.Helper()
	r := planRequest(t, org, regime, dsr.KindAccess, dsr.StatusDenied, received, false)
	r.ClosedAt, r.CloseReason = &refused, string(dsr.EventDenied)
	r.VerifiedAt = &received
	return r
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }

func TestPlanAppeal(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	in := dsr.AppealInput{Channel: dsr.AppealByStatusPage, Actor: dsr.ActorRequester, Reason: "You hold my data.", Refuser: "u-refuser", Reviewer: "u-reviewer"}
	for _, tc := range []struct {
		name             string
		regime           string
		status           dsr.Status
		refused, appeal  time.Time
		reason           string
		wantCode         string
		wantDue, wantMax string
		wantLate         bool
	}{
		// Dates worked out by hand, the day the appeal arrives being day 1
		// (as for requests): 20 Mar is day 1, 31 Mar day 12, 30 Apr day 42,
		// 18 May day 60.
		{name: "virginia", regime: "vcdpa", refused: day(2026, 3, 10), appeal: day(2026, 3, 20), wantDue: "2026-05-18"},
		// 6 Apr day 1, 30 Apr day 25, 20 May day 45; 31 May day 56, 30 Jun
		// day 86, 19 Jul day 105 (45 + 60).
		{name: "colorado", regime: "cpa", refused: day(2026, 3, 10), appeal: day(2026, 4, 6), wantDue: "2026-05-20", wantMax: "2026-07-19"},
		// Refused 10 Mar: the 60-day window (counted from the day after)
		// ends 9 May; 12 May is late. 12 May day 1, 31 May day 20, 30 Jun
		// day 50, 10 Jul day 60.
		{name: "late", regime: "vcdpa", refused: day(2026, 3, 10), appeal: day(2026, 5, 12), wantDue: "2026-07-10", wantLate: true},
		{name: "ccpa has no appeal", regime: "ccpa", refused: day(2026, 3, 10), appeal: day(2026, 3, 20), wantCode: dsr.ECONFLICT},
		{name: "not refused", regime: "vcdpa", status: dsr.StatusCompleted, refused: day(2026, 3, 10), appeal: day(2026, 3, 20), wantCode: dsr.ECONFLICT},
		{name: "no reason", regime: "vcdpa", refused: day(2026, 3, 10), appeal: day(2026, 3, 20), reason: " ", wantCode: dsr.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := refusedRequest(t, org, tc.regime, day(2026, 2, 1), tc.refused)
			if tc.status != "" {
				r.Status = tc.status
			}
			in := in
			if tc.reason != "" {
				in.Reason = tc.reason
			}
			c, a, err := dsr.PlanAppeal(org, r, in, tc.appeal)
			if tc.wantCode != "" {
				if codeOf(err) != tc.wantCode {
					t.Fatalf("err = %v, want %s", err, tc.wantCode)
				}
				if tc.regime == "ccpa" && !strings.Contains(err.(*dsr.Error).Rule, "California Privacy Protection Agency") {
					t.Errorf("rule %q does not name the CPPA", err.(*dsr.Error).Rule)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.To != dsr.StatusAppealed || c.Assign == nil || *c.Assign != "u-reviewer" {
				t.Errorf("To %q Assign %v, want appealed to u-reviewer", c.To, c.Assign)
			}
			if a.DueOn.String() != tc.wantDue || c.Due == nil || c.Due.Due.String() != tc.wantDue {
				t.Errorf("appeal due %s (request due %v), want %s", a.DueOn, c.Due, tc.wantDue)
			}
			if a.MaxDue.String() != tc.wantMax && !(tc.wantMax == "" && a.MaxDue.IsZero()) {
				t.Errorf("max due %s, want %q", a.MaxDue, tc.wantMax)
			}
			if !c.Due.ExtendedDue.IsZero() {
				t.Errorf("request ExtendedDue %s: the request's own extension must not extend an appeal", c.Due.ExtendedDue)
			}
			if a.Late != tc.wantLate {
				t.Errorf("late = %v, want %v", a.Late, tc.wantLate)
			}
			hasLate := false
			for _, l := range c.Ledger {
				hasLate = hasLate || (l.What == dsr.LedgerAppealLate && strings.Contains(l.Rule, "late"))
			}
			if hasLate != tc.wantLate {
				t.Errorf("late ledger entry = %v, want %v: %+v", hasLate, tc.wantLate, c.Ledger)
			}
			if got := eventTypesOf(c); len(got) != 2 || got[0] != dsr.EventAppealReceived || got[1] != dsr.EventAppealAssigned {
				t.Errorf("events %v", got)
			}
			if c.Events[1].Data["refused_by"] != "u-refuser" || c.Events[1].Data["reviewer"] != "u-reviewer" {
				t.Errorf("assignment event %v", c.Events[1].Data)
			}
			if got := mailsOf(c); len(got) != 1 || got[0] != "appeal_received→subject" {
				t.Errorf("mails %v", got)
			}
			if len(c.Jobs) != 1 || c.Jobs[0].Kind != dsr.JobDeadlineReminders {
				t.Errorf("jobs %v, want the reminder chain for the appeal's date", c.Jobs)
			}
			if a.RequestDue != r.DueOn || a.RefusedOn.String() != "2026-03-10" {
				t.Errorf("kept request due %s refused %s", a.RequestDue, a.RefusedOn)
			}
		})
	}
}

func TestChooseReviewer(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	users := []dsr.Reviewer{{ID: "u1", Email: "ann@x"}, {ID: "u2", Email: "bob@x"}, {ID: "u3", Email: "cy@x"}}
	if got, _ := dsr.ChooseReviewer(org, "u1", users); got != "u2" {
		t.Errorf("first other = %q, want u2", got)
	}
	named := *org
	named.Appeals.ReviewerEmail = "CY@x"
	if got, _ := dsr.ChooseReviewer(&named, "u1", users); got != "u3" {
		t.Errorf("named = %q, want u3", got)
	}
	named.Appeals.ReviewerEmail = "ann@x" // the refuser: someone else
	if got, _ := dsr.ChooseReviewer(&named, "u1", users); got != "u2" {
		t.Errorf("named refuser = %q, want u2", got)
	}
	if _, err := dsr.ChooseReviewer(org, "u1", users[:1]); codeOf(err) != dsr.ECONFLICT {
		t.Errorf("only the refuser: %v, want ECONFLICT", err)
	}
}

func openAppeal(t *testing.T, org *dsr.Config, regime string, appealAt time.Time) (*dsr.Request, dsr.AppealCase) {
	t.Helper()
	r := refusedRequest(t, org, regime, day(2026, 2, 1), day(2026, 3, 10))
	c, a, err := dsr.PlanAppeal(org, r, dsr.AppealInput{Channel: dsr.AppealByOfficer, Actor: "user:u9", Reason: "why", Refuser: "u-refuser", Reviewer: "u-reviewer"}, appealAt)
	if err != nil {
		t.Fatal(err)
	}
	return c.ApplyTo(r, appealAt), a
}

func TestPlanAppealExtend(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	r, a := openAppeal(t, org, "cpa", day(2026, 4, 6))
	if _, _, err := dsr.PlanAppealExtend(org, r, &a, "user:u-reviewer", "", day(2026, 4, 20)); codeOf(err) != dsr.EINVALID {
		t.Errorf("no reason: %v", err)
	}
	c, ext, err := dsr.PlanAppealExtend(org, r, &a, "user:u-reviewer", "Many systems to check.", day(2026, 4, 20))
	if err != nil {
		t.Fatal(err)
	}
	if ext.DueOn.String() != "2026-07-19" || !ext.Extended || c.Due.Due.String() != "2026-07-19" {
		t.Errorf("extended to %s (%v), request due %s; want 2026-07-19", ext.DueOn, ext.Extended, c.Due.Due)
	}
	if got := mailsOf(c); len(got) != 1 || got[0] != "appeal_extended→subject" {
		t.Errorf("mails %v", got)
	}
	r2 := c.ApplyTo(r, day(2026, 4, 20))
	_, _, err = dsr.PlanAppealExtend(org, r2, &ext, "user:u-reviewer", "Again.", day(2026, 4, 21))
	if codeOf(err) != dsr.ECONFLICT || !strings.Contains(err.(*dsr.Error).Rule, "extended once by 60 days") {
		t.Errorf("second extension: %v, want ECONFLICT with the Colorado rule", err)
	}
	// Notice must be given within the first 45 days (by 20 May).
	if _, _, err := dsr.PlanAppealExtend(org, r, &a, "user:u-reviewer", "Late.", day(2026, 5, 22)); codeOf(err) != dsr.ECONFLICT {
		t.Errorf("after the notice period: %v, want ECONFLICT", err)
	}
	vr, va := openAppeal(t, org, "vcdpa", day(2026, 3, 20))
	if _, _, err := dsr.PlanAppealExtend(org, vr, &va, "user:u-reviewer", "More time.", day(2026, 3, 25)); codeOf(err) != dsr.ECONFLICT {
		t.Errorf("Virginia appeal extension: %v, want ECONFLICT (the law gives none)", err)
	}
}

func TestPlanAppealDecide(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	r, a := openAppeal(t, org, "vcdpa", day(2026, 3, 20))
	at := day(2026, 4, 15)
	for _, tc := range []struct {
		name, decider, outcome, explanation, wantCode string
	}{
		{"bad outcome", "u-reviewer", "maybe", "x", dsr.EINVALID},
		{"upheld without reasons", "u-reviewer", dsr.AppealUpheld, " ", dsr.EINVALID},
		{"the refuser", "u-refuser", dsr.AppealUpheld, "Still exempt.", dsr.ECONFLICT},
	} {
		if _, _, err := dsr.PlanAppealDecide(org, r, &a, "user:"+tc.decider, tc.decider, tc.outcome, tc.explanation, at); codeOf(err) != tc.wantCode {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.wantCode)
		}
	}
	c, out, err := dsr.PlanAppealDecide(org, r, &a, "user:u-reviewer", "u-reviewer", dsr.AppealUpheld, "The exemption applies.", at)
	if err != nil {
		t.Fatal(err)
	}
	if c.To != dsr.StatusDenied || out.Outcome != dsr.AppealUpheld || out.DecidedAt == nil {
		t.Errorf("upheld: To %q outcome %q", c.To, out.Outcome)
	}
	if len(c.Messages) != 1 || c.Messages[0].Event != dsr.MailAppealDecidedUpheld ||
		!strings.Contains(c.Messages[0].Appeal, "Virginia Attorney General") || !strings.Contains(c.Messages[0].Appeal, "https://www.oag.state.va.us/") {
		t.Errorf("upheld mail %+v: want the Attorney General's name and URL", c.Messages)
	}
	// Reversed: refused 10 Mar with the request due 17 Mar (received 1 Feb,
	// day 1 of 45): 7 days were left, so due 15 Apr + 7 = 22 Apr.
	if r.ClosedAt != nil {
		t.Errorf("an appealed request is open again: ClosedAt %v", r.ClosedAt)
	}
	c, out, err = dsr.PlanAppealDecide(org, r, &a, "user:u-reviewer", "u-reviewer", dsr.AppealReversed, "", at)
	if err != nil {
		t.Fatal(err)
	}
	if c.To != dsr.StatusInProgress || c.Due == nil || c.Due.Due.String() != "2026-04-22" || out.Outcome != dsr.AppealReversed {
		t.Errorf("reversed: To %q due %v outcome %q, want in_progress due 2026-04-22", c.To, c.Due, out.Outcome)
	}
	if len(c.Ledger) != 1 || c.Ledger[0].What != dsr.LedgerAppealReopened || len(c.Jobs) != 1 {
		t.Errorf("reversed ledger %+v jobs %v", c.Ledger, c.Jobs)
	}
	if _, _, err := dsr.PlanAppealDecide(org, r, &out, "user:u-reviewer", "u-reviewer", dsr.AppealReversed, "", at); codeOf(err) != dsr.ECONFLICT {
		t.Errorf("deciding a decided appeal: %v", err)
	}
}

func TestAppealNotice(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	refused := dsr.NewDate(2026, 3, 10)
	va, _ := dsr.LookupRegime("vcdpa")
	text, link := dsr.AppealNotice(org, va, refused)
	if !link || !strings.Contains(text, "Saturday 9 May 2026") {
		t.Errorf("Virginia: %q link %v, want the window end 9 May 2026 and a link", text, link)
	}
	ca, _ := dsr.LookupRegime("ccpa")
	text, link = dsr.AppealNotice(org, ca, refused)
	if link || !strings.Contains(text, "California Privacy Protection Agency") || !strings.Contains(text, "California Attorney General") {
		t.Errorf("CCPA: %q link %v, want the CPPA and the AG, no appeal link", text, link)
	}
	// The refusal mail's own link lives for the appeal window.
	now := day(2026, 3, 10)
	r := planRequest(t, org, "vcdpa", dsr.KindAccess, dsr.StatusInProgress, day(2026, 2, 1), false)
	r.VerifiedAt = &now
	c, err := dsr.PlanDeny(r, "user:u1", "exemption_applies", "A legal exemption applies.", "Trade secrets.", now)
	if err != nil {
		t.Fatal(err)
	}
	c = dsr.WithAppealNotice(org, va, r, c, now)
	want := now.Add(60*24*time.Hour + dsr.StatusLinkGrace)
	if len(c.Messages) != 1 || !c.Messages[0].AppealLink || !c.Messages[0].Status.Expires.Equal(want) {
		t.Errorf("denial message %+v, want the appeal link alive until %s", c.Messages, want)
	}
}
