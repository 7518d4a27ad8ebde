package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
)

// runCLIInput runs the command line with stdin.
func runCLIInput(t *testing.T, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runWithInput(args, stdin, &out, &errb)
	return code, out.String(), errb.String()
}

// cliDatabase gives the test its own migrated database as DATABASE_URL
// and a pool on it.
func cliDatabase(t *testing.T) *pgxpool.Pool {
	t.Helper()
	url := dbtest.New(t)
	t.Setenv("DATABASE_URL", url)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func oneLine(t *testing.T, what, s string) {
	t.Helper()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") || strings.TrimSpace(s) == "" {
		t.Errorf("%s is not exactly one line: %q", what, s)
	}
}

func TestUserAddPasswordFromStdin(t *testing.T) {
	ctx := context.Background()
	pool := cliDatabase(t)
	for _, tt := range []struct {
		email, input, password string
	}{
		{"Ana@Example.com", "correct horse battery\n", "correct horse battery"},
		{"bo@example.com", "  spaces count too  \r\nsecond line is ignored\n", "  spaces count too  "},
		{"cy@example.com", "no newline at the end", "no newline at the end"},
	} {
		code, stdout, stderr := runCLIInput(t, strings.NewReader(tt.input), "user", "add", "--email", tt.email, "--role", "officer", "--name", "Ana Officer")
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", tt.email, code, stderr)
		}
		if strings.Contains(stdout, "password") || strings.Contains(stdout, tt.password) {
			t.Errorf("%s: stdout %q shows a password that came from stdin", tt.email, stdout)
		}
		u, err := db.UserByEmail(ctx, pool, tt.email)
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != strings.ToLower(tt.email) || u.Role != db.RoleOfficer || u.Name != "Ana Officer" || u.DisabledAt != nil {
			t.Errorf("stored user %+v", u)
		}
		if !strings.Contains(stdout, u.ID) || !strings.Contains(stdout, u.Email) {
			t.Errorf("stdout %q does not name the user and its id", stdout)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			t.Errorf("stored password hash %q is not argon2id", u.PasswordHash)
		}
		if !dsr.CheckPassword(u.PasswordHash, tt.password) {
			t.Errorf("%s: the stored hash does not check against the password from stdin", tt.email)
		}
		if dsr.CheckPassword(u.PasswordHash, tt.input) && tt.input != tt.password {
			t.Errorf("%s: the line ending became part of the password", tt.email)
		}
	}
}

func TestUserAddGeneratesPassword(t *testing.T) {
	ctx := context.Background()
	pool := cliDatabase(t)
	devNull, err := os.Open(os.DevNull) // a character device, like a terminal
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	pwLine := regexp.MustCompile(`(?m)^password: ([A-Za-z0-9_-]{20})$`)
	for _, tt := range []struct {
		email string
		stdin io.Reader
	}{
		{"admin@example.com", devNull},
		{"viewer@example.com", nil},
	} {
		role := strings.TrimSuffix(tt.email, "@example.com")
		code, stdout, stderr := runCLIInput(t, tt.stdin, "user", "add", "--email", tt.email, "--role", role)
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", tt.email, code, stderr)
		}
		m := pwLine.FindAllStringSubmatch(stdout, -1)
		if len(m) != 1 {
			t.Fatalf("%s: stdout %q: want the generated password printed once", tt.email, stdout)
		}
		u, err := db.UserByEmail(ctx, pool, tt.email)
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != role || u.Name != "" {
			t.Errorf("stored user %+v", u)
		}
		if !dsr.CheckPassword(u.PasswordHash, m[0][1]) {
			t.Errorf("%s: the printed password does not check against the stored hash", tt.email)
		}
		if strings.Contains(u.PasswordHash, m[0][1]) {
			t.Errorf("the password is stored in the clear")
		}
	}
}

func TestUserAddExisting(t *testing.T) {
	cliDatabase(t)
	in := func() io.Reader { return strings.NewReader("a long enough password\n") }
	if code, _, stderr := runCLIInput(t, in(), "user", "add", "--email", "ana@example.com", "--role", "admin"); code != 0 {
		t.Fatalf("first add: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := runCLIInput(t, in(), "user", "add", "--email", "ANA@example.com", "--role", "viewer")
	if code != 1 {
		t.Errorf("adding an existing email: exit %d, want 1", code)
	}
	if stdout != "" || !strings.Contains(stderr, "user exists") {
		t.Errorf("stdout %q, stderr %q; want stderr to say the user exists", stdout, stderr)
	}
	oneLine(t, "stderr", stderr)
}

func TestUserAddBadInput(t *testing.T) {
	ctx := context.Background()
	pool := cliDatabase(t)
	good := "a long enough password\n"
	for _, tt := range []struct {
		name  string
		stdin string
		args  []string
		want  []string
	}{
		{"unknown role", good, []string{"--email", "a@example.com", "--role", "root"}, []string{"root", "admin, officer, viewer"}},
		{"role in capitals", good, []string{"--email", "a@example.com", "--role", "Admin"}, []string{"Admin"}},
		{"no role", good, []string{"--email", "a@example.com"}, []string{"--role", "admin, officer, viewer"}},
		{"bad email", good, []string{"--email", "not-an-email", "--role", "admin"}, []string{"not-an-email"}},
		{"email with a display name", good, []string{"--email", "Ana <a@example.com>", "--role", "admin"}, []string{"--email"}},
		{"no email", good, []string{"--role", "admin"}, []string{"--email"}},
		{"unknown flag", good, []string{"--email", "a@example.com", "--role", "admin", "--admin"}, []string{"-admin"}},
		{"stray argument", good, []string{"--email", "a@example.com", "--role", "admin", "extra"}, []string{"extra"}},
		{"short password", "short pw\n", []string{"--email", "a@example.com", "--role", "admin"}, []string{"12"}},
		{"empty stdin", "", []string{"--email", "a@example.com", "--role", "admin"}, []string{"stdin"}},
		{"empty first line", "\na long enough password\n", []string{"--email", "a@example.com", "--role", "admin"}, []string{"stdin"}},
		{"too long password", strings.Repeat("x", dsr.MaxPasswordLength+100) + "\n", []string{"--email", "a@example.com", "--role", "admin"}, []string{"1024"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLIInput(t, strings.NewReader(tt.stdin), append([]string{"user", "add"}, tt.args...)...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want empty", stdout)
			}
			oneLine(t, "stderr", stderr)
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not contain %q", stderr, w)
				}
			}
		})
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil || n != 0 {
		t.Errorf("bad input stored %d users (err %v)", n, err)
	}
	for _, args := range [][]string{{"user"}, {"user", "remove"}} {
		if code, _, stderr := runCLIInput(t, nil, args...); code != 2 || !strings.Contains(stderr, "add") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

func TestTokenCreate(t *testing.T) {
	ctx := context.Background()
	pool := cliDatabase(t)
	if code, _, stderr := runCLIInput(t, strings.NewReader("a long enough password\n"), "user", "add", "--email", "ops@example.com", "--role", "admin"); code != 0 {
		t.Fatalf("user add: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := runCLIInput(t, nil, "token", "create", "--email", "OPS@example.com", "--name", "ci")
	if code != 0 {
		t.Fatalf("token create: exit %d, stderr %q", code, stderr)
	}
	m := regexp.MustCompile(`(?m)^token: (dsr_[A-Za-z0-9_-]{43})$`).FindAllStringSubmatch(stdout, -1)
	if len(m) != 1 {
		t.Fatalf("stdout %q: want the token printed once", stdout)
	}
	raw := m[0][1]
	sum := sha256.Sum256([]byte(raw))

	var userID, name string
	var stored []byte
	err := pool.QueryRow(ctx, `SELECT t.user_id::text, t.name, t.token_hash FROM api_tokens t`).Scan(&userID, &name, &stored)
	if err != nil {
		t.Fatalf("the one api_tokens row: %v", err)
	}
	if !bytes.Equal(stored, sum[:]) || name != "ci" {
		t.Errorf("stored token %x named %q, want the SHA-256 of the printed token %x named ci", stored, name, sum)
	}
	u, err := db.UserByAPIToken(ctx, pool, sum[:], time.Now())
	if err != nil {
		t.Fatalf("UserByAPIToken: %v", err)
	}
	if u.ID != userID || u.Email != "ops@example.com" || u.Role != db.RoleAdmin {
		t.Errorf("UserByAPIToken = %+v", u)
	}
	var used bool
	if err := pool.QueryRow(ctx, `SELECT last_used_at IS NOT NULL FROM api_tokens`).Scan(&used); err != nil || !used {
		t.Errorf("last_used_at not set after use (err %v)", err)
	}
	if !bytes.Equal(db.APITokenHash(raw), sum[:]) {
		t.Error("APITokenHash is not the SHA-256 of the raw token")
	}

	// A second token is a different one.
	_, stdout2, _ := runCLIInput(t, nil, "token", "create", "--email", "ops@example.com")
	if strings.Contains(stdout2, raw) {
		t.Error("a second token create printed the same token")
	}

	notFound := func(what string, hash []byte) {
		t.Helper()
		if u, err := db.UserByAPIToken(ctx, pool, hash, time.Now()); dsr.ErrorCode(err) != dsr.ENOTFOUND {
			t.Errorf("%s: UserByAPIToken = %+v, %v; want ENOTFOUND", what, u, err)
		}
	}
	notFound("unknown token", db.APITokenHash(raw+"x"))
	notFound("the raw token instead of its hash", []byte(raw))
	notFound("no hash", nil)
	if _, err := pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1`, sum[:]); err != nil {
		t.Fatal(err)
	}
	notFound("revoked token", sum[:])
	if _, err := pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = NULL; UPDATE users SET disabled_at = now()`); err != nil {
		t.Fatal(err)
	}
	notFound("disabled user", sum[:])

	// Token create refuses disabled and unknown users, and bad flags.
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--email", "ops@example.com"}, 1, "disabled"},
		{[]string{"--email", "nobody@example.com"}, 1, "nobody@example.com"},
		{[]string{"--email", "nobody"}, 2, "nobody"},
		{[]string{}, 2, "--email"},
		{[]string{"--email", "ops@example.com", "--role", "admin"}, 2, "role"},
	} {
		code, stdout, stderr := runCLIInput(t, nil, append([]string{"token", "create"}, tt.args...)...)
		if code != tt.code || stdout != "" || !strings.Contains(stderr, tt.want) {
			t.Errorf("token create %v: exit %d, stdout %q, stderr %q; want exit %d naming %q", tt.args, code, stdout, stderr, tt.code, tt.want)
		}
		oneLine(t, "stderr", stderr)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM api_tokens").Scan(&n); err != nil || n != 2 {
		t.Errorf("%d tokens stored, want 2 (err %v)", n, err)
	}
	if code, _, stderr := runCLIInput(t, nil, "token"); code != 2 || !strings.Contains(stderr, "create") {
		t.Errorf("token without subcommand: exit %d, stderr %q", code, stderr)
	}
}

// cliDesk is a running desk whose database the CLI also uses, so a
// command's effect is seen over HTTP right after it returns.
func cliDesk(t *testing.T) *apitest.Desk {
	t.Helper()
	d := apitest.Start(t, apitest.Options{})
	t.Setenv("DATABASE_URL", d.Pool.Config().ConnString())
	return d
}

const cliPassword = "a long enough password"

// mustCLI runs a command that must succeed and returns its stdout.
func mustCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var in io.Reader
	if stdin != "" {
		in = strings.NewReader(stdin)
	}
	code, stdout, stderr := runCLIInput(t, in, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
	}
	return stdout
}

var tokenLine = regexp.MustCompile(`(?m)^token: (dsr_[A-Za-z0-9_-]{43})$`)

// cliToken creates a token with the CLI and returns it.
func cliToken(t *testing.T, args ...string) string {
	t.Helper()
	m := tokenLine.FindStringSubmatch(mustCLI(t, "", append([]string{"token", "create"}, args...)...))
	if m == nil {
		t.Fatalf("token create %v printed no token", args)
	}
	return m[1]
}

// apiStatus is the status of an authenticated admin API read.
func apiStatus(t *testing.T, d *apitest.Desk, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, d.URL+"/api/v1/admin/requests", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := d.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// consoleLogin signs in over HTTP and returns the client holding the
// session cookie and the status of the sign-in (303 on success).
func consoleLogin(t *testing.T, d *apitest.Desk, email, password string) (*http.Client, int) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(d.URL + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfInput.FindSubmatch(body)
	if m == nil {
		t.Fatal("login page has no CSRF field")
	}
	resp, err = c.PostForm(d.URL+"/console/login", url.Values{"_csrf": {string(m[1])}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c, resp.StatusCode
}

// consoleStatus is the status of GET /console with c's cookies; a
// session that no longer works is a 303 to the login page.
func consoleStatus(t *testing.T, d *apitest.Desk, c *http.Client) (int, string) {
	t.Helper()
	resp, err := c.Get(d.URL + "/console")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

func TestUserDisableEndsSessionsAndTokensAtOnce(t *testing.T) {
	d := cliDesk(t)
	ctx := context.Background()
	mustCLI(t, cliPassword+"\n", "user", "add", "--email", "olga@example.com", "--role", "officer")
	token := cliToken(t, "--email", "olga@example.com", "--name", "ci")
	browser, code := consoleLogin(t, d, "olga@example.com", cliPassword)
	if code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	if st, _ := consoleStatus(t, d, browser); st != http.StatusOK {
		t.Fatalf("console before disable: %d", st)
	}
	if st := apiStatus(t, d, token); st != http.StatusOK {
		t.Fatalf("API before disable: %d", st)
	}

	out := mustCLI(t, "", "user", "disable", "--email", "OLGA@example.com")
	if !strings.Contains(out, "olga@example.com") {
		t.Errorf("disable stdout %q does not name the user", out)
	}
	if st := apiStatus(t, d, token); st != http.StatusUnauthorized {
		t.Errorf("API with the token right after disable: %d, want 401", st)
	}
	if st, loc := consoleStatus(t, d, browser); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/login") {
		t.Errorf("console with the old cookie after disable: %d → %q, want the login page", st, loc)
	}
	var sessions, live int
	if err := d.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL)`).Scan(&sessions, &live); err != nil {
		t.Fatal(err)
	}
	if sessions != 0 || live != 0 {
		t.Errorf("after disable: %d sessions, %d unrevoked tokens; want none", sessions, live)
	}
	if _, st := consoleLogin(t, d, "olga@example.com", cliPassword); st != http.StatusUnauthorized {
		t.Errorf("login of a disabled user: %d, want 401", st)
	}

	// Enable restores sign-in; the revoked token stays revoked.
	mustCLI(t, "", "user", "enable", "--email", "olga@example.com")
	browser, st := consoleLogin(t, d, "olga@example.com", cliPassword)
	if st != http.StatusSeeOther {
		t.Fatalf("login after enable: %d, want 303", st)
	}
	if st, _ := consoleStatus(t, d, browser); st != http.StatusOK {
		t.Errorf("console after enable: %d", st)
	}
	if st := apiStatus(t, d, token); st != http.StatusUnauthorized {
		t.Errorf("the token revoked at disable works again after enable: %d", st)
	}

	// Both changes are recorded, by the command (no actor), without secrets.
	u, err := db.UserByEmail(ctx, d.Pool, "olga@example.com")
	if err != nil {
		t.Fatal(err)
	}
	events, err := db.UserEvents(ctx, d.Pool, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
		if e.ActorID != "" || strings.Contains(e.Detail, token) {
			t.Errorf("event %+v", e)
		}
	}
	if got := strings.Join(actions, ","); got != "token_create,disable,enable" {
		t.Errorf("user events %s, want token_create,disable,enable", got)
	}
}

func TestUserCommandsRefuseUnknownUsersAndBadInput(t *testing.T) {
	cliDatabase(t)
	mustCLI(t, cliPassword+"\n", "user", "add", "--email", "ana@example.com", "--role", "admin")
	for _, tt := range []struct {
		stdin string
		args  []string
		code  int
		want  []string
	}{
		{"", []string{"user", "disable", "--email", "nobody@example.com"}, 1, []string{"no user nobody@example.com"}},
		{"", []string{"user", "enable", "--email", "nobody@example.com"}, 1, []string{"no user nobody@example.com"}},
		{"", []string{"user", "role", "--email", "nobody@example.com", "--role", "viewer"}, 1, []string{"no user nobody@example.com"}},
		{cliPassword + "\n", []string{"user", "password", "--email", "nobody@example.com"}, 1, []string{"no user nobody@example.com"}},
		{"", []string{"token", "list", "--email", "nobody@example.com"}, 1, []string{"no user nobody@example.com"}},
		{"", []string{"token", "revoke", "--email", "nobody@example.com", "--name", "ci"}, 1, []string{"no user nobody@example.com"}},
		{"", []string{"token", "revoke", "--email", "ana@example.com", "--name", "ci"}, 1, []string{"no live token", `"ci"`}},
		{"", []string{"token", "revoke", "--email", "ana@example.com"}, 2, []string{"--name"}},
		{"", []string{"user", "disable"}, 2, []string{"--email"}},
		{"", []string{"user", "disable", "--email", "not-an-email"}, 2, []string{"not-an-email"}},
		{"", []string{"user", "role", "--email", "ana@example.com", "--role", "root"}, 2, []string{"root", "admin, officer, viewer"}},
		{"", []string{"user", "role", "--email", "ana@example.com"}, 2, []string{"--role", "admin, officer, viewer"}},
		{"short pw\n", []string{"user", "password", "--email", "ana@example.com"}, 2, []string{"12"}},
		{"", []string{"user", "password", "--email", "ana@example.com"}, 2, []string{"stdin"}},
		{"", []string{"token", "create", "--email", "ana@example.com", "--expires", "90"}, 2, []string{"90", "90d or 12h"}},
		{"", []string{"token", "create", "--email", "ana@example.com", "--expires", "-1d"}, 2, []string{"-1d"}},
		{"", []string{"token", "create", "--email", "ana@example.com", "--expires", "0h"}, 2, []string{"0h"}},
		{"", []string{"token", "create", "--email", "ana@example.com", "--expires", "99999d"}, 2, []string{"99999d"}},
		{"", []string{"token", "create", "--email", "ana@example.com", "--name", "a\x00b"}, 2, []string{"--name"}},
	} {
		var in io.Reader
		if tt.stdin != "" {
			in = strings.NewReader(tt.stdin)
		}
		code, stdout, stderr := runCLIInput(t, in, tt.args...)
		if code != tt.code || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d", tt.args, code, stdout, stderr, tt.code)
		}
		oneLine(t, "stderr", stderr)
		for _, w := range tt.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q does not contain %q", tt.args, stderr, w)
			}
		}
	}
	// Nothing was changed: ana is still an enabled admin with her password.
	u, err := db.UserByEmail(context.Background(), mustPool(t), "ana@example.com")
	if err != nil || u.Role != db.RoleAdmin || u.DisabledAt != nil || !dsr.CheckPassword(u.PasswordHash, cliPassword) {
		t.Errorf("after refused commands: %+v, %v", u, err)
	}
}

// mustPool opens a pool on the test's DATABASE_URL.
func mustPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestUserRoleTakesEffect(t *testing.T) {
	d := cliDesk(t)
	mustCLI(t, cliPassword+"\n", "user", "add", "--email", "vic@example.com", "--role", "viewer")
	token := cliToken(t, "--email", "vic@example.com")
	write := func() int {
		req, _ := http.NewRequest(http.MethodPost, d.URL+"/api/v1/admin/requests", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := d.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := write(); st != http.StatusForbidden {
		t.Fatalf("viewer entering a request: %d, want 403", st)
	}
	out := mustCLI(t, "", "user", "role", "--email", "vic@example.com", "--role", "officer")
	if !strings.Contains(out, "officer") {
		t.Errorf("stdout %q", out)
	}
	if st := write(); st == http.StatusForbidden || st == http.StatusUnauthorized {
		t.Errorf("officer (was viewer) entering a request: %d, want past the role check", st)
	}
	u, _ := db.UserByEmail(context.Background(), d.Pool, "vic@example.com")
	events, _ := db.UserEvents(context.Background(), d.Pool, u.ID)
	if len(events) != 2 || events[1].Action != db.UserEventRole || events[1].Detail != "viewer -> officer" {
		t.Errorf("events %+v, want a role change viewer -> officer", events)
	}
}

func TestUserPasswordChangesItAndEndsSessions(t *testing.T) {
	d := cliDesk(t)
	mustCLI(t, cliPassword+"\n", "user", "add", "--email", "pia@example.com", "--role", "officer")
	old, code := consoleLogin(t, d, "pia@example.com", cliPassword)
	if code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	const newPassword = "an entirely new passphrase"
	out := mustCLI(t, newPassword+"\n", "user", "password", "--email", "pia@example.com")
	if strings.Contains(out, newPassword) {
		t.Errorf("stdout %q shows the password", out)
	}
	if st, _ := consoleStatus(t, d, old); st != http.StatusSeeOther {
		t.Errorf("the session from before the change: %d, want a redirect to login", st)
	}
	if _, st := consoleLogin(t, d, "pia@example.com", cliPassword); st != http.StatusUnauthorized {
		t.Errorf("login with the old password: %d, want 401", st)
	}
	c, st := consoleLogin(t, d, "pia@example.com", newPassword)
	if st != http.StatusSeeOther {
		t.Fatalf("login with the new password: %d, want 303", st)
	}
	if st, _ := consoleStatus(t, d, c); st != http.StatusOK {
		t.Errorf("console with the new session: %d", st)
	}
	var detail string
	if err := d.Pool.QueryRow(context.Background(), `SELECT detail FROM user_events WHERE action = 'password'`).Scan(&detail); err != nil {
		t.Fatalf("no password event: %v", err)
	}
	if strings.Contains(detail, newPassword) || strings.Contains(detail, "argon2") {
		t.Errorf("password event detail %q carries the password", detail)
	}
}

func TestTokenListRevokeAndExpiry(t *testing.T) {
	d := cliDesk(t)
	mustCLI(t, cliPassword+"\n", "user", "add", "--email", "ops@example.com", "--role", "admin")
	mustCLI(t, cliPassword+"\n", "user", "add", "--email", "bob@example.com", "--role", "viewer")
	ci := cliToken(t, "--email", "ops@example.com", "--name", "ci")
	backup := cliToken(t, "--email", "ops@example.com", "--name", "backup", "--expires", "90d")
	bobs := cliToken(t, "--email", "bob@example.com", "--name", "reports", "--expires", "12h")
	for _, tok := range []string{ci, backup, bobs} {
		if st := apiStatus(t, d, tok); st != http.StatusOK {
			t.Fatalf("fresh token: %d", st)
		}
	}

	secrets := func(out string) {
		t.Helper()
		for _, tok := range []string{ci, backup, bobs} {
			h := db.APITokenHash(tok)
			for _, s := range []string{tok, tok[len(db.APITokenPrefix):], hex.EncodeToString(h), base64.StdEncoding.EncodeToString(h)} {
				if strings.Contains(out, s) {
					t.Errorf("token list shows a token or its hash: %q", out)
				}
			}
		}
	}
	table := mustCLI(t, "", "token", "list")
	secrets(table)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "NAME") || !strings.Contains(lines[0], "LAST USED") || !strings.Contains(lines[0], "EXPIRES") || !strings.Contains(lines[0], "REVOKED") {
		t.Fatalf("token list:\n%s\nwant a header and 3 rows", table)
	}
	for _, want := range []string{"ci", "backup", "reports", "ops@example.com", "bob@example.com"} {
		if !strings.Contains(table, want) {
			t.Errorf("token list does not show %q:\n%s", want, table)
		}
	}
	mine := mustCLI(t, "", "token", "list", "--email", "bob@example.com", "--json")
	secrets(mine)
	var listed []struct {
		Name, Owner string
		Expires     *time.Time `json:"expires_at"`
		Revoked     *time.Time `json:"revoked_at"`
		Used        *time.Time `json:"last_used_at"`
	}
	if err := json.Unmarshal([]byte(mine), &listed); err != nil {
		t.Fatalf("token list --json: %v\n%s", err, mine)
	}
	if len(listed) != 1 || listed[0].Name != "reports" || listed[0].Owner != "bob@example.com" || listed[0].Used == nil || listed[0].Revoked != nil ||
		listed[0].Expires == nil || listed[0].Expires.Sub(time.Now()) < 11*time.Hour || listed[0].Expires.Sub(time.Now()) > 13*time.Hour {
		t.Errorf("token list --email bob --json: %s", mine)
	}

	// Revoke: 401 at once; the other tokens keep working.
	out := mustCLI(t, "", "token", "revoke", "--email", "ops@example.com", "--name", "ci")
	if !strings.Contains(out, "1 token") {
		t.Errorf("revoke stdout %q", out)
	}
	if st := apiStatus(t, d, ci); st != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", st)
	}
	if st := apiStatus(t, d, backup); st != http.StatusOK {
		t.Errorf("another token of the same user after a revoke: %d", st)
	}
	if code, _, stderr := runCLIInput(t, nil, "token", "revoke", "--email", "ops@example.com", "--name", "ci"); code != 1 || !strings.Contains(stderr, "no live token") {
		t.Errorf("revoking again: exit %d, stderr %q", code, stderr)
	}
	if !regexp.MustCompile(`(?m)^ci\s.*\s20\d\d-\d\d-\d\dT\S+\s+\S+$`).MatchString(mustCLI(t, "", "token", "list", "--email", "ops@example.com")) {
		t.Errorf("token list does not show when ci was revoked")
	}

	// Expiry: the 12-hour token stops when the clock passes it, the 90-day one later.
	d.Clock.Advance(13 * time.Hour)
	if st := apiStatus(t, d, bobs); st != http.StatusUnauthorized {
		t.Errorf("12h token after 13 hours: %d, want 401", st)
	}
	if st := apiStatus(t, d, backup); st != http.StatusOK {
		t.Errorf("90d token after 13 hours: %d, want 200", st)
	}
	d.Clock.Advance(90 * 24 * time.Hour)
	if st := apiStatus(t, d, backup); st != http.StatusUnauthorized {
		t.Errorf("90d token after 90 days: %d, want 401", st)
	}
}
