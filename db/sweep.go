package db

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/dsr"
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
	// MissingPackageBuild: open access or portability requests whose
	// tasks are all finished, without a package built from the tasks as
	// they are (TasksDigest) and without a live build_export job (a build
	// that ran while a task changed, then finished just before the last
	// task did, keeps the next one from being queued).
	MissingPackageBuild
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
	if c == MissingPackageBuild {
		return `r.status IN ('open', 'in_progress', 'awaiting_requester') AND r.kind IN ('access', 'portability')
	  AND EXISTS (SELECT 1 FROM tasks t WHERE t.request_id = r.id)
	  AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.request_id = r.id AND t.status IN ('pending', 'running', 'waiting'))
	  AND NOT EXISTS (SELECT 1 FROM export_packages p JOIN attachments a ON a.id = p.attachment_id
		WHERE p.request_id = r.id AND a.purpose = 'package' AND (p.tasks_digest IS NULL OR p.tasks_digest = ` + tasksDigestOf("r.id") + `))
	  AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.kind = 'build_export' AND ` + liveJob + ` AND j.args ->> 'request_id' = r.id::text)`
	}
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

// liveJob is the condition that river_job j is not finished.
const liveJob = `j.state IN ('scheduled', 'available', 'running', 'retryable', 'pending')`

// TaskSweepCheck names one consistency check of the sweep over tasks: the
// open tasks of open requests that lack a job they should have.
type TaskSweepCheck int

// The sweep's task checks.
const (
	// MissingTaskRun: pending or running tasks (not waiting, which waits
	// for the system's callback, nor failed) without a live task_run job.
	MissingTaskRun TaskSweepCheck = iota
	// MissingTaskReminder: open or failed tasks without a live
	// task_reminder job for a step of their current due date that is
	// still ahead (after the day today): the owner's reminder (the day
	// before), the escalation (the day after) and, for an erasure under
	// the organisation's promise, the promise escalation. Steps whose
	// day has come are not put back: a job that ran is pruned by River
	// after a day and cannot be told from a lost one.
	MissingTaskReminder
)

// cond is the check as a condition on tasks t of requests r, with @today
// the organisation's today (date) for MissingTaskReminder.
func (c TaskSweepCheck) cond() string {
	open := `r.status IN ` + openStatusList + ` AND `
	if c == MissingTaskRun {
		return open + `t.status IN ('pending', 'running')
	  AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.kind = 'task_run' AND ` + liveJob + ` AND j.args ->> 'task_id' = t.id::text)`
	}
	step := func(n, day, promise string) string {
		p := ``
		if promise != "" {
			p = ` AND j.args ->> 'promise' = ` + promise
		}
		return `(` + day + ` > @today::date AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.kind = 'task_reminder'
		AND j.state IN ('scheduled', 'available', 'running', 'retryable') AND j.args ->> 'task_id' = t.id::text
		AND j.args ->> 'due' = to_char(t.due_on, 'YYYY-MM-DD') AND j.args ->> 'step' = '` + n + `'` + p + `))`
	}
	return open + `t.status IN ('pending', 'running', 'waiting', 'failed') AND (` +
		step("0", `t.due_on - 1`, "") + ` OR ` + step("1", `t.due_on + 1`, "") + ` OR (t.kind = 'erasure' AND r.policy_due IS NOT NULL AND ` +
		step("2", `r.policy_due`, `to_char(r.policy_due, 'YYYY-MM-DD')`) + `))`
}

// TaskSweepCandidates returns the ids of the requests with a task failing
// check, with one anti-join over the open tasks of open requests.
func TaskSweepCandidates(ctx context.Context, q Querier, check TaskSweepCheck, today time.Time) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT r.id FROM tasks t JOIN requests r ON r.id = t.request_id WHERE `+check.cond(), pgx.NamedArgs{"today": today})
	if err != nil {
		return nil, wrap("task sweep candidates", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, wrap("task sweep candidates", err)
}

// LockTaskSweepCandidates locks those of the requests ids that still have
// a task failing check, skipping any a running change holds, and returns
// those tasks (every task change takes its request's lock first, so the
// tasks stay as read until tx ends).
func LockTaskSweepCandidates(ctx context.Context, tx pgx.Tx, check TaskSweepCheck, ids []string, today time.Time) ([]dsr.Task, error) {
	rows, err := tx.Query(ctx, `SELECT r.id FROM unnest($1::uuid[]) AS x(id) JOIN requests r ON r.id = x.id
		WHERE r.status IN `+openStatusList+` FOR UPDATE OF r SKIP LOCKED`, ids)
	if err != nil {
		return nil, wrap("lock task sweep candidates", err)
	}
	locked, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(locked) == 0 {
		return nil, wrap("lock task sweep candidates", err)
	}
	trows, err := tx.Query(ctx, `SELECT `+qualified("t.", taskColumns)+` FROM unnest(@ids::uuid[]) AS x(id) JOIN requests r ON r.id = x.id
		JOIN tasks t ON t.request_id = r.id WHERE `+check.cond()+` ORDER BY t.request_id, t.system`, pgx.NamedArgs{"today": today, "ids": locked})
	if err != nil {
		return nil, wrap("task sweep tasks", err)
	}
	list, err := pgx.CollectRows(trows, func(row pgx.CollectableRow) (dsr.Task, error) {
		t, err := scanTask(row)
		if err != nil {
			return dsr.Task{}, err
		}
		return *t, nil
	})
	return list, wrap("task sweep tasks", err)
}

// qualified prefixes each of a comma-separated column list.
func qualified(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
