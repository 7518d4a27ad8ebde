package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
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
	u, err := db.UserByAPIToken(ctx, pool, sum[:])
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
		if u, err := db.UserByAPIToken(ctx, pool, hash); dsr.ErrorCode(err) != dsr.ENOTFOUND {
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
