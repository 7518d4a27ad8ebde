package api_test

// End-to-end tests per seed organisation (issue #12, "Done when"): each
// starts a desk with examples/seeds/<org>.json (real PostgreSQL, real
// SMTP) and runs every promise its policy (shared/seeds) makes through
// the public form, the JSON API, the emailed links, the status page, the
// console and the admin API: the request types offered and refused, the
// channels, the deadlines, agents, fees, complaint routes and the
// processor path.

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
)

// UbiOps (shared/seeds/004): GDPR for the EEA; "a summary of your
// personal data … change your data or delete it … by sending an email …
// or writing to Dutch Analytics …"; "we will delete the respective data
// within 14 days after receipt"; backups kept up to 14 days.
func TestSeedUbiOpsEndToEnd(t *testing.T) {
	t.Parallel()
	o := startOrg(t, "ubiops")
	// Request types: the four the policy names, on the form and the API.
	o.kindsOnForm("access", "rectification", "erasure", "opt_out")
	containsAll(t, "the form", o.formPage(), "back-up systems for up to 14 days")
	containsNone(t, "the form of an EU-only organisation", o.formPage(), `id="f-oo-sale"`, `id="f-oo-sharing"`)
	o.apiRefused(`{"kind": "portability", "subject": {"email": "p@example.com", "country": "NL"}, "fields": {"format": "json"}}`, "kind")
	o.apiRefused(`{"kind": "opt_out", "subject": {"email": "s@example.com", "country": "NL"}, "fields": {"opt_out_of": ["sale"]}}`, "fields.opt_out_of")

	// Erasure through the form: the promise of 14 days from receipt.
	id := o.form(url.Values{"kind": {"erasure"}, "email": {"eva@example.com"}, "name": {"Eva"}, "country": {"NL"}})
	o.confirm("eva@example.com")
	dt := o.detail(id)
	received := dt["received_at"].(string)
	if want := dueAfter(t, dsr.DateIn(mustTime(t, received), o.d.Org.Location()).String(), 14); dt["due_on"] != want || dt["policy_due"] != want {
		t.Fatalf("erasure due %v (policy %v), want %s: received %s + 14 days", dt["due_on"], dt["policy_due"], want, received)
	}
	if !ledgerHas(dt, "policy_due", "14 days") {
		t.Errorf("ledger lacks the promise: %v", dt["ledger"])
	}
	o.mail("eva@example.com", "is being handled", "Hello Eva,", "back-up systems for up to 14 days")
	// The promise is kept: an extension is refused naming it.
	out := o.act(id, "extend", map[string]string{"reason": "Backups"}, 409)
	containsAll(t, "the refused extension", mustJSON(out), "we will delete the respective data within 14 days after receipt of the request")
	o.act(id, "complete", map[string]any{"summary": "Deleted your account and project data.", "systems": "accounts, projects"}, 200)
	m := o.mail("eva@example.com", "is complete", "Deleted your account and project data.")
	containsNone(t, "the completion mail", m.Text, "sale", "selling")

	// An opt-out through the API: GDPR choices only.
	rc := o.api(`{"kind": "opt_out", "subject": {"email": "otto@example.com", "country": "DE"}, "fields": {"opt_out_of": ["direct_marketing"]}}`)
	if rc.Regime != "gdpr" {
		t.Fatalf("opt-out receipt %+v", rc)
	}
	o.mail("otto@example.com", "", "stop using your personal data for direct marketing", "unsubscribe link")

	// "or writing to Dutch Analytics": a letter, entered by the officer,
	// answered by letter from the organisation's address.
	code, entered := adminCall(t, o.d, o.tok, "POST", "/api/v1/admin/requests", map[string]any{"kind": "access", "channel": "letter",
		"received_at": o.d.Clock.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339),
		"subject":     map[string]any{"name": "Lou Letter", "country": "NL", "postal_address": "Keizersgracht 1\n1015 AA Amsterdam"}})
	if code != 201 {
		t.Fatalf("letter entry: %d %v", code, entered)
	}
	lid := entered["id"].(string)
	o.act(lid, "verify", map[string]string{"method": "signed letter", "note": "matches the account"}, 200)
	o.d.RunDue(t, time.Minute)
	letters, err := o.d.Engine.Letters(context.Background(), lid)
	if err != nil || len(letters) != 1 {
		t.Fatalf("letters: %v %v", letters, err)
	}
	_, page := o.officer.get("/console/requests/" + lid + "/letters/" + letters[0].MessageID)
	containsAll(t, "the acknowledgment letter", page, "Lou Letter", "Keizersgracht 1", "Wilhelmina van Pruisenweg 35", "write to us at UbiOps")
	containsNone(t, "the acknowledgment letter", page, "/status/")
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return at
}

// Ontra (shared/seeds/002): CCPA for California (Supplemental California
// Notice, authorized agents), VCDPA for Virginia, GDPR and UK GDPR for
// the EU/UK with JAMS (DPF) and Art. 27 representatives; "restrict or
// stop certain processing" offered to everyone.
func TestSeedOntraEndToEnd(t *testing.T) {
	t.Parallel()
	o := startOrg(t, "ontra")
	o.kindsOnForm("access", "rectification", "erasure", "portability", "opt_out", "restriction")
	o.apiRefused(`{"kind": "objection", "subject": {"email": "x@example.com", "country": "NL"}, "fields": {"processing": "ads", "grounds": "mine"}}`, "kind")

	// Restriction for a Californian: offered voluntarily, the CCPA's
	// general 45 days.
	rc := o.api(`{"kind": "restriction", "subject": {"email": "cal@example.com", "country": "US", "state": "CA"}, "fields": {"ground": "objection_pending"}}`)
	dt := o.detail(rc.ID)
	if !ledgerHas(dt, "voluntary", "offered voluntarily (policy)") {
		t.Fatalf("ledger lacks the voluntary offer: %v", dt["ledger"])
	}
	if want := dueAfter(t, dsr.DateIn(mustTime(t, dt["received_at"].(string)), o.d.Org.Location()).String(), 44); dt["due_on"] != want {
		t.Errorf("voluntary restriction due %v, want %s (45 days counting the day of receipt)", dt["due_on"], want)
	}

	// An authorized agent for a California resident: the subject confirms
	// the agent's authority, mails to the agent speak of the person.
	agent := o.api(`{"kind": "access", "subject": {"email": "cara@example.com", "name": "Cara Cole", "country": "US", "state": "CA"},
		"agent": {"name": "Privacy Agents Inc", "email": "agent@agents.example", "permission": {"filename": "permission.pdf", "content_base64": "` + e2ePermission + `"}}}`)
	o.mail("agent@agents.example", "you filed", "confirm directly")
	confirm := o.mail("cara@example.com", "did you ask an agent", `The name given was: "Privacy Agents Inc"`)
	if resp := post(t, o.d, apitest.LinkWith(t, confirm, "/verify/"), nil); resp.StatusCode != 303 {
		t.Fatalf("the subject confirms the agent: %d", resp.StatusCode)
	}
	o.mail("agent@agents.example", "is being handled", "The request you filed to give Cara Cole a copy of their personal data")
	o.act(agent.ID, "deny", map[string]string{"reason": "exemption_applies", "explanation": "Records held for pending litigation."}, 200)
	m := o.mail("agent@agents.example", "cannot fulfil", "Cara Cole", "California Privacy Protection Agency", "https://cppa.ca.gov/webapplications/complaint")
	containsNone(t, "the agent's refusal mail", m.Text, "JAMS", "DP-Dock", "your personal data")
	// CCPA opt-out of sale over the API; an EU requester cannot pick it.
	o.api(`{"kind": "opt_out", "subject": {"email": "optout@example.com", "country": "US", "state": "CA"}, "fields": {"opt_out_of": ["sale", "sharing"]}}`)
	o.mail("optout@example.com", "", "stop selling your personal data", "Do Not Sell or Share My Personal Information")
	o.apiRefused(`{"kind": "opt_out", "subject": {"email": "eu-oo@example.com", "country": "FR"}, "fields": {"opt_out_of": ["sale"]}}`, "fields.opt_out_of")

	// EU and UK: JAMS and the representative of the region, on the
	// refusal mail and the status page.
	for _, tc := range []struct{ email, country, rep, not string }{
		{"de@example.com", "DE", "DP-Dock GmbH, Attn.: Ontra, Ballindamm 39", "DP Data Protection Services UK"},
		{"gb@example.com", "GB", "DP Data Protection Services UK Ltd.", "DP-Dock"},
	} {
		rc := o.api(`{"kind": "erasure", "subject": {"email": "` + tc.email + `", "country": "` + tc.country + `"}}`)
		o.confirm(tc.email)
		o.act(rc.ID, "deny", map[string]string{"reason": "exemption_applies", "explanation": "Kept for a legal claim."}, 200)
		m := o.mail(tc.email, "cannot fulfil", "Independent recourse: JAMS", "https://www.jamsadr.com/DPF-Dispute-Resolution", tc.rep)
		containsNone(t, tc.country+" refusal mail", m.Text, tc.not, "Privacy Protection Agency")
		containsAll(t, tc.country+" status page", o.statusPage(m), "JAMS")
	}
}
