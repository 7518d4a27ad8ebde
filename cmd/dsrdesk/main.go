// Command dsrdesk is the DSR Desk binary: the server, migrations and the
// officer tools. It only wires packages together.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones in minimal containers
)

const usage = `dsrdesk — data-subject request desk

Usage:
  dsrdesk serve                 run the web server and the background jobs
  dsrdesk migrate               create the database if needed and apply migrations
  dsrdesk deadline [flags]      compute the dates of a request (see dsrdesk deadline -h)
  dsrdesk regimes [--json]      list every regime: id, name, citation, effective date, kinds
  dsrdesk check-config [FILE]   validate an organisation config (default $DSR_CONFIG)
  dsrdesk user add --email E --role admin|officer|viewer [--name N]
                                add a console user; the password is read from stdin
                                (first line) or, from a terminal, generated and printed once
  dsrdesk user disable --email E
                                disable a user: their sessions and API tokens stop at once
  dsrdesk user enable --email E let a disabled user sign in again
  dsrdesk user role --email E --role admin|officer|viewer
                                change a user's role
  dsrdesk user password --email E
                                set a user's password from stdin (first line); ends
                                their sessions
  dsrdesk token create --email E [--name N] [--expires 90d|12h]
                                create an admin API token for a user, printed once
  dsrdesk token list [--email E] [--json]
                                list API tokens (never the tokens themselves)
  dsrdesk token revoke --email E --name N
                                revoke a user's tokens of that name, at once
  dsrdesk audit verify          recompute every request's event hash chain; exit 1
                                naming the first broken link
  dsrdesk purge [--as-of YYYY-MM-DD] [--dry-run]
                                apply the retention periods of DSR_CONFIG; print what
                                was (or would be) purged per category, as JSON
  dsrdesk report ccpa|gdpr|sla [--year Y] [--format json|csv|md] [--period month|quarter]
                                [--regime gdpr,uk_gdpr]  regulators' reports of one year

Environment:
  DATABASE_URL  PostgreSQL URL (default postgres://localhost:5432/dsrdesk?sslmode=disable)
  DSR_ADDR      listen address (default :8080)
  DSR_BASE_URL  public URL used in emails (default http://localhost:8080)
  DSR_SMTP_URL  smtp://[user:pass@]host:port or smtps://…; unset: mail stays captured in the database
  DSR_CONFIG    path of the organisation config (JSON), e.g. examples/eu-saas.json
  DSR_SESSION_IDLE_TIMEOUT
                console sessions unused this long end (Go duration, default 30m;
                every session also ends 12 hours after sign-in)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is runWithInput with the process's standard input.
func run(args []string, stdout, stderr io.Writer) int {
	return runWithInput(args, os.Stdin, stdout, stderr)
}

// runWithInput executes one subcommand and returns the process exit
// status: 0 ok, 1 runtime failure, 2 bad usage or input. stdin is read
// only by commands that take input (user add, user password); a nil stdin or a terminal
// means there is none.
func runWithInput(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	slog.SetDefault(logger)

	switch args[0] {
	case "serve":
		return exitCode(stderr, serve(ctx, logger))
	case "migrate":
		return exitCode(stderr, migrate(ctx, stdout))
	case "deadline":
		return deadline(args[1:], stdout, stderr)
	case "regimes":
		return regimesCommand(args[1:], stdout, stderr)
	case "check-config":
		return checkConfig(args[1:], stdout, stderr)
	case "user":
		return userCommand(ctx, args[1:], stdin, stdout, stderr)
	case "token":
		return tokenCommand(ctx, args[1:], stdout, stderr)
	case "audit":
		return auditCommand(ctx, args[1:], stdout, stderr)
	case "purge":
		return purgeCommand(ctx, args[1:], stdout, stderr, logger)
	case "report":
		return reportCommand(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "dsrdesk: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "dsrdesk: %v\n", err)
	return 1
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
