package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/dsrdesk/dsrdesk/db"
)

// auditCommand runs `dsrdesk audit verify`.
func auditCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "dsrdesk audit: want a subcommand: verify")
		return 2
	}
	return auditVerify(ctx, args[1:], stdout, stderr)
}

// auditVerify recomputes every request's event hash chain. It exits 0 when
// every chain is intact and 1 naming the first broken link (or when the
// database fails). It only reads: it neither migrates nor writes, so it
// can run with a read-only database role.
func auditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	if code, ok := parseCommandFlags(fs, "dsrdesk audit verify", args, stdout, stderr); !ok {
		return code
	}
	pool, err := db.Open(ctx, getenv("DATABASE_URL", db.DefaultURL))
	if err != nil {
		return exitCode(stderr, err)
	}
	defer pool.Close()
	rep, err := db.VerifyChains(ctx, pool)
	if err != nil {
		return exitCode(stderr, err)
	}
	if b := rep.Broken; b != nil {
		if b.Reason == db.AuditNoEvents {
			fmt.Fprintf(stdout, "audit: chain broken at request %s: %s\n", b.RequestID, b.Reason)
		} else {
			fmt.Fprintf(stdout, "audit: chain broken at request %s, event %d (%s, id %d): %s\n", b.RequestID, b.Seq, b.Type, b.EventID, b.Reason)
		}
		return 1
	}
	fmt.Fprintf(stdout, "audit: %d events in %d requests: every chain intact\n", rep.Events, rep.Requests)
	return 0
}
