package dsr_test

import (
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
)

func TestLookupRegime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"gdpr", "gdpr"},
		{"uk_gdpr", "uk_gdpr"},
		{"uk-gdpr", "uk_gdpr"},
		{"cpa-co", "cpa"},
		{"cpa", "cpa"},
		{"CCPA", "ccpa"},
		{" gdpr ", "gdpr"},
	}
	for _, tt := range tests {
		r, err := dsr.LookupRegime(tt.in)
		if err != nil {
			t.Errorf("LookupRegime(%q): %v", tt.in, err)
			continue
		}
		if r.ID != tt.want {
			t.Errorf("LookupRegime(%q).ID = %q, want %q", tt.in, r.ID, tt.want)
		}
	}
}

func TestLookupRegimeUnknown(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "gdpr2", "uk", "ccpa ca", "cpa_co"} {
		r, err := dsr.LookupRegime(in)
		if err == nil {
			t.Errorf("LookupRegime(%q) = %v, want an error", in, r.ID)
			continue
		}
		if code := dsr.ErrorCode(err); code != dsr.EINVALID {
			t.Errorf("LookupRegime(%q): code %q, want %q", in, code, dsr.EINVALID)
		}
		msg := dsr.ErrorMessage(err)
		for _, id := range dsr.RegimeIDs() {
			if !strings.Contains(msg, id) {
				t.Errorf("LookupRegime(%q): message %q does not name valid id %q", in, msg, id)
			}
		}
	}
}

func TestRegimesInScope(t *testing.T) {
	t.Parallel()
	ids := map[string]bool{}
	for _, id := range dsr.RegimeIDs() {
		if ids[id] {
			t.Errorf("regime id %q twice", id)
		}
		ids[id] = true
	}
	for _, id := range []string{"gdpr", "uk_gdpr", "ccpa", "vcdpa", "cpa", "ctdpa", "ucpa", "tdpsa", "ocpa", "lgpd", "pipeda"} {
		if !ids[id] {
			t.Errorf("regime %q missing (have %v)", id, dsr.RegimeIDs())
		}
		if _, err := dsr.LookupRegime(id); err != nil {
			t.Errorf("LookupRegime(%q): %v", id, err)
		}
	}
}

func regimeForTest(t *testing.T, id string) *dsr.Regime {
	t.Helper()
	r, err := dsr.LookupRegime(id)
	if err != nil {
		t.Fatalf("LookupRegime(%q): %v", id, err)
	}
	return r
}

func TestRequiresVerification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		regime string
		kind   dsr.Kind
		want   bool
	}{
		{"ccpa", dsr.KindOptOut, false},
		{"ccpa", dsr.KindAccess, true},
		{"ccpa", dsr.KindErasure, true},
		{"ctdpa", dsr.KindOptOut, false},
		{"ocpa", dsr.KindOptOut, false},
		{"vcdpa", dsr.KindOptOut, true},
		{"tdpsa", dsr.KindOptOut, true},
		{"gdpr", dsr.KindAccess, true},
		{"uk_gdpr", dsr.KindErasure, true},
	}
	for _, tt := range tests {
		r := regimeForTest(t, tt.regime)
		if got := r.RequiresVerification(tt.kind); got != tt.want {
			t.Errorf("%s.RequiresVerification(%s) = %v, want %v", tt.regime, tt.kind, got, tt.want)
		}
	}
}

func TestPausesClock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		regime string
		want   bool
	}{
		{"uk_gdpr", true},
		{"gdpr", true},
		{"ocpa", true},
		{"ucpa", true},
		{"ccpa", false},
	}
	for _, tt := range tests {
		r := regimeForTest(t, tt.regime)
		if got := r.PausesClock(); got != tt.want {
			t.Errorf("%s.PausesClock() = %v, want %v", tt.regime, got, tt.want)
		}
		if r.PausesClock() && strings.TrimSpace(r.Pause.Rule) == "" {
			t.Errorf("%s pauses the clock but names no rule", tt.regime)
		}
	}
}

func TestPeriodFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		regime     string
		kind       dsr.Kind
		want       dsr.Period
		extendable bool
	}{
		{"ccpa", dsr.KindOptOut, dsr.Period{Days: 15, Unit: dsr.UnitBusiness}, false},
		{"ccpa", dsr.KindAccess, dsr.Period{Days: 45, Unit: dsr.UnitCalendar}, true},
		{"gdpr", dsr.KindErasure, dsr.Period{Months: 1}, true},
		{"uk_gdpr", dsr.KindAccess, dsr.Period{Months: 1}, true},
		{"lgpd", dsr.KindAccess, dsr.Period{Days: 15, Unit: dsr.UnitCalendar}, false},
	}
	for _, tt := range tests {
		r := regimeForTest(t, tt.regime)
		p, ext, rule := r.PeriodFor(tt.kind)
		if p != tt.want {
			t.Errorf("%s.PeriodFor(%s) period = %+v, want %+v", tt.regime, tt.kind, p, tt.want)
		}
		if ext != tt.extendable {
			t.Errorf("%s.PeriodFor(%s) extendable = %v, want %v", tt.regime, tt.kind, ext, tt.extendable)
		}
		if strings.TrimSpace(rule) == "" {
			t.Errorf("%s.PeriodFor(%s) has no rule", tt.regime, tt.kind)
		}
	}
	if got := (dsr.Period{Days: 15, Unit: dsr.UnitBusiness}).String(); got != "15 business days" {
		t.Errorf("Period.String() = %q", got)
	}
	if got := (dsr.Period{Months: 3}).String(); got != "3 months" {
		t.Errorf("Period.String() = %q", got)
	}
}

func TestRegimeData(t *testing.T) {
	t.Parallel()
	for _, r := range dsr.Regimes() {
		t.Run(r.ID, func(t *testing.T) {
			t.Parallel()
			cal, err := dsr.LookupCalendar(r.Calendar)
			if err != nil {
				t.Errorf("default calendar %q: %v", r.Calendar, err)
			} else if cal.Code != strings.ToUpper(r.Calendar) {
				t.Errorf("LookupCalendar(%q).Code = %q", r.Calendar, cal.Code)
			}
			if strings.TrimSpace(r.Complaint) == "" {
				t.Error("empty Complaint text")
			}
			if r.Short == "" || r.Name == "" {
				t.Errorf("Short %q / Name %q empty", r.Short, r.Name)
			}
			if len(r.Kinds) == 0 || !r.Covers(dsr.KindAccess) {
				t.Errorf("kinds %v: every regime covers access", r.Kinds)
			}
			for _, k := range r.Kinds {
				if _, err := dsr.ParseKind(string(k)); err != nil {
					t.Errorf("kind %q: %v", k, err)
				}
				if _, err := dsr.ComputeDeadlines(dsr.DeadlineInput{Regime: r, Kind: k, Received: dsr.NewDate(2026, 3, 2)}); err != nil {
					t.Errorf("ComputeDeadlines(%s): %v", k, err)
				}
			}
			if ack := r.Ack; ack != nil {
				for _, k := range ack.Kinds {
					if !r.Covers(k) {
						t.Errorf("ack names uncovered kind %q", k)
					}
				}
			}
			for k := range r.KindPeriods {
				if !r.Covers(k) {
					t.Errorf("kind_periods names uncovered kind %q", k)
				}
			}
			// Looking up the regime by its reference id finds it again.
			if r.SourceID != "" {
				if got, err := dsr.LookupRegime(r.SourceID); err != nil || got != r {
					t.Errorf("LookupRegime(source id %q) = %v, %v", r.SourceID, got, err)
				}
			}
		})
	}
}
