package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

var roles = []string{db.RoleAdmin, db.RoleOfficer, db.RoleViewer}

// userCommand runs `dsrdesk user add`.
func userCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, "dsrdesk user: want a subcommand: add (dsrdesk user add --email E --role admin|officer|viewer [--name N])")
		return 2
	}
	return userAdd(ctx, args[1:], stdin, stdout, stderr)
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

// tokenCommand runs `dsrdesk token create`.
func tokenCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "dsrdesk token: want a subcommand: create (dsrdesk token create --email E [--name N])")
		return 2
	}
	return tokenCreate(ctx, args[1:], stdout, stderr)
}

// tokenCreate makes an admin API token for an enabled user, prints it once
// and stores only its SHA-256. Bad flags exit 2; an unknown or disabled
// user exits 1.
func tokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const cmd = "dsrdesk token create"
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	email := fs.String("email", "", "email address of the user the token acts as")
	name := fs.String("name", "", `a label for the token, e.g. "ci"`)
	if code, ok := parseCommandFlags(fs, cmd, args, stdout, stderr); !ok {
		return code
	}
	if !dsr.ValidEmail(*email) {
		return usageError(stderr, cmd, "--email %q is not an email address (want e.g. --email ana@example.com)", *email)
	}
	pool, _, err := openMigrated(ctx)
	if err != nil {
		return exitCode(stderr, err)
	}
	defer pool.Close()
	u, err := db.UserByEmail(ctx, pool, *email)
	if dsr.ErrorCode(err) == dsr.ENOTFOUND {
		fmt.Fprintf(stderr, "%s: no user %s (add one with dsrdesk user add)\n", cmd, strings.ToLower(*email))
		return 1
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	if u.DisabledAt != nil {
		fmt.Fprintf(stderr, "%s: user %s is disabled\n", cmd, u.Email)
		return 1
	}
	raw, hash := db.NewAPIToken()
	id, err := db.InsertAPIToken(ctx, pool, u.ID, *name, hash)
	if err != nil {
		return exitCode(stderr, err)
	}
	fmt.Fprintf(stdout, "token create: created token %s for %s %s; it is shown only now\n", id, u.Role, u.Email)
	fmt.Fprintf(stdout, "token: %s\n", raw)
	return 0
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
