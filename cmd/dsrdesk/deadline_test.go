package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// deadlineJSON mirrors the output of `dsrdesk deadline`, with the dates
// as raw strings so that null stays distinguishable from a date.
type deadlineJSON struct {
	Regime      string  `json:"regime"`
	Kind        string  `json:"kind"`
	Received    *string `json:"received"`
	Calendar    string  `json:"calendar"`
	AckDue      *string `json:"ack_due"`
	Due         *string `json:"due"`
	ExtendedDue *string `json:"extended_due"`
	Ledger      []struct {
		What *string `json:"what"`
		Date *string `json:"date"`
		Rule *string `json:"rule"`
	} `json:"ledger"`
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func str(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

func TestDeadlineCommand(t *testing.T) {
	tests := []struct {
		name                   string
		args                   []string
		regime, kind, received string
		calendar               string
		ack, due, extended     string // "null" for JSON null
		ledgerWhat             []string
		ruleHas                string // a substring of the received entry's rule
	}{
		{
			name:   "uk access, 28 Feb is a Saturday",
			args:   []string{"--regime", "uk_gdpr", "--kind", "access", "--received", "2026-01-30"},
			regime: "uk_gdpr", kind: "access", received: "2026-01-30", calendar: "GB-ENG",
			ack: "null", due: "2026-03-02", extended: "2026-04-30",
			ledgerWhat: []string{"received", "legal_due", "due", "extended_due"},
		},
		{
			name:   "uk-gdpr hyphenated id",
			args:   []string{"--regime", "uk-gdpr", "--kind", "access", "--received", "2026-01-30"},
			regime: "uk_gdpr", kind: "access", received: "2026-01-30", calendar: "GB-ENG",
			ack: "null", due: "2026-03-02", extended: "2026-04-30",
		},
		{
			name:   "ccpa access across Veterans Day",
			args:   []string{"--regime", "ccpa", "--kind", "access", "--received", "2026-11-02"},
			regime: "ccpa", kind: "access", received: "2026-11-02", calendar: "US-CA",
			ack: "2026-11-17", due: "2026-12-16", extended: "2027-01-30",
			ledgerWhat: []string{"received", "ack_due", "legal_due", "due", "extended_due", "extension_notice_by"},
		},
		{
			name:   "ccpa opt-out: 15 business days, no extension",
			args:   []string{"--regime", "ccpa", "--kind", "opt_out", "--received", "2026-11-02"},
			regime: "ccpa", kind: "opt_out", received: "2026-11-02", calendar: "US-CA",
			ack: "null", due: "2026-11-24", extended: "null",
		},
		{
			name:   "gdpr erasure with a policy promise",
			args:   []string{"--regime", "gdpr", "--kind", "erasure", "--received", "2026-03-02", "--policy", "erasure=14"},
			regime: "gdpr", kind: "erasure", received: "2026-03-02", calendar: "EU",
			ack: "null", due: "2026-03-16", extended: "2026-06-02",
			ledgerWhat: []string{"received", "legal_due", "policy_due", "due", "extended_due"},
		},
		{
			name:   "policy for another kind does not apply",
			args:   []string{"--regime", "gdpr", "--kind", "access", "--received", "2026-03-02", "--policy", "erasure=14"},
			regime: "gdpr", kind: "access", received: "2026-03-02", calendar: "EU",
			ack: "null", due: "2026-04-02", extended: "2026-06-02",
		},
		{
			name:   "policy later than the law does not move the due date",
			args:   []string{"--regime", "gdpr", "--kind", "erasure", "--received", "2026-03-02", "--policy", "erasure=60"},
			regime: "gdpr", kind: "erasure", received: "2026-03-02", calendar: "EU",
			ack: "null", due: "2026-04-02", extended: "2026-06-02",
		},
		{
			name:   "calendar is echoed",
			args:   []string{"--regime", "gdpr", "--kind", "access", "--received", "2026-03-02", "--calendar", "NL"},
			regime: "gdpr", kind: "access", received: "2026-03-02", calendar: "NL",
			ack: "null", due: "2026-04-02", extended: "2026-06-02",
		},
		{
			name:   "ccpa on the federal calendar with --calendar US",
			args:   []string{"--regime", "ccpa", "--kind", "access", "--received", "2026-11-02", "--calendar", "US"},
			regime: "ccpa", kind: "access", received: "2026-11-02", calendar: "US",
			ack: "2026-11-17", due: "2026-12-16", extended: "2027-01-30",
		},
		{
			// Lincoln Day Fri 12 Feb and Presidents' Day Mon 15 Feb 2027
			// are skipped on US-CA: ack day 10 is Wed 24 Feb.
			name:   "ccpa counts California holidays by default",
			args:   []string{"--regime", "ccpa", "--kind", "portability", "--received", "2027-02-08"},
			regime: "ccpa", kind: "portability", received: "2027-02-08", calendar: "US-CA",
			ack: "2027-02-24", due: "2027-03-24", extended: "2027-05-08",
		},
		{
			// 15 days only: 29 Feb 2028 day 1, 13 Apr day 45, 28 Apr day 60.
			name:   "fdbr: one 15-day extension",
			args:   []string{"--regime", "fdbr", "--kind", "access", "--received", "2028-02-29"},
			regime: "fdbr", kind: "access", received: "2028-02-29", calendar: "US",
			ack: "null", due: "2028-04-13", extended: "2028-04-28",
			ledgerWhat: []string{"received", "legal_due", "due", "extended_due", "extension_notice_by"},
		},
		{
			name:   "njdpa: the received date is the verification date",
			args:   []string{"--regime", "njdpa", "--kind", "erasure", "--received", "2026-01-31"},
			regime: "njdpa", kind: "erasure", received: "2026-01-31", calendar: "US",
			ack: "null", due: "2026-03-16", extended: "2026-04-30",
			ruleHas: "verified",
		},
		{
			name:   "qc_law25: 30 days, no extension",
			args:   []string{"--regime", "qc_law25", "--kind", "access", "--received", "2026-12-25"},
			regime: "qc_law25", kind: "access", received: "2026-12-25", calendar: "CA",
			ack: "null", due: "2027-01-23", extended: "null",
		},
		{
			name:   "calendar code is case insensitive",
			args:   []string{"--regime", "uk_gdpr", "--kind", "access", "--received", "2026-01-30", "--calendar", "gb-eng"},
			regime: "uk_gdpr", kind: "access", received: "2026-01-30", calendar: "GB-ENG",
			ack: "null", due: "2026-03-02", extended: "2026-04-30",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"deadline"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if stderr != "" {
				t.Errorf("stderr %q, want empty", stderr)
			}
			dec := json.NewDecoder(strings.NewReader(stdout))
			dec.DisallowUnknownFields()
			var got deadlineJSON
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("output is not the expected JSON: %v\n%s", err, stdout)
			}
			if got.Regime != tt.regime || got.Kind != tt.kind || str(got.Received) != tt.received {
				t.Errorf("regime/kind/received = %s/%s/%s, want %s/%s/%s", got.Regime, got.Kind, str(got.Received), tt.regime, tt.kind, tt.received)
			}
			if got.Calendar != tt.calendar {
				t.Errorf("calendar = %q, want %q", got.Calendar, tt.calendar)
			}
			for _, f := range []struct{ name, got, want string }{
				{"ack_due", str(got.AckDue), tt.ack},
				{"due", str(got.Due), tt.due},
				{"extended_due", str(got.ExtendedDue), tt.extended},
			} {
				if f.got != f.want {
					t.Errorf("%s = %s, want %s", f.name, f.got, f.want)
				}
			}
			if len(got.Ledger) == 0 {
				t.Fatal("empty ledger")
			}
			whats := map[string]bool{}
			for i, e := range got.Ledger {
				if e.What == nil || *e.What == "" || e.Date == nil || *e.Date == "" || e.Rule == nil || strings.TrimSpace(*e.Rule) == "" {
					t.Errorf("ledger[%d] = {%s %s %s}: want what, date and rule", i, str(e.What), str(e.Date), str(e.Rule))
					continue
				}
				whats[*e.What] = true
				if *e.What == "due" && *e.Date != tt.due {
					t.Errorf("ledger due entry %s, want %s", *e.Date, tt.due)
				}
			}
			if tt.ruleHas != "" && !strings.Contains(str(got.Ledger[0].Rule), tt.ruleHas) {
				t.Errorf("received rule %q does not contain %q", str(got.Ledger[0].Rule), tt.ruleHas)
			}
			for _, w := range tt.ledgerWhat {
				if !whats[w] {
					t.Errorf("ledger has no %q entry", w)
				}
			}
		})
	}
}

func TestDeadlineCommandErrors(t *testing.T) {
	base := []string{"deadline", "--regime", "gdpr", "--kind", "access", "--received", "2026-03-02"}
	with := func(flag, value string) []string {
		args := append([]string{}, base...)
		for i := range args {
			if args[i] == flag {
				args[i+1] = value
				return args
			}
		}
		return append(args, flag, value)
	}
	tests := []struct {
		name string
		args []string
		want []string // substrings of the one stderr line
	}{
		{"unknown regime", with("--regime", "gdrp"), []string{"gdrp", "uk_gdpr", "ccpa"}},
		{"missing regime", []string{"deadline", "--kind", "access", "--received", "2026-03-02"}, []string{"--regime", "uk_gdpr"}},
		{"unknown kind", with("--kind", "erase"), []string{"erase", "opt_out", "erasure"}},
		{"missing kind", []string{"deadline", "--regime", "gdpr", "--received", "2026-03-02"}, []string{"opt_out"}},
		{"uncovered kind", []string{"deadline", "--regime", "ccpa", "--kind", "restriction", "--received", "2026-03-02"},
			[]string{"restriction", "opt_out", "access"}},
		{"unknown calendar", with("--calendar", "XX"), []string{"XX", "GB-ENG", "NL"}},
		{"bad date", with("--received", "2026-02-30"), []string{"2026-02-30", "YYYY-MM-DD"}},
		{"date in another format", with("--received", "02/03/2026"), []string{"YYYY-MM-DD"}},
		{"missing date", []string{"deadline", "--regime", "gdpr", "--kind", "access"}, []string{"YYYY-MM-DD"}},
		{"bad --policy: no days", with("--policy", "erasure"), []string{"KIND=DAYS"}},
		{"bad --policy: unknown kind", with("--policy", "erase=14"), []string{"erase", "opt_out"}},
		{"bad --policy: zero days", with("--policy", "erasure=0"), []string{"1", "365"}},
		{"bad --policy: days not a number", with("--policy", "erasure=two"), []string{"1", "365"}},
		{"received before the law is in force", []string{"deadline", "--regime", "incdpa", "--kind", "access", "--received", "2025-12-31"},
			[]string{"incdpa", "2026-01-01", "2025-12-31", "default regime"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want empty", stdout)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 || lines[0] == "" || !strings.HasSuffix(stderr, "\n") {
				t.Errorf("stderr is %d lines, want exactly one:\n%s", len(lines), stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not contain %q", stderr, w)
				}
			}
			// The message is for people: no internal error code prefix.
			if strings.Contains(stderr, "invalid: ") || strings.Contains(stderr, "Internal error") {
				t.Errorf("stderr %q shows an error code or an internal error", stderr)
			}
		})
	}
}

func TestCheckConfig(t *testing.T) {
	t.Setenv("DSR_CONFIG", "")
	for _, f := range []string{"../../examples/eu-saas.json", "../../examples/us-ccpa.json"} {
		code, stdout, stderr := runCLI(t, "check-config", f)
		if code != 0 {
			t.Errorf("check-config %s: exit %d, stderr %q", f, code, stderr)
		}
		if !strings.Contains(stdout, "ok") {
			t.Errorf("check-config %s: stdout %q", f, stdout)
		}
	}

	if code, stdout, _ := runCLI(t, "check-config", "../../examples/eu-saas.json"); code != 0 ||
		!strings.Contains(stdout, "Modelworks B.V.") || !strings.Contains(stdout, "Europe/Amsterdam") {
		t.Errorf("check-config output %q does not show what it resolved", stdout)
	}

	dir := t.TempDir()
	eu, err := os.ReadFile("../../examples/eu-saas.json")
	if err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(broken, bytes.Replace(eu, []byte(`"Europe/Amsterdam"`), []byte(`"Europe/Utrecht"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	malformed := filepath.Join(dir, "malformed.json")
	if err := os.WriteFile(malformed, eu[:len(eu)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"invalid field", []string{"check-config", broken}, "time_zone"},
		{"malformed JSON", []string{"check-config", malformed}, "malformed.json"},
		{"missing file", []string{"check-config", filepath.Join(dir, "nope.json")}, "nope.json"},
		{"no file and no DSR_CONFIG", []string{"check-config"}, "DSR_CONFIG"},
	} {
		code, stdout, stderr := runCLI(t, tt.args...)
		if code != 2 {
			t.Errorf("%s: exit %d, want 2", tt.name, code)
		}
		if stdout != "" {
			t.Errorf("%s: stdout %q, want empty", tt.name, stdout)
		}
		if !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: stderr %q does not contain %q", tt.name, stderr, tt.want)
		}
	}

	// DSR_CONFIG is the default file.
	t.Setenv("DSR_CONFIG", "../../examples/us-ccpa.json")
	if code, stdout, stderr := runCLI(t, "check-config"); code != 0 || !strings.Contains(stdout, "Ledgerline Inc.") {
		t.Errorf("check-config with DSR_CONFIG: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestRunUsage(t *testing.T) {
	if code, _, stderr := runCLI(t); code != 2 || !strings.Contains(stderr, "Usage") {
		t.Errorf("no args: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "frobnicate"); code != 2 || !strings.Contains(stderr, "frobnicate") {
		t.Errorf("unknown command: exit %d, stderr %q", code, stderr)
	}
	if code, stdout, _ := runCLI(t, "help"); code != 0 || !strings.Contains(stdout, "deadline") {
		t.Errorf("help: exit %d, stdout %q", code, stdout)
	}
}
