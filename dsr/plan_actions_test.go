package dsr_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// planRequest is a request received under regime on received, in status,
// as PlanIntake would have stored it (dates from the config).
func planRequest(t *testing.T, org *dsr.Config, regime string, kind dsr.Kind, status dsr.Status, received time.Time, agent bool) *dsr.Request {
	t.Helper()
	reg, err := dsr.LookupRegime(regime)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := org.Deadlines(reg, kind, received)
	if err != nil {
		t.Fatal(err)
	}
	r := &dsr.Request{ID: "r1", Ref: 7, Kind: kind, Regime: regime, Status: status, Subject: dsr.Person{Email: "ana@example.net", Name: "Ana"},
		Calendar: dl.Calendar, ReceivedAt: received, ReceivedOn: dl.Received, AckDue: dl.AckDue, LegalDue: dl.LegalDue,
		DueOn: dl.Due, ExtendedDue: dl.ExtendedDue, ExtensionNoticeBy: dl.ExtensionNoticeBy, UpdatedAt: received}
	if agent {
		r.Agent = &dsr.AgentInfo{ID: "a1", Name: "Dee", Email: "dee@agents.example"}
	}
	return r
}

func eventTypesOf(c dsr.Change) []dsr.EventType {
	var out []dsr.EventType
	for _, ev := range c.Events {
		out = append(out, ev.Type)
	}
	return out
}

func mailsOf(c dsr.Change) []string {
	var out []string
	for _, m := range c.Messages {
		out = append(out, m.Event+"→"+m.Holder)
	}
	return out
}

func codeOf(err error) string {
	var de *dsr.Error
	if errors.As(err, &de) {
		return de.Code
	}
	return ""
}

func TestPlanRequestInfo(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	received := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := received.Add(72 * time.Hour)
	for _, tc := range []struct {
		name   string
		regime string
		reason string
		status dsr.Status
		note   string
		paused bool
		code   string
	}{
		{"gdpr identity stops the clock", "gdpr", "identity", dsr.StatusInProgress, "Which account?", true, ""},
		{"gdpr scope stops the clock", "gdpr", "clarification", dsr.StatusInProgress, "Which account?", true, ""},
		{"gdpr other keeps it running", "gdpr", "other", dsr.StatusInProgress, "Which account?", false, ""},
		{"gdpr fee keeps it running", "gdpr", "fee", dsr.StatusInProgress, "Which account?", false, ""},
		{"uk clarification stops the clock", "uk_gdpr", "clarification", dsr.StatusInProgress, "Which account?", true, ""},
		{"uk other keeps it running", "uk_gdpr", "other", dsr.StatusInProgress, "Which account?", false, ""},
		{"ccpa identity keeps it running", "ccpa", "identity", dsr.StatusOpen, "Which account?", false, ""},
		{"ccpa clarification keeps it running", "ccpa", "clarification", dsr.StatusOpen, "Which account?", false, ""},
		{"missing reason", "gdpr", "", dsr.StatusInProgress, "Which account?", false, dsr.EINVALID},
		{"unknown reason", "gdpr", "scope", dsr.StatusInProgress, "Which account?", false, dsr.EINVALID},
		{"empty note", "gdpr", "identity", dsr.StatusInProgress, "  ", false, dsr.EINVALID},
		{"not while pending verification", "gdpr", "identity", dsr.StatusPendingVerification, "Which account?", false, dsr.ECONFLICT},
		{"not once closed", "gdpr", "identity", dsr.StatusCompleted, "Which account?", false, dsr.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := planRequest(t, org, tc.regime, dsr.KindAccess, tc.status, received, true)
			c, res, err := dsr.PlanRequestInfo(org, r, "user:1", tc.reason, tc.note, now)
			if codeOf(err) != tc.code {
				t.Fatalf("err %v, want code %q", err, tc.code)
			}
			if tc.code != "" {
				return
			}
			if c.To != dsr.StatusAwaitingRequester || res.ClockPaused != tc.paused || (c.PauseFrom != nil) != tc.paused || (len(c.Ledger) == 1) != tc.paused {
				t.Errorf("change %+v result %+v, want awaiting, paused %v", c, res, tc.paused)
			}
			if got := eventTypesOf(c); !reflect.DeepEqual(got, []dsr.EventType{dsr.EventInfoRequested}) || c.Events[0].Data["reason"] != tc.reason {
				t.Errorf("events %v %v", got, c.Events[0].Data)
			}
			if got := mailsOf(c); !reflect.DeepEqual(got, []string{"info_needed→subject", "info_needed→agent"}) {
				t.Errorf("mails %v", got)
			}
			if r.Status != tc.status {
				t.Error("the planner changed the request")
			}
		})
	}
}

func TestPlanExtend(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	received := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	r := planRequest(t, org, "gdpr", dsr.KindAccess, dsr.StatusInProgress, received, false)
	now := received.Add(10 * 24 * time.Hour)
	c, err := dsr.PlanExtend(org, r, "user:1", "Many systems to search", false, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Due == nil || c.Due.Due != r.ExtendedDue || c.Due.LegalDue != r.ExtendedDue || c.Due.Extensions != 1 {
		t.Fatalf("due change %+v, want the extended due %s once", c.Due, r.ExtendedDue)
	}
	if c.To != "" || !reflect.DeepEqual(c.Jobs, []dsr.Job{{Kind: dsr.JobDeadlineReminders}}) || len(c.Ledger) != 1 {
		t.Errorf("change %+v: want no status change, a new reminder chain and a ledger entry", c)
	}
	if got := mailsOf(c); !reflect.DeepEqual(got, []string{"extended→subject"}) || c.Messages[0].Note != "Many systems to search" {
		t.Errorf("mails %v", got)
	}
	after := c.ApplyTo(r, now)
	if after.DueOn != r.ExtendedDue || after.Extensions != 1 || r.Extensions != 0 {
		t.Errorf("ApplyTo: due %s extensions %d (request %d)", after.DueOn, after.Extensions, r.Extensions)
	}
	for _, tc := range []struct {
		name   string
		edit   func(r *dsr.Request)
		reason string
		code   string
	}{
		{"no reason", nil, " ", dsr.EINVALID},
		{"only once", func(r *dsr.Request) { r.Extensions = 1 }, "again", dsr.ECONFLICT},
	} {
		r2 := *r
		if tc.edit != nil {
			tc.edit(&r2)
		}
		if _, err := dsr.PlanExtend(org, &r2, "user:1", tc.reason, false, now); codeOf(err) != tc.code {
			t.Errorf("%s: err %v, want %s", tc.name, err, tc.code)
		}
	}
}

func TestPlanClosing(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	received := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := received.Add(5 * 24 * time.Hour)
	for _, tc := range []struct {
		name   string
		status dsr.Status
		plan   func(r *dsr.Request) (dsr.Change, error)
		to     dsr.Status
		event  dsr.EventType
		mails  []string
		code   string
	}{
		{"deny", dsr.StatusInProgress, func(r *dsr.Request) (dsr.Change, error) {
			return dsr.PlanDeny(r, "user:1", "duplicate", "This request duplicates another request.", "See DSR-000001.", now)
		}, dsr.StatusDenied, dsr.EventDenied, []string{"denied→subject", "denied→agent"}, ""},
		{"deny with an unknown reason", dsr.StatusInProgress, func(r *dsr.Request) (dsr.Change, error) {
			return dsr.PlanDeny(r, "user:1", "whim", "", "no", now)
		}, "", "", nil, dsr.EINVALID},
		{"complete", dsr.StatusInProgress, func(r *dsr.Request) (dsr.Change, error) {
			return dsr.PlanComplete(r, "user:1", "Export sent.", now)
		}, dsr.StatusCompleted, dsr.EventCompleted, []string{"completed→subject", "completed→agent"}, ""},
		{"complete twice", dsr.StatusCompleted, func(r *dsr.Request) (dsr.Change, error) {
			return dsr.PlanComplete(r, "user:1", "Again.", now)
		}, "", "", nil, dsr.ECONFLICT},
		{"withdraw by the requester", dsr.StatusOpen, func(r *dsr.Request) (dsr.Change, error) {
			return dsr.PlanWithdraw(r, dsr.ActorRequester, "", now)
		}, dsr.StatusWithdrawn, dsr.EventWithdrawn, []string{"withdrawn→subject", "withdrawn→agent"}, ""},
		{"withdraw for the requester without saying how", dsr.StatusOpen, func(r *dsr.Request) (dsr.Change, error) {
			return dsr.PlanWithdraw(r, "user:1", " ", now)
		}, "", "", nil, dsr.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := planRequest(t, org, "ccpa", dsr.KindAccess, tc.status, received, true)
			now := now
			r.VerifiedAt = &received
			c, err := tc.plan(r)
			if codeOf(err) != tc.code {
				t.Fatalf("err %v, want code %q", err, tc.code)
			}
			if tc.code != "" {
				return
			}
			if c.To != tc.to || c.CloseReason != string(tc.event) || !reflect.DeepEqual(eventTypesOf(c), []dsr.EventType{tc.event}) || !c.Events[0].Public {
				t.Errorf("change to %s reason %q events %v", c.To, c.CloseReason, eventTypesOf(c))
			}
			if got := mailsOf(c); !reflect.DeepEqual(got, tc.mails) {
				t.Errorf("mails %v, want %v", got, tc.mails)
			}
			for _, m := range c.Messages {
				// The closing email's links end with the others.
				if !m.Status.Expires.Equal(now.Add(dsr.StatusLinkGrace)) || m.Status.Scope != dsr.ScopeFull {
					t.Errorf("%s link %+v, want a full link ending %v", m.Holder, m.Status, now.Add(dsr.StatusLinkGrace))
				}
				if tc.event == dsr.EventCompleted && m.Holder == dsr.HolderAgent && m.Note != "" {
					t.Error("the agent's completion email carries the summary")
				}
			}
			after := c.ApplyTo(r, now)
			if after.Status != tc.to || after.ClosedAt == nil || !after.ClosedAt.Equal(now) || after.CloseReason != string(tc.event) {
				t.Errorf("after: %s closed %v reason %q", after.Status, after.ClosedAt, after.CloseReason)
			}
		})
	}
}

func TestPlanAssign(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	received := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := received.Add(time.Hour)
	for _, tc := range []struct {
		name     string
		status   dsr.Status
		assignee string
		to       dsr.Status
		events   []dsr.EventType
		code     string
	}{
		{"assigning an open request starts work", dsr.StatusOpen, "u2", dsr.StatusInProgress, []dsr.EventType{dsr.EventAssigned, dsr.EventInProgress}, ""},
		{"assigning a pending one does not", dsr.StatusPendingVerification, "u2", "", []dsr.EventType{dsr.EventAssigned}, ""},
		{"unassigning", dsr.StatusInProgress, "", "", []dsr.EventType{dsr.EventUnassigned}, ""},
		{"closed", dsr.StatusDenied, "u2", "", nil, dsr.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := planRequest(t, org, "gdpr", dsr.KindAccess, tc.status, received, false)
			r.AssigneeID = "u1"
			c, err := dsr.PlanAssign(r, "user:1", tc.assignee, now)
			if codeOf(err) != tc.code {
				t.Fatalf("err %v, want %q", err, tc.code)
			}
			if tc.code != "" {
				return
			}
			if c.To != tc.to || !reflect.DeepEqual(eventTypesOf(c), tc.events) || c.Assign == nil || *c.Assign != tc.assignee {
				t.Errorf("change %+v", c)
			}
			if d := c.Events[0].Data; d["from"] != "u1" || d["to"] != tc.assignee {
				t.Errorf("data %v", d)
			}
			if after := c.ApplyTo(r, now); after.AssigneeID != tc.assignee {
				t.Errorf("after: assignee %q", after.AssigneeID)
			}
		})
	}
}

func TestPlanVerify(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	received := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := received.Add(time.Hour)
	for _, tc := range []struct {
		name           string
		status         dsr.Status
		agent          bool
		actor, method  string
		note           string
		code           string
		notes, links   int
		agentAuthority bool
	}{
		{name: "by the email link", status: dsr.StatusPendingVerification, actor: dsr.ActorRequester, method: "email_link", links: 1},
		{name: "by the link, for an agent's request", status: dsr.StatusPendingVerification, agent: true, actor: dsr.ActorRequester,
			method: "email_link", links: 1, agentAuthority: true},
		{name: "by an officer, with the note kept", status: dsr.StatusPendingVerification, actor: "user:1", method: "phone call",
			note: "Called back on the number on file.", notes: 1},
		{name: "an officer without a note", status: dsr.StatusPendingVerification, actor: "user:1", method: "phone call", code: dsr.EINVALID},
		{name: "a link after the request moved on", status: dsr.StatusOpen, actor: dsr.ActorRequester, method: "email_link", code: dsr.EGONE},
		{name: "an officer after the request moved on", status: dsr.StatusExpired, actor: "user:1", method: "id card", note: "seen", code: dsr.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := planRequest(t, org, "gdpr", dsr.KindAccess, tc.status, received, tc.agent)
			c, err := dsr.PlanVerify(r, tc.actor, tc.method, tc.note, now)
			if codeOf(err) != tc.code {
				t.Fatalf("err %v, want %q", err, tc.code)
			}
			if tc.code != "" {
				return
			}
			if c.To != dsr.StatusOpen || c.Verified == nil || c.Verified.Method != tc.method || c.Verified.AgentConfirmed != tc.agent ||
				len(c.Notes) != tc.notes || len(c.Links) != tc.links {
				t.Fatalf("change %+v", c)
			}
			if d := c.Events[0].Data; (d["agent_authority"] != "") != tc.agentAuthority || d["method"] != tc.method || c.Events[0].Actor != tc.actor {
				t.Errorf("verified event %+v", c.Events[0])
			}
			// Links handed out from here on are full: the old ones are
			// revoked by the change itself.
			for _, m := range c.Messages {
				if m.Event != dsr.MailAcknowledged || m.Status.Scope != dsr.ScopeFull {
					t.Errorf("message %s to %s with a %s link", m.Event, m.Holder, m.Status.Scope)
				}
			}
			for _, l := range c.Links {
				if l.Holder != dsr.HolderSubject || l.Scope != dsr.ScopeFull {
					t.Errorf("returned link %+v", l)
				}
			}
			if after := c.ApplyTo(r, now); after.VerifiedAt == nil || (after.AgentConfirmedAt != nil) != tc.agent || r.VerifiedAt != nil {
				t.Errorf("after: verified %v agent %v (request %v)", after.VerifiedAt, after.AgentConfirmedAt, r.VerifiedAt)
			}
		})
	}
}

func TestPlanAnswer(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	received := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	asked := received.Add(3 * 24 * time.Hour)
	answered := asked.Add(4 * 24 * time.Hour)
	file := &dsr.File{Filename: "id.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.4")}
	for _, tc := range []struct {
		name       string
		regime     string
		status     dsr.Status
		paused     bool
		text       string
		file       *dsr.File
		movedDays  int
		reminders  bool
		code       string
		notes, att int
	}{
		{name: "gdpr: the paused days move the dates", regime: "gdpr", status: dsr.StatusAwaitingRequester, paused: true,
			text: "My account is ana42.", movedDays: 4, reminders: true, notes: 1},
		{name: "ccpa: the clock never stopped", regime: "ccpa", status: dsr.StatusAwaitingRequester, file: file, att: 1},
		{name: "nothing asked", regime: "gdpr", status: dsr.StatusCompleted, text: "hello", code: dsr.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := planRequest(t, org, tc.regime, dsr.KindAccess, tc.status, received, false)
			if tc.paused {
				r.PausedSince = &asked
			}
			c, err := dsr.PlanAnswer(org, r, dsr.HolderSubject, tc.text, tc.file, answered)
			if codeOf(err) != tc.code {
				t.Fatalf("err %v, want %q", err, tc.code)
			}
			if tc.code != "" {
				return
			}
			if c.To != dsr.StatusInProgress || len(c.Notes) != tc.notes || len(c.Attachments) != tc.att ||
				!reflect.DeepEqual(eventTypesOf(c), []dsr.EventType{dsr.EventAnswerReceived}) || !reflect.DeepEqual(mailsOf(c), []string{"answer_received→subject"}) {
				t.Fatalf("change %+v", c)
			}
			if tc.att > 0 && c.Events[0].Data["attachment"] != c.Attachments[0].ID {
				t.Errorf("event names attachment %q, want %q", c.Events[0].Data["attachment"], c.Attachments[0].ID)
			}
			if (len(c.Jobs) > 0) != tc.reminders {
				t.Errorf("jobs %v, want reminders %v", c.Jobs, tc.reminders)
			}
			after := c.ApplyTo(r, answered)
			if after.PausedSince != nil || after.PausedDays != tc.movedDays || (tc.movedDays > 0) == (after.DueOn == r.DueOn) {
				t.Errorf("after: paused %v for %d days, due %s (was %s)", after.PausedSince, after.PausedDays, after.DueOn, r.DueOn)
			}
		})
	}
}

func TestPlanTriage(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	received := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := received.Add(48 * time.Hour)
	for _, tc := range []struct {
		name     string
		kind     dsr.Kind
		regime   string
		status   dsr.Status
		to       dsr.Status
		retriage bool
		events   []dsr.EventType
		mail     string
		job      dsr.JobKind
		code     string
	}{
		{name: "confirmed as guessed: the sender is asked to confirm", status: dsr.StatusPendingTriage, to: dsr.StatusPendingVerification,
			events: []dsr.EventType{dsr.EventTriaged}, mail: dsr.MailReceived, job: dsr.JobVerificationFromNow},
		{name: "a ccpa opt-out opens at once, dates worked out again", kind: dsr.KindOptOut, regime: "ccpa", status: dsr.StatusPendingTriage,
			to: dsr.StatusOpen, retriage: true, events: []dsr.EventType{dsr.EventTriaged, dsr.EventOpened}, mail: dsr.MailAcknowledged,
			job: dsr.JobDeadlineReminders},
		{name: "a ccpa access: the confirmation email meets the acknowledgment duty", regime: "ccpa", status: dsr.StatusPendingTriage,
			to: dsr.StatusPendingVerification, retriage: true, events: []dsr.EventType{dsr.EventTriaged, dsr.EventAcknowledgmentSent},
			mail: dsr.MailReceived, job: dsr.JobVerificationFromNow},
		{name: "an unknown kind", kind: "gossip", status: dsr.StatusPendingTriage, code: dsr.EINVALID},
		{name: "a regime the organisation does not apply", regime: "uk_gdpr", status: dsr.StatusPendingTriage, code: dsr.EINVALID},
		{name: "already triaged", status: dsr.StatusPendingVerification, code: dsr.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := planRequest(t, org, "gdpr", dsr.KindAccess, tc.status, received, false)
			r.Channel, r.Fields = dsr.ChannelEmail, map[string]string{}
			c, err := dsr.PlanTriage(org, r, "user:1", tc.kind, tc.regime, "sale", now, nil)
			if codeOf(err) != tc.code {
				t.Fatalf("err %v, want %q", err, tc.code)
			}
			if tc.code != "" {
				return
			}
			if c.To != tc.to || (c.Retriage != nil) != tc.retriage || !reflect.DeepEqual(eventTypesOf(c), tc.events) {
				t.Fatalf("change to %s retriage %v events %v", c.To, c.Retriage, eventTypesOf(c))
			}
			if len(c.Messages) != 1 || c.Messages[0].Event != tc.mail {
				t.Errorf("messages %v, want %s", mailsOf(c), tc.mail)
			}
			var jobs []dsr.JobKind
			for _, j := range c.Jobs {
				jobs = append(jobs, j.Kind)
			}
			if jobs[len(jobs)-1] != tc.job {
				t.Errorf("jobs %v, want %s last", jobs, tc.job)
			}
			after := c.ApplyTo(r, now)
			if tc.retriage {
				if after.Regime != "ccpa" || after.ReceivedAt != r.ReceivedAt || after.DueOn == r.DueOn || len(c.Ledger) < 2 || c.Ledger[0].What != dsr.LedgerTriaged {
					t.Errorf("retriaged: regime %s due %s (was %s), ledger %v", after.Regime, after.DueOn, r.DueOn, c.Ledger)
				}
				if tc.kind == dsr.KindOptOut && after.Fields["opt_out_of"] != "sale" {
					t.Errorf("opt-out fields %v", after.Fields)
				}
			}
			if d := c.Events[0].Data; d["changed"] != fmt.Sprint(tc.retriage) || d["status"] != string(tc.to) || d["due"] != after.DueOn.String() {
				t.Errorf("triaged data %v", d)
			}
		})
	}
}

func TestPlanCompleteWithExports(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	received := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := received.Add(7 * 24 * time.Hour)
	r := planRequest(t, org, "ccpa", dsr.KindAccess, dsr.StatusInProgress, received, true)
	r.VerifiedAt = &received
	exports := []dsr.File{{Filename: "data.json", Content: []byte(`{"a":1}`)}, {Filename: "b.csv", ContentType: "text/csv", Content: []byte("x")}}
	c, err := dsr.PlanCompleteWith(org, r, "user:1", " Here is your data. ", "", exports, dsr.Outcome{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.To != dsr.StatusCompleted || len(c.Attachments) != 2 || c.Attachments[0].File.ContentType != "application/octet-stream" ||
		c.Attachments[0].Purpose != "export" || c.Events[0].Data["exports"] != "2" {
		t.Fatalf("change %+v", c)
	}
	if exports[0].ContentType != "" {
		t.Error("the planner changed the caller's files")
	}
	expires := now.Add(time.Duration(org.Downloads.ValidDays) * 24 * time.Hour)
	for _, m := range c.Messages {
		switch m.Holder {
		case dsr.HolderSubject:
			if m.Download == nil || m.Download.Purpose != dsr.TokenDownload || !m.Download.Expires.Equal(expires) || m.Note != "Here is your data." {
				t.Errorf("subject's message %+v", m)
			}
		case dsr.HolderAgent:
			// The export and the summary are the data subject's only.
			if m.Download != nil || m.Note != "" || !m.LinkExpires.IsZero() {
				t.Errorf("agent's message %+v", m)
			}
		}
	}
	if _, err := dsr.PlanCompleteWith(org, c.ApplyTo(r, now), "user:1", "again", "", exports, dsr.Outcome{}, now); codeOf(err) != dsr.ECONFLICT {
		t.Errorf("completing a completed request: %v", err)
	}
}

func TestPlanNote(t *testing.T) {
	t.Parallel()
	if _, err := dsr.PlanNote(nil, "user:1", " \n"); codeOf(err) != dsr.EINVALID {
		t.Errorf("empty note: %v", err)
	}
	c, err := dsr.PlanNote(&dsr.Request{Status: dsr.StatusCompleted}, "user:1", "Called the DPO.")
	if err != nil || len(c.Notes) != 1 || c.Notes[0].Author != "user:1" || c.TouchesRequest() ||
		!reflect.DeepEqual(eventTypesOf(c), []dsr.EventType{dsr.EventNoteAdded}) || c.Events[0].Public {
		t.Errorf("note change %+v %v: an internal note, even on a closed request, and no change to the request", c, err)
	}
}
