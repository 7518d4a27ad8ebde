package dsr

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Report results: how a request ended, as the reports count it. A
// completed request's outcome ” (completed before outcomes existed)
// reads as full.
const (
	ResultOpen      = "open"
	ResultFull      = "full"
	ResultPartial   = "partial"
	ResultNoData    = "no_data"
	ResultDenied    = "denied"
	ResultWithdrawn = "withdrawn"
	ResultExpired   = "expired"
	ResultAppealed  = "appealed"
)

// Grains of the report pre-aggregate: which dimensions a bucket keeps.
const (
	GrainMonth   = "month"   // regime, kind, days, on time: the days histogram
	GrainResult  = "result"  // regime, kind, result, denial reason
	GrainFlags   = "flags"   // regime, kind, extended, paused
	GrainOfficer = "officer" // assignee, days, on time
	GrainWeek    = "week"    // days, on time, by week received
)

// ReportBucket is one cell of the report pre-aggregate: N requests
// received in the period (first day of the month, or Monday of the week)
// that share every other field. A grain leaves the fields it does not
// keep empty. Days is the calendar days from receipt to
// the response in the organisation's time zone (completed and denied
// requests), -1 otherwise; OnTime says whether that response was on or
// before the due date (nil when there is none).
type ReportBucket struct {
	Grain    string
	Period   Date
	Regime   string
	Kind     string
	Result   string
	Reason   string // denial reason code (denied only)
	Days     int
	OnTime   *bool
	Extended bool
	Paused   bool
	Assignee string // user id, "" unassigned (officer grain only)
	N        int64
}

// responded reports whether the bucket is a substantive response (the
// requests that have days to respond).
func (b ReportBucket) responded() bool { return b.Days >= 0 }

// DayStats is an exact histogram of days to respond.
type DayStats struct{ counts map[int]int64 }

// Add counts n responses that took days days.
func (s *DayStats) Add(days int, n int64) {
	if days < 0 || n == 0 {
		return
	}
	if s.counts == nil {
		s.counts = map[int]int64{}
	}
	s.counts[days] += n
}

// N is the number of responses counted.
func (s DayStats) N() int64 {
	var t int64
	for _, n := range s.counts {
		t += n
	}
	return t
}

// Median is the median days (the mean of the two middle values for an
// even count), nil with no responses.
func (s DayStats) Median() *float64 {
	total := s.N()
	if total == 0 {
		return nil
	}
	days := make([]int, 0, len(s.counts))
	for d := range s.counts {
		days = append(days, d)
	}
	sort.Ints(days)
	// nth returns the value at 0-based position i of the sorted multiset.
	nth := func(i int64) int {
		for _, d := range days {
			if i < s.counts[d] {
				return d
			}
			i -= s.counts[d]
		}
		return days[len(days)-1]
	}
	m := float64(nth((total-1)/2)+nth(total/2)) / 2
	return &m
}

// Mean is the mean days, nil with no responses.
func (s DayStats) Mean() *float64 {
	total := s.N()
	if total == 0 {
		return nil
	}
	var sum int64
	for d, n := range s.counts {
		sum += int64(d) * n
	}
	m := float64(sum) / float64(total)
	return &m
}

// CCPARequestTypes are the §7102 request types and the kinds counted
// under each.
var CCPARequestTypes = []struct {
	Type  string
	Kinds []Kind
}{
	{"know", []Kind{KindAccess, KindPortability}},
	{"delete", []Kind{KindErasure}},
	{"correct", []Kind{KindRectification}},
	{"opt_out", []Kind{KindOptOut}},
}

// CCPAReport is the CCPA regulations §7102 metrics for one calendar year.
type CCPAReport struct {
	Year     int          `json:"year"`
	Regime   string       `json:"regime"`
	TimeZone string       `json:"time_zone"`
	Note     string       `json:"note"`
	Types    []CCPAMetric `json:"types"`
}

// CCPAMetric is one request type's line of the §7102 report.
type CCPAMetric struct {
	Type           string           `json:"type"`
	Kinds          []string         `json:"kinds"`
	Received       int64            `json:"received"`
	Complied       int64            `json:"complied_in_whole_or_part"`
	CompliedWhole  int64            `json:"complied_in_whole"`
	CompliedPart   int64            `json:"complied_in_part"`
	NoData         int64            `json:"no_data"`
	Denied         int64            `json:"denied"`
	DeniedByReason map[string]int64 `json:"denied_by_reason"`
	Pending        int64            `json:"pending"`
	Withdrawn      int64            `json:"withdrawn"`
	Expired        int64            `json:"expired_unverified"`
	MedianDays     *float64         `json:"median_days"`
	MeanDays       *float64         `json:"mean_days"`
}

// BuildCCPAReport computes the §7102 metrics from the result and month
// buckets of a year (other grains, regimes and years are ignored).
func BuildCCPAReport(year int, tz string, buckets []ReportBucket) CCPAReport {
	rep := CCPAReport{Year: year, Regime: "ccpa", TimeZone: tz,
		Note: fmt.Sprintf("Requests received %d-01-01 to %d-12-31 (by date received); days are calendar days from receipt to the response (completion or denial) in %s; complied includes answers that no personal information was held.", year, year, tz)}
	for _, t := range CCPARequestTypes {
		m := CCPAMetric{Type: t.Type, DeniedByReason: map[string]int64{}}
		kinds := map[string]bool{}
		for _, k := range t.Kinds {
			m.Kinds = append(m.Kinds, string(k))
			kinds[string(k)] = true
		}
		var st DayStats
		for _, b := range buckets {
			if b.Regime != "ccpa" || !kinds[b.Kind] || b.Period.Time().Year() != year {
				continue
			}
			if b.Grain == GrainMonth {
				st.Add(b.Days, b.N)
				continue
			}
			if b.Grain != GrainResult {
				continue
			}
			m.Received += b.N
			switch b.Result {
			case ResultFull:
				m.CompliedWhole += b.N
			case ResultPartial:
				m.CompliedPart += b.N
			case ResultNoData:
				m.NoData += b.N
			case ResultDenied:
				m.Denied += b.N
				m.DeniedByReason[reasonLabel(b.Reason)] += b.N
			case ResultWithdrawn:
				m.Withdrawn += b.N
			case ResultExpired:
				m.Expired += b.N
			default:
				m.Pending += b.N
			}
		}
		m.Complied = m.CompliedWhole + m.CompliedPart + m.NoData
		m.MedianDays, m.MeanDays = st.Median(), st.Mean()
		rep.Types = append(rep.Types, m)
	}
	return rep
}

func reasonLabel(code string) string {
	if code == "" {
		return "unspecified"
	}
	return code
}

// Table renders the report as one table.
func (r CCPAReport) Table() Table {
	t := Table{Title: fmt.Sprintf("CCPA §7102 metrics, %d", r.Year), Note: r.Note,
		Columns: []string{"request type", "received", "complied in whole or in part", "in whole", "in part", "no data held",
			"denied", "denied by reason", "pending", "withdrawn", "expired (unverified)", "median days", "mean days"}}
	for _, m := range r.Types {
		t.Rows = append(t.Rows, []string{m.Type, itoa(m.Received), itoa(m.Complied), itoa(m.CompliedWhole), itoa(m.CompliedPart),
			itoa(m.NoData), itoa(m.Denied), reasons(m.DeniedByReason), itoa(m.Pending), itoa(m.Withdrawn), itoa(m.Expired),
			fnum(m.MedianDays), fnum(m.MeanDays)})
	}
	return t
}

// Periods of the gdpr report.
const (
	PeriodMonth   = "month"
	PeriodQuarter = "quarter"
)

// GDPRReport is the per-period report of GDPR-style requests.
type GDPRReport struct {
	Year     int          `json:"year"`
	Period   string       `json:"period"`
	Regimes  []string     `json:"regimes"`
	TimeZone string       `json:"time_zone"`
	Today    Date         `json:"today"`
	Note     string       `json:"note"`
	Rows     []GDPRMetric `json:"rows"`
}

// GDPRMetric is one (period, regime, kind) line; Regime and Kind "all" is
// the period's total.
type GDPRMetric struct {
	Period         string           `json:"period"` // 2026-03 or 2026-Q1
	Regime         string           `json:"regime"`
	Kind           string           `json:"kind"`
	Received       int64            `json:"received"`
	Answered       int64            `json:"answered"`
	OnTime         int64            `json:"answered_on_time"`
	Extended       int64            `json:"extended"`
	Paused         int64            `json:"paused"`
	Denied         int64            `json:"denied"`
	DeniedByReason map[string]int64 `json:"denied_by_reason"`
	MedianDays     *float64         `json:"median_days"`
	OverdueNow     int64            `json:"overdue_now"`
}

// OverdueCount is the number of open requests past their due date today,
// by received month, regime, kind and assignee.
type OverdueCount struct {
	Month    Date
	Regime   string
	Kind     string
	Assignee string
	N        int64
}

// PeriodLabel names the period of a month: "2026-03" or "2026-Q1".
func PeriodLabel(month Date, period string) string {
	t := month.Time()
	if period == PeriodQuarter {
		return fmt.Sprintf("%d-Q%d", t.Year(), (int(t.Month())-1)/3+1)
	}
	return t.Format("2006-01")
}

// BuildGDPRReport groups the month buckets of the year for the regimes
// by period (month or quarter), regime and kind, with a total line per
// period, from the result, month and flags buckets. Errors: EINVALID for an unknown period.
func BuildGDPRReport(year int, period string, regimes []string, tz string, today Date, buckets []ReportBucket, overdue []OverdueCount) (GDPRReport, error) {
	if period == "" {
		period = PeriodMonth
	}
	if period != PeriodMonth && period != PeriodQuarter {
		return GDPRReport{}, &Error{Code: EINVALID, Message: "invalid period", Fields: map[string]string{"period": "must be month or quarter"}}
	}
	rep := GDPRReport{Year: year, Period: period, Regimes: regimes, TimeZone: tz, Today: today,
		Note: fmt.Sprintf("Requests received in %d by date received, per %s; on time = answered on or before the due date; days are calendar days in %s; overdue now = still open on %s past the due date.", year, period, tz, today)}
	want := map[string]bool{}
	for _, r := range regimes {
		want[r] = true
	}
	type key struct{ period, regime, kind string }
	acc := map[key]*GDPRMetric{}
	stats := map[key]*DayStats{}
	get := func(k key) *GDPRMetric {
		if m, ok := acc[k]; ok {
			return m
		}
		m := &GDPRMetric{Period: k.period, Regime: k.regime, Kind: k.kind, DeniedByReason: map[string]int64{}}
		acc[k], stats[k] = m, &DayStats{}
		return m
	}
	for _, b := range buckets {
		if !want[b.Regime] || b.Period.Time().Year() != year {
			continue
		}
		p := PeriodLabel(b.Period, period)
		for _, k := range []key{{p, b.Regime, b.Kind}, {p, "all", "all"}} {
			m := get(k)
			switch b.Grain {
			case GrainFlags:
				if b.Extended {
					m.Extended += b.N
				}
				if b.Paused {
					m.Paused += b.N
				}
			case GrainResult:
				m.Received += b.N
				if b.Result == ResultDenied {
					m.Denied += b.N
					m.DeniedByReason[reasonLabel(b.Reason)] += b.N
				}
			case GrainMonth:
				if b.responded() {
					m.Answered += b.N
					stats[k].Add(b.Days, b.N)
					if b.OnTime != nil && *b.OnTime {
						m.OnTime += b.N
					}
				}
			}
		}
	}
	for _, o := range overdue {
		if !want[o.Regime] || o.Month.Time().Year() != year {
			continue
		}
		p := PeriodLabel(o.Month, period)
		get(key{p, o.Regime, o.Kind}).OverdueNow += o.N
		get(key{p, "all", "all"}).OverdueNow += o.N
	}
	for k, m := range acc {
		m.MedianDays = stats[k].Median()
		rep.Rows = append(rep.Rows, *m)
	}
	sort.Slice(rep.Rows, func(i, j int) bool {
		a, b := rep.Rows[i], rep.Rows[j]
		if a.Period != b.Period {
			return a.Period < b.Period
		}
		if (a.Regime == "all") != (b.Regime == "all") {
			return a.Regime == "all"
		}
		if a.Regime != b.Regime {
			return a.Regime < b.Regime
		}
		return a.Kind < b.Kind
	})
	return rep, nil
}

// Table renders the report as one table.
func (r GDPRReport) Table() Table {
	t := Table{Title: fmt.Sprintf("GDPR-style requests %d by %s (%s)", r.Year, r.Period, strings.Join(r.Regimes, ", ")), Note: r.Note,
		Columns: []string{r.Period, "regime", "kind", "received", "answered", "on time", "extended", "paused", "denied",
			"denied by basis", "median days", "overdue now"}}
	for _, m := range r.Rows {
		t.Rows = append(t.Rows, []string{m.Period, m.Regime, m.Kind, itoa(m.Received), itoa(m.Answered), itoa(m.OnTime),
			itoa(m.Extended), itoa(m.Paused), itoa(m.Denied), reasons(m.DeniedByReason), fnum(m.MedianDays), itoa(m.OverdueNow)})
	}
	return t
}

// SLAReport is the per-officer service level for one year.
type SLAReport struct {
	Year     int         `json:"year"`
	TimeZone string      `json:"time_zone"`
	Today    Date        `json:"today"`
	Note     string      `json:"note"`
	Officers []SLAMetric `json:"officers"`
}

// SLAMetric is one assignee's line ("" id: unassigned).
type SLAMetric struct {
	OfficerID  string   `json:"officer_id"`
	Officer    string   `json:"officer"`
	Assigned   int64    `json:"assigned"`
	Closed     int64    `json:"answered"`
	OnTime     int64    `json:"on_time"`
	OverdueNow int64    `json:"overdue_now"`
	MedianDays *float64 `json:"median_days"`
}

// BuildSLAReport groups the officer buckets of the year by assignee;
// names maps user ids to the names shown.
func BuildSLAReport(year int, tz string, today Date, buckets []ReportBucket, overdue []OverdueCount, names map[string]string) SLAReport {
	rep := SLAReport{Year: year, TimeZone: tz, Today: today,
		Note: fmt.Sprintf("Requests received in %d by their current assignee; answered = completed or denied; days are calendar days in %s; overdue now = open on %s past the due date (any year).", year, tz, today)}
	acc := map[string]*SLAMetric{}
	stats := map[string]*DayStats{}
	get := func(id string) *SLAMetric {
		if m, ok := acc[id]; ok {
			return m
		}
		name := names[id]
		if id == "" {
			name = "(unassigned)"
		} else if name == "" {
			name = id
		}
		m := &SLAMetric{OfficerID: id, Officer: name}
		acc[id], stats[id] = m, &DayStats{}
		return m
	}
	for _, b := range buckets {
		if b.Period.Time().Year() != year {
			continue
		}
		m := get(b.Assignee)
		m.Assigned += b.N
		if b.responded() {
			m.Closed += b.N
			stats[b.Assignee].Add(b.Days, b.N)
			if b.OnTime != nil && *b.OnTime {
				m.OnTime += b.N
			}
		}
	}
	for _, o := range overdue {
		get(o.Assignee).OverdueNow += o.N
	}
	for id, m := range acc {
		m.MedianDays = stats[id].Median()
		rep.Officers = append(rep.Officers, *m)
	}
	sort.Slice(rep.Officers, func(i, j int) bool {
		a, b := rep.Officers[i], rep.Officers[j]
		if (a.OfficerID == "") != (b.OfficerID == "") {
			return b.OfficerID == ""
		}
		return a.Officer < b.Officer
	})
	return rep
}

// Table renders the report as one table.
func (r SLAReport) Table() Table {
	t := Table{Title: fmt.Sprintf("Service level by officer, %d", r.Year), Note: r.Note,
		Columns: []string{"officer", "assigned", "answered", "on time", "overdue now", "median days"}}
	for _, m := range r.Officers {
		t.Rows = append(t.Rows, []string{m.Officer, itoa(m.Assigned), itoa(m.Closed), itoa(m.OnTime), itoa(m.OverdueNow), fnum(m.MedianDays)})
	}
	return t
}

// YearRange is the first day of the year and of the next.
func YearRange(year int) (Date, Date) {
	return NewDate(year, time.January, 1), NewDate(year+1, time.January, 1)
}

func itoa(n int64) string { return fmt.Sprintf("%d", n) }

// fnum prints a median or mean with at most one decimal, "" for none.
func fnum(f *float64) string {
	if f == nil {
		return ""
	}
	s := fmt.Sprintf("%.1f", *f)
	return strings.TrimSuffix(s, ".0")
}

// reasons prints counts by reason as "code: n; code: n" in code order.
func reasons(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return strings.Join(parts, "; ")
}
