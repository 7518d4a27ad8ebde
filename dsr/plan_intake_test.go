package dsr_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

func planConfig(t *testing.T) *dsr.Config {
	t.Helper()
	c, err := parseConfigString(configJSON(t, func(m map[string]any) {
		m["regimes"] = []any{"gdpr", "ccpa"}
		m["jurisdictions"] = []any{
			map[string]any{"countries": []any{"EEA"}, "regime": "gdpr"},
			map[string]any{"countries": []any{"US"}, "states": []any{"CA"}, "regime": "ccpa"},
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPlanIntake(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	eu := dsr.Person{Email: "ana@example.net", Name: "Ana Lopez", Country: "NL"}
	ca := dsr.Person{Email: "bo@example.net", Name: "Bo Chen", Country: "US", State: "CA"}
	agent := &dsr.Agent{Name: "Dee Agent", Email: "dee@agents.example",
		Permission: &dsr.File{Filename: "p.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.4")}}
	refuse := func(dsr.Person) error { return errors.New("cannot be written") }
	type msg struct{ event, holder, action string }
	for _, tc := range []struct {
		name        string
		s           dsr.Submission
		deliverable dsr.Deliverable
		status      dsr.Status
		events      []dsr.EventType
		messages    []msg
		jobs        []dsr.JobKind
		receipt     string // holder of the receipt's status link
		ackSent     bool
		verifySent  bool
		ackData     map[string]string // checked keys of the acknowledgment event
	}{
		{name: "gdpr access: confirm first, no acknowledgment duty",
			s:      dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelAPI, Subject: eu},
			status: dsr.StatusPendingVerification, events: []dsr.EventType{dsr.EventReceived},
			messages: []msg{{dsr.MailReceived, dsr.HolderSubject, dsr.TokenVerify}},
			jobs:     []dsr.JobKind{dsr.JobDeadlineReminders, dsr.JobVerification}, receipt: dsr.HolderSubject, verifySent: true},
		{name: "ccpa access: the receipt email is the acknowledgment",
			s:      dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelWeb, Subject: ca},
			status: dsr.StatusPendingVerification, events: []dsr.EventType{dsr.EventReceived, dsr.EventAcknowledgmentSent},
			messages: []msg{{dsr.MailReceived, dsr.HolderSubject, dsr.TokenVerify}},
			jobs:     []dsr.JobKind{dsr.JobDeadlineReminders, dsr.JobVerification}, receipt: dsr.HolderSubject,
			ackSent: true, verifySent: true},
		{name: "agent: the subject confirms the agent, the agent gets a copy",
			s:        dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelAPI, Subject: ca, Agent: agent},
			status:   dsr.StatusPendingVerification,
			events:   []dsr.EventType{dsr.EventReceived, dsr.EventAgentPermissionAttached, dsr.EventAcknowledgmentSent},
			messages: []msg{{dsr.MailAgentConfirm, dsr.HolderSubject, dsr.TokenVerify}, {dsr.MailReceivedAgent, dsr.HolderAgent, ""}},
			jobs:     []dsr.JobKind{dsr.JobDeadlineReminders, dsr.JobVerification}, receipt: dsr.HolderAgent,
			ackSent: true, verifySent: true},
		{name: "ccpa opt-out: open at once, no verification, no acknowledgment duty",
			s:      dsr.Submission{Kind: dsr.KindOptOut, Channel: dsr.ChannelAPI, Subject: ca, Fields: map[string]string{"opt_out_of": "sale"}},
			status: dsr.StatusOpen, events: []dsr.EventType{dsr.EventReceived, dsr.EventOpened},
			messages: []msg{{dsr.MailAcknowledged, dsr.HolderSubject, ""}},
			jobs:     []dsr.JobKind{dsr.JobDeadlineReminders}, receipt: dsr.HolderSubject},
		{name: "GPC without an email: open, nothing to mail",
			s: dsr.Submission{Kind: dsr.KindOptOut, Regime: "ccpa", Channel: dsr.ChannelGPC,
				Subject: dsr.Person{Country: "US", State: "CA"}, Fields: map[string]string{"opt_out_of": dsr.GPCOptOut, "device_id": "dev-1"}},
			status: dsr.StatusOpen, events: []dsr.EventType{dsr.EventReceived, dsr.EventOpened},
			jobs: []dsr.JobKind{dsr.JobDeadlineReminders}, receipt: dsr.HolderSubject},
		{name: "an address the mail layer refuses does not count as acknowledged",
			s: dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelAPI, Subject: ca}, deliverable: refuse,
			status: dsr.StatusPendingVerification, events: []dsr.EventType{dsr.EventReceived, dsr.EventAcknowledgmentNotSent},
			messages: []msg{{dsr.MailReceived, dsr.HolderSubject, dsr.TokenVerify}},
			jobs:     []dsr.JobKind{dsr.JobDeadlineReminders, dsr.JobVerification}, receipt: dsr.HolderSubject, verifySent: true,
			ackData: map[string]string{"reason": "the requester's name or address cannot be written in a mail header, so the acknowledgment cannot be delivered; acknowledge by another way"}},
		{name: "officer entry of a letter found late: acknowledged at once, and says so",
			s: dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelOfficer, Subject: ca, EnteredBy: "user:1",
				ReceivedAt: now.AddDate(0, 0, -30)},
			status: dsr.StatusPendingVerification, events: []dsr.EventType{dsr.EventReceived, dsr.EventAcknowledgmentSent},
			messages: []msg{{dsr.MailReceived, dsr.HolderSubject, dsr.TokenVerify}},
			jobs:     []dsr.JobKind{dsr.JobDeadlineReminders, dsr.JobVerification}, receipt: dsr.HolderSubject,
			ackSent: true, verifySent: true, ackData: map[string]string{"late_by_days": "13"}}, // due 10 business days after Sat 31 January on US-CA (Lincoln Day 12 Feb, Presidents' Day 16 Feb): Tue 17 Feb; 2 March is 13 days later
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, err := dsr.PlanIntake(org, tc.s, now, tc.deliverable)
			if err != nil {
				t.Fatalf("PlanIntake: %v", err)
			}
			r, c := in.Request, in.Change
			if r.ID == "" || r.SubjectID == "" || r.Status != tc.status || c.To != tc.status {
				t.Errorf("request %s/%s status %s (change %s), want ids and %s", r.ID, r.SubjectID, r.Status, c.To, tc.status)
			}
			var evs []dsr.EventType
			for _, ev := range c.Events {
				evs = append(evs, ev.Type)
				if ev.Type.Description() == "" {
					t.Errorf("event %s has no description", ev.Type)
				}
				if ev.Type == dsr.EventAcknowledgmentSent || ev.Type == dsr.EventAcknowledgmentNotSent {
					for k, v := range tc.ackData {
						if ev.Data[k] != v {
							t.Errorf("%s data[%s] = %q, want %q", ev.Type, k, ev.Data[k], v)
						}
					}
				}
			}
			if !reflect.DeepEqual(evs, tc.events) {
				t.Errorf("events %v, want %v", evs, tc.events)
			}
			if c.Events[0].Actor != map[bool]string{true: tc.s.EnteredBy, false: map[bool]string{true: dsr.ActorAgent, false: dsr.ActorRequester}[tc.s.Agent != nil]}[tc.s.EnteredBy != ""] {
				t.Errorf("received by %q", c.Events[0].Actor)
			}
			var msgs []msg
			for _, m := range c.Messages {
				got := msg{m.Event, m.Holder, ""}
				if m.Action != nil {
					got.action = m.Action.Purpose
					if !m.Action.Expires.Equal(now.Add(time.Duration(org.Verification.LinkValidDays) * 24 * time.Hour)) {
						t.Errorf("%s action link expires %v", m.Event, m.Action.Expires)
					}
				}
				if m.Status.Purpose != dsr.TokenStatus || m.Status.Holder != m.Holder || m.Status.Scope != dsr.ScopePending {
					t.Errorf("%s to %s carries status link %+v, want a pending one of its holder", m.Event, m.Holder, m.Status)
				}
				msgs = append(msgs, got)
			}
			if !reflect.DeepEqual(msgs, tc.messages) {
				t.Errorf("messages %v, want %v", msgs, tc.messages)
			}
			var jobs []dsr.JobKind
			for _, j := range c.Jobs {
				jobs = append(jobs, j.Kind)
			}
			if !reflect.DeepEqual(jobs, tc.jobs) {
				t.Errorf("jobs %v, want %v", jobs, tc.jobs)
			}
			if in.Receipt.Holder != tc.receipt || in.Receipt.Scope != dsr.ScopePending || !in.Receipt.Expires.Equal(now.Add(dsr.StatusLinkBackstop)) {
				t.Errorf("receipt link %+v, want a pending link of %s", in.Receipt, tc.receipt)
			}
			if (r.AckSentAt != nil) != tc.ackSent || (r.VerificationSent != nil) != tc.verifySent {
				t.Errorf("ack sent %v, verification sent %v; want %v, %v", r.AckSentAt, r.VerificationSent, tc.ackSent, tc.verifySent)
			}
			if len(c.Ledger) == 0 || (tc.s.Agent != nil) != (in.Permission != nil) {
				t.Errorf("ledger %d entries, permission %v", len(c.Ledger), in.Permission)
			}
		})
	}
}

func TestPlanIntakeRefuses(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ca := dsr.Person{Email: "bo@example.net", Name: "Bo Chen", Country: "US", State: "CA"}
	for _, tc := range []struct {
		name  string
		s     dsr.Submission
		field string
	}{
		{"receipt time from the public", dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelAPI, Subject: ca, ReceivedAt: now.Add(-time.Hour)}, "received_at"},
		{"receipt time in the future", dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelOfficer, Subject: ca, ReceivedAt: now.Add(time.Hour)}, "received_at"},
		{"receipt time over a year ago", dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelOfficer, Subject: ca, ReceivedAt: now.AddDate(-1, 0, -1)}, "received_at"},
		{"a regime the organisation does not handle", dsr.Submission{Kind: dsr.KindAccess, Regime: "uk_gdpr", Channel: dsr.ChannelAPI, Subject: ca}, "regime"},
		{"no email", dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelAPI, Subject: dsr.Person{Country: "NL"}}, "subject.email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := dsr.PlanIntake(org, tc.s, now, nil)
			var de *dsr.Error
			if !errors.As(err, &de) || de.Code != dsr.EINVALID || de.Fields[tc.field] == "" {
				t.Fatalf("PlanIntake = %v, want EINVALID on %s", err, tc.field)
			}
		})
	}
}

func TestEventTypesAreDescribed(t *testing.T) {
	t.Parallel()
	if n := len(dsr.EventTypes()); n < 25 {
		t.Fatalf("%d event types, want every type the engine writes", n)
	}
	for _, ty := range dsr.EventTypes() {
		if ty.Description() == "" {
			t.Errorf("%s has no description", ty)
		}
	}
	if dsr.EventType("made_up").Description() != "" {
		t.Error("an unknown type has a description")
	}
}

func TestPlanEmailIntake(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	receivedAt := now.Add(-2 * time.Hour)
	for _, tc := range []struct {
		regime string
		events []dsr.EventType
		mails  int
	}{
		// No duty to acknowledge: nothing goes back to the sender.
		{"gdpr", []dsr.EventType{dsr.EventReceived}, 0},
		// CCPA: the receipt email meets the 10-business-day duty.
		{"ccpa", []dsr.EventType{dsr.EventReceived, dsr.EventAcknowledgmentSent}, 1},
	} {
		reg, err := dsr.LookupRegime(tc.regime)
		if err != nil {
			t.Fatal(err)
		}
		s := dsr.Submission{Kind: dsr.KindErasure, Regime: reg.ID, Channel: dsr.ChannelEmail, Subject: dsr.Person{Email: "x@example.net"}}
		in, err := dsr.PlanEmailIntake(org, s, reg, receivedAt, now, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.regime, err)
		}
		r, c := in.Request, in.Change
		if r.Status != dsr.StatusPendingTriage || !r.ReceivedAt.Equal(receivedAt) || r.Channel != dsr.ChannelEmail || r.VerificationSent != nil {
			t.Errorf("%s: request %s received %v channel %s", tc.regime, r.Status, r.ReceivedAt, r.Channel)
		}
		if got := eventTypesOf(c); !reflect.DeepEqual(got, tc.events) {
			t.Errorf("%s: events %v, want %v", tc.regime, got, tc.events)
		}
		if len(c.Messages) != tc.mails || (tc.mails > 0 && c.Messages[0].Event != dsr.MailEmailReceived) {
			t.Errorf("%s: messages %+v", tc.regime, c.Messages)
		}
		if !reflect.DeepEqual(c.Jobs, []dsr.Job{{Kind: dsr.JobDeadlineReminders}}) {
			t.Errorf("%s: jobs %v: the clock runs during triage", tc.regime, c.Jobs)
		}
	}
}
