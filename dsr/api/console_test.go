package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

const testPassword = "correct horse battery staple"

// staff creates a user and returns it with an API token.
func staff(t *testing.T, d *apitest.Desk, email, role string) (*workflow.User, string) {
	t.Helper()
	hash, err := dsr.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	u := &workflow.User{Email: email, Name: strings.Split(email, "@")[0], Role: role, PasswordHash: hash}
	if err := d.Engine.AddUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	raw, h := db.NewAPIToken()
	if _, err := db.InsertAPIToken(context.Background(), d.Pool, u.ID, "test", h); err != nil {
		t.Fatal(err)
	}
	return u, raw
}

// browser is a cookie-keeping client signed in to the console.
type browser struct {
	t    *testing.T
	d    *apitest.Desk
	c    *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func login(t *testing.T, d *apitest.Desk, email string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, d: d, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	b.get("/console/login")
	resp, _ := b.post("/console/login", url.Values{"email": {email}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/dashboard" {
		t.Fatalf("login %s: %d %s", email, resp.StatusCode, resp.Header.Get("Location"))
	}
	// Follow the redirect, as a browser does: the page carries the
	// session's CSRF token (the login form's one died at sign-in).
	b.get("/console")
	return b
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.d.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", b.csrf)
	req, _ := http.NewRequest(http.MethodPost, b.d.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// publicRoutes are the routes anyone may call. Every other route must be
// behind the console session or an API token: a new route that is in
// neither list fails this test.
var publicRoutes = map[string]bool{
	"GET /healthz": true, "GET /readyz": true, "GET /static/*": true, "GET /static*": true, "GET /": true, "GET /requests/new": true,
	"POST /requests": true, "POST /requests/processor": true, "GET /verify/:token": true, "POST /verify/:token": true, "GET /status/:token": true,
	"GET /status/:token/withdraw": true, "POST /status/:token/withdraw": true, "POST /status/:token/answer": true, "GET /status/:token/appeal": true, "POST /status/:token/appeal": true,
	"POST /api/v1/requests": true, "GET /download/:token": true, "GET /download/:token/:file": true,
	"GET /console/login": true, "POST /console/login": true,
	"GET /.well-known/gpc.json": true, "POST /gpc": true, "POST /api/v1/gpc": true,
	"HEAD /": true, "GET /favicon.ico": true,
	"GET /api/openapi.json": true,
}

func concrete(path string) string {
	path = strings.ReplaceAll(path, ":id", "00000000-0000-0000-0000-000000000000")
	path = strings.ReplaceAll(path, ":action", "note")
	path = strings.ReplaceAll(path, ":att", "00000000-0000-0000-0000-000000000000")
	path = strings.ReplaceAll(path, ":task", "00000000-0000-0000-0000-000000000000")
	return strings.ReplaceAll(path, "*", "x")
}

func TestEveryRouteIsPublicOrGuarded(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, viewerToken := staff(t, d, "vera@testorg.example", workflow.RoleViewer)
	staff(t, d, "omar@testorg.example", workflow.RoleOfficer)
	officer := login(t, d, "omar@testorg.example")
	viewer := login(t, d, "vera@testorg.example")
	seen := 0
	for _, r := range d.Server.Echo().Routes() {
		key := r.Method + " " + r.Path
		if publicRoutes[key] || r.Method == "echo_route_not_found" || strings.HasPrefix(r.Name, "github.com/labstack/echo/v4.glob") {
			continue
		}
		seen++
		path := concrete(r.Path)
		switch {
		case strings.HasPrefix(r.Path, "/api/v1/admin"):
			req, _ := http.NewRequest(r.Method, d.URL+path, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			resp, body := do(t, d, req)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"unauthorized"`) {
				t.Errorf("%s anonymous: %d %s, want 401", key, resp.StatusCode, body)
			}
			if r.Method == http.MethodPost {
				req, _ = http.NewRequest(r.Method, d.URL+path, strings.NewReader("{}"))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+viewerToken)
				if resp, body := do(t, d, req); resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s as viewer: %d %s, want 403", key, resp.StatusCode, body)
				}
			}
		case r.Path == "/metrics": // admin API tokens only (metrics_test.go)
			req, _ := http.NewRequest(r.Method, d.URL+path, nil)
			if resp, _ := do(t, d, req); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s anonymous: %d, want 401", key, resp.StatusCode)
			}
			req, _ = http.NewRequest(r.Method, d.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+viewerToken)
			if resp, _ := do(t, d, req); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s as viewer: %d, want 403", key, resp.StatusCode)
			}
		case strings.HasPrefix(r.Path, "/api/v1/tasks/"): // systems' callbacks: a system token, never a user's
			for _, tok := range []string{"", viewerToken} {
				req, _ := http.NewRequest(r.Method, d.URL+path, strings.NewReader("{}"))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tok)
				if resp, body := do(t, d, req); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s with token %q: %d %s, want 401", key, tok, resp.StatusCode, body)
				}
			}
		case strings.HasPrefix(r.Path, "/console"):
			req, _ := http.NewRequest(r.Method, d.URL+path, nil)
			req.Header.Set("Sec-Fetch-Site", "same-origin") // past CSRF, to reach the session check
			resp, _ := do(t, d, req)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login") {
				t.Errorf("%s anonymous: %d → %q, want a redirect to the login page", key, resp.StatusCode, resp.Header.Get("Location"))
			}
			if r.Method == http.MethodPost && !strings.HasSuffix(r.Path, "/logout") && !strings.Contains(r.Path, "/jobs") {
				if resp, _ := viewer.post(path, nil); resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s as viewer: %d, want 403", key, resp.StatusCode)
				}
			}
			if strings.HasPrefix(r.Path, "/console/users") || strings.HasPrefix(r.Path, "/console/jobs") {
				if r.Method == http.MethodGet {
					if resp, _ := officer.get(path); resp.StatusCode != http.StatusForbidden {
						t.Errorf("%s as officer: %d, want 403 (admins only)", key, resp.StatusCode)
					}
				}
			}
		default:
			t.Errorf("route %s is neither public nor under /console or /api/v1/admin: add it to publicRoutes or guard it", key)
		}
	}
	if seen < 10 {
		t.Fatalf("only %d guarded routes found", seen)
	}
}

func TestConsoleLoginCSRFAndRateLimit(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	staff(t, d, "otis@testorg.example", workflow.RoleOfficer)
	b := login(t, d, "otis@testorg.example")
	if resp, body := b.get("/console"); resp.StatusCode != 200 || !strings.Contains(body, "Open requests") {
		t.Fatalf("queue: %d", resp.StatusCode)
	}
	// A form post without the CSRF token (and no Sec-Fetch-Site) is refused.
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/console/bulk", strings.NewReader("action=assign"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST without CSRF token: %d, want 403/400", resp.StatusCode)
	}
	// Logout ends the session.
	if resp, _ := b.post("/console/logout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := b.get("/console"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout: %d, want redirect", resp.StatusCode)
	}
	// Wrong passwords: 401, then 429 once the limit is reached.
	jar, _ := cookiejar.New(nil)
	x := &browser{t: t, d: d, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	x.get("/console/login")
	var codes []int
	for i := 0; i < 7; i++ {
		resp, _ := x.post("/console/login", url.Values{"email": {"otis@testorg.example"}, "password": {"wrong password!"}})
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != http.StatusUnauthorized || codes[len(codes)-1] != http.StatusTooManyRequests {
		t.Fatalf("login attempts: %v, want 401 … 429", codes)
	}
}

func adminCall(t *testing.T, d *apitest.Desk, token, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, b := do(t, d, req)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func newRequest(t *testing.T, d *apitest.Desk, kind, email, country, state string) receipt {
	t.Helper()
	st := "null"
	if state != "" {
		st = `"` + state + `"`
	}
	fields := map[string]string{"portability": `{"format": "json"}`, "opt_out": `{"opt_out_of": ["sale"]}`,
		"rectification": `{"inaccurate": "a", "correction": "b"}`, "restriction": `{"ground": "accuracy_contested"}`,
		"objection": `{"processing": "ads", "grounds": "mine"}`}[kind]
	if fields == "" {
		fields = "{}"
	}
	resp, b := postJSON(t, d, `{"kind": "`+kind+`", "subject": {"email": "`+email+`", "country": "`+country+`", "state": `+st+`}, "fields": `+fields+`}`, nil)
	return mustReceipt(t, resp, b)
}

func errorCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func TestAdminAPIActionsAndRefusals(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	officerUser, tok := staff(t, d, "odette@testorg.example", workflow.RoleOfficer)
	_, viewerTok := staff(t, d, "vic@testorg.example", workflow.RoleViewer)
	a := newRequest(t, d, "access", "s1@example.com", "NL", "")
	b := newRequest(t, d, "erasure", "s2@example.com", "GB", "")
	c := newRequest(t, d, "opt_out", "s3@example.com", "US", "CA")

	// List: same filters and order as the queue.
	code, out := adminCall(t, d, tok, "GET", "/api/v1/admin/requests?limit=2", nil)
	data, _ := out["data"].([]any)
	if code != 200 || len(data) != 2 || out["next_cursor"] == nil {
		t.Fatalf("list: %d %v", code, out)
	}
	code, out = adminCall(t, d, tok, "GET", "/api/v1/admin/requests?cursor="+out["next_cursor"].(string), nil)
	if data2, _ := out["data"].([]any); code != 200 || len(data2) != 1 {
		t.Fatalf("second page: %d %v", code, out)
	}
	if code, out = adminCall(t, d, tok, "GET", "/api/v1/admin/requests?kind=opt_out", nil); len(out["data"].([]any)) != 1 {
		t.Fatalf("filter kind: %v", out)
	}
	if code, out = adminCall(t, d, tok, "GET", "/api/v1/admin/requests?cursor=garbage", nil); code != 422 {
		t.Fatalf("bad cursor: %d", code)
	}
	if code, out = adminCall(t, d, tok, "GET", "/api/v1/admin/requests?q=s2@example.com", nil); len(out["data"].([]any)) != 1 {
		t.Fatalf("search by email: %v", out)
	}

	act := func(id, action string, body any, want int) map[string]any {
		t.Helper()
		code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+id+"/"+action, body)
		if code != want {
			t.Fatalf("%s: %d %v, want %d", action, code, out, want)
		}
		return out
	}
	act(a.ID, "verify", map[string]string{"method": ""}, 422)
	act(a.ID, "verify", map[string]string{"method": "phone call", "note": "called back on the number on file"}, 200)
	if out := act(a.ID, "assign", map[string]string{"assignee": officerUser.ID}, 200); out["status"] != "in_progress" {
		t.Fatalf("assign: %v", out)
	}
	act(a.ID, "note", map[string]string{"note": "Collecting data from CRM."}, 200)
	act(a.ID, "extend", map[string]string{"reason": "Complex request."}, 200)
	if out := act(a.ID, "extend", map[string]string{"reason": "Again"}, 409); errorCode(out) != "conflict" || out["error"].(map[string]any)["rule"] == "" {
		t.Fatalf("second extension: %v", out)
	}
	act(a.ID, "complete", map[string]string{"summary": "Here you go"}, 422) // access needs export files
	export := base64.StdEncoding.EncodeToString([]byte(`{"name": "s1"}`))
	act(a.ID, "complete", map[string]any{"summary": "Your data", "exports": []map[string]string{{"filename": "data.json", "content_base64": export}}}, 200)
	act(a.ID, "deny", map[string]string{"reason": "duplicate", "explanation": "x"}, 409) // closed

	act(b.ID, "request-info", map[string]string{"reason": "clarification", "note": "Which account?"}, 409) // still pending verification
	act(b.ID, "verify", map[string]string{"method": "ID document", "note": "passport checked"}, 200)
	if out := act(b.ID, "request-info", map[string]string{"reason": "clarification", "note": "Which account?"}, 200); !strings.Contains(out["message"].(string), "stopped") {
		t.Fatalf("UK request-info should stop the clock: %v", out)
	}
	act(b.ID, "withdraw", map[string]string{"reason": ""}, 422)
	act(b.ID, "withdraw", map[string]string{"reason": "Requester phoned to withdraw"}, 200)

	act(c.ID, "deny", map[string]string{"reason": "nonsense", "explanation": "x"}, 422)
	act(c.ID, "extend", map[string]string{"reason": "busy"}, 409) // CCPA opt-outs have no extension
	act(c.ID, "deny", map[string]string{"reason": "unverifiable_identity", "explanation": "Suspected fraud, documented."}, 200)
	act(c.ID, "frobnicate", map[string]string{}, 404)

	if code, _ := adminCall(t, d, viewerTok, "POST", "/api/v1/admin/requests/"+c.ID+"/note", map[string]string{"note": "x"}); code != 403 {
		t.Fatalf("viewer action: %d, want 403", code)
	}
	code, out = adminCall(t, d, viewerTok, "GET", "/api/v1/admin/requests/"+a.ID, nil)
	if code != 200 || out["status"] != "completed" || len(out["ledger"].([]any)) == 0 || len(out["events"].([]any)) < 5 || len(out["messages"].([]any)) == 0 {
		t.Fatalf("detail: %d %v", code, out)
	}

	// The export link goes to the data subject only, works, and is recorded.
	mail := d.MailWithSubject(t, "s1@example.com", "is complete")
	link := apitest.LinkWith(t, mail, "/download/")
	resp, page := get(t, d, link)
	m := regexp.MustCompile(`href="(/download/[^"]+/[0-9a-f-]{36})"`).FindStringSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("download page %d:\n%s", resp.StatusCode, page)
	}
	resp, file := get(t, d, d.URL+m[1])
	if resp.StatusCode != 200 || file != `{"name": "s1"}` {
		t.Fatalf("download: %d %q", resp.StatusCode, file)
	}
	_, out = adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+a.ID, nil)
	if !strings.Contains(mustJSON(out["events"]), "export_downloaded") {
		t.Fatal("download not recorded")
	}
	d.Clock.Advance(15 * 24 * time.Hour)
	if resp, page := get(t, d, link); resp.StatusCode != http.StatusGone || !strings.Contains(page, "privacy@testorg.example") || !strings.Contains(page, "expired") {
		t.Fatalf("expired download link: %d", resp.StatusCode)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestAgentNeverGetsTheDownloadLink(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "orla@testorg.example", workflow.RoleOfficer)
	perm := base64.StdEncoding.EncodeToString(minimalPDF)
	resp, b := postJSON(t, d, `{"kind": "portability", "subject": {"email": "sub@example.com", "country": "NL"}, "fields": {"format": "csv"},
		"agent": {"name": "Agency", "email": "agency@example.org", "permission": {"filename": "p.pdf", "content_base64": "`+perm+`"}}}`, nil)
	rc := mustReceipt(t, resp, b)
	post(t, d, apitest.LinkWith(t, d.MailTo(t, "sub@example.com", 1)[0], "/verify/"), nil)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("summary", "Your data as CSV.")
	fw, _ := mw.CreateFormFile("exports", "data.csv")
	_, _ = fw.Write([]byte("name\nsub\n"))
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/api/v1/admin/requests/"+rc.ID+"/complete", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, body := do(t, d, req); resp.StatusCode != 200 {
		t.Fatalf("complete (multipart): %d %s", resp.StatusCode, body)
	}
	subj := d.MailWithSubject(t, "sub@example.com", "is complete")
	agent := d.MailWithSubject(t, "agency@example.org", "is complete")
	apitest.LinkWith(t, subj, "/download/")
	if strings.Contains(agent.Text, "/download/") {
		t.Fatalf("agent got the download link:\n%s", agent.Text)
	}
	// The officer's summary is for the data subject; the agent's link is
	// the agent's own and shows neither the summary nor a download.
	if !strings.Contains(subj.Text, "Your data as CSV.") || strings.Contains(agent.Text+agent.HTML, "Your data as CSV.") {
		t.Fatalf("summary: subject mail\n%s\nagent mail\n%s", subj.Text, agent.Text)
	}
	subjLink, agentLink := apitest.LinkWith(t, subj, "/status/"), apitest.LinkWith(t, agent, "/status/")
	if subjLink == agentLink {
		t.Fatal("agent and subject share a status link")
	}
	r, page := get(t, d, agentLink)
	if r.StatusCode != 200 || !strings.Contains(page, "authorized agent") || !strings.Contains(page, "Request completed.") ||
		strings.Contains(page, "/download/") || strings.Contains(page, "Your data as CSV.") {
		t.Fatalf("agent status page %d:\n%s", r.StatusCode, page)
	}
	// Links of the closed request end with the grace period.
	var late int
	_ = d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM tokens t JOIN requests r ON r.id = t.request_id
		WHERE r.id = $1 AND t.purpose = 'status' AND t.expires_at > r.closed_at + interval '30 days'`, rc.ID).Scan(&late)
	if late != 0 {
		t.Fatalf("%d status links outlive close + 30 days", late)
	}
}

func TestConsoleQueueAndRequestPage(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	staff(t, d, "owen@testorg.example", workflow.RoleOfficer)
	x := newRequest(t, d, "erasure", "q1@example.com", "NL", "")
	y := newRequest(t, d, "access", "q2@example.com", "US", "CA")
	b := login(t, d, "owen@testorg.example")
	_, page := b.get("/console")
	ix, iy := strings.Index(page, x.Ref), strings.Index(page, y.Ref)
	if ix < 0 || iy < 0 || ix > iy { // erasure is due in 14 days, CCPA access in 45
		t.Fatalf("queue order: %s at %d, %s at %d", x.Ref, ix, y.Ref, iy)
	}
	if _, page = b.get("/console?kind=access"); strings.Contains(page, x.Ref) || !strings.Contains(page, y.Ref) {
		t.Fatal("kind filter")
	}
	if _, page = b.get("/console?q=q1@example.com"); !strings.Contains(page, x.Ref) || strings.Contains(page, y.Ref) {
		t.Fatal("search by email")
	}
	resp, page := b.get("/console/requests/" + x.ID)
	if resp.StatusCode != 200 || !strings.Contains(page, "Deadline ledger") || !strings.Contains(page, "Privacy policy") || !strings.Contains(page, "email received") {
		t.Fatalf("request page %d", resp.StatusCode)
	}
	resp, _ = b.post("/console/requests/"+x.ID+"/claim", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("claim: %d", resp.StatusCode)
	}
	_, page = b.get("/console/requests/" + x.ID)
	if !strings.Contains(page, `id="assignee">owen@testorg.example`) {
		t.Fatal("claim did not assign")
	}
	resp, page = b.post("/console/requests/"+x.ID+"/extend", url.Values{"reason": {""}})
	if resp.StatusCode != 422 || !strings.Contains(page, "reason") {
		t.Fatalf("extend without reason: %d", resp.StatusCode)
	}
	if resp, _ := b.get("/console/outbox"); resp.StatusCode != 200 {
		t.Fatalf("outbox: %d", resp.StatusCode)
	}
}
