package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// policyFlags collects repeated --policy KIND=DAYS.
type policyFlags map[dsr.Kind]int

func (p policyFlags) String() string { return "" }

func (p policyFlags) Set(v string) error {
	k, d, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want KIND=DAYS, got %q", v)
	}
	kind, err := dsr.ParseKind(k)
	if err != nil {
		return err
	}
	days, err := strconv.Atoi(d)
	if err != nil || days < 1 || days > 365 {
		return fmt.Errorf("days in %q must be a number from 1 to 365", v)
	}
	p[kind] = days
	return nil
}

type deadlineOutput struct {
	Regime      string            `json:"regime"`
	Kind        dsr.Kind          `json:"kind"`
	Received    dsr.Date          `json:"received"`
	Calendar    string            `json:"calendar"`
	AckDue      dsr.Date          `json:"ack_due"`
	Due         dsr.Date          `json:"due"`
	ExtendedDue dsr.Date          `json:"extended_due"`
	Ledger      []dsr.LedgerEntry `json:"ledger"`
}

// deadline answers "if this arrived on X, when is it due?" as one JSON
// object. Bad input exits 2 with one line naming the valid values.
func deadline(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("deadline", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed as one line below
	regime := fs.String("regime", "", "regime id: "+strings.Join(dsr.RegimeIDs(), ", "))
	kind := fs.String("kind", "", "request kind: access, rectification, erasure, portability, opt_out, restriction, objection")
	received := fs.String("received", "", "date of receipt, YYYY-MM-DD")
	calendar := fs.String("calendar", "", "holiday calendar code (default: the regime's): "+strings.Join(dsr.CalendarCodes(), ", "))
	policy := policyFlags{}
	fs.Var(policy, "policy", "organisation promise KIND=DAYS (repeatable), counted as receipt + DAYS")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "dsrdesk deadline: %s\n", strings.ReplaceAll(err.Error(), dsr.EINVALID+": ", ""))
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "dsrdesk deadline: %s\n", dsr.ErrorMessage(err))
		return 2
	}
	in, err := deadlineInput(*regime, *kind, *received, *calendar, policy)
	if err != nil {
		return fail(err)
	}
	d, err := dsr.ComputeDeadlines(in)
	if err != nil {
		return fail(err)
	}
	out := deadlineOutput{Regime: d.Regime, Kind: d.Kind, Received: d.Received, Calendar: d.Calendar,
		AckDue: d.AckDue, Due: d.Due, ExtendedDue: d.ExtendedDue, Ledger: d.Ledger}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return 1
	}
	return 0
}

func deadlineInput(regime, kind, received, calendar string, policy policyFlags) (dsr.DeadlineInput, error) {
	if regime == "" {
		return dsr.DeadlineInput{}, dsr.Errorf(dsr.EINVALID, "--regime is required (valid: %s)", strings.Join(dsr.RegimeIDs(), ", "))
	}
	r, err := dsr.LookupRegime(regime)
	if err != nil {
		return dsr.DeadlineInput{}, err
	}
	k, err := dsr.ParseKind(kind)
	if err != nil {
		return dsr.DeadlineInput{}, err
	}
	if !r.Covers(k) {
		var valid []string
		for _, c := range r.Kinds {
			valid = append(valid, string(c))
		}
		return dsr.DeadlineInput{}, dsr.Errorf(dsr.EINVALID, "%s does not cover %s requests (valid: %s)", r.ID, k, strings.Join(valid, ", "))
	}
	d, err := dsr.ParseDate(received)
	if err != nil {
		return dsr.DeadlineInput{}, dsr.Errorf(dsr.EINVALID, "--received %q is not a date (valid: YYYY-MM-DD)", received)
	}
	if !r.InForce(d) {
		// A law not yet in force gives no deadline: the request falls to
		// the organisation's default regime (dsr.Config.RegimeFor).
		return dsr.DeadlineInput{}, dsr.Errorf(dsr.EINVALID, "%s is in force from %s: a request received on %s falls to the default regime", r.ID, r.Effective, d)
	}
	in := dsr.DeadlineInput{Regime: r, Kind: k, Received: d, PromiseDays: policy[k]}
	if policy[k] > 0 {
		in.PromiseSource = "policy promise (--policy)"
	}
	if calendar != "" {
		if in.Calendar, err = dsr.LookupCalendar(calendar); err != nil {
			return dsr.DeadlineInput{}, err
		}
	}
	return in, nil
}

// checkConfig validates a config file and prints what it resolved.
func checkConfig(args []string, stdout, stderr io.Writer) int {
	path := getenv("DSR_CONFIG", "")
	if len(args) > 0 {
		path = args[0]
	}
	if path == "" {
		fmt.Fprintln(stderr, "dsrdesk check-config: give a file or set DSR_CONFIG")
		return 2
	}
	cfg, err := dsr.LoadConfig(path)
	if err != nil {
		fmt.Fprintf(stderr, "dsrdesk check-config: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "%s: ok (%s; regimes %s; time zone %s)\n", path, cfg.Organisation.Name, strings.Join(cfg.Regimes, ", "), cfg.Location())
	if miss := cfg.MissingSecrets(func(k string) string { return getenv(k, "") }); len(cfg.Systems) > 0 {
		fmt.Fprintf(stdout, "systems: %d", len(cfg.Systems))
		if len(miss) > 0 {
			fmt.Fprintf(stdout, "; not set in this environment (serve refuses to start without them): %s", strings.Join(miss, ", "))
		}
		fmt.Fprintln(stdout)
	}
	return 0
}
