package workflow

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/riverqueue/river"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// DefaultGDPRRegimes are the regimes of the gdpr report when none are
// named.
var DefaultGDPRRegimes = []string{"gdpr", "uk_gdpr"}

// syncReportTimeZone records the organisation's time zone for the report
// pre-aggregate, rebuilding it when the zone changed (days to respond are
// calendar days in that zone).
func (e *Engine) syncReportTimeZone(ctx context.Context) error {
	if e.reportTZ.Load() {
		return nil // once per engine: the config does not change while it runs
	}
	rebuilt, err := db.SetReportTimeZone(ctx, e.pool, e.org.Location().String())
	if err != nil {
		return dbErr("report time zone", err)
	}
	if rebuilt {
		e.log.Info("reports: time zone changed, pre-aggregate rebuilt", "time_zone", e.org.Location().String())
	}
	e.reportTZ.Store(true)
	return nil
}

func (e *Engine) today() dsr.Date { return dsr.DateIn(e.now(), e.org.Location()) }

// CCPAReport is the §7102 report of requests received in year. Errors:
// EINVALID (year), ETEMPORARY / EINTERNAL.
func (e *Engine) CCPAReport(ctx context.Context, year int) (dsr.CCPAReport, error) {
	var buckets []dsr.ReportBucket
	for _, g := range []string{db.GrainResult, db.GrainMonth} {
		b, err := e.yearBuckets(ctx, g, year, []string{"ccpa"}, false)
		if err != nil {
			return dsr.CCPAReport{}, err
		}
		buckets = append(buckets, b...)
	}
	return dsr.BuildCCPAReport(year, e.org.Location().String(), buckets), nil
}

// GDPRReport is the per-month or per-quarter report of the regimes
// (DefaultGDPRRegimes when empty) for year. Errors: EINVALID (year,
// period, regime), ETEMPORARY / EINTERNAL.
func (e *Engine) GDPRReport(ctx context.Context, year int, period string, regimes []string) (dsr.GDPRReport, error) {
	if len(regimes) == 0 {
		regimes = DefaultGDPRRegimes
	}
	for _, r := range regimes {
		if _, err := dsr.LookupRegime(r); err != nil {
			return dsr.GDPRReport{}, &dsr.Error{Code: dsr.EINVALID, Message: "invalid regime", Fields: map[string]string{"regime": fmt.Sprintf("unknown regime %q", r)}}
		}
	}
	var buckets []dsr.ReportBucket
	for _, g := range []string{db.GrainResult, db.GrainMonth, db.GrainFlags} {
		b, err := e.yearBuckets(ctx, g, year, regimes, true)
		if err != nil {
			return dsr.GDPRReport{}, err
		}
		buckets = append(buckets, b...)
	}
	today := e.today()
	overdue, err := db.OverdueNow(ctx, e.pool, today)
	if err != nil {
		return dsr.GDPRReport{}, dbErr("report", err)
	}
	return dsr.BuildGDPRReport(year, period, regimes, e.org.Location().String(), today, buckets, overdue)
}

// SLAReport is the per-officer report for year. Errors: EINVALID (year),
// ETEMPORARY / EINTERNAL.
func (e *Engine) SLAReport(ctx context.Context, year int) (dsr.SLAReport, error) {
	buckets, err := e.yearBuckets(ctx, db.GrainOfficer, year, nil, false)
	if err != nil {
		return dsr.SLAReport{}, err
	}
	today := e.today()
	overdue, err := db.OverdueNow(ctx, e.pool, today)
	if err != nil {
		return dsr.SLAReport{}, dbErr("report", err)
	}
	names, err := db.UserNames(ctx, e.pool)
	if err != nil {
		return dsr.SLAReport{}, dbErr("report", err)
	}
	return dsr.BuildSLAReport(year, e.org.Location().String(), today, buckets, overdue, names), nil
}

// ValidReportYear checks a report year. Errors: EINVALID.
func ValidReportYear(year int) error {
	if year < 2000 || year > 9999 {
		return &dsr.Error{Code: dsr.EINVALID, Message: "invalid year", Fields: map[string]string{"year": "must be a year from 2000 to 9999"}}
	}
	return nil
}

func (e *Engine) yearBuckets(ctx context.Context, grain string, year int, regimes []string, byPeriod bool) ([]dsr.ReportBucket, error) {
	if err := ValidReportYear(year); err != nil {
		return nil, err
	}
	if err := e.syncReportTimeZone(ctx); err != nil {
		return nil, err
	}
	from, to := dsr.YearRange(year)
	b, err := db.ReportBuckets(ctx, e.pool, db.ReportQuery{Grain: grain, From: from, To: to, Regimes: regimes, ByPeriod: byPeriod})
	if err != nil {
		return nil, dbErr("report", err)
	}
	return b, nil
}

// Dashboard is the officer landing page's data.
type Dashboard struct {
	Today       dsr.Date
	WeekEnd     dsr.Date // the Sunday ending this week
	Open        int64
	DueThisWeek int64
	Overdue     int64
	Waiting     int64 // awaiting the requester
	Triage      int64 // needs triage
	ByKind      []DashboardCount
	ByLaw       []DashboardCount
	Weeks       []WeekPoint // oldest first
}

// DashboardCount is the open requests of one kind or law.
type DashboardCount struct {
	Value, Label               string
	Open, DueThisWeek, Overdue int64
}

// WeekPoint is one week of requests received (Monday to Sunday): how many
// came in, how many of them are answered, how many on time, the median
// days to answer.
type WeekPoint struct {
	Week       dsr.Date
	Received   int64
	Answered   int64
	OnTime     int64
	MedianDays *float64
}

// OnTimeRate is the share of the week's answered requests answered on
// time, in percent (nil with none answered).
func (w WeekPoint) OnTimeRate() *float64 {
	if w.Answered == 0 {
		return nil
	}
	r := float64(w.OnTime) * 100 / float64(w.Answered)
	return &r
}

// DashboardWeeks is how many weeks the dashboard charts show.
const DashboardWeeks = 12

// Dashboard reads the officer dashboard: the open requests now (from the
// partial open-request index) and the last DashboardWeeks weeks (from the
// report pre-aggregate). Errors: ETEMPORARY / EINTERNAL.
func (e *Engine) Dashboard(ctx context.Context) (Dashboard, error) {
	today := e.today()
	d := Dashboard{Today: today, WeekEnd: today.AddDays((7 - int(today.Weekday())) % 7)}
	counts, err := db.OpenCounts(ctx, e.pool, today, d.WeekEnd)
	if err != nil {
		return d, dbErr("dashboard", err)
	}
	kinds, laws := map[string]*DashboardCount{}, map[string]*DashboardCount{}
	add := func(m map[string]*DashboardCount, v, label string, c db.OpenCount) {
		x, ok := m[v]
		if !ok {
			x = &DashboardCount{Value: v, Label: label}
			m[v] = x
		}
		x.Open, x.DueThisWeek, x.Overdue = x.Open+c.N, x.DueThisWeek+c.DueThisWeek, x.Overdue+c.Overdue
	}
	for _, c := range counts {
		d.Open, d.DueThisWeek, d.Overdue = d.Open+c.N, d.DueThisWeek+c.DueThisWeek, d.Overdue+c.Overdue
		switch c.Status {
		case dsr.StatusAwaitingRequester:
			d.Waiting += c.N
		case dsr.StatusPendingTriage:
			d.Triage += c.N
		}
		add(kinds, c.Kind, dsr.Kind(c.Kind).Short(), c)
		law := c.Regime
		if reg, err := dsr.LookupRegime(c.Regime); err == nil {
			law = reg.Short
		}
		add(laws, c.Regime, law, c)
	}
	d.ByKind, d.ByLaw = sortedCounts(kinds), sortedCounts(laws)

	if err := e.syncReportTimeZone(ctx); err != nil {
		return d, err
	}
	monday := today.AddDays(-((int(today.Weekday()) + 6) % 7))
	first := monday.AddDays(-7 * (DashboardWeeks - 1))
	buckets, err := db.ReportBuckets(ctx, e.pool, db.ReportQuery{Grain: db.GrainWeek, From: first, To: monday.AddDays(7), ByPeriod: true})
	if err != nil {
		return d, dbErr("dashboard", err)
	}
	d.Weeks = weekPoints(first, buckets)
	return d, nil
}

func sortedCounts(m map[string]*DashboardCount) []DashboardCount {
	out := make([]DashboardCount, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Open != out[j].Open {
			return out[i].Open > out[j].Open
		}
		return out[i].Value < out[j].Value
	})
	return out
}

// weekPoints folds the week buckets into DashboardWeeks points from first.
func weekPoints(first dsr.Date, buckets []dsr.ReportBucket) []WeekPoint {
	pts := make([]WeekPoint, DashboardWeeks)
	stats := make([]dsr.DayStats, DashboardWeeks)
	for i := range pts {
		pts[i].Week = first.AddDays(7 * i)
	}
	for _, b := range buckets {
		i := first.DaysUntil(b.Period) / 7
		if i < 0 || i >= DashboardWeeks {
			continue
		}
		pts[i].Received += b.N
		if b.Days >= 0 {
			pts[i].Answered += b.N
			stats[i].Add(b.Days, b.N)
			if b.OnTime != nil && *b.OnTime {
				pts[i].OnTime += b.N
			}
		}
	}
	for i := range pts {
		pts[i].MedianDays = stats[i].Median()
	}
	return pts
}

// AuditExportRow is one line of the audit-log CSV export.
type AuditExportRow = db.AuditRow

// AuditExport calls fn for every audit event with at in [from, to), in
// order, reading in pages of 5,000. Errors: EINVALID (from after to),
// ETEMPORARY / EINTERNAL, or fn's.
func (e *Engine) AuditExport(ctx context.Context, from, to time.Time, fn func(AuditExportRow) error) error {
	if to.Before(from) {
		return &dsr.Error{Code: dsr.EINVALID, Message: "invalid range", Fields: map[string]string{"to": "must not be before from"}}
	}
	var after int64
	for {
		rows, err := db.AuditEvents(ctx, e.pool, from, to, after, 5000)
		if err != nil {
			return dbErr("audit export", err)
		}
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
			after = r.ID
		}
		if len(rows) < 5000 {
			return nil
		}
	}
}

// ReportFoldArgs folds the report deltas into the pre-aggregate.
type ReportFoldArgs struct{}

// Kind is the River job kind.
func (ReportFoldArgs) Kind() string { return "report_fold" }

// InsertOpts: at most one fold per interval.
func (ReportFoldArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: ReportFoldInterval}}
}

// ReportFoldInterval is how often the leader folds report deltas. Reads
// are exact without folding; folding keeps the delta table short.
const ReportFoldInterval = 5 * time.Minute

type reportFoldWorker struct {
	river.WorkerDefaults[ReportFoldArgs]
	e *Engine
}

func (w *reportFoldWorker) Work(ctx context.Context, _ *river.Job[ReportFoldArgs]) error {
	_, err := db.FoldReports(ctx, w.e.pool)
	return err
}

func reportFoldJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(ReportFoldInterval),
		func() (river.JobArgs, *river.InsertOpts) { return ReportFoldArgs{}, nil },
		&river.PeriodicJobOpts{ID: "report_fold"})
}
