package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
)

// The JSON API refuses opt-out choices that the law where the requester
// lives does not have, as the form does: 422 on fields.opt_out_of naming
// the valid choices for that place; the right choices are accepted.
func TestAPIOptOutChoicesFollowThePlace(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	for _, tc := range []struct {
		name, subject, choices string
		status                 int
		valid                  string
	}{
		{"eu sale", `"country": "NL"`, `["sale", "sharing"]`, 422, "direct_marketing, profiling"},
		{"ca direct marketing", `"country": "US", "state": "CA"`, `["direct_marketing"]`, 422, "sale, sharing, targeted_advertising, profiling"},
		{"eu direct marketing", `"country": "NL"`, `["direct_marketing"]`, 201, ""},
		{"ca sale", `"country": "US", "state": "CA"`, `["sale"]`, 201, ""},
	} {
		resp, b := postJSON(t, d, `{"kind": "opt_out", "subject": {"email": "oo@example.com", `+tc.subject+`}, "fields": {"opt_out_of": `+tc.choices+`}}`, nil)
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: %d %s, want %d", tc.name, resp.StatusCode, b, tc.status)
		}
		if tc.status != 422 {
			continue
		}
		var out struct {
			Error struct {
				Fields map[string]string `json:"fields"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if msg := out.Error.Fields["fields.opt_out_of"]; !strings.Contains(msg, "valid choices: "+tc.valid) {
			t.Errorf("%s: fields.opt_out_of %q lacks the valid choices %q (%s)", tc.name, msg, tc.valid, b)
		}
	}
}
