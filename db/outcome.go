package db

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// QueueOutcome queues the write of a completed request's outcome and what
// it kept (migration 016).
func QueueOutcome(b *pgx.Batch, requestID string, o dsr.Outcome) {
	kept := o.Kept
	if kept == nil {
		kept = []dsr.Kept{}
	}
	js, _ := json.Marshal(kept)
	b.Queue(`UPDATE requests SET outcome = $2, kept = $3 WHERE id = $1`, requestID, o.Result, js).
		Exec(func(pgconn.CommandTag) error { return nil })
}

// RequestOutcome returns the outcome stored with a request: Result "" for
// a request not completed. Errors: ENOTFOUND.
func RequestOutcome(ctx context.Context, q Querier, requestID string) (dsr.Outcome, error) {
	var o dsr.Outcome
	var js []byte
	err := q.QueryRow(ctx, `SELECT outcome, kept FROM requests WHERE id = $1`, requestID).Scan(&o.Result, &js)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, dsr.Errorf(dsr.ENOTFOUND, "request not found")
	}
	if err != nil {
		return o, wrap("request outcome", err)
	}
	if err := json.Unmarshal(js, &o.Kept); err != nil {
		return o, wrap("request outcome", err)
	}
	return o, nil
}
