package dsr_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
)

func show(p *float64) string {
	if p == nil {
		return "none"
	}
	return strconv.FormatFloat(*p, 'f', -1, 64)
}

func TestDayStatsMedianAndMean(t *testing.T) {
	for _, tc := range []struct {
		name         string
		days         map[int]int64
		median, mean string
	}{
		{"none", nil, "none", "none"},
		{"one", map[int]int64{7: 1}, "7", "7"},
		{"odd count", map[int]int64{1: 1, 5: 1, 30: 1}, "5", "12"},
		{"even count: mean of the middle two", map[int]int64{2: 1, 3: 1, 10: 1, 40: 1}, "6.5", "13.75"},
		{"heavy bucket", map[int]int64{0: 1, 4: 1000, 90: 2}, "4", "4.1674975074775675"},
		{"middle two in different buckets", map[int]int64{3: 2, 9: 2}, "6", "6"},
		{"zero days count", map[int]int64{0: 3}, "0", "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s dsr.DayStats
			for d, n := range tc.days {
				s.Add(d, n)
			}
			s.Add(-1, 5) // not a response: ignored
			if got := show(s.Median()); got != tc.median {
				t.Errorf("median %s, want %s", got, tc.median)
			}
			if got := show(s.Mean()); got != tc.mean {
				t.Errorf("mean %s, want %s", got, tc.mean)
			}
		})
	}
}

func TestReportTableFormats(t *testing.T) {
	tbl := dsr.Table{Title: "T", Note: "N", Columns: []string{"a", "b|c"}, Rows: [][]string{{"=HYPERLINK(1)", "-3"}, {"x, y", "@x"}}}
	var b bytes.Buffer
	if err := tbl.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	// Cells a spreadsheet would run as formulas are defused; numbers stay.
	if got, want := b.String(), "a,b|c\n'=HYPERLINK(1),-3\n\"x, y\",'@x\n"; got != want {
		t.Errorf("csv %q, want %q", got, want)
	}
	b.Reset()
	if err := tbl.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "## T\n\nN\n\n| a | b\\|c |\n| --- | --- |\n| =HYPERLINK(1) | -3 |\n| x, y | @x |\n"; got != want {
		t.Errorf("md %q, want %q", got, want)
	}
	if _, err := dsr.ParseFormat("xml"); dsr.ErrorCode(err) != dsr.EINVALID {
		t.Errorf("format xml: %v", err)
	}
	if f, err := dsr.ParseFormat(""); err != nil || f != dsr.FormatJSON {
		t.Errorf("default format %q %v", f, err)
	}
}

func TestGDPRReportPeriods(t *testing.T) {
	yes := true
	jan, apr := dsr.NewDate(2025, 1, 1), dsr.NewDate(2025, 4, 1)
	buckets := []dsr.ReportBucket{
		{Grain: dsr.GrainResult, Period: jan, Regime: "gdpr", Kind: "access", Result: dsr.ResultFull, N: 3},
		{Grain: dsr.GrainResult, Period: apr, Regime: "gdpr", Kind: "access", Result: dsr.ResultDenied, Reason: "duplicate", N: 1},
		{Grain: dsr.GrainMonth, Period: jan, Regime: "gdpr", Kind: "access", Days: 10, OnTime: &yes, N: 3},
		{Grain: dsr.GrainMonth, Period: apr, Regime: "gdpr", Kind: "access", Days: 20, N: 1},
		{Grain: dsr.GrainFlags, Period: apr, Regime: "gdpr", Kind: "access", Extended: true, N: 1},
		{Grain: dsr.GrainResult, Period: jan, Regime: "ccpa", Kind: "access", Result: dsr.ResultFull, N: 9}, // not a regime asked for
		{Grain: dsr.GrainResult, Period: dsr.NewDate(2024, 12, 1), Regime: "gdpr", Kind: "access", Result: dsr.ResultFull, N: 9},
	}
	r, err := dsr.BuildGDPRReport(2025, dsr.PeriodQuarter, []string{"gdpr"}, "UTC", jan, buckets, nil)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range r.Rows {
		lines = append(lines, m.Period+" "+m.Regime+" "+m.Kind+" r"+strconv.FormatInt(m.Received, 10)+" a"+strconv.FormatInt(m.Answered, 10)+
			" ot"+strconv.FormatInt(m.OnTime, 10)+" x"+strconv.FormatInt(m.Extended, 10)+" d"+strconv.FormatInt(m.Denied, 10)+" m"+show(m.MedianDays))
	}
	want := "2025-Q1 all all r3 a3 ot3 x0 d0 m10|2025-Q1 gdpr access r3 a3 ot3 x0 d0 m10|2025-Q2 all all r1 a1 ot0 x1 d1 m20|2025-Q2 gdpr access r1 a1 ot0 x1 d1 m20"
	if got := strings.Join(lines, "|"); got != want {
		t.Errorf("rows\n%s\nwant\n%s", got, want)
	}
	if _, err := dsr.BuildGDPRReport(2025, "week", nil, "UTC", jan, nil, nil); dsr.ErrorCode(err) != dsr.EINVALID {
		t.Errorf("period week: %v", err)
	}
}
