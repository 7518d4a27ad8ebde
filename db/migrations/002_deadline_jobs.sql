-- The reconciliation sweep finds open requests without a live deadline
-- job with one anti-join; this index makes it an index probe per request.
CREATE INDEX river_job_deadline_idx ON river_job ((args ->> 'request_id'), (args ->> 'due'))
    WHERE kind = 'deadline_reminder' AND state IN ('scheduled', 'available', 'running', 'retryable');
CREATE INDEX river_job_verify_expiry_idx ON river_job ((args ->> 'request_id'))
    WHERE kind = 'verify_expiry' AND state IN ('scheduled', 'available', 'running', 'retryable');
