package dsr_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Issue #12 points 2, 3, 4 and 7 as pure planning.

func policyConfig(t *testing.T, edit func(m map[string]any)) *dsr.Config {
	t.Helper()
	c, err := parseConfigString(configJSON(t, func(m map[string]any) {
		m["regimes"] = []any{"gdpr", "ccpa"}
		m["jurisdictions"] = []any{
			map[string]any{"countries": []any{"EEA"}, "regime": "gdpr"},
			map[string]any{"countries": []any{"US"}, "states": []any{"CA"}, "regime": "ccpa"},
		}
		m["promises"] = []any{map[string]any{"kind": "erasure", "days": 14, "regimes": []any{"gdpr"}, "source": "Privacy policy §5"}}
		if edit != nil {
			edit(m)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPlanExtendPromiseAndIdentity(t *testing.T) {
	t.Parallel()
	org := policyConfig(t, nil)
	received := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	now := received.Add(5 * 24 * time.Hour)
	verified := received.Add(time.Hour)
	for _, tc := range []struct {
		name     string
		kind     dsr.Kind
		verified bool
		override bool
		code     string
		rule     string
		broken   bool
	}{
		{"promise refused", dsr.KindErasure, true, false, dsr.ECONFLICT, "override_promise", false},
		{"promise knowingly broken", dsr.KindErasure, true, true, "", "", true},
		{"no promise: the law's extension", dsr.KindAccess, true, false, "", "", false},
		{"override without a promise changes nothing", dsr.KindAccess, true, true, "", "", false},
		{"identity not confirmed", dsr.KindAccess, false, false, dsr.ECONFLICT, "identity is confirmed", false},
		{"identity not confirmed, even overriding", dsr.KindErasure, false, true, dsr.ECONFLICT, "identity is confirmed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := planRequest(t, org, "gdpr", tc.kind, dsr.StatusInProgress, received, false)
			dl, _ := org.Deadlines(mustRegime(t, "gdpr"), tc.kind, received)
			r.PolicyDue, r.NeedsVerification = dl.PolicyDue, true
			if tc.verified {
				r.VerifiedAt = &verified
			}
			c, err := dsr.PlanExtend(org, r, "user:1", "Backups to restore", tc.override, now)
			if codeOf(err) != tc.code {
				t.Fatalf("err %v, want %q", err, tc.code)
			}
			if tc.code != "" {
				if de := err.(*dsr.Error); !strings.Contains(de.Rule, tc.rule) {
					t.Errorf("rule %q, want %q", de.Rule, tc.rule)
				}
				if tc.rule == "override_promise" && !strings.Contains(err.Error(), "Privacy policy §5: erasure within 14 days") {
					t.Errorf("the refusal should name the promise: %v", err)
				}
				return
			}
			hasBroken := len(c.Ledger) > 0 && c.Ledger[0].What == dsr.LedgerPromiseBroken
			if hasBroken != tc.broken || (c.Messages[0].PromiseMissed != "") != tc.broken || (c.Events[0].Data["promise_broken"] != "") != tc.broken {
				t.Fatalf("broken %v: ledger %+v message %q event %v", tc.broken, c.Ledger, c.Messages[0].PromiseMissed, c.Events[0].Data)
			}
			if tc.broken && (!strings.Contains(c.Ledger[0].Rule, "Backups to restore") || c.Ledger[0].Date != r.PolicyDue ||
				!strings.Contains(c.Messages[0].PromiseMissed, r.PolicyDue.Long())) {
				t.Errorf("broken promise: ledger %+v, mail %q", c.Ledger[0], c.Messages[0].PromiseMissed)
			}
		})
	}
}

func mustRegime(t *testing.T, id string) *dsr.Regime {
	t.Helper()
	r, err := dsr.LookupRegime(id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseOutcome(t *testing.T) {
	t.Parallel()
	invoices := dsr.Kept{Data: "invoices", Basis: "7 years, Dutch tax law (AWR art. 52)"}
	for _, tc := range []struct {
		name   string
		result string
		kept   []dsr.Kept
		want   dsr.Outcome
		fields []string
	}{
		{"default full", "", nil, dsr.Outcome{Result: "full"}, nil},
		{"no data", "no_data", nil, dsr.Outcome{Result: "no_data"}, nil},
		{"partial with kept, blank rows dropped", "partial", []dsr.Kept{{}, invoices, {Data: " ", Basis: ""}}, dsr.Outcome{Result: "partial", Kept: []dsr.Kept{invoices}}, nil},
		{"partial without kept", "partial", []dsr.Kept{{}, {}}, dsr.Outcome{}, []string{"kept"}},
		{"kept without basis", "partial", []dsr.Kept{{Data: "invoices"}}, dsr.Outcome{}, []string{"kept"}},
		{"basis without data", "partial", []dsr.Kept{{Basis: "tax law"}}, dsr.Outcome{}, []string{"kept"}},
		{"full keeps nothing", "full", []dsr.Kept{invoices}, dsr.Outcome{}, []string{"kept"}},
		{"unknown outcome", "some", nil, dsr.Outcome{}, []string{"outcome"}},
	} {
		got, err := dsr.ParseOutcome(tc.result, tc.kept)
		var fields []string
		if de, ok := err.(*dsr.Error); ok {
			for f := range de.Fields {
				fields = append(fields, f)
			}
		}
		if !reflect.DeepEqual(fields, tc.fields) || (tc.fields == nil && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%s: got %+v, fields %v; want %+v, fields %v", tc.name, got, fields, tc.want, tc.fields)
		}
	}
}

func TestPlanCompleteWithOutcome(t *testing.T) {
	t.Parallel()
	org := policyConfig(t, nil)
	received := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r := planRequest(t, org, "gdpr", dsr.KindErasure, dsr.StatusInProgress, received, true)
	o := dsr.Outcome{Result: dsr.OutcomePartial, Kept: []dsr.Kept{{Data: "invoices", Basis: "AWR art. 52"}}}
	c, err := dsr.PlanCompleteWith(org, r, "user:1", "Deleted.", "CRM", nil, o, received.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c.Outcome == nil || !reflect.DeepEqual(*c.Outcome, o) || c.Events[0].Data["outcome"] != "partial" || c.Events[0].Data["kept.0"] != "invoices — AWR art. 52" {
		t.Fatalf("outcome %+v event %v", c.Outcome, c.Events[0].Data)
	}
	for _, m := range c.Messages {
		if m.Outcome != "partial" || !reflect.DeepEqual(m.Kept, o.Kept) {
			t.Errorf("%s message: outcome %q kept %v", m.Holder, m.Outcome, m.Kept)
		}
	}
	c, _ = dsr.PlanComplete(r, "user:1", "done", received)
	if c.Outcome == nil || c.Outcome.Result != dsr.OutcomeFull {
		t.Errorf("PlanComplete outcome %+v, want full", c.Outcome)
	}
}

func TestVoluntaryOfferDeadlines(t *testing.T) {
	t.Parallel()
	received := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ccpa := mustRegime(t, "ccpa")
	for _, tc := range []struct {
		name      string
		offer     map[string]any
		ok        bool
		due, pol  string
		extended  bool
		ledgerHas string
	}{
		{"no offer: the law's refusal", nil, false, "", "", false, ""},
		{"promised days", map[string]any{"kind": "restriction", "regimes": []any{"ccpa"}, "days": 30, "source": "Privacy policy §7"}, true, "2026-12-31", "2026-12-31", true, "Privacy policy §7"},
		{"general period", map[string]any{"kind": "restriction", "source": "Privacy policy §7"}, true, "2027-01-14", "", true, "offered voluntarily (policy)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			org := policyConfig(t, func(m map[string]any) {
				if tc.offer != nil {
					m["voluntary"] = []any{tc.offer}
				}
			})
			dl, err := org.Deadlines(ccpa, dsr.KindRestriction, received)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok %v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			if dl.Due.String() != tc.due || (tc.pol != "" && dl.PolicyDue.String() != tc.pol) || dl.ExtendedDue.IsZero() == tc.extended {
				t.Errorf("due %s policy %s extended %s", dl.Due, dl.PolicyDue, dl.ExtendedDue)
			}
			found := false
			for _, e := range dl.Ledger {
				found = found || (e.What == dsr.LedgerVoluntary && strings.Contains(e.Rule, "offered voluntarily (policy)") && strings.Contains(e.Rule, tc.ledgerHas))
			}
			if !found {
				t.Errorf("ledger %+v lacks the voluntary entry", dl.Ledger)
			}
		})
	}
}

func TestVoluntaryConfigValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		offer map[string]any
		want  string
	}{
		{"law already gives it", map[string]any{"kind": "restriction", "regimes": []any{"gdpr"}}, "voluntary[0].regimes[0]: GDPR already gives a right of restriction"},
		{"unknown kind", map[string]any{"kind": "restrict"}, "voluntary[0].kind"},
		{"regime not offered", map[string]any{"kind": "restriction", "regimes": []any{"vcdpa"}}, `voluntary[0].regimes[0]: "vcdpa" is not in regimes`},
		{"days out of range", map[string]any{"kind": "restriction", "days": 400}, "voluntary[0].days"},
	} {
		_, err := parseConfigString(configJSON(t, func(m map[string]any) {
			m["regimes"] = []any{"gdpr", "ccpa"}
			m["voluntary"] = []any{tc.offer}
		}))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestPauseReasonsAreRegimeData(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		regime string
		pauses []string
	}{
		{"gdpr", []string{"identity", "clarification"}},
		{"uk_gdpr", []string{"identity", "clarification"}},
		{"ccpa", nil},
		{"vcdpa", nil},
		{"ocpa", []string{"identity"}},
	} {
		r := mustRegime(t, tc.regime)
		var got []string
		for _, reason := range dsr.InfoReasons {
			if r.PausesFor(reason) {
				got = append(got, reason)
			}
		}
		if !reflect.DeepEqual(got, tc.pauses) {
			t.Errorf("%s pauses for %v, want %v", tc.regime, got, tc.pauses)
		}
	}
}

func TestClockStoppedText(t *testing.T) {
	t.Parallel()
	org := policyConfig(t, nil)
	received := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r := planRequest(t, org, "gdpr", dsr.KindAccess, dsr.StatusInProgress, received, false)
	if got := dsr.ClockStoppedText(r, time.UTC); got != "" {
		t.Errorf("running clock: %q", got)
	}
	c, _, err := dsr.PlanRequestInfo(org, r, "user:1", "clarification", "Which account?", received.Add(4*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	after := c.ApplyTo(r, received.Add(4*24*time.Hour))
	want := "clock stopped since Sat 5 Dec 2026, " + fmt.Sprint(dsr.NewDate(2026, 12, 5).DaysUntil(after.DueOn)) + " days remain"
	if got := dsr.ClockStoppedText(after, time.UTC); got != want {
		t.Errorf("stopped clock: %q, want %q", got, want)
	}
}
