package dsr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// An extension granted before a fee was asked survives the fee. Under UK
// GDPR the period starts again when the fee is received, and the ICO's
// extension is "three months from the original start date": so the
// extended due date is three months from the day of payment, with the
// ledger saying the extension was kept. A pause-rule fee (GDPR) or a
// waiver moves the extended date by the days waited.
func TestPlanFeeEndKeepsExtension(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	received := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // Mon 2 Mar
	extended := received.Add(48 * time.Hour)                 // Wed 4 Mar
	asked := received.Add(72 * time.Hour)                    // Thu 5 Mar
	paidAt := asked.Add(10 * 24 * time.Hour)                 // Sun 15 Mar
	for _, tc := range []struct {
		name, regime, reason string
		extend, paid         bool
		want                 string // due date after the fee
		ledger               string // a ledger rule part, "" for none
	}{
		// 15 Mar + 3 months = Mon 15 Jun 2026 (was Tue 2 Jun).
		{"uk extended, fee paid: three months from payment", "uk_gdpr", dsr.FeeFurtherCopies, true, true, "2026-06-15", "extension granted earlier is kept"},
		// Not extended: one month from payment, Wed 15 Apr.
		{"uk not extended, fee paid: one month from payment", "uk_gdpr", dsr.FeeFurtherCopies, false, true, "2026-04-15", ""},
		// Waived: 2 Jun moved by the 10 days waited, Fri 12 Jun.
		{"uk extended, fee waived: moved by the days waited", "uk_gdpr", dsr.FeeFurtherCopies, true, false, "2026-06-12", ""},
		{"gdpr extended, fee paid: moved by the days waited", "gdpr", dsr.FeeExcessive, true, true, "2026-06-12", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := planRequest(t, org, tc.regime, dsr.KindAccess, dsr.StatusInProgress, received, false)
			if tc.extend {
				c, err := dsr.PlanExtend(org, r, "user:1", "Many systems to search.", false, extended)
				if err != nil {
					t.Fatal(err)
				}
				r = c.ApplyTo(r, extended)
				if r.Extensions != 1 || r.DueOn.String() != "2026-06-02" {
					t.Fatalf("after the extension: %d extensions, due %s", r.Extensions, r.DueOn)
				}
			}
			c, err := dsr.PlanRequestFee(org, r, "user:1", "10", "GBP", tc.reason, "privacy@example.org", asked)
			if err != nil {
				t.Fatal(err)
			}
			r = c.ApplyTo(r, asked)
			plan := dsr.PlanFeeWaived
			if tc.paid {
				plan = dsr.PlanFeePaid
			}
			end, err := plan(org, r, "user:1", paidAt)
			if err != nil {
				t.Fatal(err)
			}
			after := end.ApplyTo(r, paidAt)
			if after.DueOn.String() != tc.want || after.LegalDue != after.DueOn {
				t.Errorf("due %s legal %s, want %s; ledger %v", after.DueOn, after.LegalDue, tc.want, end.Ledger)
			}
			if tc.extend && after.Extensions != 1 {
				t.Errorf("extensions %d after the fee, want 1", after.Extensions)
			}
			if tc.ledger != "" {
				found := false
				for _, l := range end.Ledger {
					found = found || (l.What == "extended" && l.Date == after.DueOn && strings.Contains(l.Rule, tc.ledger))
				}
				if !found {
					t.Errorf("ledger lacks %q on %s: %v", tc.ledger, after.DueOn, end.Ledger)
				}
			}
		})
	}
}
