package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// postWithToken posts a note form with the given CSRF token.
func (b *browser) postWithToken(path, token string, form url.Values) int {
	b.t.Helper()
	form.Set("_csrf", token)
	req, _ := http.NewRequest(http.MethodPost, b.d.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestCSRFTokenIsRotatedAtSignInAndBoundToTheSession(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	staff(t, d, "ann@testorg.example", workflow.RoleOfficer)
	staff(t, d, "bob@testorg.example", workflow.RoleOfficer)
	rc := newRequest(t, d, "access", "csrf@example.com", "NL", "")
	note := "/console/requests/" + rc.ID + "/note"

	// Sign in by hand to keep the token of the login form.
	jar, _ := cookiejar.New(nil)
	a := &browser{t: t, d: d, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	a.get("/console/login")
	before := a.csrf
	if resp, _ := a.post("/console/login", url.Values{"email": {"ann@testorg.example"}, "password": {testPassword}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	a.get("/console")
	after := a.csrf
	if after == "" || after == before {
		t.Fatalf("CSRF token after sign-in %q, before %q: want a new one", after, before)
	}
	if code := a.postWithToken(note, before, url.Values{"note": {"with the pre-sign-in token"}}); code != http.StatusForbidden {
		t.Errorf("token from before sign-in: %d, want 403", code)
	}
	b := login(t, d, "bob@testorg.example")
	if code := a.postWithToken(note, b.csrf, url.Values{"note": {"with another session's token"}}); code != http.StatusForbidden {
		t.Errorf("token of another session: %d, want 403", code)
	}
	if code := a.postWithToken(note, after, url.Values{"note": {"with my own token"}}); code != http.StatusSeeOther {
		t.Errorf("own session token: %d, want 303", code)
	}
	// Signing in again (a new session) gives a new token; the old one dies
	// with the old session.
	a2 := login(t, d, "ann@testorg.example")
	if a2.csrf == after {
		t.Errorf("second session has the first one's token")
	}
	if code := a2.postWithToken(note, after, url.Values{"note": {"old session's token"}}); code != http.StatusForbidden {
		t.Errorf("first session's token in the second: %d, want 403", code)
	}
	// The login form itself still needs its token.
	jar2, _ := cookiejar.New(nil)
	x := &browser{t: t, d: d, c: &http.Client{Jar: jar2, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	x.get("/console/login")
	if code := x.postWithToken("/console/login", "forged", url.Values{"email": {"ann@testorg.example"}, "password": {testPassword}}); code != http.StatusForbidden {
		t.Errorf("login with a wrong token: %d, want 403", code)
	}
}

// jobIDs returns the ids of n River jobs that are waiting to run.
func jobIDs(t *testing.T, d *apitest.Desk, n int) []string {
	t.Helper()
	rows, err := d.Pool.Query(context.Background(), `SELECT id FROM river_job WHERE state IN ('scheduled', 'available') ORDER BY id LIMIT $1`, n)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	if len(ids) < n {
		t.Fatalf("%d waiting jobs, want %d", len(ids), n)
	}
	return ids
}

func jobState(t *testing.T, d *apitest.Desk, id string) string {
	t.Helper()
	var st string
	if err := d.Pool.QueryRow(context.Background(), `SELECT state FROM river_job WHERE id = $1`, id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// riverUI calls River UI's JSON API the way its frontend does: fetch with
// a JSON string body (sent as text/plain) and Accept: application/json.
func (b *browser) riverUI(path, jobID string, header http.Header) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.d.URL+"/console/jobs/api"+path, strings.NewReader(`{"ids":["`+jobID+`"]}`))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("Accept", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestRiverUIActionsWorkForAdminsFromTheirOwnPages(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	staff(t, d, "root@testorg.example", workflow.RoleAdmin)
	staff(t, d, "ops@testorg.example", workflow.RoleOfficer)
	newRequest(t, d, "access", "jobs1@example.com", "US", "CA")
	ids := jobIDs(t, d, 2)
	admin := login(t, d, "root@testorg.example")
	origin := d.URL // http://127.0.0.1:port

	refused := []struct {
		name   string
		header http.Header
	}{
		{"no token, no origin", nil},
		{"another site's page", http.Header{"Origin": {"http://evil.example"}}},
		{"same host, other port", http.Header{"Origin": {"http://127.0.0.1:1"}}},
		{"cross-site fetch", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {origin}}},
		{"wrong token", http.Header{"X-Csrf-Token": {"nope"}}},
	}
	for _, tc := range refused {
		if code, body := admin.riverUI("/jobs/cancel", ids[0], tc.header); code != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", tc.name, code, body)
		}
	}
	if st := jobState(t, d, ids[0]); st == "cancelled" {
		t.Fatal("a refused call cancelled the job")
	}
	// What the River UI frontend sends from our page: Origin (and, on
	// https or localhost, Sec-Fetch-Site: same-origin).
	if code, body := admin.riverUI("/jobs/cancel", ids[0], http.Header{"Origin": {origin}}); code != http.StatusOK {
		t.Fatalf("cancel from our own page: %d %s", code, body)
	}
	if st := jobState(t, d, ids[0]); st != "cancelled" {
		t.Fatalf("job state after cancel: %s", st)
	}
	if code, body := admin.riverUI("/jobs/retry", ids[0], http.Header{"Sec-Fetch-Site": {"same-origin"}}); code != http.StatusOK {
		t.Fatalf("retry (Sec-Fetch-Site same-origin): %d %s", code, body)
	}
	if st := jobState(t, d, ids[0]); st == "cancelled" {
		t.Fatalf("job still cancelled after retry")
	}
	// A script may send the session's token in X-CSRF-Token instead.
	if code, body := admin.riverUI("/jobs/cancel", ids[1], http.Header{"X-Csrf-Token": {admin.csrf}}); code != http.StatusOK {
		t.Fatalf("cancel with the header token: %d %s", code, body)
	}
	// Only admins.
	officer := login(t, d, "ops@testorg.example")
	if code, _ := officer.riverUI("/jobs/retry", ids[1], http.Header{"Origin": {origin}}); code != http.StatusForbidden {
		t.Errorf("officer: %d, want 403", code)
	}
}

func TestFlashTextFromTheURLIsNotShown(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	staff(t, d, "fay@testorg.example", workflow.RoleOfficer)
	staff(t, d, "gil@testorg.example", workflow.RoleOfficer)
	rc := newRequest(t, d, "access", "flash@example.com", "NL", "")
	page := "/console/requests/" + rc.ID
	fay := login(t, d, "fay@testorg.example")
	const planted = "Your session expired. Call +1 555 0100 to unlock"
	for _, p := range []string{page, "/console/outbox"} {
		if _, body := fay.get(p + "?flash=" + url.QueryEscape(planted)); strings.Contains(body, "555 0100") {
			t.Errorf("%s shows the text of ?flash=", p)
		}
	}
	// An action's message arrives on the next page, not in the URL.
	resp, _ := fay.post(page+"/note", url.Values{"note": {"checked the CRM"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != page {
		t.Fatalf("note: %d → %q, want 303 to the request page without a flash parameter", resp.StatusCode, loc)
	}
	var flash *http.Cookie
	u, _ := url.Parse(d.URL + page)
	for _, ck := range fay.c.Jar.Cookies(u) {
		if ck.Name == "dsr_flash" {
			flash = ck
		}
	}
	if flash == nil {
		t.Fatal("no flash cookie after the action")
	}
	// Gil's browser given Fay's flash cookie shows nothing: it is sealed
	// to Fay's session.
	gil := login(t, d, "gil@testorg.example")
	gil.c.Jar.SetCookies(u, []*http.Cookie{{Name: "dsr_flash", Value: flash.Value, Path: "/console"}})
	if _, body := gil.get(page); strings.Contains(body, "Note added.") {
		t.Error("another session's flash cookie is shown")
	}
	if _, body := fay.get(page); !strings.Contains(body, `id="flash">Note added.`) {
		t.Errorf("the action's flash is not shown:\n%s", body)
	}
	if _, body := fay.get(page); strings.Contains(body, `id="flash"`) {
		t.Error("the flash is shown twice")
	}
}
