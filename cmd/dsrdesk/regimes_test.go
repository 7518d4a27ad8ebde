package main

import (
	"encoding/json"
	"strings"
	"testing"
)

var regimeIDs2026 = []string{"mtcdpa", "dpdpa", "njdpa", "ndpa", "nhpa", "tipa", "mncdpa", "modpa", "incdpa", "kcdpa", "ridtppa", "fdbr", "qc_law25", "ch_fadp"}

func TestRegimesCommandJSON(t *testing.T) {
	code, stdout, stderr := runCLI(t, "regimes", "--json")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var rows []struct {
		ID, Short, Name, Jurisdiction, Citation, Calendar string
		Effective                                         *string
		Kinds                                             []string
		Appeal                                            bool
		GPCFrom                                           *string `json:"gpc_from"`
		Unverified                                        []string
	}
	if err := dec.Decode(&rows); err != nil {
		t.Fatalf("not the expected JSON: %v\n%s", err, stdout)
	}
	byID := map[string]int{}
	for i, r := range rows {
		byID[r.ID] = i
		if r.Name == "" || r.Citation == "" || r.Effective == nil || len(*r.Effective) != 10 || len(r.Kinds) == 0 || r.Unverified == nil {
			t.Errorf("row %+v: id, name, citation, effective date, kinds and unverified are required", r)
		}
	}
	for _, id := range append([]string{"gdpr", "uk_gdpr", "ccpa", "vcdpa", "cpa", "ctdpa", "ucpa", "tdpsa", "ocpa", "icdpa", "lgpd", "pipeda"}, regimeIDs2026...) {
		if _, ok := byID[id]; !ok {
			t.Errorf("regime %s missing from dsrdesk regimes --json", id)
		}
	}
	if len(rows) != 26 {
		t.Errorf("%d regimes, want 26", len(rows))
	}
	nj := rows[byID["njdpa"]]
	if *nj.Effective != "2025-01-15" || !nj.Appeal || nj.GPCFrom == nil || *nj.GPCFrom != "2025-07-15" || !strings.Contains(nj.Citation, "56:8-166") {
		t.Errorf("njdpa row %+v", nj)
	}
	if tn := rows[byID["tipa"]]; tn.GPCFrom != nil || !tn.Appeal {
		t.Errorf("tipa row %+v: no GPC duty, an appeal right", tn)
	}
	if qc := rows[byID["qc_law25"]]; qc.Appeal {
		t.Errorf("qc_law25 row %+v: no internal appeal", qc)
	}
}

func TestRegimesCommandTable(t *testing.T) {
	code, stdout, stderr := runCLI(t, "regimes")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) != 27 {
		t.Fatalf("%d lines, want a header and 26 regimes:\n%s", len(lines), stdout)
	}
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "ID NAME CITATION EFFECTIVE KINDS" {
		t.Errorf("header %q", lines[0])
	}
	found := false
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "fdbr ") {
			found = true
			for _, w := range []string{"Florida Digital Bill of Rights", "501.706", "2024-07-01", "access,rectification,erasure,portability,opt_out"} {
				if !strings.Contains(l, w) {
					t.Errorf("fdbr line %q lacks %q", l, w)
				}
			}
		}
	}
	if !found {
		t.Error("no fdbr line")
	}
}

func TestRegimesCommandBadFlags(t *testing.T) {
	for _, args := range [][]string{{"regimes", "--jsn"}, {"regimes", "extra"}, {"regimes", "--json=maybe"}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "--json") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line naming --json", args, code, stdout, stderr)
		}
	}
}

// `dsrdesk deadline --regime ID` gives the same JSON for every new regime.
func TestDeadlineCommandNewRegimes(t *testing.T) {
	for _, id := range regimeIDs2026 {
		code, stdout, stderr := runCLI(t, "deadline", "--regime", id, "--kind", "access", "--received", "2026-03-02")
		if code != 0 || stderr != "" {
			t.Errorf("%s: exit %d, stderr %q", id, code, stderr)
			continue
		}
		dec := json.NewDecoder(strings.NewReader(stdout))
		dec.DisallowUnknownFields()
		var got deadlineJSON
		if err := dec.Decode(&got); err != nil {
			t.Errorf("%s: not the deadline JSON: %v", id, err)
			continue
		}
		// 30 days (Quebec, Switzerland): 2 Mar day 1, 31 Mar day 30; 45
		// days (US states): 31 Mar day 30, 15 Apr day 45.
		want := "2026-04-15"
		if id == "qc_law25" || id == "ch_fadp" {
			want = "2026-03-31"
		}
		if got.Regime != id || str(got.Due) != want || len(got.Ledger) < 3 {
			t.Errorf("%s: regime %s due %s (%d ledger entries), want due %s", id, got.Regime, str(got.Due), len(got.Ledger), want)
		}
	}
}
