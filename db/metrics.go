package db

import (
	"context"
	"fmt"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// RequestCount is the number of requests of one status, kind and regime.
type RequestCount struct {
	Status dsr.Status
	Kind   dsr.Kind
	Regime string
	N      int64
}

// RequestCounts counts every request grouped by status, kind and regime.
// It reads the whole table (a sequential scan, some hundred milliseconds
// at a million rows): callers cache it (see workflow's metrics collector).
func RequestCounts(ctx context.Context, q Querier) ([]RequestCount, error) {
	rows, err := q.Query(ctx, `SELECT status, kind, regime, count(*) FROM requests GROUP BY status, kind, regime`)
	if err != nil {
		return nil, fmt.Errorf("request counts: %w", err)
	}
	defer rows.Close()
	var out []RequestCount
	for rows.Next() {
		var c RequestCount
		if err := rows.Scan(&c.Status, &c.Kind, &c.Regime, &c.N); err != nil {
			return nil, fmt.Errorf("request counts: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("request counts: %w", err)
	}
	return out, nil
}

// DueCounts are the open requests that are overdue (due before today) and
// those due from today to a week ahead.
type DueCounts struct {
	Overdue   int64
	DueInWeek int64
}

// CountDue counts the open requests (dsr.OpenStatuses, written out as in
// the predicate of the partial index requests_queue_idx so that the
// planner reads only open rows, in due order) that are overdue on today
// or due within today … today+7 days.
func CountDue(ctx context.Context, q Querier, today dsr.Date) (DueCounts, error) {
	var c DueCounts
	err := q.QueryRow(ctx, `SELECT count(*) FILTER (WHERE due_on < $1), count(*) FILTER (WHERE due_on >= $1)
		FROM requests
		WHERE status IN ('pending_triage', 'pending_verification', 'open', 'in_progress', 'awaiting_requester') AND due_on <= $2`,
		today.Time(), today.AddDays(7).Time()).Scan(&c.Overdue, &c.DueInWeek)
	if err != nil {
		return DueCounts{}, fmt.Errorf("due counts: %w", err)
	}
	return c, nil
}

// OutboxCounts are the messages waiting for delivery (queued) and those
// whose delivery failed for good.
type OutboxCounts struct {
	Queued int64
	Failed int64
}

// CountOutbox counts queued and failed messages through messages_status_idx.
func CountOutbox(ctx context.Context, q Querier) (OutboxCounts, error) {
	var c OutboxCounts
	err := q.QueryRow(ctx, `SELECT (SELECT count(*) FROM messages WHERE status = 'queued'),
		(SELECT count(*) FROM messages WHERE status = 'failed')`).Scan(&c.Queued, &c.Failed)
	if err != nil {
		return OutboxCounts{}, fmt.Errorf("outbox counts: %w", err)
	}
	return c, nil
}
