package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// A request completed or denied while a fee is awaited awaits no fee any
// more: the fee is settled in the closing transaction, and neither the
// status page nor the console nor the admin detail shows it; while it is
// awaited the status page shows the fee and the stopped clock.
func TestCloseSettlesAwaitedFee(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	u, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	b := login(t, d, u.Email)
	for _, tc := range []struct {
		email, action, event string
		body                 map[string]any
	}{
		{"done@example.com", "complete", "completed", map[string]any{"summary": "Searched CRM and billing; nothing held.", "outcome": "no_data"}},
		{"no@example.com", "deny", "denied", map[string]any{"reason": "manifestly_unfounded", "explanation": "The fourth copy this month."}},
	} {
		rc := newRequest(t, d, "access", tc.email, "GB", "")
		adminAct(t, d, tok, rc.ID, "verify", map[string]string{"method": "ID document", "note": "checked"}, 200)
		adminAct(t, d, tok, rc.ID, "request-fee", map[string]any{"amount": "10", "currency": "GBP", "reason": "further_copies"}, 200)
		status := apitest.LinkWith(t, d.MailWithSubject(t, tc.email, "A fee is due"), "/status/")
		if _, page := get(t, d, status); !strings.Contains(page, "10.00 GBP is due (further copies of your personal data)") ||
			!strings.Contains(page, "it runs again when the fee is received") || !strings.Contains(page, "We asked for a fee of 10.00 GBP") {
			t.Fatalf("status page while the fee is awaited:\n%s", page)
		}

		adminAct(t, d, tok, rc.ID, tc.action, tc.body, 200)
		if f, err := d.Engine.FeeOf(context.Background(), rc.ID); err != nil || f != nil {
			t.Errorf("%s: fee still stored after the close: %+v %v", tc.action, f, err)
		}
		if _, page := get(t, d, status); strings.Contains(page, "is due (") || strings.Contains(page, "when the fee is received") {
			t.Errorf("%s: status page of the closed request shows the fee:\n%s", tc.action, page)
		}
		if _, page := b.get("/console/requests/" + rc.ID); strings.Contains(page, "Awaiting a fee") {
			t.Errorf("%s: console shows the fee on a closed request", tc.action)
		}
		_, dt := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+rc.ID, nil)
		if dt["fee"] != nil {
			t.Errorf("%s: detail fee %v", tc.action, dt["fee"])
		}
		var dropped string
		if err := d.Pool.QueryRow(context.Background(), `SELECT data->>'fee_dropped' FROM events WHERE request_id = $1 AND type = $2`, rc.ID, tc.event).Scan(&dropped); err != nil || dropped != "10.00 GBP" {
			t.Errorf("%s: closing event fee_dropped %q %v, want 10.00 GBP", tc.action, dropped, err)
		}
	}
}
