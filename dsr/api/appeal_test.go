package api_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// appealConfig is the test desk's config with Virginia, Colorado and
// Florida added.
var appealConfig = strings.NewReplacer(
	`"regimes": ["gdpr", "uk_gdpr", "ccpa", "ctdpa"],`, `"regimes": ["gdpr", "uk_gdpr", "ccpa", "ctdpa", "vcdpa", "cpa", "fdbr"],`,
	`{"countries": ["US"], "states": ["CT"], "regime": "ctdpa"}`, `{"countries": ["US"], "states": ["CT"], "regime": "ctdpa"},
    {"countries": ["US"], "states": ["VA"], "regime": "vcdpa"},
    {"countries": ["US"], "states": ["CO"], "regime": "cpa"},
    {"countries": ["US"], "states": ["FL"], "regime": "fdbr"}`,
).Replace(apitest.ConfigJSON)

// postAppeal posts the status page's appeal form.
func postAppeal(t *testing.T, d *apitest.Desk, appealURL, reason string, doc []byte) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("reason", reason)
	if doc != nil {
		fw, _ := mw.CreateFormFile("attachment", "letter.pdf")
		_, _ = fw.Write(doc)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, appealURL, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, b := do(t, d, req)
	return resp, string(b)
}

func adminAct(t *testing.T, d *apitest.Desk, tok, id, action string, body any, want int) map[string]any {
	t.Helper()
	code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+id+"/"+action, body)
	if code != want {
		t.Fatalf("%s: %d %v, want %d", action, code, out, want)
	}
	return out
}

// TestVirginiaAppealJourney: a Virginia refusal → appeal filed on the
// status page → reviewer assigned (not the refusing officer) → reminder
// before the appeal deadline → upheld with the Attorney General's route in
// the mail.
func TestVirginiaAppealJourney(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{ConfigJSON: appealConfig})
	refuser, refuserTok := staff(t, d, "alice@testorg.example", workflow.RoleOfficer)
	reviewer, reviewerTok := staff(t, d, "bob@testorg.example", workflow.RoleOfficer)
	const email = "val@example.com"
	rc := newRequest(t, d, "access", email, "US", "VA")
	if rc.Regime != "vcdpa" {
		t.Fatalf("regime %q, want vcdpa", rc.Regime)
	}
	walkVerification(t, d, email)
	adminAct(t, d, refuserTok, rc.ID, "claim", nil, 200)
	adminAct(t, d, refuserTok, rc.ID, "deny", map[string]string{"reason": "exemption_applies", "explanation": "The data is a trade secret."}, 200)

	denial := d.MailWithSubject(t, email, "We cannot fulfil")
	if !strings.Contains(denial.Text, "You may appeal this decision until") || !strings.Contains(denial.Text, "VCDPA") {
		t.Fatalf("denial mail does not say how to appeal:\n%s", denial.Text)
	}
	appealURL := apitest.LinkWith(t, denial, "/appeal")

	// The receipt's link predates the confirmation, which revoked it: it
	// cannot appeal.
	pending := strings.TrimSuffix(rc.StatusURL, "/") + "/appeal"
	if resp, _ := get(t, d, pending); resp.StatusCode != http.StatusGone {
		t.Fatalf("pending link appeal page: %d, want 410", resp.StatusCode)
	}
	if resp, _ := postAppeal(t, d, pending, "I disagree.", nil); resp.StatusCode != http.StatusGone {
		t.Fatalf("pending link appeal: %d, want 410", resp.StatusCode)
	}
	// The refusal's full link shows the appeal on the status page and the form.
	statusURL := strings.TrimSuffix(appealURL, "/appeal")
	if _, page := get(t, d, statusURL); !strings.Contains(page, `id="appeal-link"`) {
		t.Fatalf("status page has no appeal link:\n%s", page)
	}
	if resp, page := get(t, d, appealURL); resp.StatusCode != 200 || !strings.Contains(page, `name="reason"`) {
		t.Fatalf("appeal form: %d\n%s", resp.StatusCode, page)
	}
	// Bad input: field errors, not a 500.
	if resp, page := postAppeal(t, d, appealURL, "  ", nil); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Say why you disagree") {
		t.Fatalf("empty appeal: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := postAppeal(t, d, appealURL, "See my letter.", []byte("MZ not a document")); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad document: %d, want 422", resp.StatusCode)
	}
	resp, _ := postAppeal(t, d, appealURL, "You do hold my data; I saw it in my account.", []byte("%PDF-1.4 letter"))
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "appealed=1") {
		t.Fatalf("appeal: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A second appeal while one is open is refused.
	if resp, _ := postAppeal(t, d, appealURL, "Again.", nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("second appeal: %d, want 409", resp.StatusCode)
	}

	ctx := context.Background()
	req, err := d.Engine.Request(ctx, rc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if req.Status != dsr.StatusAppealed || req.AssigneeID != reviewer.ID || req.AssigneeID == refuser.ID {
		t.Fatalf("after the appeal: status %q assignee %q, want appealed to %s (not the refuser %s)", req.Status, req.AssigneeID, reviewer.ID, refuser.ID)
	}
	appeals, err := d.Engine.Appeals(ctx, rc.ID)
	if err != nil || len(appeals) != 1 {
		t.Fatalf("appeals %v %v", appeals, err)
	}
	a := appeals[0]
	// Virginia: 60 days from receipt of the appeal, the receipt day being day 1.
	received := dsr.DateIn(a.ReceivedAt, d.Org.Location())
	if want := received.AddDays(59); a.DueOn != want || req.DueOn != want || a.RefuserID != refuser.ID || a.AttachmentID == "" || a.Channel != dsr.AppealByStatusPage {
		t.Fatalf("appeal %+v, request due %s; want due %s", a, req.DueOn, want)
	}
	detail, err := d.Engine.RequestDetail(ctx, rc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var ledger []string
	for _, l := range detail.Ledger {
		ledger = append(ledger, l.What)
	}
	if got := strings.Join(ledger, ","); !strings.Contains(got, dsr.LedgerAppealReceived+","+dsr.LedgerAppealDue) {
		t.Fatalf("ledger %s lacks the appeal entries", got)
	}
	if n := countEventsOf(t, d, rc.ID, string(dsr.EventAppealAssigned)); n != 1 {
		t.Fatalf("%d appeal_assigned events", n)
	}
	// The console: the Appeals filter and count, and the appeal on the
	// request page with its ledger entries.
	b := login(t, d, "bob@testorg.example")
	if _, page := b.get("/console"); !strings.Contains(page, `href="/console?status=appealed"`) || !strings.Contains(page, "Appeal under review: <strong>1</strong>") {
		t.Fatalf("queue lacks the appeals count:\n%s", page)
	}
	if _, page := b.get("/console?status=appealed"); !strings.Contains(page, rc.Ref) {
		t.Fatalf("appeals filter lacks %s:\n%s", rc.Ref, page)
	}
	if _, page := b.get("/console/requests/" + rc.ID); !strings.Contains(page, `id="appeals"`) || !strings.Contains(page, "Appeal answer due") ||
		!strings.Contains(page, "alice@testorg.example") || !strings.Contains(page, "I saw it in my account") {
		t.Fatalf("request page lacks the appeal:\n%s", page)
	}
	got := d.MailWithSubject(t, email, "We received your appeal")
	if !strings.Contains(got.Text, a.DueOn.Long()) {
		t.Fatalf("appeal receipt mail lacks the answer date %s:\n%s", a.DueOn.Long(), got.Text)
	}

	// The reviewer is reminded before the appeal's deadline.
	before := mailCount(d, "bob@testorg.example")
	target := a.DueOn.AddDays(-7).Start(d.Org.Location()).Add(9*time.Hour + time.Minute)
	d.RunDue(t, target.Sub(d.Clock.Now()))
	rem := d.MailWithSubject(t, "bob@testorg.example", "Due in 7 days")
	if !strings.Contains(rem.Text, a.DueOn.Long()) || mailCount(d, "bob@testorg.example") <= before {
		t.Fatalf("reminder:\n%s", rem.Text)
	}
	if n := countEventsOf(t, d, rc.ID, "reminder_sent"); n < 1 {
		t.Fatalf("no reminder_sent event")
	}

	// An appeal is answered by deciding it, not by refusing again.
	adminAct(t, d, refuserTok, rc.ID, "deny", map[string]string{"reason": "exemption_applies", "explanation": "Again."}, 409)
	// The refuser may not decide; upheld needs written reasons.
	out := adminAct(t, d, refuserTok, rc.ID, "appeal-decide", map[string]string{"outcome": "upheld", "explanation": "Still exempt."}, 409)
	if e, _ := out["error"].(map[string]any); !strings.Contains(e["rule"].(string), "other than the officer who refused") {
		t.Fatalf("refuser deciding: %v", out)
	}
	adminAct(t, d, reviewerTok, rc.ID, "appeal-decide", map[string]string{"outcome": "upheld"}, 422)
	adminAct(t, d, reviewerTok, rc.ID, "appeal-decide", map[string]string{"outcome": "sideways", "explanation": "x"}, 422)
	if out := adminAct(t, d, reviewerTok, rc.ID, "appeal-decide", map[string]string{"outcome": "upheld", "explanation": "The trade-secret exemption applies to the model weights."}, 200); out["status"] != "denied" {
		t.Fatalf("upheld: %v", out)
	}
	upheld := d.MailWithSubject(t, email, "The outcome of your appeal")
	for _, want := range []string{"The trade-secret exemption applies", "Virginia Attorney General", "https://www.oag.state.va.us/consumer-protection/"} {
		if !strings.Contains(upheld.Text, want) {
			t.Errorf("upheld mail lacks %q:\n%s", want, upheld.Text)
		}
	}
	if appeals, _ := d.Engine.Appeals(ctx, rc.ID); len(appeals) != 1 || appeals[0].Outcome != dsr.AppealUpheld || appeals[0].DecidedAt == nil {
		t.Fatalf("stored appeal %+v", appeals)
	}
	// Decided: nothing more to decide.
	adminAct(t, d, reviewerTok, rc.ID, "appeal-decide", map[string]string{"outcome": "reversed"}, 409)
}

func countEventsOf(t *testing.T, d *apitest.Desk, id, typ string) int {
	t.Helper()
	var n int
	if err := d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE request_id = $1 AND type = $2`, id, typ).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func mailCount(d *apitest.Desk, addr string) int {
	n := 0
	for _, m := range d.SMTP.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				n++
			}
		}
	}
	return n
}

// TestColoradoAppealExtendedOnceThenReversed: an officer enters an appeal
// that came by letter; Colorado lets the answer be extended once by 60
// days (a second extension is 409 with the rule); reversed, the request
// reopens with the days that were left.
func TestColoradoAppealExtendedOnceThenReversed(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{ConfigJSON: appealConfig})
	_, refuserTok := staff(t, d, "alice@testorg.example", workflow.RoleOfficer)
	reviewer, reviewerTok := staff(t, d, "bob@testorg.example", workflow.RoleOfficer)
	const email = "cole@example.com"
	rc := newRequest(t, d, "access", email, "US", "CO")
	walkVerification(t, d, email)
	adminAct(t, d, refuserTok, rc.ID, "deny", map[string]string{"reason": "unverifiable_identity", "explanation": "We could not match the account."}, 200)
	ctx := context.Background()
	refused, _ := d.Engine.Request(ctx, rc.ID)

	// Bad input first: 4xx with field errors.
	adminAct(t, d, reviewerTok, rc.ID, "appeal", map[string]any{"reason": ""}, 422)
	adminAct(t, d, reviewerTok, rc.ID, "appeal", map[string]any{"reason": "x", "received_at": time.Now().Add(48 * time.Hour)}, 422)
	adminAct(t, d, reviewerTok, rc.ID, "appeal", map[string]any{"reason": "x", "bogus": 1}, 422)
	adminAct(t, d, reviewerTok, rc.ID, "appeal-extend", map[string]string{"reason": "Busy."}, 409) // no appeal yet
	adminAct(t, d, reviewerTok, rc.ID, "appeal", map[string]any{"reason": "Letter: I can prove it is my account."}, 200)
	out := adminAct(t, d, reviewerTok, rc.ID, "appeal-extend", map[string]string{"reason": "We must check the identity documents with the bank."}, 200)
	appeals, _ := d.Engine.Appeals(ctx, rc.ID)
	if len(appeals) != 1 || !appeals[0].Extended || appeals[0].DueOn != appeals[0].ReceivedOn.AddDays(104) || out["due_on"] != appeals[0].DueOn.String() {
		t.Fatalf("after the extension: %v, appeal %+v (want due receipt + 105 days, day 1 the receipt)", out, appeals[0])
	}
	ext := d.MailWithSubject(t, email, "We need more time for your appeal")
	if !strings.Contains(ext.Text, "identity documents") || !strings.Contains(ext.Text, appeals[0].DueOn.Long()) {
		t.Fatalf("extension mail:\n%s", ext.Text)
	}
	out = adminAct(t, d, reviewerTok, rc.ID, "appeal-extend", map[string]string{"reason": "Still busy."}, 409)
	if e, _ := out["error"].(map[string]any); !strings.Contains(e["rule"].(string), "6-1-1306(3)(b)") {
		t.Fatalf("second extension: %v, want the Colorado rule", out)
	}

	adminAct(t, d, reviewerTok, rc.ID, "appeal-decide", map[string]string{"outcome": "reversed", "explanation": "The documents match."}, 200)
	req, _ := d.Engine.Request(ctx, rc.ID)
	today := dsr.DateIn(d.Clock.Now(), d.Org.Location())
	left := dsr.DateIn(*refused.ClosedAt, d.Org.Location()).DaysUntil(refused.DueOn)
	if req.Status != dsr.StatusInProgress || req.AssigneeID != reviewer.ID || req.DueOn != today.AddDays(left) || req.ClosedAt != nil {
		t.Fatalf("reversed: status %q assignee %q due %s closed %v; want in_progress, due %s", req.Status, req.AssigneeID, req.DueOn, req.ClosedAt, today.AddDays(left))
	}
	rev := d.MailWithSubject(t, email, "Your appeal was successful")
	if !strings.Contains(rev.Text, req.DueOn.Long()) {
		t.Fatalf("reversed mail:\n%s", rev.Text)
	}
	// The work goes on as for any request.
	if out := adminAct(t, d, reviewerTok, rc.ID, "request-info", map[string]string{"note": "Which account number?", "reason": "clarification"}, 200); out["status"] != "awaiting_requester" {
		t.Fatalf("request-info after the reversal: %v", out)
	}
}

// TestFloridaExtensionIs15DaysOnce: the existing extend path gives
// Florida's one 15-day extension and refuses a second (409 with the rule).
func TestFloridaExtensionIs15DaysOnce(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{ConfigJSON: appealConfig})
	_, tok := staff(t, d, "alice@testorg.example", workflow.RoleOfficer)
	const email = "flo@example.com"
	rc := newRequest(t, d, "access", email, "US", "FL")
	if rc.Regime != "fdbr" {
		t.Fatalf("regime %q, want fdbr", rc.Regime)
	}
	walkVerification(t, d, email)
	before, _ := d.Engine.Request(context.Background(), rc.ID)
	out := adminAct(t, d, tok, rc.ID, "extend", map[string]string{"reason": "Archive retrieval."}, 200)
	if out["due_on"] != before.DueOn.AddDays(15).String() {
		t.Fatalf("extended to %v, want %s (15 days)", out["due_on"], before.DueOn.AddDays(15))
	}
	out = adminAct(t, d, tok, rc.ID, "extend", map[string]string{"reason": "More."}, 409)
	if e, _ := out["error"].(map[string]any); !strings.Contains(e["rule"].(string), "15 days") {
		t.Fatalf("second extension: %v, want the 15-day rule", out)
	}
}

// TestCCPARefusalPointsToCPPAAndAG: CCPA gives no appeal; the refusal
// names the CPPA and the Attorney General instead, and an appeal is 409.
func TestCCPARefusalPointsToCPPAAndAG(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{ConfigJSON: appealConfig})
	_, tok := staff(t, d, "alice@testorg.example", workflow.RoleOfficer)
	staff(t, d, "bob@testorg.example", workflow.RoleOfficer)
	const email = "cal@example.com"
	rc := newRequest(t, d, "access", email, "US", "CA")
	walkVerification(t, d, email)
	adminAct(t, d, tok, rc.ID, "deny", map[string]string{"reason": "exemption_applies", "explanation": "Exempt."}, 200)
	m := d.MailWithSubject(t, email, "We cannot fulfil")
	for _, want := range []string{"California Privacy Protection Agency", "https://cppa.ca.gov/", "California Attorney General", "https://oag.ca.gov/"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("CCPA refusal lacks %q:\n%s", want, m.Text)
		}
	}
	for _, l := range m.Links() {
		if strings.HasSuffix(l, "/appeal") {
			t.Errorf("CCPA refusal carries an appeal link %s", l)
		}
	}
	appealURL := apitest.LinkWith(t, m, "/status/") + "/appeal"
	if resp, _ := get(t, d, appealURL); resp.StatusCode != http.StatusConflict {
		t.Errorf("CCPA appeal page: %d, want 409", resp.StatusCode)
	}
	adminAct(t, d, tok, rc.ID, "appeal", map[string]any{"reason": "I disagree."}, 409)
}
