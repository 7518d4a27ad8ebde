package dsr_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

func TestAddMonths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-01-31", 1, "2026-02-28"},
		{"2028-01-31", 1, "2028-02-29"}, // leap year
		{"2026-03-31", 1, "2026-04-30"},
		{"2025-11-30", 3, "2026-02-28"},
		{"2026-12-31", 1, "2027-01-31"},
		{"2026-01-15", 1, "2026-02-15"},
		{"2026-01-30", 3, "2026-04-30"},
		{"2026-01-31", 3, "2026-04-30"},
		{"2026-08-31", 1, "2026-09-30"},
		{"2028-02-29", 12, "2029-02-28"},
		{"2026-10-31", 4, "2027-02-28"},
		{"2026-03-31", -1, "2026-02-28"},
		{"2026-01-31", 0, "2026-01-31"},
		{"2026-05-31", 13, "2027-06-30"},
	}
	for _, tt := range tests {
		d, err := dsr.ParseDate(tt.from)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.AddMonths(tt.n).String(); got != tt.want {
			t.Errorf("%s.AddMonths(%d) = %s, want %s", tt.from, tt.n, got, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	good := map[string]dsr.Date{
		"2026-03-02": dsr.NewDate(2026, time.March, 2),
		"2028-02-29": dsr.NewDate(2028, time.February, 29),
		"0001-01-02": dsr.NewDate(1, time.January, 2),
	}
	for in, want := range good {
		got, err := dsr.ParseDate(in)
		if err != nil {
			t.Errorf("ParseDate(%q): %v", in, err)
			continue
		}
		if got != want || got.String() != in {
			t.Errorf("ParseDate(%q) = %s, want %s", in, got, want)
		}
	}
	for _, in := range []string{
		"", "2026-2-3", "2026-02-30", "2027-02-29", "2026-13-01", "2026-00-10",
		"02/03/2026", "2026-03-02T00:00:00Z", " 2026-03-02", "2026-03-02 ", "20260302", "null",
	} {
		d, err := dsr.ParseDate(in)
		if err == nil {
			t.Errorf("ParseDate(%q) = %s, want an error", in, d)
			continue
		}
		if code := dsr.ErrorCode(err); code != dsr.EINVALID {
			t.Errorf("ParseDate(%q): code %q, want %q", in, code, dsr.EINVALID)
		}
	}
}

func TestDateJSON(t *testing.T) {
	t.Parallel()
	type doc struct {
		Due dsr.Date `json:"due"`
	}
	tests := []struct {
		d    dsr.Date
		json string
	}{
		{dsr.NewDate(2026, time.March, 16), `{"due":"2026-03-16"}`},
		{dsr.NewDate(2028, time.February, 29), `{"due":"2028-02-29"}`},
		{dsr.Date{}, `{"due":null}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(doc{tt.d})
		if err != nil {
			t.Fatalf("Marshal(%s): %v", tt.d, err)
		}
		if string(b) != tt.json {
			t.Errorf("Marshal(%s) = %s, want %s", tt.d, b, tt.json)
		}
		var back doc
		back.Due = dsr.NewDate(1999, 1, 1) // null must reset it
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if back.Due != tt.d {
			t.Errorf("round trip of %s gave %s", tt.d, back.Due)
		}
	}
	for _, in := range []string{`{"due":"2026-02-30"}`, `{"due":20260302}`, `{"due":"2026-03-02T10:00:00Z"}`, `{"due":""}`} {
		var d doc
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("Unmarshal(%s) = %s, want an error", in, d.Due)
		}
	}
	if dsr.NewDate(2026, 1, 1).IsZero() || !(dsr.Date{}).IsZero() {
		t.Error("IsZero wrong")
	}
	if s := (dsr.Date{}).String(); s != "" {
		t.Errorf("zero Date String() = %q, want empty", s)
	}
}

func TestDateIn(t *testing.T) {
	t.Parallel()
	load := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("LoadLocation(%q): %v", name, err)
		}
		return loc
	}
	tests := []struct {
		instant string
		zone    string
		want    string
	}{
		{"2026-03-01T23:30:00Z", "UTC", "2026-03-01"},
		{"2026-03-01T23:30:00Z", "Europe/Amsterdam", "2026-03-02"},
		{"2026-03-01T22:59:59Z", "Europe/Amsterdam", "2026-03-01"},
		{"2026-03-01T23:00:00Z", "Europe/Amsterdam", "2026-03-02"},
		{"2026-07-01T22:30:00Z", "Europe/Amsterdam", "2026-07-02"}, // CEST, +2
		{"2026-07-01T21:30:00Z", "Europe/Amsterdam", "2026-07-01"},
		{"2026-03-02T05:00:00Z", "America/Los_Angeles", "2026-03-01"},
		{"2026-03-02T08:00:00Z", "America/Los_Angeles", "2026-03-02"},
		{"2026-03-01T11:30:00Z", "Pacific/Auckland", "2026-03-02"}, // NZDT, +13
		{"2026-12-31T23:59:59Z", "Europe/London", "2026-12-31"},
		{"2026-12-31T23:59:59Z", "Asia/Tokyo", "2027-01-01"},
		{"2026-03-29T00:30:00Z", "Europe/Amsterdam", "2026-03-29"}, // the night clocks go forward
	}
	for _, tt := range tests {
		at, err := time.Parse(time.RFC3339, tt.instant)
		if err != nil {
			t.Fatal(err)
		}
		if got := dsr.DateIn(at, load(tt.zone)).String(); got != tt.want {
			t.Errorf("DateIn(%s, %s) = %s, want %s", tt.instant, tt.zone, got, tt.want)
		}
	}
	// Start is the first instant of the date in the zone, and maps back.
	ams := load("Europe/Amsterdam")
	d := dsr.NewDate(2026, time.March, 2)
	start := d.Start(ams)
	if want := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC); !start.Equal(want) {
		t.Errorf("Start = %s, want %s", start.UTC(), want)
	}
	if got := dsr.DateIn(start, ams); got != d {
		t.Errorf("DateIn(Start) = %s, want %s", got, d)
	}
	if got := dsr.DateIn(start.Add(-time.Nanosecond), ams); got != d.AddDays(-1) {
		t.Errorf("DateIn(Start-1ns) = %s, want %s", got, d.AddDays(-1))
	}
}

func TestDateArithmetic(t *testing.T) {
	t.Parallel()
	a := dsr.NewDate(2026, time.March, 2)
	tests := []struct {
		n    int
		want string
	}{
		{0, "2026-03-02"}, {14, "2026-03-16"}, {30, "2026-04-01"}, {-2, "2026-02-28"}, {365, "2027-03-02"},
	}
	for _, tt := range tests {
		b := a.AddDays(tt.n)
		if b.String() != tt.want {
			t.Errorf("AddDays(%d) = %s, want %s", tt.n, b, tt.want)
		}
		if got := a.DaysUntil(b); got != tt.n {
			t.Errorf("DaysUntil(%s) = %d, want %d", b, got, tt.n)
		}
		if a.Before(b) != (tt.n > 0) || a.After(b) != (tt.n < 0) {
			t.Errorf("Before/After wrong for %s vs %s", a, b)
		}
	}
	// Normalisation as time.Date: 31 April is 1 May.
	if got := dsr.NewDate(2026, time.April, 31).String(); got != "2026-05-01" {
		t.Errorf("NewDate(2026, 4, 31) = %s", got)
	}
	if got := dsr.NewDate(2026, time.February, 28).Human(); got != "Sat 28 Feb 2026" {
		t.Errorf("Human = %q", got)
	}
	if got := dsr.NewDate(2026, time.February, 28).Long(); got != "Saturday 28 February 2026" {
		t.Errorf("Long = %q", got)
	}
	if got := dsr.DateOf(time.Date(2026, 3, 2, 23, 59, 0, 0, time.FixedZone("X", -8*3600))); got.String() != "2026-03-02" {
		t.Errorf("DateOf = %s", got)
	}
}
