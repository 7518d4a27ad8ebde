package dsr_test

import (
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Closing a request while a fee is awaited settles the fee: the change
// clears it and the closing event names it. A close without a fee still
// clears (the caller may not have loaded it) and names none.
func TestPlanCloseSettlesAwaitedFee(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	received := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	asked := received.Add(72 * time.Hour)
	closed := asked.Add(5 * 24 * time.Hour)
	for _, tc := range []struct {
		name  string
		fee   bool
		close func(r *dsr.Request) (dsr.Change, error)
		to    dsr.Status
	}{
		{"complete with a fee awaited", true, func(r *dsr.Request) (dsr.Change, error) { return dsr.PlanComplete(r, "user:1", "done", closed) }, dsr.StatusCompleted},
		{"complete with an outcome", true, func(r *dsr.Request) (dsr.Change, error) {
			return dsr.PlanCompleteWith(org, r, "user:1", "done", "", nil, dsr.Outcome{Result: dsr.OutcomeNoData}, closed)
		}, dsr.StatusCompleted},
		{"deny with a fee awaited", true, func(r *dsr.Request) (dsr.Change, error) {
			return dsr.PlanDeny(r, "user:1", "manifestly_unfounded", "Manifestly unfounded.", "Third copy this month.", closed)
		}, dsr.StatusDenied},
		{"requester withdraws", true, func(r *dsr.Request) (dsr.Change, error) { return dsr.PlanWithdraw(r, dsr.ActorRequester, "", closed) }, dsr.StatusWithdrawn},
		{"officer withdraws for them", true, func(r *dsr.Request) (dsr.Change, error) { return dsr.PlanWithdraw(r, "user:1", "phone call", closed) }, dsr.StatusWithdrawn},
		{"complete without a fee", false, func(r *dsr.Request) (dsr.Change, error) { return dsr.PlanComplete(r, "user:1", "done", closed) }, dsr.StatusCompleted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := planRequest(t, org, "uk_gdpr", dsr.KindAccess, dsr.StatusInProgress, received, false)
			if tc.fee {
				c, err := dsr.PlanRequestFee(org, r, "user:1", "10", "GBP", dsr.FeeFurtherCopies, "privacy@example.org", asked)
				if err != nil {
					t.Fatal(err)
				}
				r = c.ApplyTo(r, asked)
				if r.Fee == nil {
					t.Fatal("fee not awaited after request-fee")
				}
			}
			c, err := tc.close(r)
			if err != nil {
				t.Fatal(err)
			}
			if c.Fee == nil || c.Fee.Awaited != nil {
				t.Fatalf("close %s leaves the fee: %+v", tc.to, c.Fee)
			}
			after := c.ApplyTo(r, closed)
			if after.Status != tc.to || after.Fee != nil {
				t.Errorf("after: status %s fee %v", after.Status, after.Fee)
			}
			got := c.Events[0].Data["fee_dropped"]
			if want := map[bool]string{true: "10.00 GBP", false: ""}[tc.fee]; got != want {
				t.Errorf("event fee_dropped %q, want %q", got, want)
			}
		})
	}
}
