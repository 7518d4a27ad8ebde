package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Report grains of the pre-aggregate (migration 022).
const (
	GrainMonth   = dsr.GrainMonth
	GrainResult  = dsr.GrainResult
	GrainFlags   = dsr.GrainFlags
	GrainOfficer = dsr.GrainOfficer
	GrainWeek    = dsr.GrainWeek
)

// ReportQuery selects cells of the pre-aggregate.
type ReportQuery struct {
	Grain    string
	From, To dsr.Date // periods in [From, To)
	Regimes  []string // nil: every regime
	// ByPeriod keeps the periods apart; false sums them (each bucket's
	// Period is then From), which is what a yearly report needs and reads
	// far fewer rows.
	ByPeriod bool
}

// ReportBuckets reads the pre-aggregate: the folded rollup plus the
// deltas not yet folded, so the counts are exact at the moment of the
// read.
func ReportBuckets(ctx context.Context, q Querier, rq ReportQuery) ([]dsr.ReportBucket, error) {
	rows, err := q.Query(ctx, `
		SELECT CASE WHEN $4 THEN period ELSE $2::date END, regime, kind, result, reason, days, on_time, extended, paused,
		       coalesce(assignee_id::text, ''), sum(n)::bigint
		FROM (SELECT period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id, n
		      FROM report_rollup WHERE grain = $1 AND period >= $2 AND period < $3 AND ($5::text[] IS NULL OR regime = ANY($5))
		      UNION ALL
		      SELECT period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id, n
		      FROM report_delta WHERE grain = $1 AND period >= $2 AND period < $3 AND ($5::text[] IS NULL OR regime = ANY($5))) u
		GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
		HAVING sum(n) <> 0`, rq.Grain, rq.From.Time(), rq.To.Time(), rq.ByPeriod, rq.Regimes)
	if err != nil {
		return nil, fmt.Errorf("db: report buckets: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (dsr.ReportBucket, error) {
		b := dsr.ReportBucket{Grain: rq.Grain}
		var period time.Time
		err := row.Scan(&period, &b.Regime, &b.Kind, &b.Result, &b.Reason, &b.Days, &b.OnTime, &b.Extended, &b.Paused, &b.Assignee, &b.N)
		b.Period = dsr.DateOf(period)
		return b, err
	})
}

// OverdueNow counts the open requests past their due date on today, by
// received month, regime, kind and assignee (the partial queue index:
// open requests are a small part of all).
func OverdueNow(ctx context.Context, q Querier, today dsr.Date) ([]dsr.OverdueCount, error) {
	rows, err := q.Query(ctx, `
		SELECT date_trunc('month', received_on)::date, regime, kind, coalesce(assignee_id::text, ''), count(*)
		FROM requests r
		WHERE `+openStatusSQL+` AND due_on < $1
		GROUP BY 1, 2, 3, 4`, today.Time())
	if err != nil {
		return nil, fmt.Errorf("db: overdue now: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (dsr.OverdueCount, error) {
		var o dsr.OverdueCount
		var month time.Time
		err := row.Scan(&month, &o.Regime, &o.Kind, &o.Assignee, &o.N)
		o.Month = dsr.DateOf(month)
		return o, err
	})
}

// OpenCount is the number of open requests of one kind, regime and
// status, with how many are due in [today, weekEnd] and how many are past
// due.
type OpenCount struct {
	Kind, Regime string
	Status       dsr.Status
	N            int64
	DueThisWeek  int64
	Overdue      int64
}

// OpenCounts reads the dashboard's "now" figures (an index-only scan of
// requests_open_kind_regime_idx).
func OpenCounts(ctx context.Context, q Querier, today, weekEnd dsr.Date) ([]OpenCount, error) {
	rows, err := q.Query(ctx, `
		SELECT kind, regime, status, count(*),
		       count(*) FILTER (WHERE due_on >= $1 AND due_on <= $2),
		       count(*) FILTER (WHERE due_on < $1)
		FROM requests r
		WHERE `+openStatusSQL+`
		GROUP BY 1, 2, 3`, today.Time(), weekEnd.Time())
	if err != nil {
		return nil, fmt.Errorf("db: open counts: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (OpenCount, error) {
		var c OpenCount
		err := row.Scan(&c.Kind, &c.Regime, &c.Status, &c.N, &c.DueThisWeek, &c.Overdue)
		return c, err
	})
}

// UserNames maps every user id to a display name (the name, else the
// email address) for the officer report.
func UserNames(ctx context.Context, q Querier) (map[string]string, error) {
	rows, err := q.Query(ctx, `SELECT id::text, coalesce(nullif(name, ''), email) FROM users`)
	if err != nil {
		return nil, fmt.Errorf("db: user names: %w", err)
	}
	names := map[string]string{}
	var id, name string
	_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error { names[id] = name; return nil })
	return names, err
}

// FoldReports folds the pending deltas into the rollup and returns how
// many rollup cells it touched.
func FoldReports(ctx context.Context, q Querier) (int64, error) {
	var n int64
	if err := q.QueryRow(ctx, `SELECT report_fold()`).Scan(&n); err != nil {
		return 0, fmt.Errorf("db: fold reports: %w", err)
	}
	return n, nil
}

// RebuildReports recomputes the whole rollup from requests (a full scan:
// minutes at 10M rows).
func RebuildReports(ctx context.Context, q Querier) error {
	if _, err := q.Exec(ctx, `SELECT report_rebuild()`); err != nil {
		return fmt.Errorf("db: rebuild reports: %w", err)
	}
	return nil
}

// SetReportTimeZone records the organisation's time zone for days to
// respond; when it changes, the rollup is rebuilt in the same
// transaction. It reports whether it rebuilt.
func SetReportTimeZone(ctx context.Context, pool *pgxpool.Pool, tz string) (bool, error) {
	rebuilt := false
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE report_settings SET time_zone = $1 WHERE time_zone <> $1`, tz)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		rebuilt = true
		return RebuildReports(ctx, tx)
	})
	if err != nil {
		return false, fmt.Errorf("db: report time zone: %w", err)
	}
	return rebuilt, nil
}

// AuditRow is one audit event for the CSV export: no event data (it may
// hold personal data), only what the console's timeline shows about who
// did what when.
type AuditRow struct {
	ID     int64
	At     time.Time
	Ref    int64
	Kind   string
	Regime string
	Seq    int
	Actor  string
	Type   string
	Public bool
}

// AuditEvents reads up to limit events with at in [from, to) and id >
// afterID, in id order (the export pages through with afterID).
func AuditEvents(ctx context.Context, q Querier, from, to time.Time, afterID int64, limit int) ([]AuditRow, error) {
	rows, err := q.Query(ctx, `
		SELECT e.id, e.at, r.ref, r.kind, r.regime, e.seq, e.actor, e.type, e.public
		FROM events e JOIN requests r ON r.id = e.request_id
		WHERE e.id > $3 AND e.at >= $1 AND e.at < $2
		ORDER BY e.id LIMIT $4`, from, to, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("db: audit events: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (AuditRow, error) {
		var a AuditRow
		err := row.Scan(&a.ID, &a.At, &a.Ref, &a.Kind, &a.Regime, &a.Seq, &a.Actor, &a.Type, &a.Public)
		return a, err
	})
}
