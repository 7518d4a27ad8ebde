-- Issue #15 (fulfilment gaps): one attempt of a task's connector at a
-- time, and export packages that know which task results they were built
-- from.
--
-- run_job is the River job (river_job.id) whose attempt holds the task:
-- set when an attempt starts, cleared when it is recorded. A second job
-- for the same task does not start while that job is running.
ALTER TABLE tasks ADD COLUMN run_job bigint;

-- tasks_digest is the SHA-256 of the request's tasks (id, status, update
-- time) the package was built from: the officer's complete hands over the
-- package only while the tasks are still what it was built from.
ALTER TABLE export_packages ADD COLUMN tasks_digest bytea;

-- The reconciliation sweep looks up tasks' live jobs (as 002 does for
-- requests' deadline jobs); the task worker's retry looks up the live
-- task_run job of one task.
CREATE INDEX river_job_task_run_idx ON river_job ((args ->> 'task_id'))
    WHERE kind = 'task_run' AND state IN ('scheduled', 'available', 'running', 'retryable', 'pending');
CREATE INDEX river_job_task_reminder_idx ON river_job ((args ->> 'task_id'), (args ->> 'due'))
    WHERE kind = 'task_reminder' AND state IN ('scheduled', 'available', 'running', 'retryable');

-- revision counts the changes of a task's status or result (not of its
-- due date or holder): with the status it makes the digest above.
ALTER TABLE tasks ADD COLUMN revision bigint NOT NULL DEFAULT 0;

-- The sweep's check for requests whose package build is missing.
CREATE INDEX river_job_build_export_idx ON river_job ((args ->> 'request_id'))
    WHERE kind = 'build_export' AND state IN ('scheduled', 'available', 'running', 'retryable', 'pending');
