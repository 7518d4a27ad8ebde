package dsr_test

import (
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
)

func TestGPCRegime(t *testing.T) {
	t.Parallel()
	both, err := parseConfigString(configJSON(t, func(m map[string]any) {
		m["regimes"] = []any{"cpa", "ccpa", "vcdpa"}
		m["jurisdictions"] = []any{
			map[string]any{"countries": []any{"US"}, "states": []any{"CO"}, "regime": "cpa"},
			map[string]any{"countries": []any{"US"}, "states": []any{"CA"}, "regime": "ccpa"},
			map[string]any{"countries": []any{"US"}, "states": []any{"VA"}, "regime": "vcdpa"},
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	coOnly, err := parseConfigString(configJSON(t, func(m map[string]any) {
		m["regimes"] = []any{"vcdpa", "cpa"}
		m["jurisdictions"] = []any{
			map[string]any{"countries": []any{"US"}, "states": []any{"VA"}, "regime": "vcdpa"},
			map[string]any{"countries": []any{"US"}, "states": []any{"CO"}, "regime": "cpa"},
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	after, before := dsr.NewDate(2026, 3, 2), dsr.NewDate(2024, 6, 30) // CPA's universal opt-out applies from 1 Jul 2024
	for _, tc := range []struct {
		name           string
		org            *dsr.Config
		country, state string
		on             dsr.Date
		want, place    string
		code           string
	}{
		{"no place: CCPA first", both, "", "", after, "ccpa", "US/CA", ""},
		{"Colorado place", both, "US", "CO", after, "cpa", "US/CO", ""},
		{"Virginia does not require GPC", both, "US", "VA", after, "", "", dsr.EUNAVAILABLE},
		{"no CCPA: the first law requiring it", coOnly, "", "", after, "cpa", "US/CO", ""},
		{"before the CPA's GPC date", coOnly, "", "", before, "", "", dsr.EUNAVAILABLE},
		{"Colorado before the date", coOnly, "US", "CO", before, "", "", dsr.EUNAVAILABLE},
		{"bad country", both, "QQ", "", after, "", "", dsr.EINVALID},
		{"state without country", both, "", "CO", after, "", "", dsr.EINVALID},
	} {
		p, err := dsr.GPCRegime(tc.org, tc.country, tc.state, tc.on)
		if tc.code != "" {
			if codeOf(err) != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
			continue
		}
		if err != nil || p.Regime.ID != tc.want || p.Country+"/"+p.State != tc.place {
			t.Errorf("%s: %+v %v, want %s at %s", tc.name, p, err, tc.want, tc.place)
		}
	}
	if laws := dsr.GPCLaws(both, after); len(laws) != 2 || laws[0].ID != "cpa" || laws[1].ID != "ccpa" {
		t.Errorf("GPCLaws = %v, want cpa, ccpa in config order", laws)
	}
}
