package db

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// SweepCheck names one consistency check of the reconciliation sweep: the
// requests that lack a job they should have.
type SweepCheck int

// The sweep's checks.
const (
	// MissingReminder: open (or appealed) requests without a live
	// deadline_reminder job for their current due date.
	MissingReminder SweepCheck = iota
	// MissingExpiry: unconfirmed requests without a live verify_expiry job.
	MissingExpiry
)

// openStatusList is dsr.OpenStatuses as an SQL list, literally, matching
// the partial queue indexes (migration 006).
const openStatusList = `('pending_triage', 'pending_verification', 'open', 'in_progress', 'awaiting_requester')`

// reminderStatusCond is the statuses whose requests keep a reminder
// chain: the open ones, and appealed requests, which are due on the
// appeal's answer date. Written as an OR so the open part can still use
// the partial queue indexes.
const reminderStatusCond = `(r.status IN ` + openStatusList + ` OR r.status = 'appealed')`

// cond is the check as a condition on requests r.
func (c SweepCheck) cond() string {
	if c == MissingExpiry {
		// A requester without an email address (a letter) gets no
		// confirmation link, so nothing reminds or expires: an officer
		// verifies another way.
		return `r.status = 'pending_verification'
	  AND EXISTS (SELECT 1 FROM requesters s WHERE s.id = r.requester_id AND s.email <> '')
	  AND NOT EXISTS (SELECT 1 FROM river_job j
		WHERE j.kind = 'verify_expiry' AND j.state IN ('scheduled', 'available', 'running', 'retryable')
		  AND j.args ->> 'request_id' = r.id::text)`
	}
	return reminderStatusCond + `
	  AND NOT EXISTS (SELECT 1 FROM river_job j
		WHERE j.kind = 'deadline_reminder' AND j.state IN ('scheduled', 'available', 'running', 'retryable')
		  AND j.args ->> 'request_id' = r.id::text AND j.args ->> 'due' = to_char(r.due_on, 'YYYY-MM-DD'))`
}

// RemoveStaleReminders deletes scheduled deadline_reminder jobs whose
// request is closed (an appealed request is not) or whose due date moved (they would do nothing when
// they ran) and returns how many it deleted.
func RemoveStaleReminders(ctx context.Context, q Querier) (int, error) {
	tag, err := q.Exec(ctx, `DELETE FROM river_job j
		WHERE j.kind = 'deadline_reminder' AND j.state = 'scheduled'
		  AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.id = (j.args ->> 'request_id')::uuid
			AND to_char(r.due_on, 'YYYY-MM-DD') = j.args ->> 'due' AND `+reminderStatusCond+`)`)
	if err != nil {
		return 0, wrap("remove stale reminders", err)
	}
	return int(tag.RowsAffected()), nil
}

// SweepCandidates returns the ids of every request that fails check, with
// ONE anti-join over the open requests (not a query per request).
func SweepCandidates(ctx context.Context, q Querier, check SweepCheck) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT r.id FROM requests r WHERE `+check.cond())
	if err != nil {
		return nil, wrap("sweep candidates", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, wrap("sweep candidates", err)
}

// LockSweepCandidates locks those of ids that still fail check, skipping
// any a running change holds, and returns the locked ids. The batch is
// small, so it turns hash and merge joins off for the rest of tx: the
// re-check then probes indexes instead of hashing every live job, as the
// planner likes to for NOT EXISTS.
func LockSweepCandidates(ctx context.Context, tx pgx.Tx, check SweepCheck, ids []string) ([]string, error) {
	if _, err := tx.Exec(ctx, "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"); err != nil {
		return nil, wrap("sweep plan settings", err)
	}
	rows, err := tx.Query(ctx, `SELECT r.id FROM unnest($1::uuid[]) AS x(id) JOIN requests r ON r.id = x.id WHERE `+check.cond()+
		` FOR UPDATE OF r SKIP LOCKED`, ids)
	if err != nil {
		return nil, wrap("lock sweep candidates", err)
	}
	locked, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return locked, wrap("lock sweep candidates", err)
}
