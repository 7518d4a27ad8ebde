package dsr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// deadlineCase is one request and its expected dates. Every expected date
// was worked out independently of the code under test, from the counting
// rules of regimes.md §4 and holiday rules (Easter by the anonymous
// Gregorian algorithm; fixed and nth-weekday holidays with their
// substitute-day rules). "" means the date does not apply.
type deadlineCase struct {
	name     string
	regime   string
	kind     string
	received string
	calendar string // "" = the regime's default calendar
	promise  int    // policy promise in days; 0 = none
	ack      string
	due      string // effective: the earlier of legal and policy
	legal    string
	extended string
}

// Month periods (gdpr, uk_gdpr): same date next month, or the last day of
// the month; a weekend or holiday of the calendar moves it to the next
// working day. Extension: three months from receipt, same adjustments.
// Calendar-day periods count the day of receipt as day 1 and never roll
// forward. Business days count from the day after receipt, Monday to
// Friday, less the calendar's holidays (US federal, with observed days).
var deadlineCases = []deadlineCase{
	{"uk worked: Fri 30 Jan 2026, 28 Feb Saturday", "uk_gdpr", "access", "2026-01-30", "", 0, "", "2026-03-02", "2026-03-02", "2026-04-30"},
	{"uk worked: Thu 3 Sep 2026, 3 Oct Saturday", "uk_gdpr", "access", "2026-09-03", "", 0, "", "2026-10-05", "2026-10-05", "2026-12-03"},
	{"uk worked: Mon 31 Jan 2028 leap, ext past Early May", "uk_gdpr", "access", "2028-01-31", "", 0, "", "2028-02-29", "2028-02-29", "2028-05-02"},
	{"uk Sat 31 Jan 2026 to 28 Feb, ext 30 Apr", "uk_gdpr", "erasure", "2026-01-31", "", 0, "", "2026-03-02", "2026-03-02", "2026-04-30"},
	{"uk 29 Jan 2027 non-leap, 28 Feb Sunday", "uk_gdpr", "rectification", "2027-01-29", "", 0, "", "2027-03-01", "2027-03-01", "2027-04-29"},
	{"uk 29 Jan 2028 leap, 29 Feb exists", "uk_gdpr", "portability", "2028-01-29", "", 0, "", "2028-02-29", "2028-02-29", "2028-05-02"},
	{"uk 30 Jan 2028 leap, last day 29 Feb", "uk_gdpr", "restriction", "2028-01-30", "", 0, "", "2028-02-29", "2028-02-29", "2028-05-02"},
	{"gdpr 29 Jan 2026 non-leap, last day 28 Feb Sat", "gdpr", "access", "2026-01-29", "", 0, "", "2026-03-02", "2026-03-02", "2026-04-29"},
	{"gdpr 30 Jan 2027 non-leap, 28 Feb Sunday", "gdpr", "objection", "2027-01-30", "", 0, "", "2027-03-01", "2027-03-01", "2027-04-30"},
	{"gdpr 31 Jan 2028 leap, ext 1 May Labour Day", "gdpr", "access", "2028-01-31", "", 0, "", "2028-02-29", "2028-02-29", "2028-05-02"},
	{"gdpr 31 Mar 2026 to 30 Apr", "gdpr", "rectification", "2026-03-31", "", 0, "", "2026-04-30", "2026-04-30", "2026-06-30"},
	{"uk 31 May 2026, ext 31 Aug Summer bank holiday", "uk_gdpr", "access", "2026-05-31", "", 0, "", "2026-06-30", "2026-06-30", "2026-09-01"},
	{"gdpr 31 Jul 2026, 31 Aug not an EU holiday", "gdpr", "erasure", "2026-07-31", "", 0, "", "2026-08-31", "2026-08-31", "2026-11-02"},
	{"uk 31 Jul 2026, 31 Aug Summer bank holiday", "uk_gdpr", "erasure", "2026-07-31", "", 0, "", "2026-09-01", "2026-09-01", "2026-11-02"},
	{"uk 31 Aug 2026 to 30 Sep", "uk_gdpr", "portability", "2026-08-31", "", 0, "", "2026-09-30", "2026-09-30", "2026-11-30"},
	{"gdpr 31 Oct 2026 to 30 Nov, ext 31 Jan Sunday", "gdpr", "restriction", "2026-10-31", "", 0, "", "2026-11-30", "2026-11-30", "2027-02-01"},
	{"uk 31 Dec 2026 to 31 Jan Sunday", "uk_gdpr", "objection", "2026-12-31", "", 0, "", "2027-02-01", "2027-02-01", "2027-03-31"},
	{"uk Good Friday 2026 + Easter Monday", "uk_gdpr", "access", "2026-03-03", "", 0, "", "2026-04-07", "2026-04-07", "2026-06-03"},
	{"gdpr EU Good Friday 2026 + Easter Monday", "gdpr", "access", "2026-03-03", "", 0, "", "2026-04-07", "2026-04-07", "2026-06-03"},
	{"gdpr EU Easter Monday 2026", "gdpr", "erasure", "2026-03-06", "", 0, "", "2026-04-07", "2026-04-07", "2026-06-08"},
	{"gdpr NL Easter Sunday+Monday 2027", "gdpr", "access", "2027-02-28", "NL", 0, "", "2027-03-30", "2027-03-30", "2027-05-28"},
	{"gdpr DE Good Friday 2027", "gdpr", "access", "2027-02-26", "DE", 0, "", "2027-03-30", "2027-03-30", "2027-05-26"},
	// Good Friday is not a public holiday in Ireland.
	{"gdpr IE Good Friday 2026 is a working day", "gdpr", "access", "2026-03-03", "IE", 0, "", "2026-04-03", "2026-04-03", "2026-06-03"},
	{"gdpr IE Easter Monday 2028", "gdpr", "rectification", "2028-03-17", "IE", 0, "", "2028-04-18", "2028-04-18", "2028-06-19"},
	{"gdpr IE St Patrick's Day 2026", "gdpr", "access", "2026-02-17", "IE", 0, "", "2026-03-18", "2026-03-18", "2026-05-18"},
	{"uk Good Friday 2028 + Easter Monday", "uk_gdpr", "erasure", "2028-03-14", "", 0, "", "2028-04-18", "2028-04-18", "2028-06-14"},
	{"gdpr EU Good Friday 2028", "gdpr", "portability", "2028-03-14", "", 0, "", "2028-04-18", "2028-04-18", "2028-06-14"},
	{"uk Early May bank holiday 2026", "uk_gdpr", "access", "2026-04-04", "", 0, "", "2026-05-05", "2026-05-05", "2026-07-06"},
	{"uk Spring bank holiday 2026", "uk_gdpr", "access", "2026-04-25", "", 0, "", "2026-05-26", "2026-05-26", "2026-07-27"},
	{"uk Summer bank holiday 2027", "uk_gdpr", "access", "2027-07-30", "", 0, "", "2027-08-31", "2027-08-31", "2027-11-01"},
	{"uk Christmas 2026 Fri, Boxing Day substitute Mon 28", "uk_gdpr", "access", "2026-11-25", "", 0, "", "2026-12-29", "2026-12-29", "2027-02-25"},
	{"uk Boxing Day substitute Mon 28 Dec 2026", "uk_gdpr", "erasure", "2026-11-28", "", 0, "", "2026-12-29", "2026-12-29", "2027-03-01"},
	{"uk 2027 Christmas Sat, substitutes 27+28 Dec", "uk_gdpr", "access", "2027-11-27", "", 0, "", "2027-12-29", "2027-12-29", "2028-02-28"},
	{"uk 2027 Christmas substitute Mon 27 Dec", "uk_gdpr", "rectification", "2027-11-26", "", 0, "", "2027-12-29", "2027-12-29", "2028-02-28"},
	{"uk Christmas Eve 2027 is a working day", "uk_gdpr", "access", "2027-11-24", "", 0, "", "2027-12-24", "2027-12-24", "2028-02-24"},
	{"uk New Year 2028 Sat, substitute Mon 3 Jan", "uk_gdpr", "access", "2027-12-01", "", 0, "", "2028-01-04", "2028-01-04", "2028-03-01"},
	{"uk New Year 2027 Fri", "uk_gdpr", "portability", "2026-12-01", "", 0, "", "2027-01-04", "2027-01-04", "2027-03-01"},
	{"gdpr EU New Year 2028 Sat, no substitute", "gdpr", "access", "2027-12-01", "", 0, "", "2028-01-03", "2028-01-03", "2028-03-01"},
	{"gdpr EU Christmas 2026, 26 Dec Sat", "gdpr", "access", "2026-11-25", "", 0, "", "2026-12-28", "2026-12-28", "2027-02-25"},
	{"gdpr EU 2027 Christmas Holiday 26 Dec Sunday", "gdpr", "erasure", "2027-11-26", "", 0, "", "2027-12-27", "2027-12-27", "2028-02-28"},
	{"gdpr EU Labour Day 2026 Fri", "gdpr", "access", "2026-04-01", "", 0, "", "2026-05-04", "2026-05-04", "2026-07-01"},
	{"gdpr NL King's Day 2026 Mon", "gdpr", "access", "2026-03-27", "NL", 0, "", "2026-04-28", "2026-04-28", "2026-06-29"},
	{"gdpr EU 27 Apr 2026 is a working day", "gdpr", "access", "2026-03-27", "", 0, "", "2026-04-27", "2026-04-27", "2026-06-29"},
	{"gdpr NL Christmas 2026", "gdpr", "erasure", "2026-11-25", "NL", 0, "", "2026-12-28", "2026-12-28", "2027-02-25"},
	{"gdpr DE Unity Day 2028 Tue", "gdpr", "access", "2028-09-03", "DE", 0, "", "2028-10-04", "2028-10-04", "2028-12-04"},
	{"gdpr DE Unity Day 2026 Sat", "gdpr", "access", "2026-09-03", "DE", 0, "", "2026-10-05", "2026-10-05", "2026-12-03"},
	{"gdpr DE Ascension 2026", "gdpr", "erasure", "2026-04-14", "DE", 0, "", "2026-05-15", "2026-05-15", "2026-07-14"},
	{"gdpr DE Whit Monday 2026", "gdpr", "access", "2026-04-25", "DE", 0, "", "2026-05-26", "2026-05-26", "2026-07-27"},
	{"gdpr FR Bastille Day 2026", "gdpr", "access", "2026-06-14", "FR", 0, "", "2026-07-15", "2026-07-15", "2026-09-14"},
	{"gdpr FR Armistice 2026 Wed", "gdpr", "access", "2026-10-11", "FR", 0, "", "2026-11-12", "2026-11-12", "2027-01-11"},
	{"gdpr BE National Day 2026", "gdpr", "access", "2026-06-21", "BE", 0, "", "2026-07-22", "2026-07-22", "2026-09-21"},
	{"gdpr RO St Andrew + National Day 2026", "gdpr", "access", "2026-10-30", "RO", 0, "", "2026-12-02", "2026-12-02", "2027-02-01"},
	{"gdpr RO National Day 2026", "gdpr", "erasure", "2026-11-01", "RO", 0, "", "2026-12-02", "2026-12-02", "2027-02-01"},
	// Romania: 6 Jan (Boboteaza) and 7 Jan (Sf. Ioan) are public holidays since 2024
	// (Law no. 52/2023 amending Labour Code art. 139(1); in force from 2024).
	{"gdpr RO Epiphany + St John 2027", "gdpr", "access", "2026-12-06", "RO", 0, "", "2027-01-08", "2027-01-08", "2027-03-08"},
	{"uk_gdpr with EU calendar override: no Summer bank holiday", "uk_gdpr", "access", "2026-07-31", "EU", 0, "", "2026-08-31", "2026-08-31", "2026-11-02"},
	{"gdpr with GB-ENG calendar override: Boxing substitute", "gdpr", "access", "2026-11-28", "GB-ENG", 0, "", "2026-12-29", "2026-12-29", "2027-03-01"},
	{"gdpr erasure promise 14 earlier than law", "gdpr", "erasure", "2026-03-02", "", 14, "", "2026-03-16", "2026-04-02", "2026-06-02"},
	{"uk erasure promise 45 later than law", "uk_gdpr", "erasure", "2026-03-02", "", 45, "", "2026-04-02", "2026-04-02", "2026-06-02"},
	{"gdpr promise lands on Saturday, not moved", "gdpr", "erasure", "2026-03-02", "", 12, "", "2026-03-14", "2026-04-02", "2026-06-02"},
	{"uk promise equal to law", "uk_gdpr", "access", "2026-06-01", "", 30, "", "2026-07-01", "2026-07-01", "2026-09-01"},
	{"uk promise 28 days before month end roll", "uk_gdpr", "access", "2026-01-30", "", 28, "", "2026-02-27", "2026-03-02", "2026-04-30"},
	{"ccpa worked: access Mon 2 Nov 2026", "ccpa", "access", "2026-11-02", "", 0, "2026-11-17", "2026-12-16", "2026-12-16", "2027-01-30"},
	{"ccpa worked: opt-out Mon 2 Nov 2026", "ccpa", "opt_out", "2026-11-02", "", 0, "", "2026-11-24", "2026-11-24", ""},
	// The day after Thanksgiving is not a federal holiday.
	{"ccpa erasure Thanksgiving 2026, day after counts", "ccpa", "erasure", "2026-11-20", "", 0, "2026-12-07", "2027-01-03", "2027-01-03", "2027-02-17"},
	{"ccpa opt-out Christmas + New Year 2027", "ccpa", "opt_out", "2026-12-14", "", 0, "", "2027-01-06", "2027-01-06", ""},
	{"ccpa ack Christmas observed Fri 24 Dec 2027", "ccpa", "access", "2027-12-13", "", 0, "2027-12-28", "2028-01-26", "2028-01-26", "2028-03-11"},
	// 1 Jan 2028 is a Saturday, so the federal holiday is observed on Fri 31 Dec 2027
	// (5 U.S.C. 6103(b)); the observed day falls in the previous calendar year.
	{"ccpa ack New Year 2028 observed Fri 31 Dec 2027", "ccpa", "rectification", "2027-12-20", "", 0, "2028-01-05", "2028-02-02", "2028-02-02", "2028-03-18"},
	{"ccpa ack Christmas + New Year observed Mon 2022-23", "ccpa", "access", "2022-12-22", "", 0, "2023-01-09", "2023-02-04", "2023-02-04", "2023-03-21"},
	{"ccpa ack New Year 2027 Fri", "ccpa", "portability", "2026-12-24", "", 0, "2027-01-11", "2027-02-06", "2027-02-06", "2027-03-23"},
	{"ccpa ack MLK 2027", "ccpa", "access", "2027-01-11", "", 0, "2027-01-26", "2027-02-24", "2027-02-24", "2027-04-10"},
	// Lincoln Day (Fri 12 Feb 2027, Gov. Code §6700) is a US-CA holiday, not
	// a federal one: this case pins the federal calendar; the US-CA twin is
	// in regimes_2026_test.go.
	{"ccpa ack Presidents' Day 2027", "ccpa", "portability", "2027-02-08", "US", 0, "2027-02-23", "2027-03-24", "2027-03-24", "2027-05-08"},
	{"ccpa opt-out Memorial Day 2026", "ccpa", "opt_out", "2026-05-15", "", 0, "", "2026-06-08", "2026-06-08", ""},
	{"ccpa ack Juneteenth 2026 Fri", "ccpa", "erasure", "2026-06-12", "", 0, "2026-06-29", "2026-07-26", "2026-07-26", "2026-09-09"},
	{"ccpa ack Juneteenth 2027 Sat observed Fri", "ccpa", "access", "2027-06-14", "", 0, "2027-06-29", "2027-07-28", "2027-07-28", "2027-09-11"},
	{"ccpa ack Independence Day 2026 Sat observed Fri 3 Jul", "ccpa", "access", "2026-06-29", "", 0, "2026-07-14", "2026-08-12", "2026-08-12", "2026-09-26"},
	{"ccpa opt-out Independence Day 2027 Sun observed Mon 5 Jul", "ccpa", "opt_out", "2027-07-01", "", 0, "", "2027-07-23", "2027-07-23", ""},
	// Admission Day (Wed 9 Sep 2026) is a US-CA holiday: federal calendar
	// pinned, US-CA twin in regimes_2026_test.go.
	{"ccpa ack Labor Day 2026", "ccpa", "rectification", "2026-09-01", "US", 0, "2026-09-16", "2026-10-15", "2026-10-15", "2026-11-29"},
	{"ccpa ack Columbus Day 2026", "ccpa", "access", "2026-10-05", "", 0, "2026-10-20", "2026-11-18", "2026-11-18", "2027-01-02"},
	{"ccpa opt-out Veterans + Thanksgiving 2027", "ccpa", "opt_out", "2027-11-08", "", 0, "", "2027-12-01", "2027-12-01", ""},
	{"ccpa ack Veterans Day 2028 Sat observed Fri", "ccpa", "erasure", "2028-11-06", "", 0, "2028-11-21", "2028-12-20", "2028-12-20", "2029-02-03"},
	{"ccpa due on Christmas Day 2026 not moved", "ccpa", "access", "2026-11-11", "", 0, "2026-11-25", "2026-12-25", "2026-12-25", "2027-02-08"},
	{"ccpa received on a Saturday", "ccpa", "access", "2026-03-07", "", 0, "2026-03-20", "2026-04-20", "2026-04-20", "2026-06-04"},
	{"ccpa leap day 2028", "ccpa", "erasure", "2028-02-10", "", 0, "2028-02-25", "2028-03-25", "2028-03-25", "2028-05-09"},
	{"ccpa erasure promise 14 earlier than law", "ccpa", "erasure", "2026-03-02", "", 14, "2026-03-16", "2026-03-16", "2026-04-15", "2026-05-30"},
	{"ccpa opt-out promise 7 earlier than 15 business days", "ccpa", "opt_out", "2026-03-02", "", 7, "", "2026-03-09", "2026-03-23", ""},
	{"ccpa opt-out promise 30 later than law", "ccpa", "opt_out", "2026-03-02", "", 30, "", "2026-03-23", "2026-03-23", ""},
	{"vcdpa access due Saturday 14 Feb 2026 not moved", "vcdpa", "access", "2026-01-01", "", 0, "", "2026-02-14", "2026-02-14", "2026-03-31"},
	{"vcdpa opt-out 45 days extendable", "vcdpa", "opt_out", "2026-11-02", "", 0, "", "2026-12-16", "2026-12-16", "2027-01-30"},
	{"vcdpa promise 60 later than law", "vcdpa", "erasure", "2026-04-01", "", 60, "", "2026-05-15", "2026-05-15", "2026-06-29"},
	{"cpa rectification", "cpa", "rectification", "2026-03-15", "", 0, "", "2026-04-28", "2026-04-28", "2026-06-12"},
	{"cpa opt-out over New Year", "cpa", "opt_out", "2026-12-01", "", 0, "", "2027-01-14", "2027-01-14", "2027-02-28"},
	{"ctdpa erasure 31 Jan 2028 leap", "ctdpa", "erasure", "2028-01-31", "", 0, "", "2028-03-15", "2028-03-15", "2028-04-29"},
	{"ctdpa portability promise 30 earlier", "ctdpa", "portability", "2026-05-20", "", 30, "", "2026-06-19", "2026-07-03", "2026-08-17"},
	{"ucpa access", "ucpa", "access", "2026-02-01", "", 0, "", "2026-03-17", "2026-03-17", "2026-05-01"},
	{"ucpa opt-out", "ucpa", "opt_out", "2026-08-15", "", 0, "", "2026-09-28", "2026-09-28", "2026-11-12"},
	{"ucpa erasure across year end", "ucpa", "erasure", "2026-12-31", "", 0, "", "2027-02-13", "2027-02-13", "2027-03-30"},
	{"tdpsa access due Sun 4 Jul 2027 not moved", "tdpsa", "access", "2027-05-21", "", 0, "", "2027-07-04", "2027-07-04", "2027-08-18"},
	{"tdpsa rectification", "tdpsa", "rectification", "2028-02-29", "", 0, "", "2028-04-13", "2028-04-13", "2028-05-28"},
	{"ocpa access", "ocpa", "access", "2026-10-01", "", 0, "", "2026-11-14", "2026-11-14", "2026-12-29"},
	{"ocpa opt-out", "ocpa", "opt_out", "2027-06-30", "", 0, "", "2027-08-13", "2027-08-13", "2027-09-27"},
	{"icdpa access 90 days, due Christmas 2026", "icdpa", "access", "2026-09-27", "", 0, "", "2026-12-25", "2026-12-25", "2027-02-08"},
	{"icdpa opt-out 90/135", "icdpa", "opt_out", "2028-01-01", "", 0, "", "2028-03-30", "2028-03-30", "2028-05-14"},
	{"icdpa erasure promise 30", "icdpa", "erasure", "2026-01-15", "", 30, "", "2026-02-14", "2026-04-14", "2026-05-29"},
	{"lgpd access 15 days due Sunday, no extension", "lgpd", "access", "2026-03-01", "", 0, "", "2026-03-15", "2026-03-15", ""},
	{"lgpd objection due Sunday not moved", "lgpd", "objection", "2026-11-01", "", 0, "", "2026-11-15", "2026-11-15", ""},
	{"lgpd rectification across February 2028", "lgpd", "rectification", "2028-02-20", "", 0, "", "2028-03-05", "2028-03-05", ""},
	{"lgpd erasure promise 10", "lgpd", "erasure", "2026-06-01", "", 10, "", "2026-06-11", "2026-06-15", ""},
	{"pipeda access 30/60", "pipeda", "access", "2026-01-31", "", 0, "", "2026-03-01", "2026-03-01", "2026-03-31"},
	{"pipeda rectification, due Christmas 2026", "pipeda", "rectification", "2026-11-26", "", 0, "", "2026-12-25", "2026-12-25", "2027-01-24"},
	{"pipeda access across leap day", "pipeda", "access", "2028-02-01", "", 0, "", "2028-03-01", "2028-03-01", "2028-03-31"},
}

var defaultCalendar = map[string]string{
	"gdpr": "EU", "uk_gdpr": "GB-ENG", "lgpd": "BR", "pipeda": "CA",
	"ccpa": "US-CA", "vcdpa": "US", "cpa": "US", "ctdpa": "US", "ucpa": "US",
	"tdpsa": "US", "ocpa": "US", "icdpa": "US",
}

func mustDate(t *testing.T, s string) dsr.Date {
	t.Helper()
	d, err := dsr.ParseDate(s)
	if err != nil {
		t.Fatalf("bad date %q in test table: %v", s, err)
	}
	return d
}

func computeCase(t *testing.T, c deadlineCase) dsr.Deadlines {
	t.Helper()
	r, err := dsr.LookupRegime(c.regime)
	if err != nil {
		t.Fatalf("LookupRegime(%q): %v", c.regime, err)
	}
	in := dsr.DeadlineInput{Regime: r, Kind: dsr.Kind(c.kind), Received: mustDate(t, c.received), PromiseDays: c.promise}
	if c.calendar != "" {
		cal, err := dsr.LookupCalendar(c.calendar)
		if err != nil {
			t.Fatalf("LookupCalendar(%q): %v", c.calendar, err)
		}
		in.Calendar = cal
	}
	d, err := dsr.ComputeDeadlines(in)
	if err != nil {
		t.Fatalf("ComputeDeadlines: %v", err)
	}
	return d
}

func TestComputeDeadlinesTable(t *testing.T) {
	if len(deadlineCases) < 70 {
		t.Fatalf("only %d cases", len(deadlineCases))
	}
	for _, c := range deadlineCases {
		t.Run(c.name, func(t *testing.T) {
			d := computeCase(t, c)
			check := func(what string, got dsr.Date, want string) {
				t.Helper()
				if got.String() != want {
					g, w := got.String(), want
					if !got.IsZero() {
						g += " (" + got.Weekday().String()[:3] + ")"
					}
					if w == "" {
						w = "none"
					} else {
						w += " (" + mustDate(t, w).Weekday().String()[:3] + ")"
					}
					if g == "" {
						g = "none"
					}
					t.Errorf("%s %s %s received %s: %s = %s, want %s", c.regime, c.kind, c.calendar, c.received, what, g, w)
				}
			}
			check("AckDue", d.AckDue, c.ack)
			check("Due", d.Due, c.due)
			check("LegalDue", d.LegalDue, c.legal)
			check("ExtendedDue", d.ExtendedDue, c.extended)

			// The extension must be notified inside the original period:
			// the last day is the unextended legal due date.
			if c.extended != "" {
				check("ExtensionNoticeBy", d.ExtensionNoticeBy, c.legal)
			} else {
				check("ExtensionNoticeBy", d.ExtensionNoticeBy, "")
			}
			// The policy promise is receipt + N days, never moved.
			wantPolicy := ""
			if c.promise > 0 {
				rt, _ := time.Parse(time.DateOnly, c.received)
				wantPolicy = rt.AddDate(0, 0, c.promise).Format(time.DateOnly)
			}
			check("PolicyDue", d.PolicyDue, wantPolicy)

			wantCal := c.calendar
			if wantCal == "" {
				wantCal = defaultCalendar[c.regime]
			}
			if d.Calendar != wantCal {
				t.Errorf("Calendar = %q, want %q", d.Calendar, wantCal)
			}
			if d.Regime != c.regime || string(d.Kind) != c.kind || d.Received.String() != c.received {
				t.Errorf("echo: regime %q kind %q received %s", d.Regime, d.Kind, d.Received)
			}
		})
	}
}

func TestComputeDeadlinesTableUncoveredKinds(t *testing.T) {
	for _, c := range []struct{ regime, kind string }{
		{"ucpa", "rectification"},
		{"ucpa", "objection"},
		{"ccpa", "restriction"},
		{"ccpa", "objection"},
		{"pipeda", "erasure"},
		{"pipeda", "opt_out"},
		{"pipeda", "portability"},
		{"icdpa", "rectification"},
		{"icdpa", "restriction"},
		{"lgpd", "opt_out"},
		{"lgpd", "restriction"},
		{"vcdpa", "restriction"},
		{"tdpsa", "objection"},
	} {
		t.Run(c.regime+"/"+c.kind, func(t *testing.T) {
			r, err := dsr.LookupRegime(c.regime)
			if err != nil {
				t.Fatal(err)
			}
			_, err = dsr.ComputeDeadlines(dsr.DeadlineInput{Regime: r, Kind: dsr.Kind(c.kind), Received: mustDate(t, "2026-03-02")})
			if err == nil {
				t.Fatalf("%s %s: no error", c.regime, c.kind)
			}
			if code := dsr.ErrorCode(err); code != dsr.EINVALID {
				t.Fatalf("%s %s: ErrorCode = %q, want %q (%v)", c.regime, c.kind, code, dsr.EINVALID, err)
			}
		})
	}
	t.Run("nil regime", func(t *testing.T) {
		_, err := dsr.ComputeDeadlines(dsr.DeadlineInput{Kind: dsr.KindAccess, Received: mustDate(t, "2026-03-02")})
		if dsr.ErrorCode(err) != dsr.EINVALID {
			t.Fatalf("err = %v, want EINVALID", err)
		}
	})
	t.Run("zero date", func(t *testing.T) {
		r, _ := dsr.LookupRegime("gdpr")
		_, err := dsr.ComputeDeadlines(dsr.DeadlineInput{Regime: r, Kind: dsr.KindAccess})
		if dsr.ErrorCode(err) != dsr.EINVALID {
			t.Fatalf("err = %v, want EINVALID", err)
		}
	})
}

func TestLedgerExplainsEveryDate(t *testing.T) {
	for _, c := range deadlineCases {
		t.Run(c.name, func(t *testing.T) {
			d := computeCase(t, c)
			fields := []struct {
				field string
				date  dsr.Date
				whats []string // ledger entries that may explain the date
			}{
				{"Received", d.Received, []string{dsr.LedgerReceived}},
				{"AckDue", d.AckDue, []string{dsr.LedgerAckDue}},
				{"LegalDue", d.LegalDue, []string{dsr.LedgerLegalDue}},
				{"PolicyDue", d.PolicyDue, []string{dsr.LedgerPolicyDue}},
				// Without a promise the effective due date is the legal one.
				{"Due", d.Due, []string{dsr.LedgerDue, dsr.LedgerLegalDue}},
				{"ExtendedDue", d.ExtendedDue, []string{dsr.LedgerExtendedDue}},
				{"ExtensionNoticeBy", d.ExtensionNoticeBy, []string{dsr.LedgerExtensionNoticeBy}},
			}
			for _, f := range fields {
				if f.date.IsZero() {
					continue
				}
				found := false
				for _, e := range d.Ledger {
					for _, w := range f.whats {
						if e.What == w && e.Date == f.date {
							found = true
							if strings.TrimSpace(e.Rule) == "" {
								t.Errorf("%s: ledger entry %q for %s has an empty rule", f.field, e.What, f.date)
							}
						}
					}
				}
				if !found {
					t.Errorf("%s %s is not in the ledger (want one of %v): %+v", f.field, f.date, f.whats, d.Ledger)
				}
			}
			if d.PolicyDue.IsZero() == false {
				// With a promise, the choice between law and policy is explained.
				if !hasLedger(d, dsr.LedgerDue, d.Due) {
					t.Errorf("promise given but no %q ledger entry for %s", dsr.LedgerDue, d.Due)
				}
			}
			for _, e := range d.Ledger {
				if strings.TrimSpace(e.Rule) == "" {
					t.Errorf("ledger entry %q %s has an empty rule", e.What, e.Date)
				}
				if e.Date.IsZero() {
					t.Errorf("ledger entry %q has a zero date", e.What)
				}
			}
		})
	}

	// Roll-forward rules name the weekday or holiday that caused the move.
	rules := []struct {
		c        deadlineCase
		what     string
		contains []string
	}{
		// 28 Feb 2026 is a Saturday, 1 Mar a Sunday.
		{deadlineCases[0], dsr.LedgerLegalDue, []string{"Saturday", "Sunday", "Mon 2 Mar 2026", "last day"}},
		// 3 Oct 2026 is a Saturday.
		{deadlineCases[1], dsr.LedgerLegalDue, []string{"Saturday", "Sunday", "Mon 5 Oct 2026"}},
		// 30 Apr 2028 is a Sunday; 1 May 2028 is the Early May bank holiday.
		{deadlineCases[2], dsr.LedgerExtendedDue, []string{"Sunday", "Mon 1 May 2028", "Tue 2 May 2028"}},
	}
	for _, rc := range rules {
		d := computeCase(t, rc.c)
		found := false
		for _, e := range d.Ledger {
			if e.What != rc.what {
				continue
			}
			found = true
			for _, s := range rc.contains {
				if !strings.Contains(e.Rule, s) {
					t.Errorf("%s: %s rule %q does not mention %q", rc.c.name, rc.what, e.Rule, s)
				}
			}
		}
		if !found {
			t.Errorf("%s: no %s ledger entry", rc.c.name, rc.what)
		}
	}

	// A calendar-day deadline that falls on a weekend says it is not moved.
	d := computeCase(t, deadlineCase{regime: "vcdpa", kind: "access", received: "2026-01-01"})
	if !hasLedgerRule(d, dsr.LedgerLegalDue, "Saturday") {
		t.Errorf("vcdpa due Sat 14 Feb 2026: legal_due rule does not mention Saturday: %+v", d.Ledger)
	}
}

func hasLedger(d dsr.Deadlines, what string, date dsr.Date) bool {
	for _, e := range d.Ledger {
		if e.What == what && e.Date == date {
			return true
		}
	}
	return false
}

func hasLedgerRule(d dsr.Deadlines, what, substr string) bool {
	for _, e := range d.Ledger {
		if e.What == what && strings.Contains(e.Rule, substr) {
			return true
		}
	}
	return false
}
