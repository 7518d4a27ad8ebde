package api_test

// Helpers of the end-to-end tests per organisation (seeds_e2e_test.go):
// a desk started with one of examples/seeds, an officer with an API token
// and a console session, and the requester's steps over plain HTTP (the
// form, the JSON API, the emailed links) with real SMTP.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/notify/smtptest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// e2ePermission is a tiny valid PDF: an agent's signed permission.
const e2ePermission = "JVBERi0xLjQKMSAwIG9iaiA8PCAvVHlwZSAvQ2F0YWxvZyA+PiBlbmRvYmoKdHJhaWxlciA8PCAvUm9vdCAxIDAgUiA+PgolJUVPRgo="

// orgDesk is a seed organisation's desk with its officer.
type orgDesk struct {
	t       *testing.T
	d       *apitest.Desk
	tok     string
	officer *browser
}

func startOrg(t *testing.T, seed string) *orgDesk {
	t.Helper()
	d := seedDesk(t, seed)
	u, tok := staff(t, d, "officer@"+seed+".example", workflow.RoleOfficer)
	return &orgDesk{t: t, d: d, tok: tok, officer: login(t, d, u.Email)}
}

// api submits a request over the JSON API (POST /api/v1/requests) and
// returns its receipt; it fails the test unless it is created.
func (o *orgDesk) api(body string) receipt {
	o.t.Helper()
	resp, b := postJSON(o.t, o.d, body, nil)
	return mustReceipt(o.t, resp, b)
}

// apiRefused submits a request over the JSON API that must be refused
// with a 422 naming field, and returns the field's message.
func (o *orgDesk) apiRefused(body, field string) string {
	o.t.Helper()
	resp, b := postJSON(o.t, o.d, body, nil)
	var out struct {
		Error struct {
			Code   string            `json:"code"`
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &out)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		o.t.Fatalf("%s: %d %s, want 422 on %s", body, resp.StatusCode, b, field)
	}
	if field == "" {
		return out.Error.Code
	}
	msg, ok := out.Error.Fields[field]
	if !ok {
		o.t.Fatalf("%s: 422 without an error on %s: %s", body, field, b)
	}
	return msg
}

// form submits the public form (POST /requests) and returns the request
// id, found by the requester's email over the admin API.
func (o *orgDesk) form(v url.Values) string {
	o.t.Helper()
	resp, page := postForm(o.t, o.d, "/requests", v)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(page, "We received your request") {
		o.t.Fatalf("form: %d\n%s", resp.StatusCode, page)
	}
	_, out := adminCall(o.t, o.d, o.tok, "GET", "/api/v1/admin/requests?q="+url.QueryEscape(v.Get("email")), nil)
	data, _ := out["data"].([]any)
	if len(data) != 1 {
		o.t.Fatalf("requests of %s: %v", v.Get("email"), out)
	}
	return data[0].(map[string]any)["id"].(string)
}

// formPage is the public form's HTML.
func (o *orgDesk) formPage() string {
	o.t.Helper()
	_, page := get(o.t, o.d, o.d.URL+"/")
	return page
}

// kindsOnForm checks that the form offers exactly kinds (of all kinds).
func (o *orgDesk) kindsOnForm(offered ...string) {
	o.t.Helper()
	page := o.formPage()
	all := []string{"access", "rectification", "erasure", "portability", "opt_out", "restriction", "objection", "withdraw_consent", "automated_decision"}
	for _, k := range all {
		want := false
		for _, o := range offered {
			want = want || o == k
		}
		if got := strings.Contains(page, `name="kind" id="kind-`+k+`"`); got != want {
			o.t.Errorf("form offers %s: %v, want %v", k, got, want)
		}
	}
}

// confirm opens the confirmation link mailed to email and confirms.
func (o *orgDesk) confirm(email string) {
	o.t.Helper()
	m := o.d.MailWithSubject(o.t, email, "Please confirm")
	if resp := post(o.t, o.d, apitest.LinkWith(o.t, m, "/verify/"), nil); resp.StatusCode != http.StatusSeeOther {
		o.t.Fatalf("confirm %s: %d", email, resp.StatusCode)
	}
}

// act runs an officer action over the admin API, wanting status want.
func (o *orgDesk) act(id, action string, body any, want int) map[string]any {
	o.t.Helper()
	return adminAct(o.t, o.d, o.tok, id, action, body, want)
}

// detail is the admin API's request detail.
func (o *orgDesk) detail(id string) map[string]any {
	o.t.Helper()
	code, out := adminCall(o.t, o.d, o.tok, "GET", "/api/v1/admin/requests/"+id, nil)
	if code != 200 {
		o.t.Fatalf("detail %s: %d %v", id, code, out)
	}
	return out
}

// mail is the mail to addr whose subject contains part; its text must
// contain every one of wants.
func (o *orgDesk) mail(addr, part string, wants ...string) smtptest.Received {
	o.t.Helper()
	m := o.d.MailWithSubject(o.t, addr, part)
	for _, w := range wants {
		if !strings.Contains(m.Text, w) {
			o.t.Errorf("mail %q to %s lacks %q:\n%s", m.Subject, addr, w, m.Text)
		}
	}
	return m
}

// statusPage is the page behind the status link of mail m.
func (o *orgDesk) statusPage(m smtptest.Received) string {
	o.t.Helper()
	_, page := get(o.t, o.d, apitest.LinkWith(o.t, m, "/status/"))
	return page
}

// dueAfter is the date n days after the API date s.
func dueAfter(t *testing.T, s string, n int) string {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s[:10])
	if err != nil {
		t.Fatalf("date %q: %v", s, err)
	}
	return d.AddDate(0, 0, n).Format(time.DateOnly)
}

func containsAll(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

func containsNone(t *testing.T, what, text string, nots ...string) {
	t.Helper()
	for _, n := range nots {
		if strings.Contains(text, n) {
			t.Errorf("%s says %q:\n%s", what, n, text)
		}
	}
}
