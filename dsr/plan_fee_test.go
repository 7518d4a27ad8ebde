package dsr_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

func TestPlanRequestFee(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	received := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := received.Add(72 * time.Hour)
	for _, tc := range []struct {
		name, regime, amount, currency, reason string
		status                                 dsr.Status
		paused                                 bool
		code                                   string
		fields                                 []string
	}{
		{"uk further copies stops the clock", "uk_gdpr", "10", "GBP", "further_copies", dsr.StatusInProgress, true, "", nil},
		{"uk decimals and lower-case currency", "uk_gdpr", "012.5", "gbp", "excessive", dsr.StatusInProgress, true, "", nil},
		{"gdpr excessive pauses", "gdpr", "25", "EUR", "excessive", dsr.StatusInProgress, true, "", nil},
		{"gdpr further copies (Art. 15(3)) pauses", "gdpr", "10", "EUR", "further_copies", dsr.StatusInProgress, true, "", nil},
		{"gdpr repeat is not a GDPR fee", "gdpr", "10", "EUR", "repeat_within_12_months", dsr.StatusInProgress, false, dsr.ECONFLICT, nil},
		{"ccpa manifestly unfounded keeps running", "ccpa", "20", "USD", "manifestly_unfounded", dsr.StatusOpen, false, "", nil},
		{"ccpa repeat is not a CCPA fee", "ccpa", "20", "USD", "repeat_within_12_months", dsr.StatusOpen, false, dsr.ECONFLICT, nil},
		{"nebraska repeat keeps running", "ndpa", "5", "USD", "repeat_within_12_months", dsr.StatusOpen, false, "", nil},
		{"indiana repeat", "incdpa", "5", "USD", "repeat_within_12_months", dsr.StatusOpen, false, "", nil},
		{"zero amount", "uk_gdpr", "0.00", "GBP", "further_copies", dsr.StatusInProgress, false, dsr.EINVALID, []string{"amount"}},
		{"negative amount", "uk_gdpr", "-5", "GBP", "further_copies", dsr.StatusInProgress, false, dsr.EINVALID, []string{"amount"}},
		{"three decimals", "uk_gdpr", "1.005", "GBP", "further_copies", dsr.StatusInProgress, false, dsr.EINVALID, []string{"amount"}},
		{"bad currency and reason", "uk_gdpr", "10", "POUND", "because", dsr.StatusInProgress, false, dsr.EINVALID, []string{"currency", "reason"}},
		{"not once closed", "uk_gdpr", "10", "GBP", "further_copies", dsr.StatusCompleted, false, dsr.ECONFLICT, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := planRequest(t, org, tc.regime, dsr.KindAccess, tc.status, received, true)
			c, err := dsr.PlanRequestFee(org, r, "user:1", tc.amount, tc.currency, tc.reason, "privacy@example.org", now)
			if codeOf(err) != tc.code {
				t.Fatalf("err %v, want code %q", err, tc.code)
			}
			if tc.code == dsr.EINVALID {
				var got []string
				for f := range err.(*dsr.Error).Fields {
					got = append(got, f)
				}
				if len(got) != len(tc.fields) {
					t.Errorf("fields %v, want %v", got, tc.fields)
				}
				for _, f := range tc.fields {
					if _, ok := err.(*dsr.Error).Fields[f]; !ok {
						t.Errorf("no field error %q in %v", f, err)
					}
				}
			}
			if tc.code == dsr.ECONFLICT && tc.status != dsr.StatusCompleted && err.(*dsr.Error).Rule == "" {
				t.Errorf("conflict %v names no rule", err)
			}
			if tc.code != "" {
				return
			}
			if c.To != dsr.StatusAwaitingRequester || c.Fee == nil || c.Fee.Awaited == nil || c.Fee.Awaited.Currency != strings.ToUpper(tc.currency) ||
				!strings.HasSuffix(c.Fee.Awaited.Amount, "0") || strings.HasPrefix(c.Fee.Awaited.Amount, "0") || !strings.Contains(c.Fee.Awaited.Amount, ".") {
				t.Fatalf("change %+v, want awaiting with the fee", c)
			}
			if (c.PauseFrom != nil) != tc.paused || (len(c.Ledger) == 1) != tc.paused {
				t.Errorf("pause %v ledger %v, want paused %v", c.PauseFrom, c.Ledger, tc.paused)
			}
			if got := eventTypesOf(c); !reflect.DeepEqual(got, []dsr.EventType{dsr.EventFeeRequested}) {
				t.Errorf("events %v", got)
			}
			if got := mailsOf(c); !reflect.DeepEqual(got, []string{"fee_requested→subject", "fee_requested→agent"}) {
				t.Errorf("mails %v", got)
			}
			if n := c.Messages[0].Note; !strings.Contains(n, c.Fee.Awaited.Amount) || !strings.Contains(n, "privacy@example.org") || !strings.Contains(n, dsr.FeeReasonWords(tc.reason)) {
				t.Errorf("mail note %q lacks amount, reason or how to pay", n)
			}
			// A second fee while one is awaited is refused.
			after := c.ApplyTo(r, now)
			if _, err := dsr.PlanRequestFee(org, after, "user:1", "1", "GBP", tc.reason, "x", now); codeOf(err) != dsr.ECONFLICT {
				t.Errorf("second fee: %v, want conflict", err)
			}
		})
	}
}

func TestPlanFeePaidAndWaived(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	received := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	asked := received.Add(72 * time.Hour) // Thu 5 Mar
	paidAt := asked.Add(10 * 24 * time.Hour)
	for _, tc := range []struct {
		name, regime, reason string
		paid                 bool
		want                 func(r *dsr.Request) dsr.Date
	}{
		// UK: the month counts from the day the fee arrived (15 Mar → 15 Apr).
		{"uk paid restarts from payment", "uk_gdpr", "further_copies", true, func(r *dsr.Request) dsr.Date {
			return dsr.DateIn(paidAt, time.UTC).AddMonths(1)
		}},
		// Waived: the 10 days waited do not count (2 Apr + 10 = Sun 12 Apr,
		// rolled to Mon 13 Apr).
		{"uk waived moves by the days waited", "uk_gdpr", "further_copies", false, func(r *dsr.Request) dsr.Date { return r.DueOn.AddDays(11) }},
		{"gdpr paid moves by the days waited", "gdpr", "excessive", true, func(r *dsr.Request) dsr.Date { return r.DueOn.AddDays(11) }},
		{"ccpa paid leaves the date", "ccpa", "excessive", true, func(r *dsr.Request) dsr.Date { return r.DueOn }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := planRequest(t, org, tc.regime, dsr.KindAccess, dsr.StatusInProgress, received, false)
			c, err := dsr.PlanRequestFee(org, r, "user:1", "10", "GBP", tc.reason, "privacy@example.org", asked)
			if err != nil {
				t.Fatal(err)
			}
			waiting := c.ApplyTo(r, asked)
			plan, mail, ev := dsr.PlanFeeWaived, "fee_waived→subject", dsr.EventFeeWaived
			if tc.paid {
				plan, mail, ev = dsr.PlanFeePaid, "fee_paid→subject", dsr.EventFeePaid
			}
			end, err := plan(org, waiting, "user:1", paidAt)
			if err != nil {
				t.Fatal(err)
			}
			after := end.ApplyTo(waiting, paidAt)
			if after.Status != dsr.StatusInProgress || after.Fee != nil || after.PausedSince != nil {
				t.Errorf("after: status %s fee %v paused %v", after.Status, after.Fee, after.PausedSince)
			}
			if want := tc.want(r); want.IsZero() || after.DueOn != want {
				t.Errorf("due %s, want %s (was %s); ledger %v", after.DueOn, want, r.DueOn, end.Ledger)
			}
			if got := eventTypesOf(end); !reflect.DeepEqual(got, []dsr.EventType{ev}) {
				t.Errorf("events %v", got)
			}
			if got := mailsOf(end); !reflect.DeepEqual(got, []string{mail}) {
				t.Errorf("mails %v", got)
			}
			if _, err := plan(org, after, "user:1", paidAt); codeOf(err) != dsr.ECONFLICT {
				t.Errorf("ending a fee twice: %v, want conflict", err)
			}
		})
	}
}

// The requester answered while the fee was awaited (in_progress, the pause
// ended): payment still ends the fee, and under UK rules the period still
// starts on the day of payment; a closed request takes no fee action.
func TestPlanFeePaidAfterAnswer(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	received := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	asked, answered, paidAt := received.Add(72*time.Hour), received.Add(96*time.Hour), received.Add(20*24*time.Hour)
	r := planRequest(t, org, "uk_gdpr", dsr.KindAccess, dsr.StatusInProgress, received, false)
	c, err := dsr.PlanRequestFee(org, r, "user:1", "10", "GBP", dsr.FeeFurtherCopies, "privacy@example.org", asked)
	if err != nil {
		t.Fatal(err)
	}
	waiting := c.ApplyTo(r, asked)
	ans, err := dsr.PlanAnswer(org, waiting, dsr.HolderSubject, "I sent it", nil, answered)
	if err != nil {
		t.Fatal(err)
	}
	working := ans.ApplyTo(waiting, answered)
	if working.Fee == nil || working.Status != dsr.StatusInProgress || working.PausedSince != nil {
		t.Fatalf("after the answer: %+v", working)
	}
	end, err := dsr.PlanFeePaid(org, working, "user:1", paidAt)
	if err != nil {
		t.Fatal(err)
	}
	after := end.ApplyTo(working, paidAt)
	if want := dsr.DateIn(paidAt, time.UTC).AddMonths(1); after.DueOn != want || after.Fee != nil || end.To != "" {
		t.Errorf("due %s (want %s), fee %v, to %q", after.DueOn, want, after.Fee, end.To)
	}
	closed := *working
	closed.Status = dsr.StatusCompleted
	if _, err := dsr.PlanFeeWaived(org, &closed, "user:1", paidAt); codeOf(err) != dsr.ECONFLICT {
		t.Errorf("waiving on a closed request: %v, want conflict", err)
	}
}
