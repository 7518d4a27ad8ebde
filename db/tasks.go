package db

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// SectionChunkRows bounds the rows one task_sections row holds: a large
// section is stored as several chunks (seq 0, 1, …).
const SectionChunkRows = 500

// QueueTasks inserts a request's new tasks. A request that already has a
// task for a system (reopened after an appeal) keeps it.
func QueueTasks(b *pgx.Batch, requestID string, tasks []dsr.NewTask, now time.Time) {
	if len(tasks) == 0 {
		return
	}
	ids, systems, kinds, conns, dues := make([]string, len(tasks)), make([]string, len(tasks)), make([]string, len(tasks)), make([]string, len(tasks)), make([]time.Time, len(tasks))
	for i, t := range tasks {
		ids[i], systems[i], kinds[i], conns[i], dues[i] = t.ID, t.System, string(t.Kind), t.Connector, t.Due.Time()
	}
	b.Queue(`INSERT INTO tasks (id, request_id, system, kind, connector, status, due_on, created_at, updated_at)
		SELECT u.id, $1, u.system, u.kind, u.connector, 'pending', u.due, $2, $2
		FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::date[]) AS u(id, system, kind, connector, due)
		ON CONFLICT (request_id, system) DO NOTHING`, requestID, now, ids, systems, kinds, conns, dues)
}

const taskColumns = `id, request_id, system, kind, connector, status, due_on, attempts, last_error, basis, count, affected,
	dry_run, note, created_at, updated_at, finished_at, finished_by`

func scanTask(row pgx.Row) (*dsr.Task, error) {
	var t dsr.Task
	var due time.Time
	var affected []byte
	err := row.Scan(&t.ID, &t.RequestID, &t.System, &t.Kind, &t.Connector, &t.Status, &due, &t.Attempts, &t.LastError,
		&t.Basis, &t.Count, &affected, &t.DryRun, &t.Note, &t.CreatedAt, &t.UpdatedAt, &t.FinishedAt, &t.FinishedBy)
	if err != nil {
		return nil, err
	}
	t.DueOn = dsr.DateOf(due)
	if len(affected) > 0 {
		if err := json.Unmarshal(affected, &t.Affected); err != nil {
			return nil, err
		}
	}
	return &t, nil
}

// GetTask returns the task with this id, locked FOR UPDATE when
// forUpdate (lock the request first: every change takes the request's
// lock before its tasks'). Errors: ENOTFOUND (also for an id that is not
// a UUID).
func GetTask(ctx context.Context, q Querier, id string, forUpdate bool) (*dsr.Task, error) {
	sql := `SELECT ` + taskColumns + ` FROM tasks WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	t, err := scanTask(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) || InvalidInput(err) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "no such task")
	}
	return t, wrap("get task", err)
}

// RequestTasks returns a request's tasks by due date and system.
func RequestTasks(ctx context.Context, q Querier, requestID string) ([]dsr.Task, error) {
	rows, err := q.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE request_id = $1 ORDER BY due_on, system`, requestID)
	if err != nil {
		return nil, wrap("request tasks", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (dsr.Task, error) {
		t, err := scanTask(row)
		if err != nil {
			return dsr.Task{}, err
		}
		return *t, nil
	})
	return list, wrap("request tasks", err)
}

// TaskAttempt records the start of a connector attempt by River job
// jobID: running, one more attempt, the task held by that job. It claims
// nothing, and returns false, while another job that holds the task is
// still running (two jobs never run one task's connector at once); a
// holder that is no longer running (it crashed and was rescued, or
// finished without recording) does not block. Lock the task first.
func TaskAttempt(ctx context.Context, q Querier, id string, jobID int64, now time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE tasks t SET status = 'running', attempts = attempts + 1, updated_at = $2, run_job = $3, revision = revision + 1
		WHERE t.id = $1 AND (t.run_job IS NULL OR t.run_job = $3
			OR NOT EXISTS (SELECT 1 FROM river_job j WHERE j.id = t.run_job AND j.state = 'running'))`, id, now, jobID)
	if err != nil {
		return false, wrap("task attempt", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseTaskRun clears the task's holder when it is jobID (the attempt
// was recorded).
func ReleaseTaskRun(ctx context.Context, q Querier, id string, jobID int64) error {
	_, err := q.Exec(ctx, `UPDATE tasks SET run_job = NULL WHERE id = $1 AND run_job = $2`, id, jobID)
	return wrap("release task run", err)
}

// LiveTaskJob is a task_run job not yet finished.
type LiveTaskJob struct {
	ID    int64
	State string // available, pending, running, retryable or scheduled
}

// LiveTaskJobs returns the task's task_run jobs that are not finished
// (completed, cancelled or discarded), oldest first.
func LiveTaskJobs(ctx context.Context, q Querier, taskID string) ([]LiveTaskJob, error) {
	rows, err := q.Query(ctx, `SELECT id, state::text FROM river_job
		WHERE kind = 'task_run' AND args ->> 'task_id' = $1 AND state IN ('available', 'pending', 'running', 'retryable', 'scheduled')
		ORDER BY id`, taskID)
	if err != nil {
		return nil, wrap("live task jobs", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (LiveTaskJob, error) {
		var j LiveTaskJob
		err := row.Scan(&j.ID, &j.State)
		return j, err
	})
	return out, wrap("live task jobs", err)
}

// TaskAttemptFailed records a failed attempt's error text (status stays
// running while River retries; failed when giveUp).
func TaskAttemptFailed(ctx context.Context, q Querier, id, lastError string, giveUp bool, now time.Time) error {
	status := dsr.TaskRunning
	if giveUp {
		status = dsr.TaskFailed
	}
	_, err := q.Exec(ctx, `UPDATE tasks SET status = $2, last_error = $3, updated_at = $4, revision = revision + 1 WHERE id = $1`, id, status, lastError, now)
	return wrap("task attempt failed", err)
}

// SetTaskStatus moves a task to status with a note (officer decisions,
// waiting for a callback), clearing the finish when it becomes open again
// and stamping it when it finishes.
func SetTaskStatus(ctx context.Context, q Querier, id string, status dsr.TaskStatus, note, by string, now time.Time) error {
	_, err := q.Exec(ctx, `UPDATE tasks SET status = $2::text, note = CASE WHEN $3::text = '' THEN note ELSE $3::text END, updated_at = $5::timestamptz, revision = revision + 1,
			finished_at = CASE WHEN $2::text IN ('pending', 'running', 'waiting') THEN NULL ELSE $5::timestamptz END,
			finished_by = CASE WHEN $2::text IN ('pending', 'running', 'waiting') THEN '' ELSE $4::text END
		WHERE id = $1`, id, status, note, by, now)
	return wrap("set task status", err)
}

// FinishTask stores a report on a task (status, basis, count, affected
// rows, note, the report's hash for idempotent callbacks) and its data
// sections, chunked by SectionChunkRows, replacing any stored before.
func FinishTask(ctx context.Context, tx pgx.Tx, id string, r dsr.Report, by string, hash []byte, now time.Time) error {
	affected, err := json.Marshal(r.Affected)
	if err != nil {
		return dsr.Internalf("task affected: %w", err)
	}
	if r.Affected == nil {
		affected = []byte("[]")
	}
	lastErr := ""
	if r.Status == dsr.TaskFailed {
		lastErr = r.Note
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE tasks SET status = $2, basis = $3, count = $4, affected = $5, dry_run = $6, note = $7, report_hash = $8,
			finished_at = $9::timestamptz, finished_by = $10, updated_at = $9::timestamptz, revision = revision + 1, last_error = CASE WHEN $11::text = '' THEN last_error ELSE $11::text END
		WHERE id = $1`, id, r.Status, r.Basis, r.Count, affected, r.DryRun, r.Note, hash, now, by, lastErr)
	b.Queue(`DELETE FROM task_sections WHERE task_id = $1`, id)
	for _, s := range r.Sections {
		cols, err := json.Marshal(s.Columns)
		if err != nil {
			return dsr.Internalf("task section columns: %w", err)
		}
		if s.Columns == nil {
			cols = []byte("[]")
		}
		for seq, start := 0, 0; start < len(s.Rows) || seq == 0; seq, start = seq+1, start+SectionChunkRows {
			end := min(start+SectionChunkRows, len(s.Rows))
			chunk := s.Rows[start:end]
			if chunk == nil {
				chunk = []map[string]any{}
			}
			rows, err := json.Marshal(chunk)
			if err != nil {
				return dsr.Errorf(dsr.EINVALID, "section %s: rows are not JSON values", s.Name)
			}
			b.Queue(`INSERT INTO task_sections (task_id, section, seq, columns, rows) VALUES ($1, $2, $3, $4, $5)`, id, s.Name, seq, cols, rows)
		}
	}
	return SendBatch(ctx, tx, b)
}

// TaskReportHash returns the stored hash of the report that finished the
// task (nil when none did).
func TaskReportHash(ctx context.Context, q Querier, id string) ([]byte, error) {
	var h []byte
	err := q.QueryRow(ctx, `SELECT report_hash FROM tasks WHERE id = $1`, id).Scan(&h)
	return h, wrap("task report hash", err)
}

// TaskSections returns the data a task stored, chunks joined, by section
// name in the order first stored.
func TaskSections(ctx context.Context, q Querier, taskID string) ([]dsr.Section, error) {
	rows, err := q.Query(ctx, `SELECT section, columns, rows FROM task_sections WHERE task_id = $1 ORDER BY section, seq`, taskID)
	if err != nil {
		return nil, wrap("task sections", err)
	}
	defer rows.Close()
	var out []dsr.Section
	for rows.Next() {
		var name string
		var cols, data []byte
		if err := rows.Scan(&name, &cols, &data); err != nil {
			return nil, wrap("task sections", err)
		}
		if len(out) == 0 || out[len(out)-1].Name != name {
			out = append(out, dsr.Section{Name: name})
			if err := json.Unmarshal(cols, &out[len(out)-1].Columns); err != nil {
				return nil, wrap("task sections", err)
			}
		}
		var chunk []map[string]any
		if err := json.Unmarshal(data, &chunk); err != nil {
			return nil, wrap("task sections", err)
		}
		out[len(out)-1].Rows = append(out[len(out)-1].Rows, chunk...)
	}
	return out, wrap("task sections", rows.Err())
}

// InsertTaskAttachment stores a file a system or an officer attached to a
// task (purpose 'task').
func InsertTaskAttachment(ctx context.Context, q Querier, requestID, taskID string, f *dsr.File) error {
	sum := sha256.Sum256(f.Content)
	_, err := q.Exec(ctx, `INSERT INTO attachments (request_id, task_id, purpose, filename, content_type, size, sha256, content)
		VALUES ($1, $2, 'task', $3, $4, $5, $6, $7)`, requestID, taskID, f.Filename, f.ContentType, len(f.Content), sum[:], f.Content)
	return wrap("task attachment", err)
}

// OpenTaskCount counts a request's tasks that are still open (pending,
// running, waiting) or failed.
func OpenTaskCount(ctx context.Context, q Querier, requestID string) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE request_id = $1 AND status IN ('pending', 'running', 'waiting', 'failed')`, requestID).Scan(&n)
	return n, wrap("open tasks", err)
}

// QueueTaskDues sets the due dates of tasks (ids[i] due dues[i]), as one
// statement: a request's dates moved (dsr.RetimeTasks). The task's
// revision is not bumped: its result, which the export package is built
// from, did not change.
func QueueTaskDues(b *pgx.Batch, ids []string, dues []time.Time, now time.Time) {
	if len(ids) == 0 {
		return
	}
	b.Queue(`UPDATE tasks t SET due_on = u.due, updated_at = $3
		FROM unnest($1::uuid[], $2::date[]) AS u(id, due) WHERE t.id = u.id`, ids, dues, now)
}
