package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

var roles = workflow.Roles

// userCommand runs `dsrdesk user add|disable|enable|role|password`.
func userCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	const want = "dsrdesk user: want a subcommand: add, disable, enable, role or password (dsrdesk user add --email E --role admin|officer|viewer [--name N])"
	if len(args) == 0 {
		fmt.Fprintln(stderr, want)
		return 2
	}
	switch args[0] {
	case "add":
		return userAdd(ctx, args[1:], stdin, stdout, stderr)
	case "disable":
		return userDisable(ctx, args[1:], stdout, stderr)
	case "enable":
		return userEnable(ctx, args[1:], stdout, stderr)
	case "role":
		return userRole(ctx, args[1:], stdout, stderr)
	case "password":
		return userPassword(ctx, args[1:], stdin, stdout, stderr)
	}
	fmt.Fprintln(stderr, want)
	return 2
}

// userAdd creates a console user. The password is the first line of stdin
// when stdin is not a terminal; otherwise one is generated and printed
// once. Bad flags or a rejected password exit 2; an existing email exits 1.
func userAdd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	const cmd = "dsrdesk user add"
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	email := fs.String("email", "", "the user's email address (the login name)")
	role := fs.String("role", "", "role: "+strings.Join(roles, ", "))
	name := fs.String("name", "", "the user's name as shown in the console")
	if code, ok := parseCommandFlags(fs, cmd, args, stdout, stderr); !ok {
		return code
	}
	if !dsr.ValidEmail(*email) {
		return usageError(stderr, cmd, "--email %q is not an email address (want e.g. --email ana@example.com)", *email)
	}
	if !slices.Contains(roles, *role) {
		return usageError(stderr, cmd, "--role %q is not a role (valid: %s)", *role, strings.Join(roles, ", "))
	}
	pw, piped, err := passwordFromInput(stdin)
	if err != nil {
		return usageError(stderr, cmd, "%v", err)
	}
	if !piped {
		pw = dsr.GeneratePassword()
	}
	hash, err := dsr.HashPassword(pw)
	if err != nil {
		if dsr.ErrorCode(err) == dsr.EINVALID {
			return usageError(stderr, cmd, "%s", dsr.ErrorMessage(err))
		}
		return exitCode(stderr, err)
	}

	pool, _, err := openMigrated(ctx)
	if err != nil {
		return exitCode(stderr, err)
	}
	defer pool.Close()
	u := &db.User{Email: *email, Name: *name, Role: *role, PasswordHash: hash}
	if err := db.InsertUser(ctx, pool, u); err != nil {
		if dsr.ErrorCode(err) == dsr.ECONFLICT {
			fmt.Fprintf(stderr, "%s: user exists: %s\n", cmd, strings.ToLower(*email))
			return 1
		}
		return exitCode(stderr, err)
	}
	fmt.Fprintf(stdout, "user add: created %s %s (id %s)\n", u.Role, strings.ToLower(u.Email), u.ID)
	if !piped {
		fmt.Fprintf(stdout, "password: %s\n", pw)
	}
	return 0
}

// passwordFromInput reads a password from the first line of stdin. piped
// is false, with nothing read, when stdin is nil or a terminal (a
// character device, /dev/null included).
func passwordFromInput(stdin io.Reader) (pw string, piped bool, err error) {
	if stdin == nil {
		return "", false, nil
	}
	if f, ok := stdin.(*os.File); ok {
		fi, err := f.Stat()
		if err != nil || fi.Mode()&os.ModeCharDevice != 0 {
			return "", false, nil
		}
	}
	// Read a little more than the longest password allowed, so a longer
	// one is rejected as too long rather than cut.
	line, err := bufio.NewReader(io.LimitReader(stdin, dsr.MaxPasswordLength+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", true, fmt.Errorf("reading the password from stdin: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", true, errors.New("stdin has no password: pipe one line, or run from a terminal to have one generated")
	}
	return line, true, nil
}

// tokenCommand runs `dsrdesk token create|list|revoke`.
func tokenCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const want = "dsrdesk token: want a subcommand: create, list or revoke (dsrdesk token create --email E | --system NAME [--name N] [--expires 90d])"
	if len(args) == 0 {
		fmt.Fprintln(stderr, want)
		return 2
	}
	switch args[0] {
	case "create":
		return tokenCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return tokenList(ctx, args[1:], stdout, stderr)
	case "revoke":
		return tokenRevoke(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, want)
	return 2
}

// tokenCreate makes an admin API token for an enabled user, prints it once
// and stores only its SHA-256. --expires (e.g. 90d, 12h) makes it stop
// working after that long. Bad flags exit 2; an unknown or disabled user
// exits 1.
func tokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const cmd = "dsrdesk token create"
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	email := fs.String("email", "", "email address of the user the token acts as")
	system := fs.String("system", "", "name of the data system the token reports for (POST /api/v1/tasks/{id}), instead of --email")
	name := fs.String("name", "", `a label for the token, e.g. "ci"`)
	expires := fs.String("expires", "", "lifetime in days or hours, e.g. 90d or 12h (default: no expiry)")
	if code, ok := parseCommandFlags(fs, cmd, args, stdout, stderr); !ok {
		return code
	}
	if *system != "" {
		return systemTokenCreate(ctx, *system, *email, *name, *expires, stdout, stderr)
	}
	if !dsr.ValidEmail(*email) {
		return usageError(stderr, cmd, "--email %q is not an email address (want e.g. --email ana@example.com)", *email)
	}
	if err := workflow.CheckTokenName(*name); err != nil {
		return usageError(stderr, cmd, "--name: %s", dsr.ErrorMessage(err))
	}
	var expiresAt *time.Time
	if *expires != "" {
		d, err := workflow.ParseTokenLifetime(*expires)
		if err != nil {
			return usageError(stderr, cmd, "--expires: %s", dsr.ErrorMessage(err))
		}
		t := time.Now().Add(d).UTC().Truncate(time.Second)
		expiresAt = &t
	}
	pool, _, err := openMigrated(ctx)
	if err != nil {
		return exitCode(stderr, err)
	}
	defer pool.Close()
	u, code, ok := userForCommand(ctx, pool, cmd, *email, stderr)
	if !ok {
		return code
	}
	if u.DisabledAt != nil {
		fmt.Fprintf(stderr, "%s: user %s is disabled\n", cmd, u.Email)
		return 1
	}
	raw, hash := db.NewAPIToken()
	id, err := db.CreateAPIToken(ctx, pool, "", u.ID, *name, hash, expiresAt, time.Now())
	if err != nil {
		return exitCode(stderr, err)
	}
	until := ""
	if expiresAt != nil {
		until = ", expiring " + expiresAt.Format(time.RFC3339)
	}
	fmt.Fprintf(stdout, "token create: created token %s for %s %s%s; it is shown only now\n", id, u.Role, u.Email, until)
	fmt.Fprintf(stdout, "token: %s\n", raw)
	return 0
}

// tokenJSON is one token in `dsrdesk token list --json`.
type tokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Owner      string     `json:"owner"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// tokenList prints the API tokens, of one user with --email: name, owner,
// dates and whether revoked, never the token or its hash. Text table, or
// a JSON array with --json. Bad flags exit 2; an unknown user exits 1.
func tokenList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const cmd = "dsrdesk token list"
	fs := flag.NewFlagSet("token list", flag.ContinueOnError)
	email := fs.String("email", "", "only the tokens of this user")
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	if code, ok := parseCommandFlags(fs, cmd, args, stdout, stderr); !ok {
		return code
	}
	if *email != "" && !dsr.ValidEmail(*email) {
		return usageError(stderr, cmd, "--email %q is not an email address (want e.g. --email ana@example.com)", *email)
	}
	pool, _, err := openMigrated(ctx)
	if err != nil {
		return exitCode(stderr, err)
	}
	defer pool.Close()
	userID := ""
	if *email != "" {
		u, code, ok := userForCommand(ctx, pool, cmd, *email, stderr)
		if !ok {
			return code
		}
		userID = u.ID
	}
	tokens, err := db.APITokens(ctx, pool, userID)
	if err != nil {
		return exitCode(stderr, err)
	}
	if *asJSON {
		out := make([]tokenJSON, 0, len(tokens))
		for _, t := range tokens {
			out = append(out, tokenJSON{ID: t.ID, Name: t.Name, Owner: t.UserEmail, CreatedAt: t.CreatedAt,
				LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return exitCode(stderr, enc.Encode(out))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tOWNER\tCREATED\tLAST USED\tEXPIRES\tREVOKED\tID")
	for _, t := range tokens {
		name := t.Name
		if name == "" {
			name = `""`
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, t.UserEmail, t.CreatedAt.UTC().Format(time.RFC3339),
			when(t.LastUsedAt, "never"), when(t.ExpiresAt, "never"), when(t.RevokedAt, "no"), t.ID)
	}
	return exitCode(stderr, tw.Flush())
}

// when formats an optional instant for the token table.
func when(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

// systemTokenCreate makes a token for a configured data system (see
// token create --system): it may only report on that system's tasks.
func systemTokenCreate(ctx context.Context, system, email, name, expires string, stdout, stderr io.Writer) int {
	const cmd = "dsrdesk token create"
	if email != "" {
		return usageError(stderr, cmd, "give --email or --system, not both")
	}
	if err := workflow.CheckTokenName(name); err != nil {
		return usageError(stderr, cmd, "--name: %s", dsr.ErrorMessage(err))
	}
	if path := getenv("DSR_CONFIG", ""); path != "" {
		cfg, err := dsr.LoadConfig(path)
		if err != nil {
			return exitCode(stderr, err)
		}
		if _, ok := cfg.System(system); !ok {
			fmt.Fprintf(stderr, "%s: %s has no system named %q\n", cmd, path, system)
			return 1
		}
	}
	var expiresAt *time.Time
	if expires != "" {
		d, err := workflow.ParseTokenLifetime(expires)
		if err != nil {
			return usageError(stderr, cmd, "--expires: %s", dsr.ErrorMessage(err))
		}
		t := time.Now().Add(d).UTC().Truncate(time.Second)
		expiresAt = &t
	}
	pool, _, err := openMigrated(ctx)
	if err != nil {
		return exitCode(stderr, err)
	}
	defer pool.Close()
	raw, hash := db.NewAPIToken()
	id, err := db.CreateSystemToken(ctx, pool, system, name, hash, expiresAt, time.Now())
	if err != nil {
		return exitCode(stderr, err)
	}
	fmt.Fprintf(stdout, "token create: created token %s for system %s; it may only report on that system's tasks and is shown only now\n", id, system)
	fmt.Fprintf(stdout, "token: %s\n", raw)
	return 0
}

// tokenRevoke revokes a user's live tokens with a name; they answer 401
// from the next request. Bad flags exit 2; an unknown user or no live
// token of that name exits 1.
func tokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const cmd = "dsrdesk token revoke"
	fs := flag.NewFlagSet("token revoke", flag.ContinueOnError)
	email := fs.String("email", "", "email address of the token's owner")
	system := fs.String("system", "", "the data system whose token to revoke, instead of --email")
	name := fs.String("name", "", `the token's name as token list shows it ("" for an unnamed one)`)
	if code, ok := parseCommandFlags(fs, cmd, args, stdout, stderr); !ok {
		return code
	}
	if *system != "" {
		pool, _, err := openMigrated(ctx)
		if err != nil {
			return exitCode(stderr, err)
		}
		defer pool.Close()
		n, err := db.RevokeSystemTokens(ctx, pool, *system, *name, time.Now())
		if err != nil {
			return exitCode(stderr, err)
		}
		if n == 0 {
			fmt.Fprintf(stderr, "%s: system %s has no live token named %q (see dsrdesk token list)\n", cmd, *system, *name)
			return 1
		}
		fmt.Fprintf(stdout, "token revoke: revoked %d token(s) named %q of system %s\n", n, *name, *system)
		return 0
	}
	if !dsr.ValidEmail(*email) {
		return usageError(stderr, cmd, "--email %q is not an email address (want e.g. --email ana@example.com)", *email)
	}
	if !flagGiven(fs, "name") {
		return usageError(stderr, cmd, "--name is required (dsrdesk token list --email %s shows the names)", strings.ToLower(*email))
	}
	pool, _, err := openMigrated(ctx)
	if err != nil {
		return exitCode(stderr, err)
	}
	defer pool.Close()
	u, code, ok := userForCommand(ctx, pool, cmd, *email, stderr)
	if !ok {
		return code
	}
	n, err := db.RevokeAPITokensByName(ctx, pool, "", u.ID, *name, time.Now())
	if err != nil {
		return exitCode(stderr, err)
	}
	if n == 0 {
		fmt.Fprintf(stderr, "%s: %s has no live token named %q (see dsrdesk token list --email %s)\n", cmd, u.Email, *name, u.Email)
		return 1
	}
	fmt.Fprintf(stdout, "token revoke: revoked %d token(s) named %q of %s\n", n, *name, u.Email)
	return 0
}

// userDisable disables a user and, at once, ends all their sessions and
// revokes all their API tokens. Bad flags exit 2; an unknown user exits 1.
func userDisable(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return userChange(ctx, "disable", args, stdout, stderr, func(pool *pgxpool.Pool, u *db.User) (string, error) {
		if err := db.DisableUser(ctx, pool, "", u.ID, time.Now()); err != nil {
			return "", err
		}
		return "disabled " + u.Email + "; their sessions and API tokens no longer work", nil
	})
}

// userEnable lets a disabled user sign in again (revoked tokens stay
// revoked). Bad flags exit 2; an unknown user exits 1.
func userEnable(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return userChange(ctx, "enable", args, stdout, stderr, func(pool *pgxpool.Pool, u *db.User) (string, error) {
		if err := db.EnableUser(ctx, pool, "", u.ID, time.Now()); err != nil {
			return "", err
		}
		return "enabled " + u.Email, nil
	})
}

// userRole changes a user's role, effective from their next request. A
// role other than admin, officer or viewer exits 2; an unknown user 1.
func userRole(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var role string
	return userChange(ctx, "role", args, stdout, stderr, func(pool *pgxpool.Pool, u *db.User) (string, error) {
		if err := db.SetUserRole(ctx, pool, "", u.ID, role, time.Now()); err != nil {
			return "", err
		}
		return u.Email + " is now " + role, nil
	}, func(fs *flag.FlagSet) func() (string, bool) {
		fs.StringVar(&role, "role", "", "the new role: "+strings.Join(roles, ", "))
		return func() (string, bool) {
			if !slices.Contains(roles, role) {
				return fmt.Sprintf("--role %q is not a role (valid: %s)", role, strings.Join(roles, ", ")), false
			}
			return "", true
		}
	})
}

// userPassword sets a user's password from the first line of stdin (the
// rules of user add) and ends all the user's sessions. No or a refused
// password exits 2; an unknown user 1.
func userPassword(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var hash string
	return userChange(ctx, "password", args, stdout, stderr, func(pool *pgxpool.Pool, u *db.User) (string, error) {
		if err := db.SetUserPassword(ctx, pool, "", u.ID, hash, nil, time.Now()); err != nil {
			return "", err
		}
		return "password of " + u.Email + " changed; their sessions are ended", nil
	}, func(fs *flag.FlagSet) func() (string, bool) {
		return func() (string, bool) {
			pw, piped, err := passwordFromInput(stdin)
			if err != nil {
				return err.Error(), false
			}
			if !piped {
				return "pipe the new password on stdin (one line)", false
			}
			h, err := dsr.HashPassword(pw)
			if err != nil {
				if dsr.ErrorCode(err) == dsr.EINVALID {
					return dsr.ErrorMessage(err), false
				}
				return err.Error(), false
			}
			hash = h
			return "", true
		}
	})
}

// userChange is the frame of the user subcommands that change one user
// found by --email: flags (plus those extra adds, whose check runs after
// parsing and returns a usage message when it fails: exit 2), the lookup
// (unknown: exit 1), then apply, whose result line goes to stdout.
func userChange(ctx context.Context, sub string, args []string, stdout, stderr io.Writer,
	apply func(*pgxpool.Pool, *db.User) (string, error), extra ...func(*flag.FlagSet) func() (string, bool)) int {
	cmd := "dsrdesk user " + sub
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	email := fs.String("email", "", "the user's email address")
	var checks []func() (string, bool)
	for _, x := range extra {
		checks = append(checks, x(fs))
	}
	if code, ok := parseCommandFlags(fs, cmd, args, stdout, stderr); !ok {
		return code
	}
	if !dsr.ValidEmail(*email) {
		return usageError(stderr, cmd, "--email %q is not an email address (want e.g. --email ana@example.com)", *email)
	}
	for _, check := range checks {
		if msg, ok := check(); !ok {
			return usageError(stderr, cmd, "%s", msg)
		}
	}
	pool, _, err := openMigrated(ctx)
	if err != nil {
		return exitCode(stderr, err)
	}
	defer pool.Close()
	u, code, ok := userForCommand(ctx, pool, cmd, *email, stderr)
	if !ok {
		return code
	}
	line, err := apply(pool, u)
	if err != nil {
		return exitCode(stderr, err)
	}
	fmt.Fprintf(stdout, "user %s: %s\n", sub, line)
	return 0
}

// userForCommand finds the user with this email; an unknown one is one
// line on stderr and exit 1 (ok false).
func userForCommand(ctx context.Context, pool *pgxpool.Pool, cmd, email string, stderr io.Writer) (*db.User, int, bool) {
	u, err := db.UserByEmail(ctx, pool, email)
	if dsr.ErrorCode(err) == dsr.ENOTFOUND {
		fmt.Fprintf(stderr, "%s: no user %s (add one with dsrdesk user add)\n", cmd, strings.ToLower(email))
		return nil, 1, false
	}
	if err != nil {
		return nil, exitCode(stderr, err), false
	}
	return u, 0, true
}

// flagGiven reports whether the flag was set on the command line (an
// empty value included).
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// parseCommandFlags parses a subcommand's flags: -h prints them (exit 0),
// a bad flag or a stray argument is one line on stderr (exit 2). ok is
// true when the command should go on.
func parseCommandFlags(fs *flag.FlagSet, cmd string, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0, false
		}
		return usageError(stderr, cmd, "%v", err), false
	}
	if fs.NArg() > 0 {
		return usageError(stderr, cmd, "unexpected argument %q", fs.Arg(0)), false
	}
	return 0, true
}

// usageError prints one line for bad input and returns exit status 2.
func usageError(stderr io.Writer, cmd, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s: %s\n", cmd, fmt.Sprintf(format, args...))
	return 2
}
