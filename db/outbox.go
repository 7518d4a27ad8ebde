package db

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// RequeueMessage puts a failed message back in the outbox (an officer's
// retry): queued, due at once, unclaimed, with its last error cleared.
func RequeueMessage(ctx context.Context, q Querier, id string) error {
	_, err := q.Exec(ctx, `UPDATE messages SET status = 'queued', last_error = '', next_attempt_at = NULL, claimed_until = NULL
		WHERE id = $1`, id)
	return wrap("requeue message", err)
}

// dueQueued is the condition a message must meet to be claimed at $3: queued,
// its retry time reached, and not claimed, or its claim lapsed.
const dueQueued = `status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= $3)
	  AND (claimed_until IS NULL OR claimed_until <= $3)`

// ClaimMessages claims messages for one delivery run until the lease time
// until: the message own when it is due at now, and up to limit-1 other
// due ones, oldest first. Rows that a concurrent claim holds are skipped,
// never waited for, so two runs never claim the same message. own comes
// first in the result when it was claimed; the rest are in age order.
func ClaimMessages(ctx context.Context, q Querier, own string, limit int, now, until time.Time) ([]*Message, error) {
	rows, err := q.Query(ctx, `WITH own AS (
			SELECT id FROM messages WHERE id = $1 AND `+dueQueued+` FOR UPDATE SKIP LOCKED),
		others AS (
			SELECT id FROM messages WHERE id <> $1 AND `+dueQueued+` ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
		UPDATE messages SET claimed_until = $4 WHERE id IN (SELECT id FROM own UNION ALL SELECT id FROM others)
		RETURNING `+messageColumns, own, max(limit-1, 0), now, until)
	if err != nil {
		return nil, wrap("claim messages", err)
	}
	msgs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Message, error) { return scanMessage(row) })
	if err != nil {
		return nil, wrap("claim messages", err)
	}
	slices.SortStableFunc(msgs, func(a, b *Message) int {
		switch {
		case a.ID == own:
			return -1
		case b.ID == own:
			return 1
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	return msgs, nil
}

// DeliveryState is where one message stands in the outbox.
type DeliveryState struct {
	Status       string
	ClaimedUntil *time.Time // a delivery run holds it until then
	NextAttempt  *time.Time // a retry waits until then
}

// MessageDelivery returns the delivery state of a message. Errors:
// ENOTFOUND.
func MessageDelivery(ctx context.Context, q Querier, id string) (*DeliveryState, error) {
	var s DeliveryState
	err := q.QueryRow(ctx, `SELECT status, claimed_until, next_attempt_at FROM messages WHERE id = $1`, id).
		Scan(&s.Status, &s.ClaimedUntil, &s.NextAttempt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "message not found")
	}
	return &s, wrap("message delivery", err)
}

// DeliveryOutcome is the result of one delivery attempt.
type DeliveryOutcome struct {
	ID     string
	Status string // MessageSent, MessageQueued (to retry at NextAttempt) or MessageFailed
	Error  string // the last error; "" when sent
	// NextAttempt is when a queued message may be tried again.
	NextAttempt time.Time
}

// RecordDeliveries stores the outcomes of one delivery run in ONE
// statement, at time at: each message counts an attempt and loses its
// claim. Sent wipes the sealed live bodies, which nothing needs any more;
// failed keeps them, so an officer's retry from the outbox still sends
// working links. Messages no longer queued (an outcome recorded twice)
// are left alone.
func RecordDeliveries(ctx context.Context, q Querier, outcomes []DeliveryOutcome, at time.Time) error {
	if len(outcomes) == 0 {
		return nil
	}
	ids := make([]string, len(outcomes))
	statuses := make([]string, len(outcomes))
	errs := make([]string, len(outcomes))
	next := make([]*time.Time, len(outcomes))
	for i, o := range outcomes {
		ids[i], statuses[i], errs[i] = o.ID, o.Status, o.Error
		if o.Status == MessageQueued {
			next[i] = &o.NextAttempt
		}
	}
	_, err := q.Exec(ctx, `UPDATE messages m SET status = o.status, last_error = o.error, attempts = m.attempts + 1,
			sent_at = CASE WHEN o.status = 'sent' THEN $5 ELSE m.sent_at END,
			sealed = CASE WHEN o.status = 'sent' THEN NULL ELSE m.sealed END,
			next_attempt_at = o.next, claimed_until = NULL
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) AS o(id, status, error, next)
		WHERE m.id = o.id AND m.status = 'queued'`, ids, statuses, errs, next, at)
	return wrap("record deliveries", err)
}
