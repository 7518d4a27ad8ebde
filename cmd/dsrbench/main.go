// Command dsrbench measures DSR Desk against the physical ceilings of the
// same machine and the same PostgreSQL: intake over real HTTP against a
// real `dsrdesk serve` child process (and against two on one database),
// single-row insert transactions, River inserts and pgbench as ceilings,
// the SQL statements and round trips of one intake of each kind, mail
// through the outbox against direct SMTP, the officer queue and the
// reconciliation sweep over a seeded database, and the server's peak
// memory. It creates (and drops) its own database.
//
//	go run ./cmd/dsrbench [-requests 1000000] [-intake 2000] [-mail 2000]
//
// With -faults it runs the fault checks instead: kill -9 of the server,
// the mail relay down, two replicas with one killed, a PostgreSQL restart
// (-pg-restart=false skips the last).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type options struct {
	server    string // admin URL of the PostgreSQL server
	requests  int    // queue/sweep seed size
	intake    int    // requests per intake concurrency level
	mail      int    // messages for the mail comparison
	levels    []int
	keep      bool
	faults    bool
	only      string
	pgRestart bool
	packageMB int // section data for the export package row (-only package)
	reports   int // requests seeded for the reports benchmark (-only reports)
}

func main() {
	var o options
	flag.StringVar(&o.server, "db", envOr("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL server URL (a database is created on it)")
	flag.IntVar(&o.requests, "requests", 1_000_000, "requests seeded for the queue and sweep benchmarks")
	flag.IntVar(&o.intake, "intake", 2000, "intake requests per concurrency level")
	flag.IntVar(&o.mail, "mail", 2000, "messages for the mail benchmark")
	levels := flag.String("clients", "1,8,32", "intake concurrency levels")
	flag.BoolVar(&o.keep, "keep", false, "keep the benchmark database")
	flag.StringVar(&o.only, "only", "", "run only this part: intake, mail, queue, and only when named: purge, package, reports")
	flag.IntVar(&o.packageMB, "package-mb", 720, "with -only package: MB of section rows the export package is built from (a portability package holds them as JSON and CSV: 720 MB makes a 1 GB zip)")
	flag.IntVar(&o.reports, "n", 10_000_000, "requests seeded for the reports benchmark (-only reports; not part of a full run)")
	flag.BoolVar(&o.faults, "faults", false, "run the fault checks (kill -9, mail relay down, two replicas with one killed, PostgreSQL restart) instead of the benchmarks")
	flag.BoolVar(&o.pgRestart, "pg-restart", true, "with -faults: restart the local PostgreSQL cluster (needs pg_ctlcluster and root)")
	flag.Parse()
	for _, l := range strings.Split(*levels, ",") {
		var n int
		if _, err := fmt.Sscanf(l, "%d", &n); err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "dsrbench: bad -clients %q\n", *levels)
			os.Exit(2)
		}
		o.levels = append(o.levels, n)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	do := run
	if o.faults {
		do = runFaults
	}
	if err := do(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "dsrbench: %v\n", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, o options) error {
	b, err := newBench(ctx, o)
	if err != nil {
		return err
	}
	defer b.close()
	fmt.Printf("dsrbench %s · %s · PostgreSQL %s\n\n", time.Now().UTC().Format(time.RFC3339), machine(), b.pgVersion)
	for _, part := range []struct {
		name string
		fn   func(context.Context) error
	}{{"intake", b.intake}, {"mail", b.mailBench}, {"queue", b.queueAndSweep},
		{"purge", b.purgeBench}, {"package", b.exportPackage}, {"reports", b.reportsBench}} {
		if o.only != "" && o.only != part.name {
			continue
		}
		if (part.name == "package" || part.name == "purge" || part.name == "reports") && o.only != part.name {
			continue // each seeds its own large set (1 GB, 1,000,000 closed requests): only when asked for
		}
		if err := part.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", part.name, err)
		}
	}
	b.report()
	return nil
}
