package workflow_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// TestAppliedChangesKeepTheHashChain runs a request through intake and
// the actions that apply planned Changes (assign, ask, extend, deny) and
// checks that each appended its events after the chain head it locked:
// the chain verifies, in the order the actions ran, and the request row
// holds what the plans decided.
func TestAppliedChangesKeepTheHashChain(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	u := &db.User{Email: "olga@desk.example", Name: "Olga", Role: db.RoleOfficer, PasswordHash: "x"}
	if err := db.InsertUser(ctx, d.Pool, u); err != nil {
		t.Fatal(err)
	}
	rc := submit(t, d, dsr.KindAccess, "chain@example.com", "GB", "", nil)
	verify(t, d, "chain@example.com")
	actor := workflow.Actor(u.ID)
	if err := d.Engine.Assign(ctx, rc.ID, actor, u.ID); err != nil {
		t.Fatalf("assign: %v", err)
	}
	if res, err := d.Engine.RequestInfo(ctx, rc.ID, actor, "clarification", "Which account do you mean?"); err != nil || !res.ClockPaused {
		t.Fatalf("request info: %+v %v", res, err)
	}
	if _, err := d.Engine.Extend(ctx, rc.ID, actor, "Many systems to search.", false); err != nil {
		t.Fatalf("extend: %v", err)
	}
	if err := d.Engine.Deny(ctx, rc.ID, actor, "duplicate", "Same as your earlier request."); err != nil {
		t.Fatalf("deny: %v", err)
	}
	want := []string{"received", "verified", "assigned", "in_progress", "info_requested", "extended", "denied"}
	if got := eventTypes(t, d, rc.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	rep, err := db.VerifyChains(ctx, d.Pool)
	if err != nil || rep.Broken != nil {
		t.Fatalf("VerifyChains: %+v %v", rep.Broken, err)
	}
	req := request(t, d, rc.ID)
	if req.Status != dsr.StatusDenied || req.AssigneeID != u.ID || req.Extensions != 1 || req.PausedSince != nil ||
		req.ClosedAt == nil || req.CloseReason != "denied" {
		t.Fatalf("request after the actions: %s assignee %q extensions %d paused %v closed %v reason %q",
			req.Status, req.AssigneeID, req.Extensions, req.PausedSince, req.ClosedAt, req.CloseReason)
	}
	// A refused change writes nothing: the chain and the row stay as they were.
	if err := d.Engine.Assign(ctx, rc.ID, actor, u.ID); dsr.ErrorCode(err) != dsr.ECONFLICT {
		t.Fatalf("assign a closed request: %v", err)
	}
	if got := eventTypes(t, d, rc.ID); len(got) != len(want) {
		t.Fatalf("a refused change appended events: %v", got)
	}
}
