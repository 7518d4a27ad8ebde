package db

import (
	"context"
)

// RequeueMessage puts a failed message back in the outbox (an officer's
// retry): queued, with its last error cleared.
func RequeueMessage(ctx context.Context, q Querier, id string) error {
	_, err := q.Exec(ctx, `UPDATE messages SET status = 'queued', last_error = '' WHERE id = $1`, id)
	return wrap("requeue message", err)
}
