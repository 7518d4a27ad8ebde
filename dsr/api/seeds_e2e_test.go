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
	// Knowingly broken, it is recorded and the requester told plainly.
	o.act(id, "extend", map[string]any{"reason": "The backup restore takes three weeks.", "override_promise": true}, 200)
	if dt := o.detail(id); !ledgerHas(dt, "promise_broken", "The backup restore takes three weeks.") {
		t.Errorf("ledger lacks the broken promise: %v", dt["ledger"])
	}
	o.mail("eva@example.com", "We need more time", "We will not meet that date.", "within 14 days after receipt", "The backup restore takes three weeks.")
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

	// The same through the form, for a Virginian (VCDPA has no
	// restriction either).
	va := o.form(url.Values{"kind": {"restriction"}, "email": {"vic@example.com"}, "country": {"US"}, "state": {"VA"}, "f_restriction_ground": {"accuracy_contested"}})
	if dt := o.detail(va); dt["regime"] != "vcdpa" || !ledgerHas(dt, "voluntary", "offered voluntarily (policy)") {
		t.Errorf("Virginia restriction from the form: regime %v, ledger %v", dt["regime"], dt["ledger"])
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

// Ontrack Digital (shared/seeds/001): EU-only (GDPR for the EEA); every
// GDPR right including withdrawing consent and objecting to automated
// decisions; "If you request a copy of your information you may be
// required to pay a statutory fee".
func TestSeedOntrackDigitalEndToEnd(t *testing.T) {
	t.Parallel()
	o := startOrg(t, "ontrack-digital")
	o.kindsOnForm("access", "rectification", "erasure", "portability", "opt_out", "restriction", "objection", "withdraw_consent", "automated_decision")
	form := o.formPage()
	containsAll(t, "the form", form, "this may affect our ability to provide certain services")
	containsNone(t, "the form of an EU-only organisation", form, `id="f-oo-sale"`, `id="f-oo-sharing"`, `id="f-oo-targeted_advertising"`)
	if code := o.apiRefused(`{"kind": "access", "subject": {"email": "us@example.com", "country": "US", "state": "CA"}}`, ""); code != "not_available" {
		t.Errorf("a Californian at an EU-only organisation: %s, want not_available", code)
	}

	// Withdrawing consent through the form, objecting to an automated
	// decision through the API.
	wc := o.form(url.Values{"kind": {"withdraw_consent"}, "email": {"wanda@example.com"}, "country": {"RO"}, "f_withdraw_consent_consent_for": {"the newsletter"}})
	o.confirm("wanda@example.com")
	o.mail("wanda@example.com", "is being handled", "Hello,", "stop the processing of your personal data that you withdrew your consent for")
	if dt := o.detail(wc); dt["kind"] != "withdraw_consent" || dt["fields"].(map[string]any)["consent_for"] != "the newsletter" {
		t.Errorf("withdraw_consent detail: %v %v", dt["kind"], dt["fields"])
	}
	o.api(`{"kind": "automated_decision", "subject": {"email": "adam@example.com", "country": "RO"}, "fields": {"decision": "credit limit refused", "wants": ["human_review", "contest"]}}`)
	o.confirm("adam@example.com")
	o.mail("adam@example.com", "is being handled", "reconsider the automated decision about you: have a person review it and let you contest it")

	// The statutory fee for a further copy (GDPR Art. 15(3)): the clock
	// stops while it is awaited and the days waited do not count.
	rc := o.api(`{"kind": "access", "subject": {"email": "ana@example.com", "name": "Ana", "country": "RO"}, "fields": {"scope": "copy"}}`)
	o.confirm("ana@example.com")
	before := o.detail(rc.ID)["due_on"].(string)
	if out := o.act(rc.ID, "request-fee", map[string]any{"amount": "15", "currency": "RON", "reason": "further_copies"}, 200); out["status"] != "awaiting_requester" {
		t.Fatalf("request-fee: %v", out)
	}
	m := o.mail("ana@example.com", "A fee is due", "15.00 RON", "further copies of your personal data", "hello@ontrack.plus")
	containsAll(t, "the status page while the fee is awaited", o.statusPage(m), "15.00 RON is due", "clock stopped since", "it runs again when the fee is received")
	o.d.Clock.Advance(7 * 24 * time.Hour)
	o.act(rc.ID, "fee-paid", nil, 200)
	o.mail("ana@example.com", "Fee received", "15.00 RON")
	dt := o.detail(rc.ID)
	if got := dt["due_on"].(string); got < dueAfter(t, before, 7) || dt["fee"] != nil {
		t.Errorf("after the fee: due %s (was %s; the 7 days waited do not count), fee %v", got, before, dt["fee"])
	}
	if !ledgerHas(dt, "paused", "and 15(3)") {
		t.Errorf("ledger lacks the fee's pause and rule: %v", dt["ledger"])
	}
}

// Nemerosa (shared/seeds/000): a processor for its clients' Ontrack
// installations ("you must contact the relevant client who controls that
// data"); GDPR rights for the data it holds itself.
func TestSeedNemerosaOntrackEndToEnd(t *testing.T) {
	t.Parallel()
	o := startOrg(t, "nemerosa-ontrack")
	o.kindsOnForm("access", "rectification", "erasure", "objection", "restriction")
	containsAll(t, "the form", o.formPage(), `id="processor-notice"`, "we do not host or store it and have no access to it", `action="/requests/processor"`)
	o.apiRefused(`{"kind": "portability", "subject": {"email": "p@example.com", "country": "BE"}, "fields": {"format": "json"}}`, "kind")

	// The processor path: the instructions, on the page and by mail,
	// recorded as redirected (visible in the console), not as a request.
	resp, page := postForm(t, o.d, "/requests/processor", url.Values{"email": {"piet@example.com"}, "client": {"Acme Bank"}})
	if resp.StatusCode != 201 {
		t.Fatalf("processor path: %d\n%s", resp.StatusCode, page)
	}
	containsAll(t, "the processor answer", page, "you must contact the relevant client who controls that data", "recorded your request as redirected")
	o.mail("piet@example.com", "please contact the organisation that controls your data", "you must contact the relevant client", `you named "Acme Bank"`, "we have not refused it")
	_, console := o.officer.get("/console/redirects")
	containsAll(t, "the console's redirects", console, "piet@example.com", "Acme Bank", "you must contact the relevant client who controls that data")
	if _, out := adminCall(t, o.d, o.tok, "GET", "/api/v1/admin/requests", nil); len(out["data"].([]any)) != 0 {
		t.Errorf("the processor path created a request: %v", out["data"])
	}

	// Its own data (licence, billing): an access request, answered that
	// it holds none.
	id := o.form(url.Values{"kind": {"access"}, "email": {"jan@example.com"}, "name": {"Jan"}, "country": {"BE"}, "f_access_scope": {"copy"}})
	o.confirm("jan@example.com")
	o.act(id, "complete", map[string]any{"outcome": "no_data", "summary": "Searched licence, billing and support records."}, 200)
	o.mail("jan@example.com", "is complete", "we hold no personal data about you", "Searched licence, billing and support records.")
}

// Datto / CloudTrax (shared/seeds/003): rights for EEA residents only;
// "lodge a complaint with an appropriate data protection authority in the
// United Kingdom"; its Data Protection representative at privacy@datto.com.
func TestSeedDattoEndToEnd(t *testing.T) {
	t.Parallel()
	o := startOrg(t, "datto")
	o.kindsOnForm("access", "rectification", "erasure", "opt_out")
	containsAll(t, "the form", o.formPage(), "Preference Center")
	o.apiRefused(`{"kind": "portability", "subject": {"email": "p@example.com", "country": "NL"}, "fields": {"format": "json"}}`, "kind")
	for _, place := range []string{`"country": "US", "state": "CT"`, `"country": "GB"`} {
		if code := o.apiRefused(`{"kind": "access", "subject": {"email": "out@example.com", `+place+`}}`, ""); code != "not_available" {
			t.Errorf("%s at an EEA-only organisation: %s, want not_available", place, code)
		}
	}

	// An erasure completed in part: what was kept, and the ICO as the
	// complaint route, in the mail and on the status page.
	id := o.form(url.Values{"kind": {"erasure"}, "email": {"erik@example.com"}, "country": {"DE"}})
	o.confirm("erik@example.com")
	o.act(id, "complete", map[string]any{"outcome": "partial", "summary": "Deleted the portal account.", "systems": "portal",
		"kept": []map[string]string{{"data": "invoices", "basis": "10 years, German commercial law (HGB §257)"}}}, 200)
	m := o.mail("erik@example.com", "is complete", "in part", "invoices: 10 years, German commercial law (HGB §257)",
		"Information Commissioner's Office (ICO)", "https://ico.org.uk/make-a-complaint/", "privacy@datto.com")
	containsNone(t, "the completion mail", m.Text, "a supervisory authority")
	page := o.statusPage(m)
	containsAll(t, "the status page", page, "Information Commissioner&#39;s Office (ICO)", "HGB §257")
	containsNone(t, "the status page", page, "a supervisory authority")

	// A refusal names the ICO too.
	rc := o.api(`{"kind": "access", "subject": {"email": "ana@example.com", "country": "NL"}}`)
	o.confirm("ana@example.com")
	o.act(rc.ID, "deny", map[string]string{"reason": "unverifiable_identity", "explanation": "The portal account does not match."}, 200)
	o.mail("ana@example.com", "cannot fulfil", "Information Commissioner's Office (ICO)", "Wycliffe House", "Our data protection officer: Datto Data Protection representative, privacy@datto.com")
}
