package db

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/dsr"
)

const appealColumns = `id, request_id, received_at, received_on, channel, reason, late, due_on, max_due, extended,
	coalesce(refuser_id::text, ''), coalesce(reviewer_id::text, ''), coalesce(outcome, ''), explanation, decided_at,
	coalesce(attachment_id::text, ''), refused_on, request_due, appealed_from`

func scanAppeal(row pgx.Row) (*dsr.AppealCase, error) {
	var a dsr.AppealCase
	var received, due, refused, reqDue time.Time
	var maxDue *time.Time
	if err := row.Scan(&a.ID, &a.RequestID, &a.ReceivedAt, &received, &a.Channel, &a.Reason, &a.Late, &due, &maxDue, &a.Extended,
		&a.RefuserID, &a.ReviewerID, &a.Outcome, &a.Explanation, &a.DecidedAt, &a.AttachmentID, &refused, &reqDue, &a.From); err != nil {
		return nil, err
	}
	a.ReceivedOn, a.DueOn, a.RefusedOn, a.RequestDue = dsr.DateOf(received), dsr.DateOf(due), dsr.DateOf(refused), dsr.DateOf(reqDue)
	a.MaxDue = optDate(maxDue)
	return &a, nil
}

// SaveAppeal inserts the appeal a, or updates its answer date, extension
// and decision when it exists. The caller holds the request's row lock.
func SaveAppeal(ctx context.Context, tx pgx.Tx, a *dsr.AppealCase) error {
	var outcome any
	if a.Outcome != "" {
		outcome = a.Outcome
	}
	from := a.From
	if from == "" {
		from = dsr.StatusDenied
	}
	_, err := tx.Exec(ctx, `INSERT INTO appeals (id, request_id, received_at, received_on, channel, reason, late, due_on, max_due,
			extended, refuser_id, reviewer_id, outcome, explanation, decided_at, attachment_id, refused_on, request_due, appealed_from)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULLIF($11, '')::uuid, NULLIF($12, '')::uuid, $13, $14, $15,
			NULLIF($16, '')::uuid, $17, $18, $19)
		ON CONFLICT (id) DO UPDATE SET due_on = EXCLUDED.due_on, extended = EXCLUDED.extended, outcome = EXCLUDED.outcome,
			explanation = EXCLUDED.explanation, decided_at = EXCLUDED.decided_at`,
		a.ID, a.RequestID, a.ReceivedAt, a.ReceivedOn.Time(), a.Channel, a.Reason, a.Late, a.DueOn.Time(), dateArg(a.MaxDue),
		a.Extended, a.RefuserID, a.ReviewerID, outcome, a.Explanation, a.DecidedAt, a.AttachmentID, a.RefusedOn.Time(), a.RequestDue.Time(), string(from))
	return wrap("save appeal", err)
}

// OpenAppeal returns the request's undecided appeal, or nil for none.
func OpenAppeal(ctx context.Context, q Querier, requestID string) (*dsr.AppealCase, error) {
	a, err := scanAppeal(q.QueryRow(ctx, `SELECT `+appealColumns+` FROM appeals WHERE request_id = $1 AND outcome IS NULL`, requestID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return a, wrap("open appeal", err)
}

// Appeals returns every appeal of the request, oldest first.
func Appeals(ctx context.Context, q Querier, requestID string) ([]*dsr.AppealCase, error) {
	rows, err := q.Query(ctx, `SELECT `+appealColumns+` FROM appeals WHERE request_id = $1 ORDER BY received_at, id`, requestID)
	if err != nil {
		return nil, wrap("appeals", err)
	}
	defer rows.Close()
	var out []*dsr.AppealCase
	for rows.Next() {
		a, err := scanAppeal(rows)
		if err != nil {
			return nil, wrap("appeals", err)
		}
		out = append(out, a)
	}
	return out, wrap("appeals", rows.Err())
}

// Refuser returns the user id of the last refusal of the request (its
// last denied, completed — a completion in part refuses the rest — or
// appeal_upheld event by a user), "" when a non-user refused it.
func Refuser(ctx context.Context, q Querier, requestID string) (string, error) {
	var actor string
	err := q.QueryRow(ctx, `SELECT actor FROM events WHERE request_id = $1 AND type IN ('denied', 'completed', 'appeal_upheld')
		ORDER BY seq DESC LIMIT 1`, requestID).Scan(&actor)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", wrap("refuser", err)
	}
	if len(actor) > 5 && actor[:5] == "user:" {
		return actor[5:], nil
	}
	return "", nil
}
