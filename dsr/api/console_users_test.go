package api_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// loginStatus tries to sign in with a password and returns the browser and
// the answer's status (303 on success).
func loginStatus(t *testing.T, d *apitest.Desk, email, password string) (*browser, int) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, d: d, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	b.get("/console/login")
	resp, _ := b.post("/console/login", url.Values{"email": {email}, "password": {password}})
	return b, resp.StatusCode
}

// signedOut reports whether the browser's session no longer works: the
// console sends it to the login page.
func signedOut(b *browser) bool {
	b.t.Helper()
	resp, _ := b.get("/console")
	return resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/console/login")
}

func bearerStatus(t *testing.T, d *apitest.Desk, token string) int {
	t.Helper()
	code, _ := adminCall(t, d, token, http.MethodGet, "/api/v1/admin/requests", nil)
	return code
}

func TestConsoleAdminDisablesAndEnablesUser(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	admin, _ := staff(t, d, "ada@testorg.example", workflow.RoleAdmin)
	officer, token := staff(t, d, "otto@testorg.example", workflow.RoleOfficer)
	a := login(t, d, admin.Email)
	o := login(t, d, officer.Email)
	if signedOut(o) || bearerStatus(t, d, token) != http.StatusOK {
		t.Fatal("the officer's session or token does not work before the change")
	}

	resp, body := a.get("/console/users")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `action="/console/users/`+officer.ID+`/disable"`) {
		t.Fatalf("users page: %d, no disable form for the officer", resp.StatusCode)
	}
	if strings.Contains(body, `action="/console/users/`+admin.ID+`/disable"`) {
		t.Error("the users page offers the admin to disable their own account")
	}
	resp, body = a.post("/console/users/"+officer.ID+"/disable", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, officer.Email+" disabled") {
		t.Fatalf("disable: %d", resp.StatusCode)
	}
	if !signedOut(o) {
		t.Error("the disabled officer's session still works")
	}
	if st := bearerStatus(t, d, token); st != http.StatusUnauthorized {
		t.Errorf("the disabled officer's API token: %d, want 401", st)
	}
	if _, st := loginStatus(t, d, officer.Email, testPassword); st != http.StatusUnauthorized {
		t.Errorf("a disabled user signs in: %d, want 401", st)
	}
	if _, body := a.get("/console/users"); !strings.Contains(body, "Disabled since") {
		t.Error("the users page does not show the user as disabled")
	}

	// Enable restores sign-in.
	if resp, _ := a.post("/console/users/"+officer.ID+"/enable", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("enable: %d", resp.StatusCode)
	}
	if o, st := loginStatus(t, d, officer.Email, testPassword); st != http.StatusSeeOther || signedOut(o) {
		t.Errorf("sign-in after enable: %d", st)
	}

	// An admin cannot lock themselves out here; unknown users and actions are 404.
	if resp, _ := a.post("/console/users/"+admin.ID+"/disable", nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("disabling oneself: %d, want 409", resp.StatusCode)
	}
	if signedOut(a) {
		t.Error("the admin was signed out by refusing to disable themselves")
	}
	for _, path := range []string{"/console/users/00000000-0000-0000-0000-000000000000/disable", "/console/users/not-a-uuid/disable", "/console/users/" + officer.ID + "/delete"} {
		if resp, _ := a.post(path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", path, resp.StatusCode)
		}
	}

	// Every change is recorded with the admin as actor.
	events, err := db.UserEvents(context.Background(), d.Pool, officer.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].Action != "disable" || events[1].Action != "enable" || events[0].ActorID != admin.ID {
		t.Errorf("events %+v, want disable and enable by %s", events, admin.ID)
	}
}

func TestConsoleAdminChangesRoleAndPassword(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	admin, _ := staff(t, d, "ada@testorg.example", workflow.RoleAdmin)
	officer, _ := staff(t, d, "otto@testorg.example", workflow.RoleOfficer)
	a := login(t, d, admin.Email)
	o := login(t, d, officer.Email)
	if resp, _ := o.get("/console/outbox"); resp.StatusCode != http.StatusOK {
		t.Fatalf("officer outbox: %d", resp.StatusCode)
	}
	o.get("/console")

	// Role: officer → admin opens the users page to them at once; → viewer closes work.
	if resp, _ := o.get("/console/users"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("officer on the users page: %d, want 403", resp.StatusCode)
	}
	if resp, body := a.post("/console/users/"+officer.ID+"/role", url.Values{"role": {"admin"}}); resp.StatusCode != http.StatusOK || !strings.Contains(body, "now has the role admin") {
		t.Fatalf("role change: %d", resp.StatusCode)
	}
	if resp, _ := o.get("/console/users"); resp.StatusCode != http.StatusOK {
		t.Errorf("promoted officer on the users page, same session: %d, want 200", resp.StatusCode)
	}
	a.post("/console/users/"+officer.ID+"/role", url.Values{"role": {"viewer"}})
	if resp, _ := o.post("/console/bulk", url.Values{"action": {"assign"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("demoted to viewer, bulk action: %d, want 403", resp.StatusCode)
	}
	for _, bad := range []string{"root", "", "Admin"} {
		resp, body := a.post("/console/users/"+officer.ID+"/role", url.Values{"role": {bad}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "admin, officer, viewer") {
			t.Errorf("role %q: %d, want 422 naming the roles", bad, resp.StatusCode)
		}
	}
	if resp, _ := a.post("/console/users/"+admin.ID+"/role", url.Values{"role": {"viewer"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("an admin demoting themselves: %d, want 409", resp.StatusCode)
	}

	// Password: the rules apply; a new one ends the user's sessions; the old fails.
	resp, body := a.post("/console/users/"+officer.ID+"/password", url.Values{"password": {"short"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "12") {
		t.Errorf("short password: %d, want 422 naming the minimum", resp.StatusCode)
	}
	if signedOut(o) {
		t.Fatal("a refused password ended the session")
	}
	const newPassword = "a brand new passphrase"
	if resp, _ := a.post("/console/users/"+officer.ID+"/password", url.Values{"password": {newPassword}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("set password: %d", resp.StatusCode)
	}
	if !signedOut(o) {
		t.Error("the officer's session survived a password change")
	}
	if _, st := loginStatus(t, d, officer.Email, testPassword); st != http.StatusUnauthorized {
		t.Errorf("old password: %d, want 401", st)
	}
	if o2, st := loginStatus(t, d, officer.Email, newPassword); st != http.StatusSeeOther || signedOut(o2) {
		t.Errorf("new password: %d, want 303 and a working session", st)
	}

	// The admin's own password: their current session stays, others end.
	other := login(t, d, admin.Email)
	if resp, _ := a.post("/console/users/"+admin.ID+"/password", url.Values{"password": {newPassword}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("own password: %d", resp.StatusCode)
	}
	if signedOut(a) || !signedOut(other) {
		t.Errorf("own password change: this session signed out %v, the other %v; want only the other", signedOut(a), signedOut(other))
	}

	var n int
	if err := d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM user_events WHERE actor_id = $1 AND action IN ('role', 'password')`, admin.ID).Scan(&n); err != nil || n != 4 {
		t.Errorf("%d role/password events by the admin, want 4: the refused changes are not recorded (err %v)", n, err)
	}
}

var tokenInPage = regexp.MustCompile(`dsr_[A-Za-z0-9_-]{43}`)

func TestConsoleAPITokens(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	admin, adminToken := staff(t, d, "ada@testorg.example", workflow.RoleAdmin)
	officer, _ := staff(t, d, "otto@testorg.example", workflow.RoleOfficer)
	a := login(t, d, admin.Email)
	resp, body := a.get("/console/tokens")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, officer.Email) || tokenInPage.MatchString(body) {
		t.Fatalf("tokens page: %d; want both tokens listed and no secret", resp.StatusCode)
	}

	create := func(form url.Values) (int, string) {
		t.Helper()
		a.get("/console/tokens")
		resp, body := a.post("/console/tokens", form)
		if resp.StatusCode == http.StatusCreated && resp.Header.Get("Cache-Control") != "no-store" {
			t.Error("the page showing a new token may be cached")
		}
		return resp.StatusCode, tokenInPage.FindString(body)
	}
	st, day := create(url.Values{"user_id": {officer.ID}, "name": {"ticketing"}, "expires": {"1d"}})
	if st != http.StatusCreated || day == "" {
		t.Fatalf("create: %d, token %q", st, day)
	}
	if st := bearerStatus(t, d, day); st != http.StatusOK {
		t.Fatalf("new token: %d", st)
	}
	if _, body := a.get("/console/tokens"); strings.Contains(body, day) || !strings.Contains(body, "ticketing") {
		t.Error("the tokens page shows the token again, or not its name")
	}
	_, forever := create(url.Values{"user_id": {officer.ID}, "name": {"forever"}})

	// Revoke: 401 at once.
	var id string
	if err := d.Pool.QueryRow(context.Background(), `SELECT id FROM api_tokens WHERE name = 'forever'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if resp, body := a.post("/console/tokens/"+id+"/revoke", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "revoked") {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if st := bearerStatus(t, d, forever); st != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", st)
	}
	if resp, _ := a.post("/console/tokens/"+id+"/revoke", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoking twice: %d, want 404", resp.StatusCode)
	}

	// Expiry: past it on the clock, 401; tokens without one keep working.
	d.Clock.Advance(25 * time.Hour)
	if st := bearerStatus(t, d, day); st != http.StatusUnauthorized {
		t.Errorf("1d token after 25 hours: %d, want 401", st)
	}
	if st := bearerStatus(t, d, adminToken); st != http.StatusOK {
		t.Errorf("token without expiry after 25 hours: %d", st)
	}
	a = login(t, d, admin.Email) // the session before went idle

	for _, bad := range []url.Values{
		{"user_id": {officer.ID}, "expires": {"90"}},
		{"user_id": {officer.ID}, "expires": {"-3d"}},
		{"user_id": {"not-a-user"}},
		{"user_id": {"00000000-0000-0000-0000-000000000000"}},
		{"user_id": {officer.ID}, "name": {"a\x00b"}},
		{"user_id": {officer.ID}, "name": {strings.Repeat("x", 101)}},
	} {
		if st, tok := create(bad); st != http.StatusUnprocessableEntity || tok != "" {
			t.Errorf("create %v: %d, token %q; want 422 and none", bad, st, tok)
		}
	}
}

func TestConsoleAccountPagesAreForAdminsOnly(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	staff(t, d, "ada@testorg.example", workflow.RoleAdmin)
	officer, token := staff(t, d, "otto@testorg.example", workflow.RoleOfficer)
	staff(t, d, "vera@testorg.example", workflow.RoleViewer)
	var tokenID string
	if err := d.Pool.QueryRow(context.Background(), `SELECT id FROM api_tokens WHERE user_id = $1`, officer.ID).Scan(&tokenID); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{officer.Email, "vera@testorg.example"} {
		b := login(t, d, email)
		b.get("/console")
		for _, path := range []string{"/console/users", "/console/tokens"} {
			if resp, _ := b.get(path); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s GET %s: %d, want 403", email, path, resp.StatusCode)
			}
		}
		for _, p := range []struct {
			path string
			form url.Values
		}{
			{"/console/users/" + officer.ID + "/disable", nil},
			{"/console/users/" + officer.ID + "/role", url.Values{"role": {"admin"}}},
			{"/console/users/" + officer.ID + "/password", url.Values{"password": {"long enough to pass the rules"}}},
			{"/console/tokens", url.Values{"user_id": {officer.ID}}},
			{"/console/tokens/" + tokenID + "/revoke", nil},
		} {
			if resp, _ := b.post(p.path, p.form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", email, p.path, resp.StatusCode)
			}
		}
	}
	u, err := d.Engine.UserByEmail(context.Background(), officer.Email)
	if err != nil || u.Role != workflow.RoleOfficer || u.DisabledAt != nil || bearerStatus(t, d, token) != http.StatusOK {
		t.Errorf("a refused POST changed the officer: %+v, %v", u, err)
	}
	var n int
	if err := d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM api_tokens`).Scan(&n); err != nil || n != 3 {
		t.Errorf("%d tokens, want the 3 of staff (err %v)", n, err)
	}
	// Without the CSRF token, even an admin's account POST is refused.
	a := login(t, d, "ada@testorg.example")
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/console/users/"+officer.ID+"/disable", nil)
	resp, err := a.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest {
		t.Errorf("disable without CSRF token: %d, want 403/400", resp.StatusCode)
	}
	if u, _ := d.Engine.UserByEmail(context.Background(), officer.Email); u.DisabledAt != nil {
		t.Error("a POST without CSRF token disabled the user")
	}
}

func TestSessionIdleTimeout(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	staff(t, d, "otto@testorg.example", workflow.RoleOfficer)
	idle := login(t, d, "otto@testorg.example")
	busy := login(t, d, "otto@testorg.example")
	if d.Engine.SessionIdleTimeout() != 30*time.Minute {
		t.Fatalf("default idle timeout %v, want 30m", d.Engine.SessionIdleTimeout())
	}
	for i := 0; i < 4; i++ { // 40 minutes, used every 10
		d.Clock.Advance(10 * time.Minute)
		if signedOut(busy) {
			t.Fatalf("a session used every 10 minutes ended after %d0 minutes", i+1)
		}
	}
	if !signedOut(idle) {
		t.Error("a session unused for 40 minutes still works")
	}

	fresh := login(t, d, "otto@testorg.example")
	d.Clock.Advance(29 * time.Minute)
	if signedOut(fresh) {
		t.Fatal("a session unused for 29 minutes ended")
	}
	d.Clock.Advance(31 * time.Minute)
	if !signedOut(fresh) {
		t.Error("a session unused for 31 minutes still works")
	}

	// Use does not extend the 12-hour absolute limit.
	steady := login(t, d, "otto@testorg.example")
	for used := 25 * time.Minute; used < 12*time.Hour; used += 25 * time.Minute {
		d.Clock.Advance(25 * time.Minute)
		if signedOut(steady) {
			t.Fatalf("a session used every 25 minutes ended after %v", used)
		}
	}
	d.Clock.Advance(25 * time.Minute)
	if !signedOut(steady) {
		t.Error("a session in use still works more than 12 hours after sign-in")
	}
}

func TestSessionCleanupJobDeletesExpiredSessions(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	u, _ := staff(t, d, "otto@testorg.example", workflow.RoleOfficer)
	ctx := context.Background()
	login(t, d, u.Email) // will go idle
	busy := login(t, d, u.Email)
	// One past its absolute limit although just used.
	if err := db.InsertSession(ctx, d.Pool, u.ID, []byte("expired-session-hash"), d.Clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	d.Clock.Advance(20 * time.Minute)
	busy.get("/console")
	d.Clock.Advance(15 * time.Minute)
	if _, err := d.Pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $1, expires_at = $1 WHERE token_hash = 'expired-session-hash'`, d.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	var before int
	if err := d.Pool.QueryRow(ctx, `SELECT count(*) FROM sessions`).Scan(&before); err != nil || before != 3 {
		t.Fatalf("%d sessions before the job, want 3 (err %v)", before, err)
	}
	res, err := d.Engine.River().Insert(ctx, workflow.SessionCleanupArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.WaitJobs(t, []int64{res.Job.ID})
	var state string
	if err := d.Pool.QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, res.Job.ID).Scan(&state); err != nil || state != "completed" {
		t.Fatalf("cleanup job state %q (err %v)", state, err)
	}
	var left int
	if err := d.Pool.QueryRow(ctx, `SELECT count(*) FROM sessions`).Scan(&left); err != nil || left != 1 {
		t.Errorf("%d sessions after the job, want 1 (the one used 15 minutes ago)", left)
	}
	if signedOut(busy) {
		t.Error("the cleanup deleted a live session")
	}
}
