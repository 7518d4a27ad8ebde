package db

import (
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// QueueRemoveVerificationJobs queues the removal of a request's waiting
// confirmation reminder and expiry jobs (River kinds verify_reminder and
// verify_expiry, scheduled, available or retryable), in the transaction
// that records the confirmation: a verified request keeps no job that
// would only wake up to do nothing. A job already running is left alone;
// it waits for the request's lock and then finds the request confirmed.
func QueueRemoveVerificationJobs(b *pgx.Batch, requestID string) {
	b.Queue(`DELETE FROM river_job
		WHERE kind IN ('verify_reminder', 'verify_expiry') AND state IN ('scheduled', 'available', 'retryable')
		  AND args @> jsonb_build_object('request_id', $1::text)`,
		requestID).Exec(func(pgconn.CommandTag) error { return nil })
}
