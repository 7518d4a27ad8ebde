package db

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// GetFee loads the fee request id waits for, nil when none is awaited.
func GetFee(ctx context.Context, q Querier, id string) (*dsr.Fee, error) {
	var f dsr.Fee
	err := q.QueryRow(ctx, `SELECT amount::text, currency, reason, clock, requested_at FROM request_fees WHERE request_id = $1`, id).
		Scan(&f.Amount, &f.Currency, &f.Reason, &f.Clock, &f.RequestedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("get fee", err)
	}
	return &f, nil
}

// QueueFee queues the write of a change's fee: the awaited fee stored, or
// (u.Awaited nil) removed once paid or waived.
func QueueFee(b *pgx.Batch, id string, u *dsr.FeeUpdate) {
	done := func(pgconn.CommandTag) error { return nil }
	if u.Awaited == nil {
		b.Queue(`DELETE FROM request_fees WHERE request_id = $1`, id).Exec(done)
		return
	}
	f := u.Awaited
	b.Queue(`INSERT INTO request_fees (request_id, amount, currency, reason, clock, requested_at) VALUES ($1, $2::numeric, $3, $4, $5, $6)`,
		id, f.Amount, f.Currency, f.Reason, f.Clock, f.RequestedAt).Exec(done)
}

// Repeat is an earlier request of the same person and kind.
type Repeat struct {
	ID         string
	Ref        int64
	ReceivedAt time.Time
}

// RepeatOf finds the latest request by the same requester email, of the
// same kind, received in the 12 months before request id (nil when there
// is none). Errors: ENOTFOUND for an unknown id.
func RepeatOf(ctx context.Context, q Querier, id string) (*Repeat, error) {
	var rp Repeat
	err := q.QueryRow(ctx, `SELECT o.id, o.ref, o.received_at
		FROM requests r JOIN requesters s ON s.id = r.requester_id
		JOIN requesters os ON lower(os.email) = lower(s.email) AND s.email <> ''
		JOIN requests o ON o.requester_id = os.id AND o.kind = r.kind AND o.id <> r.id
			AND o.received_at <= r.received_at AND o.received_at > r.received_at - interval '12 months'
		WHERE r.id = $1
		ORDER BY o.received_at DESC LIMIT 1`, id).Scan(&rp.ID, &rp.Ref, &rp.ReceivedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("repeat of", err)
	}
	return &rp, nil
}
