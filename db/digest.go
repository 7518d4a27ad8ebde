package db

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// DigestItem is one open request as the officer digest lists it.
type DigestItem struct {
	Ref        int64
	Kind       dsr.Kind
	DueOn      dsr.Date
	AssigneeID string // "" when unassigned
}

// DigestItems returns the open requests due on or before until, earliest
// first (then by reference).
func DigestItems(ctx context.Context, q Querier, until dsr.Date) ([]DigestItem, error) {
	rows, err := q.Query(ctx, `SELECT ref, kind, due_on, coalesce(assignee_id::text, '') FROM requests r
		WHERE `+openStatusSQL+` AND due_on <= $1 ORDER BY due_on, ref`, until.Time())
	if err != nil {
		return nil, wrap("digest items", err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (DigestItem, error) {
		var it DigestItem
		var due time.Time
		err := row.Scan(&it.Ref, &it.Kind, &due, &it.AssigneeID)
		it.DueOn = dsr.DateOf(due)
		return it, err
	})
	return items, wrap("digest items", err)
}
