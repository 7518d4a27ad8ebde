package dsr_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// regime2026Case is one request under a regime added for issue #13, with
// the dates worked out by hand from the statute rules: calendar days
// count the day of receipt as day 1 and never roll forward (regimes.md
// §4; regimes-2026-update.md: "calendar days from receipt" for every US
// state). appealReceived is the day an appeal of the refusal arrives;
// appealDue is the day its answer is due (receipt of the appeal + the
// regime's answer period). "" means the date does not apply.
type regime2026Case struct {
	name           string
	regime, kind   string
	received       string
	due, extended  string
	appealReceived string
	appealDue      string
	appealExtended string
}

var regime2026Cases = []regime2026Case{
	// Montana: 45 days + 45 once; appeal answer 60 days. Calendar days, receipt = day 1, never moved off weekends or holidays.
	{"mtcdpa month end (Sat) 2026-01-31", "mtcdpa", "access", "2026-01-31", "2026-03-16", "2026-04-30", "2026-03-31", "2026-05-29", ""},    // 31 Jan 2026 (month end (Sat)) is day 1: day 45 is 16 Mar 2026; day 90 is 30 Apr 2026; appeal 31 Mar 2026 is day 1, day 60 is 29 May 2026
	{"mtcdpa leap day 2028-02-29", "mtcdpa", "erasure", "2028-02-29", "2028-04-13", "2028-05-28", "2028-04-30", "2028-06-28", ""},          // 29 Feb 2028 (leap day) is day 1: day 45 is 13 Apr 2028; day 90 is 28 May 2028; appeal 30 Apr 2028 is day 1, day 60 is 28 Jun 2028
	{"mtcdpa Christmas Day 2026-12-25", "mtcdpa", "portability", "2026-12-25", "2027-02-07", "2027-03-24", "2027-02-28", "2027-04-28", ""}, // 25 Dec 2026 (Christmas Day) is day 1: day 45 is 7 Feb 2027; day 90 is 24 Mar 2027; appeal 28 Feb 2027 is day 1, day 60 is 28 Apr 2027
	{"mtcdpa year end 2027-12-31", "mtcdpa", "opt_out", "2027-12-31", "2028-02-13", "2028-03-29", "2028-02-29", "2028-04-28", ""},          // 31 Dec 2027 (year end) is day 1: day 45 is 13 Feb 2028; day 90 is 29 Mar 2028; appeal 29 Feb 2028 is day 1, day 60 is 28 Apr 2028
	// Delaware: 45 + 45; appeal 60. Calendar days, receipt = day 1, never moved off weekends or holidays.
	{"dpdpa month end (Sat) 2026-01-31", "dpdpa", "access", "2026-01-31", "2026-03-16", "2026-04-30", "2026-03-31", "2026-05-29", ""},    // 31 Jan 2026 (month end (Sat)) is day 1: day 45 is 16 Mar 2026; day 90 is 30 Apr 2026; appeal 31 Mar 2026 is day 1, day 60 is 29 May 2026
	{"dpdpa leap day 2028-02-29", "dpdpa", "erasure", "2028-02-29", "2028-04-13", "2028-05-28", "2028-04-30", "2028-06-28", ""},          // 29 Feb 2028 (leap day) is day 1: day 45 is 13 Apr 2028; day 90 is 28 May 2028; appeal 30 Apr 2028 is day 1, day 60 is 28 Jun 2028
	{"dpdpa Christmas Day 2026-12-25", "dpdpa", "portability", "2026-12-25", "2027-02-07", "2027-03-24", "2027-02-28", "2027-04-28", ""}, // 25 Dec 2026 (Christmas Day) is day 1: day 45 is 7 Feb 2027; day 90 is 24 Mar 2027; appeal 28 Feb 2027 is day 1, day 60 is 28 Apr 2027
	{"dpdpa year end 2027-12-31", "dpdpa", "opt_out", "2027-12-31", "2028-02-13", "2028-03-29", "2028-02-29", "2028-04-28", ""},          // 31 Dec 2027 (year end) is day 1: day 45 is 13 Feb 2028; day 90 is 29 Mar 2028; appeal 29 Feb 2028 is day 1, day 60 is 28 Apr 2028
	// New Jersey: 45 (from receipt, which is never after verification) + 45; appeal 45. Calendar days, receipt = day 1, never moved off weekends or holidays.
	{"njdpa month end (Sat) 2026-01-31", "njdpa", "access", "2026-01-31", "2026-03-16", "2026-04-30", "2026-03-31", "2026-05-14", ""},    // 31 Jan 2026 (month end (Sat)) is day 1: day 45 is 16 Mar 2026; day 90 is 30 Apr 2026; appeal 31 Mar 2026 is day 1, day 45 is 14 May 2026
	{"njdpa leap day 2028-02-29", "njdpa", "erasure", "2028-02-29", "2028-04-13", "2028-05-28", "2028-04-30", "2028-06-13", ""},          // 29 Feb 2028 (leap day) is day 1: day 45 is 13 Apr 2028; day 90 is 28 May 2028; appeal 30 Apr 2028 is day 1, day 45 is 13 Jun 2028
	{"njdpa Christmas Day 2026-12-25", "njdpa", "portability", "2026-12-25", "2027-02-07", "2027-03-24", "2027-02-28", "2027-04-13", ""}, // 25 Dec 2026 (Christmas Day) is day 1: day 45 is 7 Feb 2027; day 90 is 24 Mar 2027; appeal 28 Feb 2027 is day 1, day 45 is 13 Apr 2027
	{"njdpa year end 2027-12-31", "njdpa", "opt_out", "2027-12-31", "2028-02-13", "2028-03-29", "2028-02-29", "2028-04-13", ""},          // 31 Dec 2027 (year end) is day 1: day 45 is 13 Feb 2028; day 90 is 29 Mar 2028; appeal 29 Feb 2028 is day 1, day 45 is 13 Apr 2028
	// Nebraska: 45 + 45; appeal 60. Calendar days, receipt = day 1, never moved off weekends or holidays.
	{"ndpa month end (Sat) 2026-01-31", "ndpa", "access", "2026-01-31", "2026-03-16", "2026-04-30", "2026-03-31", "2026-05-29", ""},    // 31 Jan 2026 (month end (Sat)) is day 1: day 45 is 16 Mar 2026; day 90 is 30 Apr 2026; appeal 31 Mar 2026 is day 1, day 60 is 29 May 2026
	{"ndpa leap day 2028-02-29", "ndpa", "erasure", "2028-02-29", "2028-04-13", "2028-05-28", "2028-04-30", "2028-06-28", ""},          // 29 Feb 2028 (leap day) is day 1: day 45 is 13 Apr 2028; day 90 is 28 May 2028; appeal 30 Apr 2028 is day 1, day 60 is 28 Jun 2028
	{"ndpa Christmas Day 2026-12-25", "ndpa", "portability", "2026-12-25", "2027-02-07", "2027-03-24", "2027-02-28", "2027-04-28", ""}, // 25 Dec 2026 (Christmas Day) is day 1: day 45 is 7 Feb 2027; day 90 is 24 Mar 2027; appeal 28 Feb 2027 is day 1, day 60 is 28 Apr 2027
	{"ndpa year end 2027-12-31", "ndpa", "opt_out", "2027-12-31", "2028-02-13", "2028-03-29", "2028-02-29", "2028-04-28", ""},          // 31 Dec 2027 (year end) is day 1: day 45 is 13 Feb 2028; day 90 is 29 Mar 2028; appeal 29 Feb 2028 is day 1, day 60 is 28 Apr 2028
	// New Hampshire: 45 + 45 (UNVERIFIED); appeal 60. Calendar days, receipt = day 1, never moved off weekends or holidays.
	{"nhpa month end (Sat) 2026-01-31", "nhpa", "access", "2026-01-31", "2026-03-16", "2026-04-30", "2026-03-31", "2026-05-29", ""},    // 31 Jan 2026 (month end (Sat)) is day 1: day 45 is 16 Mar 2026; day 90 is 30 Apr 2026; appeal 31 Mar 2026 is day 1, day 60 is 29 May 2026
	{"nhpa leap day 2028-02-29", "nhpa", "erasure", "2028-02-29", "2028-04-13", "2028-05-28", "2028-04-30", "2028-06-28", ""},          // 29 Feb 2028 (leap day) is day 1: day 45 is 13 Apr 2028; day 90 is 28 May 2028; appeal 30 Apr 2028 is day 1, day 60 is 28 Jun 2028
	{"nhpa Christmas Day 2026-12-25", "nhpa", "portability", "2026-12-25", "2027-02-07", "2027-03-24", "2027-02-28", "2027-04-28", ""}, // 25 Dec 2026 (Christmas Day) is day 1: day 45 is 7 Feb 2027; day 90 is 24 Mar 2027; appeal 28 Feb 2027 is day 1, day 60 is 28 Apr 2027
	{"nhpa year end 2027-12-31", "nhpa", "opt_out", "2027-12-31", "2028-02-13", "2028-03-29", "2028-02-29", "2028-04-28", ""},          // 31 Dec 2027 (year end) is day 1: day 45 is 13 Feb 2028; day 90 is 29 Mar 2028; appeal 29 Feb 2028 is day 1, day 60 is 28 Apr 2028
	// Tennessee: 45 + 45; appeal 60. Calendar days, receipt = day 1, never moved off weekends or holidays.
	{"tipa month end (Sat) 2026-01-31", "tipa", "access", "2026-01-31", "2026-03-16", "2026-04-30", "2026-03-31", "2026-05-29", ""},    // 31 Jan 2026 (month end (Sat)) is day 1: day 45 is 16 Mar 2026; day 90 is 30 Apr 2026; appeal 31 Mar 2026 is day 1, day 60 is 29 May 2026
	{"tipa leap day 2028-02-29", "tipa", "erasure", "2028-02-29", "2028-04-13", "2028-05-28", "2028-04-30", "2028-06-28", ""},          // 29 Feb 2028 (leap day) is day 1: day 45 is 13 Apr 2028; day 90 is 28 May 2028; appeal 30 Apr 2028 is day 1, day 60 is 28 Jun 2028
	{"tipa Christmas Day 2026-12-25", "tipa", "portability", "2026-12-25", "2027-02-07", "2027-03-24", "2027-02-28", "2027-04-28", ""}, // 25 Dec 2026 (Christmas Day) is day 1: day 45 is 7 Feb 2027; day 90 is 24 Mar 2027; appeal 28 Feb 2027 is day 1, day 60 is 28 Apr 2027
	{"tipa year end 2027-12-31", "tipa", "opt_out", "2027-12-31", "2028-02-13", "2028-03-29", "2028-02-29", "2028-04-28", ""},          // 31 Dec 2027 (year end) is day 1: day 45 is 13 Feb 2028; day 90 is 29 Mar 2028; appeal 29 Feb 2028 is day 1, day 60 is 28 Apr 2028
	// Minnesota: 45 + 45; appeal 45 (the reported 60-day appeal extension is not encoded). Calendar days, receipt = day 1, never moved off weekends or holidays.
	{"mncdpa month end (Sat) 2026-01-31", "mncdpa", "access", "2026-01-31", "2026-03-16", "2026-04-30", "2026-03-31", "2026-05-14", ""},    // 31 Jan 2026 (month end (Sat)) is day 1: day 45 is 16 Mar 2026; day 90 is 30 Apr 2026; appeal 31 Mar 2026 is day 1, day 45 is 14 May 2026
	{"mncdpa leap day 2028-02-29", "mncdpa", "erasure", "2028-02-29", "2028-04-13", "2028-05-28", "2028-04-30", "2028-06-13", ""},          // 29 Feb 2028 (leap day) is day 1: day 45 is 13 Apr 2028; day 90 is 28 May 2028; appeal 30 Apr 2028 is day 1, day 45 is 13 Jun 2028
	{"mncdpa Christmas Day 2026-12-25", "mncdpa", "portability", "2026-12-25", "2027-02-07", "2027-03-24", "2027-02-28", "2027-04-13", ""}, // 25 Dec 2026 (Christmas Day) is day 1: day 45 is 7 Feb 2027; day 90 is 24 Mar 2027; appeal 28 Feb 2027 is day 1, day 45 is 13 Apr 2027
	{"mncdpa year end 2027-12-31", "mncdpa", "opt_out", "2027-12-31", "2028-02-13", "2028-03-29", "2028-02-29", "2028-04-13", ""},          // 31 Dec 2027 (year end) is day 1: day 45 is 13 Feb 2028; day 90 is 29 Mar 2028; appeal 29 Feb 2028 is day 1, day 45 is 13 Apr 2028
	// Maryland: 45 + 45; appeal 60. Calendar days, receipt = day 1, never moved off weekends or holidays.
	{"modpa month end (Sat) 2026-01-31", "modpa", "access", "2026-01-31", "2026-03-16", "2026-04-30", "2026-03-31", "2026-05-29", ""},    // 31 Jan 2026 (month end (Sat)) is day 1: day 45 is 16 Mar 2026; day 90 is 30 Apr 2026; appeal 31 Mar 2026 is day 1, day 60 is 29 May 2026
	{"modpa leap day 2028-02-29", "modpa", "erasure", "2028-02-29", "2028-04-13", "2028-05-28", "2028-04-30", "2028-06-28", ""},          // 29 Feb 2028 (leap day) is day 1: day 45 is 13 Apr 2028; day 90 is 28 May 2028; appeal 30 Apr 2028 is day 1, day 60 is 28 Jun 2028
	{"modpa Christmas Day 2026-12-25", "modpa", "portability", "2026-12-25", "2027-02-07", "2027-03-24", "2027-02-28", "2027-04-28", ""}, // 25 Dec 2026 (Christmas Day) is day 1: day 45 is 7 Feb 2027; day 90 is 24 Mar 2027; appeal 28 Feb 2027 is day 1, day 60 is 28 Apr 2027
	{"modpa year end 2027-12-31", "modpa", "opt_out", "2027-12-31", "2028-02-13", "2028-03-29", "2028-02-29", "2028-04-28", ""},          // 31 Dec 2027 (year end) is day 1: day 45 is 13 Feb 2028; day 90 is 29 Mar 2028; appeal 29 Feb 2028 is day 1, day 60 is 28 Apr 2028
	// Indiana: 45 + 45; appeal 60. Calendar days, receipt = day 1, never moved off weekends or holidays.
	{"incdpa month end (Sat) 2026-01-31", "incdpa", "access", "2026-01-31", "2026-03-16", "2026-04-30", "2026-03-31", "2026-05-29", ""},    // 31 Jan 2026 (month end (Sat)) is day 1: day 45 is 16 Mar 2026; day 90 is 30 Apr 2026; appeal 31 Mar 2026 is day 1, day 60 is 29 May 2026
	{"incdpa leap day 2028-02-29", "incdpa", "erasure", "2028-02-29", "2028-04-13", "2028-05-28", "2028-04-30", "2028-06-28", ""},          // 29 Feb 2028 (leap day) is day 1: day 45 is 13 Apr 2028; day 90 is 28 May 2028; appeal 30 Apr 2028 is day 1, day 60 is 28 Jun 2028
	{"incdpa Christmas Day 2026-12-25", "incdpa", "portability", "2026-12-25", "2027-02-07", "2027-03-24", "2027-02-28", "2027-04-28", ""}, // 25 Dec 2026 (Christmas Day) is day 1: day 45 is 7 Feb 2027; day 90 is 24 Mar 2027; appeal 28 Feb 2027 is day 1, day 60 is 28 Apr 2027
	{"incdpa year end 2027-12-31", "incdpa", "opt_out", "2027-12-31", "2028-02-13", "2028-03-29", "2028-02-29", "2028-04-28", ""},          // 31 Dec 2027 (year end) is day 1: day 45 is 13 Feb 2028; day 90 is 29 Mar 2028; appeal 29 Feb 2028 is day 1, day 60 is 28 Apr 2028
	// Kentucky: 45 + 45; appeal 60. Calendar days, receipt = day 1, never moved off weekends or holidays.
	{"kcdpa month end (Sat) 2026-01-31", "kcdpa", "access", "2026-01-31", "2026-03-16", "2026-04-30", "2026-03-31", "2026-05-29", ""},    // 31 Jan 2026 (month end (Sat)) is day 1: day 45 is 16 Mar 2026; day 90 is 30 Apr 2026; appeal 31 Mar 2026 is day 1, day 60 is 29 May 2026
	{"kcdpa leap day 2028-02-29", "kcdpa", "erasure", "2028-02-29", "2028-04-13", "2028-05-28", "2028-04-30", "2028-06-28", ""},          // 29 Feb 2028 (leap day) is day 1: day 45 is 13 Apr 2028; day 90 is 28 May 2028; appeal 30 Apr 2028 is day 1, day 60 is 28 Jun 2028
	{"kcdpa Christmas Day 2026-12-25", "kcdpa", "portability", "2026-12-25", "2027-02-07", "2027-03-24", "2027-02-28", "2027-04-28", ""}, // 25 Dec 2026 (Christmas Day) is day 1: day 45 is 7 Feb 2027; day 90 is 24 Mar 2027; appeal 28 Feb 2027 is day 1, day 60 is 28 Apr 2027
	{"kcdpa year end 2027-12-31", "kcdpa", "opt_out", "2027-12-31", "2028-02-13", "2028-03-29", "2028-02-29", "2028-04-28", ""},          // 31 Dec 2027 (year end) is day 1: day 45 is 13 Feb 2028; day 90 is 29 Mar 2028; appeal 29 Feb 2028 is day 1, day 60 is 28 Apr 2028
	// Rhode Island: 45 + 45; appeal 60. Calendar days, receipt = day 1, never moved off weekends or holidays.
	{"ridtppa month end (Sat) 2026-01-31", "ridtppa", "access", "2026-01-31", "2026-03-16", "2026-04-30", "2026-03-31", "2026-05-29", ""},    // 31 Jan 2026 (month end (Sat)) is day 1: day 45 is 16 Mar 2026; day 90 is 30 Apr 2026; appeal 31 Mar 2026 is day 1, day 60 is 29 May 2026
	{"ridtppa leap day 2028-02-29", "ridtppa", "erasure", "2028-02-29", "2028-04-13", "2028-05-28", "2028-04-30", "2028-06-28", ""},          // 29 Feb 2028 (leap day) is day 1: day 45 is 13 Apr 2028; day 90 is 28 May 2028; appeal 30 Apr 2028 is day 1, day 60 is 28 Jun 2028
	{"ridtppa Christmas Day 2026-12-25", "ridtppa", "portability", "2026-12-25", "2027-02-07", "2027-03-24", "2027-02-28", "2027-04-28", ""}, // 25 Dec 2026 (Christmas Day) is day 1: day 45 is 7 Feb 2027; day 90 is 24 Mar 2027; appeal 28 Feb 2027 is day 1, day 60 is 28 Apr 2027
	{"ridtppa year end 2027-12-31", "ridtppa", "opt_out", "2027-12-31", "2028-02-13", "2028-03-29", "2028-02-29", "2028-04-28", ""},          // 31 Dec 2027 (year end) is day 1: day 45 is 13 Feb 2028; day 90 is 29 Mar 2028; appeal 29 Feb 2028 is day 1, day 60 is 28 Apr 2028
	// Florida: 45 + one 15-day extension (60 in total); appeal 60. Calendar days, receipt = day 1, never moved off weekends or holidays.
	{"fdbr month end (Sat) 2026-01-31", "fdbr", "access", "2026-01-31", "2026-03-16", "2026-03-31", "2026-03-31", "2026-05-29", ""},    // 31 Jan 2026 (month end (Sat)) is day 1: day 45 is 16 Mar 2026; day 60 is 31 Mar 2026; appeal 31 Mar 2026 is day 1, day 60 is 29 May 2026
	{"fdbr leap day 2028-02-29", "fdbr", "erasure", "2028-02-29", "2028-04-13", "2028-04-28", "2028-04-30", "2028-06-28", ""},          // 29 Feb 2028 (leap day) is day 1: day 45 is 13 Apr 2028; day 60 is 28 Apr 2028; appeal 30 Apr 2028 is day 1, day 60 is 28 Jun 2028
	{"fdbr Christmas Day 2026-12-25", "fdbr", "portability", "2026-12-25", "2027-02-07", "2027-02-22", "2027-02-28", "2027-04-28", ""}, // 25 Dec 2026 (Christmas Day) is day 1: day 45 is 7 Feb 2027; day 60 is 22 Feb 2027; appeal 28 Feb 2027 is day 1, day 60 is 28 Apr 2027
	{"fdbr year end 2027-12-31", "fdbr", "opt_out", "2027-12-31", "2028-02-13", "2028-02-28", "2028-02-29", "2028-04-28", ""},          // 31 Dec 2027 (year end) is day 1: day 45 is 13 Feb 2028; day 60 is 28 Feb 2028; appeal 29 Feb 2028 is day 1, day 60 is 28 Apr 2028
	// Quebec: 30 days (s. 32), no extension, no internal appeal (CAI review).
	{"qc_law25 month end (Sat) 2026-01-31", "qc_law25", "access", "2026-01-31", "2026-03-01", "", "", "", ""}, // 31 Jan 2026 is day 1, day 30 is 1 Mar 2026
	{"qc_law25 leap day 2028-02-29", "qc_law25", "rectification", "2028-02-29", "2028-03-29", "", "", "", ""}, // 29 Feb 2028 is day 1, day 30 is 29 Mar 2028
	{"qc_law25 Christmas Day 2026-12-25", "qc_law25", "erasure", "2026-12-25", "2027-01-23", "", "", "", ""},  // 25 Dec 2026 is day 1, day 30 is 23 Jan 2027
	{"qc_law25 year end 2027-12-31", "qc_law25", "portability", "2027-12-31", "2028-01-29", "", "", "", ""},   // 31 Dec 2027 is day 1, day 30 is 29 Jan 2028
	// Switzerland: 30 days (DPO Art. 18), no modelled extension, no appeal (FDPIC).
	{"ch_fadp month end (Sat) 2026-01-31", "ch_fadp", "access", "2026-01-31", "2026-03-01", "", "", "", ""}, // 31 Jan 2026 is day 1, day 30 is 1 Mar 2026
	{"ch_fadp leap day 2028-02-29", "ch_fadp", "rectification", "2028-02-29", "2028-03-29", "", "", "", ""}, // 29 Feb 2028 is day 1, day 30 is 29 Mar 2028
	{"ch_fadp Christmas Day 2026-12-25", "ch_fadp", "erasure", "2026-12-25", "2027-01-23", "", "", "", ""},  // 25 Dec 2026 is day 1, day 30 is 23 Jan 2027
	{"ch_fadp year end 2027-12-31", "ch_fadp", "portability", "2027-12-31", "2028-01-29", "", "", "", ""},   // 31 Dec 2027 is day 1, day 30 is 29 Jan 2028
	// Appeal data added to the existing US regimes (Virginia 60, Colorado
	// 45 + 60 once = 105 from receipt of the appeal, Connecticut 60, Texas
	// 60, Oregon 45, Iowa 60).
	{"vcdpa appeal 31 Mar 2026", "vcdpa", "access", "2026-01-31", "2026-03-16", "2026-04-30", "2026-03-31", "2026-05-29", ""},          // appeal: 31 Mar day 1, 30 Apr day 31, 29 May day 60
	{"cpa appeal leap day 2028", "cpa", "erasure", "2028-02-29", "2028-04-13", "2028-05-28", "2028-02-29", "2028-04-13", "2028-06-12"}, // appeal: 29 Feb day 1, 13 Apr day 45; day 105: 31 Mar day 32, 30 Apr day 62, 31 May day 93, 12 Jun day 105
	{"ctdpa appeal Christmas 2026", "ctdpa", "access", "2026-12-25", "2027-02-07", "2027-03-24", "2026-12-25", "2027-02-22", ""},       // appeal: 25 Dec day 1, 31 Jan day 38, 22 Feb day 60
	{"tdpsa appeal 31 Mar 2026", "tdpsa", "portability", "2026-03-31", "2026-05-14", "2026-06-28", "2026-03-31", "2026-05-29", ""},     // 31 Mar day 1, 30 Apr day 31, 14 May day 45, 28 Jun day 90; appeal day 60 = 29 May
	{"ocpa appeal Christmas 2026", "ocpa", "erasure", "2026-12-25", "2027-02-07", "2027-03-24", "2026-12-25", "2027-02-07", ""},        // appeal: 25 Dec day 1, 31 Jan day 38, 7 Feb day 45
	{"icdpa appeal leap day 2028", "icdpa", "access", "2028-02-29", "2028-05-28", "2028-07-12", "2028-02-29", "2028-04-28", ""},        // 90 days: 31 Mar day 32, 30 Apr day 62, 28 May day 90; 135: 30 Jun day 123, 12 Jul day 135; appeal 60: 28 Apr
}

func TestRegimes2026Table(t *testing.T) {
	t.Parallel()
	seen := map[string]int{}
	for _, tt := range regime2026Cases {
		seen[tt.regime]++
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := regimeForTest(t, tt.regime)
			received := mustDate(t, tt.received)
			d, err := dsr.ComputeDeadlines(dsr.DeadlineInput{Regime: r, Kind: dsr.Kind(tt.kind), Received: received})
			if err != nil {
				t.Fatalf("ComputeDeadlines: %v", err)
			}
			for _, f := range []struct {
				field string
				got   dsr.Date
				want  string
			}{
				{"Due", d.Due, tt.due},
				{"LegalDue", d.LegalDue, tt.due},
				{"ExtendedDue", d.ExtendedDue, tt.extended},
				{"AckDue", d.AckDue, ""}, // no US state below has an acknowledgment duty
			} {
				if f.got.String() != f.want {
					t.Errorf("%s = %q, want %q", f.field, f.got, f.want)
				}
			}
			ap, err := dsr.AppealDue(r, nil, dateOrZero(t, tt.appealReceived))
			if tt.appealDue == "" {
				if r.Appeal != nil {
					t.Errorf("regime has appeal data %+v, want none", r.Appeal)
				}
				if err == nil || dsr.ErrorCode(err) != dsr.EINVALID {
					t.Errorf("AppealDue without an appeal right: %v, want EINVALID", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("AppealDue: %v", err)
			}
			if ap.Due.String() != tt.appealDue || ap.ExtendedDue.String() != tt.appealExtended {
				t.Errorf("appeal due/extended = %s/%s, want %s/%s", ap.Due, ap.ExtendedDue, tt.appealDue, tt.appealExtended)
			}
			if len(ap.Ledger) < 2 || ap.Ledger[1].What != dsr.LedgerAppealDue || !strings.Contains(ap.Ledger[1].Rule, "calendar days") {
				t.Errorf("appeal ledger %+v: want received and due entries with the rule", ap.Ledger)
			}
		})
	}
	for _, id := range []string{"mtcdpa", "dpdpa", "njdpa", "ndpa", "nhpa", "tipa", "mncdpa", "modpa", "incdpa", "kcdpa", "ridtppa", "fdbr", "qc_law25", "ch_fadp"} {
		if seen[id] < 4 {
			t.Errorf("%s: %d table cases, want at least 4", id, seen[id])
		}
	}
}

func dateOrZero(t *testing.T, s string) dsr.Date {
	t.Helper()
	if s == "" {
		return dsr.Date{}
	}
	return mustDate(t, s)
}

// California business days skip the Gov. Code §6700 holidays besides the
// federal ones (US-CA, the CCPA default); the twins of the two existing
// cases that pin the federal calendar, and the other CA-only holidays.
func TestCCPACaliforniaHolidays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, kind, received, calendar string
		ack, due, extended             string
	}{
		// 10 business days from Tue 9 Feb 2027: 9, 10, 11 (3), Fri 12 Feb
		// Lincoln Day and Mon 15 Feb Presidents' Day skipped, 16-19 (7),
		// 22, 23, 24 (10). 45 days: 8 Feb day 1, 28 Feb day 21, 24 Mar day 45.
		{"Lincoln Day 2027", "portability", "2027-02-08", "", "2027-02-24", "2027-03-24", "2027-05-08"},
		// From Wed 2 Sep 2026: 2, 3, 4 (3), Mon 7 Labor Day, 8 (4), Wed 9
		// Admission Day skipped, 10, 11, 14, 15, 16, 17 (10).
		{"Admission Day 2026", "rectification", "2026-09-01", "", "2026-09-17", "2026-10-15", "2026-11-29"},
		// Cesar Chavez Day Sun 31 Mar 2024 is observed Mon 1 Apr (§6701):
		// 26-29 (4), 1 Apr skipped, 2-5 (8), 8, 9 (10). Good Friday 29 Mar
		// counts (only an afternoon under §6700). 45 days: 25 Mar day 1,
		// 31 Mar day 7, 30 Apr day 37, 8 May day 45; 90: 31 May day 68, 22 Jun day 90.
		{"Cesar Chavez Day on a Sunday 2024", "access", "2024-03-25", "", "2024-04-09", "2024-05-08", "2024-06-22"},
		// Opt-out, 15 business days from Tue 22 Sep 2026: 22, 23, 24 (3),
		// Fri 25 Sep Native American Day skipped, 28-30 (6), 1, 2 Oct (8),
		// 5-9 (13), Mon 12 Oct Columbus Day skipped, 13, 14 (15).
		{"Native American Day 2026", "opt_out", "2026-09-21", "", "", "2026-10-14", ""},
		// The same request on the federal calendar (--calendar US keeps
		// working): 25 Sep counts, so day 15 is Tue 13 Oct.
		{"Native American Day 2026 on the US calendar", "opt_out", "2026-09-21", "US", "", "2026-10-13", ""},
	}
	r := regimeForTest(t, "ccpa")
	if r.Calendar != "US-CA" {
		t.Fatalf("ccpa default calendar %q, want US-CA", r.Calendar)
	}
	for _, tt := range tests {
		in := dsr.DeadlineInput{Regime: r, Kind: dsr.Kind(tt.kind), Received: mustDate(t, tt.received)}
		if tt.calendar != "" {
			c, err := dsr.LookupCalendar(tt.calendar)
			if err != nil {
				t.Fatal(err)
			}
			in.Calendar = c
		}
		d, err := dsr.ComputeDeadlines(in)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if d.AckDue.String() != tt.ack || d.Due.String() != tt.due || d.ExtendedDue.String() != tt.extended {
			t.Errorf("%s: ack/due/extended = %s/%s/%s, want %s/%s/%s", tt.name, d.AckDue, d.Due, d.ExtendedDue, tt.ack, tt.due, tt.extended)
		}
	}
	ca, err := dsr.LookupCalendar("us-ca")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		day  string
		name string // "" = a working day
	}{
		{"2027-02-12", "Lincoln Day"},
		{"2026-03-31", "Cesar Chavez Day"},
		{"2024-04-01", "Cesar Chavez Day (substitute day)"},
		{"2026-09-09", "Admission Day"},
		{"2026-09-25", "Native American Day"},
		{"2028-02-11", ""},                                  // Lincoln Day Sat 12 Feb 2028 is not moved to the Friday
		{"2026-11-27", ""},                                  // the day after Thanksgiving is not a §6700 holiday
		{"2026-04-03", ""},                                  // Good Friday: only 12-3 pm
		{"2026-07-03", "Independence Day (substitute day)"}, // federal observed day stays in
	} {
		if got := ca.HolidayName(mustDate(t, tt.day)); got != tt.name {
			t.Errorf("US-CA %s: holiday %q, want %q", tt.day, got, tt.name)
		}
	}
}

// A regime not yet in force on the receipt day does not apply: the
// request falls to the next matching jurisdiction or the default regime.
func TestRegimeForEffectiveDate(t *testing.T) {
	t.Parallel()
	withDefault, err := parseConfigString(configJSON(t, func(m map[string]any) {
		m["regimes"] = []any{"incdpa", "njdpa", "gdpr"}
		m["jurisdictions"] = []any{
			map[string]any{"countries": []any{"US"}, "states": []any{"IN"}, "regime": "incdpa"},
			map[string]any{"countries": []any{"US"}, "states": []any{"NJ"}, "regime": "njdpa"},
		}
		m["default_regime"] = "gdpr"
		m["promises"] = []any{}
	}))
	if err != nil {
		t.Fatal(err)
	}
	noDefault, err := parseConfigString(configJSON(t, func(m map[string]any) {
		m["regimes"] = []any{"incdpa"}
		m["jurisdictions"] = []any{map[string]any{"countries": []any{"US"}, "states": []any{"IN"}, "regime": "incdpa"}}
		m["default_regime"] = ""
		m["promises"] = []any{}
	}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		c         *dsr.Config
		state, on string
		want      string // "" = EUNAVAILABLE
	}{
		{withDefault, "IN", "2025-12-31", "gdpr"}, // Indiana from 1 Jan 2026: the day before falls to the default
		{withDefault, "IN", "2026-01-01", "incdpa"},
		{withDefault, "NJ", "2025-01-14", "gdpr"},
		{withDefault, "NJ", "2025-01-15", "njdpa"},
		{noDefault, "IN", "2025-12-31", ""},
		{noDefault, "IN", "2026-01-01", "incdpa"},
	}
	for _, tt := range tests {
		r, err := tt.c.RegimeFor("US", tt.state, mustDate(t, tt.on))
		switch {
		case tt.want == "" && dsr.ErrorCode(err) != dsr.EUNAVAILABLE:
			t.Errorf("RegimeFor(US, %s, %s) = %v, %v; want EUNAVAILABLE", tt.state, tt.on, r, err)
		case tt.want != "" && (err != nil || r.ID != tt.want):
			t.Errorf("RegimeFor(US, %s, %s) = %v, %v; want %s", tt.state, tt.on, r, err, tt.want)
		}
	}

	// Through a submission: the receipt day decides, and an explicitly
	// chosen regime not yet in force is a field error, not a 500.
	sub := func(regime string, received time.Time) dsr.Submission {
		return dsr.Submission{Kind: dsr.KindAccess, Regime: regime, Channel: dsr.ChannelOfficer, ReceivedAt: received,
			Subject: dsr.Person{Name: "Ada Example", Email: "ada@example.com", Country: "US", State: "IN"}}
	}
	before := time.Date(2025, 12, 31, 12, 0, 0, 0, time.UTC)
	after := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	s := sub("", before)
	if r, err := s.ValidateAt(withDefault, after); err != nil || r.ID != "gdpr" {
		t.Errorf("received 31 Dec 2025 in Indiana: %v, %v; want gdpr", r, err)
	}
	s = sub("", time.Time{})
	if r, err := s.ValidateAt(withDefault, after); err != nil || r.ID != "incdpa" {
		t.Errorf("received now (2 Jan 2026) in Indiana: %v, %v; want incdpa", r, err)
	}
	s = sub("incdpa", before)
	_, err = s.ValidateAt(withDefault, after)
	var de *dsr.Error
	if !errors.As(err, &de) || de.Code != dsr.EINVALID || !strings.Contains(de.Fields["regime"], "2026-01-01") {
		t.Errorf("explicit incdpa before 1 Jan 2026: %v; want EINVALID naming the effective date", err)
	}
}

func TestRegimeRules2026(t *testing.T) {
	t.Parallel()
	// New Jersey counts from receipt of a verified request: data, and the
	// ledger says how the received date is used.
	nj := regimeForTest(t, "njdpa")
	if nj.ClockStart != dsr.ClockVerifiedReceipt {
		t.Errorf("njdpa clock_start %q, want %q", nj.ClockStart, dsr.ClockVerifiedReceipt)
	}
	d, err := dsr.ComputeDeadlines(dsr.DeadlineInput{Regime: nj, Kind: dsr.KindAccess, Received: dsr.NewDate(2026, 3, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Ledger[0].Rule, "verified") {
		t.Errorf("njdpa received rule %q does not explain the verified-request clock", d.Ledger[0].Rule)
	}
	if va, _ := dsr.ComputeDeadlines(dsr.DeadlineInput{Regime: regimeForTest(t, "vcdpa"), Kind: dsr.KindAccess, Received: dsr.NewDate(2026, 3, 2)}); strings.Contains(va.Ledger[0].Rule, "verified") {
		t.Errorf("vcdpa received rule %q mentions a verified-request clock", va.Ledger[0].Rule)
	}

	// Florida: one 15-day extension (60 days in total), notice within 45.
	fl := regimeForTest(t, "fdbr")
	if e := fl.Extension; e == nil || e.Total != (dsr.Period{Days: 60, Unit: dsr.UnitCalendar}) || e.MaxTimes != 1 || e.NoticeWithin.Days != 45 || !strings.Contains(e.Rule, "15 days") {
		t.Errorf("fdbr extension %+v, want 60 days in total, once, notice within 45, rule naming 15 days", fl.Extension)
	}
	// Indiana: a copy or representative summary, once per 12 months.
	in := regimeForTest(t, "incdpa")
	if l, ok := in.KindLimits[dsr.KindPortability]; !ok || l.Times != 1 || l.Per != "12 months" || !strings.Contains(l.Rule, "summary") {
		t.Errorf("incdpa portability limit %+v, want once per 12 months, copy or summary", in.KindLimits)
	}
	// Nebraska: free twice a year; most others once.
	if f := regimeForTest(t, "ndpa").FreeRequests; f == nil || f.Times != 2 {
		t.Errorf("ndpa free requests %+v, want 2", f)
	}
	if f := regimeForTest(t, "njdpa").FreeRequests; f == nil || f.Times != 1 {
		t.Errorf("njdpa free requests %+v, want 1", f)
	}

	// Unverified figures say so in the ledger rule.
	nh, _ := dsr.ComputeDeadlines(dsr.DeadlineInput{Regime: regimeForTest(t, "nhpa"), Kind: dsr.KindAccess, Received: dsr.NewDate(2026, 3, 2)})
	for _, e := range nh.Ledger {
		if (e.What == dsr.LedgerLegalDue || e.What == dsr.LedgerExtendedDue) && !strings.Contains(e.Rule, "UNVERIFIED") {
			t.Errorf("nhpa %s rule %q does not say UNVERIFIED", e.What, e.Rule)
		}
	}
	if ap, _ := dsr.AppealDue(regimeForTest(t, "vcdpa"), nil, dsr.NewDate(2026, 3, 2)); !strings.Contains(ap.Ledger[1].Rule, "UNVERIFIED") {
		t.Errorf("vcdpa appeal rule %q does not say UNVERIFIED", ap.Ledger[1].Rule)
	}

	// GPC from each law's date, and only while the law is in force.
	for _, tt := range []struct {
		regime, on string
		want       bool
	}{
		{"ccpa", "2026-03-02", true},
		{"cpa", "2024-06-30", false}, {"cpa", "2024-07-01", true},
		{"dpdpa", "2025-12-31", false}, {"dpdpa", "2026-01-01", true},
		{"njdpa", "2025-07-14", false}, {"njdpa", "2025-07-15", true},
		{"mtcdpa", "2025-01-01", true}, {"mncdpa", "2025-07-30", false}, {"mncdpa", "2025-07-31", true},
		{"ndpa", "2026-03-02", true}, {"nhpa", "2026-03-02", true}, {"modpa", "2026-03-02", true},
		{"vcdpa", "2026-03-02", false}, {"tipa", "2026-03-02", false}, {"incdpa", "2026-03-02", false},
		{"kcdpa", "2026-03-02", false}, {"ridtppa", "2026-03-02", false}, {"fdbr", "2026-03-02", false},
		{"gdpr", "2026-03-02", false}, {"ch_fadp", "2026-03-02", false},
	} {
		if got := regimeForTest(t, tt.regime).RequiresGPC(mustDate(t, tt.on)); got != tt.want {
			t.Errorf("%s RequiresGPC(%s) = %v, want %v", tt.regime, tt.on, got, tt.want)
		}
	}

	// Appeal window: "a reasonable period" is the organisation's, default 60.
	va := regimeForTest(t, "vcdpa")
	if n, ok := va.AppealWindowDays(0); !ok || n != dsr.DefaultAppealWindowDays {
		t.Errorf("vcdpa appeal window %d, %v; want %d", n, ok, dsr.DefaultAppealWindowDays)
	}
	if n, ok := va.AppealWindowDays(90); !ok || n != 90 {
		t.Errorf("vcdpa appeal window with org 90: %d, %v", n, ok)
	}
	if _, ok := regimeForTest(t, "ucpa").AppealWindowDays(0); ok {
		t.Error("ucpa has no appeal right")
	}
}

// Every regime carries the data appeals, GPC and the regime list need.
func TestRegimeData2026(t *testing.T) {
	t.Parallel()
	appeals := map[string]bool{"vcdpa": true, "cpa": true, "ctdpa": true, "tdpsa": true, "ocpa": true, "icdpa": true,
		"mtcdpa": true, "dpdpa": true, "njdpa": true, "ndpa": true, "nhpa": true, "tipa": true, "mncdpa": true,
		"modpa": true, "incdpa": true, "kcdpa": true, "ridtppa": true, "fdbr": true}
	for _, r := range dsr.Regimes() {
		if r.Effective.IsZero() || r.Citation == "" || r.GPC == nil || r.Agents == "" {
			t.Errorf("%s: effective %q, citation %q, gpc %v, agents %q: all are required", r.ID, r.Effective, r.Citation, r.GPC, r.Agents)
		}
		if (r.Appeal != nil) != appeals[r.ID] {
			t.Errorf("%s: appeal %v, want appeal right %v", r.ID, r.Appeal, appeals[r.ID])
		}
		if r.Appeal != nil && len(r.ComplaintRoutes) == 0 {
			t.Errorf("%s: an appeal right needs an Attorney General complaint route", r.ID)
		}
		for _, cr := range r.ComplaintRoutes {
			if cr.Name == "" || !strings.HasPrefix(cr.URL, "https://") {
				t.Errorf("%s: complaint route %+v", r.ID, cr)
			}
		}
	}
	if routes := regimeForTest(t, "ccpa").ComplaintRoutes; len(routes) != 2 || !strings.Contains(routes[0].Name, "Privacy Protection Agency") || !strings.Contains(routes[1].Name, "Attorney General") {
		t.Errorf("ccpa complaint routes %+v, want the CPPA and the Attorney General", routes)
	}
}

// The example US config maps every US state with a law in force to its
// regime.
func TestExampleUSConfigMapsEveryStateLaw(t *testing.T) {
	t.Parallel()
	c := loadExampleConfig(t, "us-ccpa.json")
	on := dsr.NewDate(2026, 12, 1)
	reached := map[string]bool{}
	for _, st := range dsr.USStates {
		if r, err := c.RegimeFor("US", st, on); err == nil {
			reached[r.ID] = true
		}
	}
	for _, r := range dsr.Regimes() {
		if strings.HasSuffix(r.Jurisdiction, ", US") && r.InForce(on) && !reached[r.ID] {
			t.Errorf("no US state of examples/us-ccpa.json maps to %s (%s)", r.ID, r.Jurisdiction)
		}
	}
}

// The deadline engine refuses a receipt before the law applies, so no
// caller (intake, triage, the CLI) can date a request under it.
func TestComputeDeadlinesBeforeEffectiveDate(t *testing.T) {
	t.Parallel()
	r := regimeForTest(t, "ridtppa")
	_, err := dsr.ComputeDeadlines(dsr.DeadlineInput{Regime: r, Kind: dsr.KindAccess, Received: dsr.NewDate(2025, 12, 31)})
	if dsr.ErrorCode(err) != dsr.EINVALID || !strings.Contains(dsr.ErrorMessage(err), "2026-01-01") {
		t.Errorf("ridtppa received 31 Dec 2025: %v; want EINVALID naming 2026-01-01", err)
	}
	if _, err := dsr.ComputeDeadlines(dsr.DeadlineInput{Regime: r, Kind: dsr.KindAccess, Received: dsr.NewDate(2026, 1, 1)}); err != nil {
		t.Errorf("ridtppa received on its effective date: %v", err)
	}
}
