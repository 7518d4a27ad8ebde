package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// coloradoOnlyConfig applies the CPA for Colorado and no CCPA.
var coloradoOnlyConfig = strings.NewReplacer(
	`"regimes": ["gdpr", "uk_gdpr", "ccpa", "ctdpa"],`, `"regimes": ["gdpr", "uk_gdpr", "cpa"],`,
	`{"countries": ["US"], "states": ["CA"], "regime": "ccpa"},`, ``,
	`{"countries": ["US"], "states": ["CT"], "regime": "ctdpa"}`, `{"countries": ["US"], "states": ["CO"], "regime": "cpa"}`,
	`"ccpa": "US", "ctdpa": "US"`, `"cpa": "US"`,
).Replace(apitest.ConfigJSON)

// optOutRequiredBy returns the required_by of the opt-out feed's entries.
func optOutRequiredBy(t *testing.T, d *apitest.Desk, tok string) []map[string]any {
	t.Helper()
	code, out := adminCall(t, d, tok, "GET", "/api/v1/admin/opt-outs?since=2000-01-01", nil)
	data, _ := out["data"].([]any)
	if code != 200 {
		t.Fatalf("opt-outs: %d %v", code, out)
	}
	var rb []map[string]any
	for _, o := range data {
		rb = append(rb, o.(map[string]any)["required_by"].(map[string]any))
	}
	return rb
}

// TestGPCUnderColoradoWithoutCCPA: an organisation applying only
// Colorado's CPA (universal opt-out from 1 Jul 2024) honours the signal:
// the form says so, the API records it under the CPA, and the feed names
// the law.
func TestGPCUnderColoradoWithoutCCPA(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{ConfigJSON: coloradoOnlyConfig})
	_, tok := staff(t, d, "alice@testorg.example", workflow.RoleOfficer)
	req, _ := http.NewRequest(http.MethodGet, d.URL+"/", nil)
	req.Header.Set("Sec-GPC", "1")
	if resp, body := do(t, d, req); resp.StatusCode != 200 || !strings.Contains(string(body), `id="gpc-notice"`) || !strings.Contains(string(body), "CPA requires it") {
		t.Fatalf("form notice: %d\n%s", resp.StatusCode, body)
	}
	resp, b := gpcPost(t, d, `{"device_id": "dev-co"}`, true)
	if resp.StatusCode != http.StatusAccepted || string(b) != `{"status":"recorded","regime":"cpa","opt_out_of":"sale,sharing"}`+"\n" {
		t.Fatalf("GPC answer %d %q", resp.StatusCode, b)
	}
	if resp, again := gpcPost(t, d, `{"device_id": "dev-co"}`, true); resp.StatusCode != http.StatusAccepted || string(again) != string(b) {
		t.Fatalf("repeat answer %d %q, want the same bytes", resp.StatusCode, again)
	}
	rb := optOutRequiredBy(t, d, tok)
	if len(rb) != 1 || rb[0]["regime"] != "cpa" || !strings.Contains(rb[0]["citation"].(string), "6-1-13") || !strings.Contains(rb[0]["rule"].(string), "4 CCR 904-3") {
		t.Fatalf("required_by %v, want the CPA with its citation and GPC rule", rb)
	}
}

// TestGPCPlaceChoosesTheLaw: with CCPA and CPA applied, a Colorado place
// records the signal under the CPA, no place keeps the CCPA, and a place
// whose law does not require the signal (Virginia) or a bad place is
// refused with 4xx.
func TestGPCPlaceChoosesTheLaw(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{ConfigJSON: appealConfig})
	_, tok := staff(t, d, "alice@testorg.example", workflow.RoleOfficer)
	for _, tc := range []struct{ body, regime string }{
		{`{"device_id": "d1", "country": "US", "state": "CO"}`, "cpa"},
		{`{"device_id": "d2"}`, "ccpa"},
		{`{"device_id": "d3", "country": "us", "state": "ca"}`, "ccpa"},
	} {
		resp, b := gpcPost(t, d, tc.body, true)
		if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(b), `"regime":"`+tc.regime+`"`) {
			t.Errorf("%s: %d %s, want %s", tc.body, resp.StatusCode, b, tc.regime)
		}
	}
	for _, body := range []string{`{"device_id": "d4", "country": "US", "state": "VA"}`, `{"device_id": "d5", "country": "ZZ"}`,
		`{"device_id": "d6", "state": "CO"}`, `{"device_id": "d7", "country": "US", "state": "XX"}`} {
		if resp, b := gpcPost(t, d, body, true); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s, want 422", body, resp.StatusCode, b)
		}
	}
	seen := map[string]bool{}
	for _, r := range optOutRequiredBy(t, d, tok) {
		seen[r["regime"].(string)] = r["rule"] != ""
	}
	if len(seen) != 2 || !seen["cpa"] || !seen["ccpa"] {
		t.Fatalf("required_by regimes %v, want cpa and ccpa with their rules", seen)
	}
}
