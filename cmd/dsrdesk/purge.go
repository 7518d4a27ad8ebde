package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// purgeCommand runs `dsrdesk purge [--as-of YYYY-MM-DD] [--dry-run]`: the
// retention purge of the organisation config (DSR_CONFIG), printing as
// one JSON object what it deleted (or, dry, would delete) per category.
// --as-of D purges what is due by the end of D in the organisation's
// time zone (default: now). Exit 0 done, 1 database or config failure,
// 2 bad flags.
func purgeCommand(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) int {
	const cmd = "dsrdesk purge"
	fs := flag.NewFlagSet("purge", flag.ContinueOnError)
	asOf := fs.String("as-of", "", "purge what is due by the end of this date (YYYY-MM-DD, organisation time zone); default now")
	dry := fs.Bool("dry-run", false, "count what would be purged; change nothing")
	if code, ok := parseCommandFlags(fs, cmd, args, stdout, stderr); !ok {
		return code
	}
	var day dsr.Date
	if *asOf != "" {
		d, err := dsr.ParseDate(*asOf)
		if err != nil {
			return usageError(stderr, cmd, "--as-of: want a date YYYY-MM-DD, got %q", *asOf)
		}
		day = d
	}
	path := os.Getenv("DSR_CONFIG")
	if path == "" {
		return usageError(stderr, cmd, "DSR_CONFIG is not set: point it at the organisation config")
	}
	cfg, err := dsr.LoadConfig(path)
	if err != nil {
		return exitCode(stderr, err)
	}
	pool, _, err := openMigrated(ctx)
	if err != nil {
		return exitCode(stderr, err)
	}
	defer pool.Close()
	// The purge seals no mail: the engine's random per-process key is
	// never used.
	engine, err := workflow.New(pool, workflow.Options{Org: cfg, Logger: logger})
	if err != nil {
		return exitCode(stderr, err)
	}
	var at time.Time // zero: the engine's clock, now
	if !day.IsZero() {
		at = cfg.PurgeAsOf(day)
	}
	rep, err := engine.Purge(ctx, at, *dry)
	if err != nil {
		return exitCode(stderr, err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return exitCode(stderr, enc.Encode(rep))
}
