package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// regimeRow is one regime as `dsrdesk regimes` prints it.
type regimeRow struct {
	ID           string     `json:"id"`
	Short        string     `json:"short"`
	Name         string     `json:"name"`
	Jurisdiction string     `json:"jurisdiction"`
	Citation     string     `json:"citation"`
	Effective    dsr.Date   `json:"effective"`
	Kinds        []dsr.Kind `json:"kinds"`
	Calendar     string     `json:"calendar"`
	Appeal       bool       `json:"appeal"`
	GPCFrom      *dsr.Date  `json:"gpc_from"` // null: no duty to honour GPC
	Unverified   []string   `json:"unverified"`
}

// regimesCommand lists every regime DSR Desk knows: a text table by
// default, a JSON array with --json. Bad flags or arguments exit 2 with
// one line.
func regimesCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("regimes", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "dsrdesk regimes: %v (valid: --json)\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "dsrdesk regimes: unexpected argument %q (valid: --json)\n", fs.Arg(0))
		return 2
	}
	rows := make([]regimeRow, 0, len(dsr.Regimes()))
	for _, r := range dsr.Regimes() {
		row := regimeRow{ID: r.ID, Short: r.Short, Name: r.Name, Jurisdiction: r.Jurisdiction, Citation: r.Citation,
			Effective: r.Effective, Kinds: r.Kinds, Calendar: r.Calendar, Appeal: r.Appeal != nil, Unverified: r.Unverified}
		if row.Unverified == nil {
			row.Unverified = []string{}
		}
		if r.GPC != nil && r.GPC.Required {
			from := r.GPC.From
			row.GPCFrom = &from
		}
		rows = append(rows, row)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rows); err != nil {
			return 1
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCITATION\tEFFECTIVE\tKINDS")
	for _, r := range rows {
		kinds := make([]string, len(r.Kinds))
		for i, k := range r.Kinds {
			kinds[i] = string(k)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Citation, r.Effective, strings.Join(kinds, ","))
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	return 0
}
