package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// reportCommand runs `dsrdesk report ccpa|gdpr|sla`: the report of one
// year on stdout as json (default), csv or md. Exit 2 for bad usage, 1
// when the database or the config fails.
func reportCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "ccpa" && args[0] != "gdpr" && args[0] != "sla") {
		fmt.Fprintln(stderr, "dsrdesk report: want ccpa, gdpr or sla")
		return 2
	}
	which := args[0]
	cmd := "dsrdesk report " + which
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	year := fs.Int("year", 0, "calendar year of the requests' received date (default: this year)")
	format := fs.String("format", "json", "json, csv or md")
	period := fs.String("period", dsr.PeriodMonth, "gdpr: month or quarter")
	regimes := fs.String("regime", strings.Join(workflow.DefaultGDPRRegimes, ","), "gdpr: comma-separated regime ids")
	if code, ok := parseCommandFlags(fs, cmd, args[1:], stdout, stderr); !ok {
		return code
	}
	f, err := dsr.ParseFormat(*format)
	if err != nil {
		return usageError(stderr, cmd, "--format must be json, csv or md")
	}
	if *period != dsr.PeriodMonth && *period != dsr.PeriodQuarter {
		return usageError(stderr, cmd, "--period must be month or quarter")
	}
	path := getenv("DSR_CONFIG", "")
	if path == "" {
		return usageError(stderr, cmd, "DSR_CONFIG is not set (the organisation config gives the time zone)")
	}
	cfg, err := dsr.LoadConfig(path)
	if err != nil {
		return exitCode(stderr, err)
	}
	pool, err := db.Open(ctx, getenv("DATABASE_URL", db.DefaultURL))
	if err != nil {
		return exitCode(stderr, err)
	}
	defer pool.Close()
	engine, err := workflow.New(pool, workflow.Options{Org: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return exitCode(stderr, err)
	}
	if *year == 0 {
		*year = dsr.DateIn(engine.Now(), cfg.Location()).Time().Year()
	}
	if err := workflow.ValidReportYear(*year); err != nil {
		return usageError(stderr, cmd, "--year must be a year from 2000 to 9999")
	}
	var v any
	var t dsr.Table
	switch which {
	case "ccpa":
		r, err := engine.CCPAReport(ctx, *year)
		if err != nil {
			return exitCode(stderr, err)
		}
		v, t = r, r.Table()
	case "gdpr":
		var list []string
		for _, r := range strings.Split(*regimes, ",") {
			if r = strings.TrimSpace(r); r != "" {
				list = append(list, r)
			}
		}
		r, err := engine.GDPRReport(ctx, *year, *period, list)
		if err != nil {
			if dsr.ErrorCode(err) == dsr.EINVALID {
				return usageError(stderr, cmd, "%v", err)
			}
			return exitCode(stderr, err)
		}
		v, t = r, r.Table()
	case "sla":
		r, err := engine.SLAReport(ctx, *year)
		if err != nil {
			return exitCode(stderr, err)
		}
		v, t = r, r.Table()
	}
	return exitCode(stderr, dsr.WriteReport(stdout, f, v, t))
}
