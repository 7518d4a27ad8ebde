package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// The reads behind the console: a request's detail, the outbox and the
// queue show what intake stored, the opt-out feed lists opt-outs only, and
// the engine's clock is the one it was given.
func TestReadsShowWhatWasStored(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	e := d.Engine
	sub := func(kind dsr.Kind, email, country, state string, fields map[string]string) string {
		t.Helper()
		rc, err := e.Submit(ctx, dsr.Submission{Kind: kind, Channel: dsr.ChannelAPI, Fields: fields,
			Subject: dsr.Person{Email: email, Name: "Reader", Country: country, State: state}}, "")
		if err != nil {
			t.Fatal(err)
		}
		return rc.ID
	}
	access := sub(dsr.KindAccess, "reads@example.com", "NL", "", nil)
	optOut := sub(dsr.KindOptOut, "optout@example.com", "US", "CA", map[string]string{"opt_out_of": "sale"})

	rd, err := e.RequestDetail(ctx, access)
	if err != nil {
		t.Fatal(err)
	}
	if rd.Request.ID != access || rd.Request.Subject.Email != "reads@example.com" || len(rd.Ledger) == 0 || len(rd.Events) == 0 {
		t.Fatalf("detail: request %+v, %d ledger entries, %d events", rd.Request, len(rd.Ledger), len(rd.Events))
	}
	if len(rd.Messages) != 1 || rd.Messages[0].ToEmail != "reads@example.com" || rd.Messages[0].RequestID != access ||
		rd.Messages[0].Subject == "" || rd.Messages[0].Status == "" {
		t.Fatalf("detail messages: %+v", rd.Messages)
	}
	if rd.AssigneeEmail != "" || len(rd.HeldReplies) != 0 || len(rd.Notes) != 0 {
		t.Fatalf("detail of a new request: assignee %q, %d held, %d notes", rd.AssigneeEmail, len(rd.HeldReplies), len(rd.Notes))
	}
	if _, err := e.RequestDetail(ctx, "00000000-0000-0000-0000-000000000000"); dsr.ErrorCode(err) != dsr.ENOTFOUND {
		t.Fatalf("detail of no request: %v, want ENOTFOUND", err)
	}

	out, err := e.Outbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 2 || out[0].CreatedAt.Before(out[len(out)-1].CreatedAt) {
		t.Fatalf("outbox: %d messages, newest first wanted", len(out))
	}

	rows, next, err := e.Queue(ctx, workflow.QueueFilter{Today: dsr.DateIn(e.Now(), d.Org.Location())})
	if err != nil || next != nil || len(rows) != 2 {
		t.Fatalf("queue: %d rows, next %v, %v", len(rows), next, err)
	}
	if rows, _, _ := e.Queue(ctx, workflow.QueueFilter{Kind: string(dsr.KindOptOut)}); len(rows) != 1 || rows[0].ID != optOut || rows[0].Ref == "" {
		t.Fatalf("queue of opt-outs: %+v", rows)
	}

	feed, _, err := e.OptOuts(ctx, time.Time{}, "", nil, 10)
	if err != nil || len(feed) != 1 || feed[0].ID != optOut || feed[0].Email != "optout@example.com" || feed[0].Applied == nil || len(feed[0].Applied) != 0 {
		t.Fatalf("opt-out feed: %+v, %v", feed, err)
	}

	if now, clock := e.Now(), d.Clock.Now(); now.After(clock) || clock.Sub(now) > time.Minute {
		t.Fatalf("engine Now %v, test clock %v", now, clock)
	}
	d.Clock.Advance(72 * time.Hour)
	if now, clock := e.Now(), d.Clock.Now(); now.After(clock) || clock.Sub(now) > time.Minute {
		t.Fatalf("engine Now %v after advancing, test clock %v", now, clock)
	}
}

// AddUser creates an account the sign-in finds, and refuses an unknown
// role, a malformed email and a taken one.
func TestAddUser(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	hash, err := dsr.HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	u := &workflow.User{Email: "New.Officer@testorg.example", Name: "New", Role: workflow.RoleOfficer, PasswordHash: hash}
	if err := d.Engine.AddUser(ctx, u); err != nil || u.ID == "" {
		t.Fatalf("add: %v, id %q", err, u.ID)
	}
	got, err := d.Engine.UserByEmail(ctx, "new.officer@testorg.example")
	if err != nil || got.ID != u.ID || got.Role != workflow.RoleOfficer || got.PasswordHash != hash {
		t.Fatalf("user by email: %+v, %v", got, err)
	}
	if n, err := d.Engine.CountUsers(ctx); err != nil || n != 1 {
		t.Fatalf("count users: %d, %v", n, err)
	}
	for _, tc := range []struct {
		name string
		u    workflow.User
		code string
	}{
		{"unknown role", workflow.User{Email: "x@testorg.example", Role: "root", PasswordHash: hash}, dsr.EINVALID},
		{"no email", workflow.User{Email: "not an email", Role: workflow.RoleViewer, PasswordHash: hash}, dsr.EINVALID},
		{"taken", workflow.User{Email: "new.officer@testorg.example", Role: workflow.RoleViewer, PasswordHash: hash}, dsr.ECONFLICT},
	} {
		if err := d.Engine.AddUser(ctx, &tc.u); dsr.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	if n, _ := d.Engine.CountUsers(ctx); n != 1 {
		t.Fatalf("%d users after the refusals, want 1", n)
	}
}
