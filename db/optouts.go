package db

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// OptOut is one entry of the opt-out feed that selling and sharing
// systems poll.
type OptOut struct {
	ID         string        `json:"id"`
	Ref        string        `json:"ref"`
	Channel    string        `json:"channel"`
	Regime     string        `json:"regime"`
	Status     dsr.Status    `json:"status"`
	ReceivedAt time.Time     `json:"received_at"`
	DueOn      dsr.Date      `json:"due_on"`
	Email      string        `json:"email,omitempty"`
	DeviceID   string        `json:"device_id,omitempty"`
	OptOutOf   string        `json:"opt_out_of"`
	Applied    []Application `json:"applied"`
	// Tasks are the opt-out's tasks, one per system taking opt_out
	// (issue #15), with where each stands.
	Tasks []OptOutTask `json:"tasks"`
	ref   int64
}

// OptOutTask is where one system's task of an opt-out stands.
type OptOutTask struct {
	System     string         `json:"system"`
	Status     dsr.TaskStatus `json:"status"`
	FinishedAt *time.Time     `json:"finished_at"`
}

// Application records that a system applied an opt-out.
type Application struct {
	System    string    `json:"system"`
	AppliedAt time.Time `json:"applied_at"`
}

// OptOutCursor is a keyset position in the feed (receipt time, ref).
type OptOutCursor struct {
	At  time.Time
	Ref int64
}

// OptOuts lists opt-outs received at or after since, oldest first, with
// the systems that applied each; with system set, only those that system
// has not applied yet. Withdrawn and expired opt-outs are left out.
func OptOuts(ctx context.Context, q Querier, since time.Time, system string, after *OptOutCursor, limit int) ([]OptOut, *OptOutCursor, error) {
	var afterAt *time.Time
	var afterRef int64
	if after != nil {
		afterAt, afterRef = &after.At, after.Ref
	}
	rows, err := q.Query(ctx, `SELECT r.id, r.ref, r.channel, r.regime, r.status, r.received_at, r.due_on, s.email,
			coalesce(r.fields ->> 'device_id', ''), coalesce(r.fields ->> 'opt_out_of', ''),
			coalesce((SELECT jsonb_agg(jsonb_build_object('system', a.system, 'applied_at', a.applied_at) ORDER BY a.applied_at)
			          FROM opt_out_applications a WHERE a.request_id = r.id), '[]'),
			coalesce((SELECT jsonb_agg(jsonb_build_object('system', t.system, 'status', t.status, 'finished_at', t.finished_at) ORDER BY t.system)
			          FROM tasks t WHERE t.request_id = r.id), '[]')
		FROM requests r JOIN requesters s ON s.id = r.requester_id
		WHERE r.kind = 'opt_out' AND r.received_at >= $1 AND r.status NOT IN ('withdrawn', 'expired')
		  AND ($2 = '' OR NOT EXISTS (SELECT 1 FROM opt_out_applications a WHERE a.request_id = r.id AND a.system = $2))
		  AND ($2 = '' OR NOT EXISTS (SELECT 1 FROM tasks t WHERE t.request_id = r.id AND t.system = $2 AND t.status IN ('done', 'not_found', 'kept', 'skipped')))
		  AND ($3::timestamptz IS NULL OR (r.received_at, r.ref) > ($3, $4))
		ORDER BY r.received_at, r.ref LIMIT $5`, since, system, afterAt, afterRef, limit+1)
	if err != nil {
		return nil, nil, wrap("opt-outs", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (OptOut, error) {
		var o OptOut
		var due time.Time
		var applied, tasks []byte
		err := row.Scan(&o.ID, &o.ref, &o.Channel, &o.Regime, &o.Status, &o.ReceivedAt, &due, &o.Email, &o.DeviceID, &o.OptOutOf, &applied, &tasks)
		if err != nil {
			return o, err
		}
		o.Ref, o.DueOn = dsr.FormatRef(o.ref), dsr.DateOf(due)
		if err := json.Unmarshal(tasks, &o.Tasks); err != nil {
			return o, err
		}
		return o, json.Unmarshal(applied, &o.Applied)
	})
	if err != nil {
		return nil, nil, wrap("opt-outs", err)
	}
	var next *OptOutCursor
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		next = &OptOutCursor{At: last.ReceivedAt, Ref: last.ref}
	}
	return list, next, nil
}

// MarkOptOutApplied records that system applied the opt-out. Applying
// twice is not an error. Errors: ENOTFOUND (not an opt-out), EINVALID (bad
// system name).
func MarkOptOutApplied(ctx context.Context, tx pgx.Tx, requestID, system, userID string, at time.Time) error {
	var kind string
	err := tx.QueryRow(ctx, `SELECT kind FROM requests WHERE id = $1`, requestID).Scan(&kind)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && kind != string(dsr.KindOptOut)) {
		return dsr.Errorf(dsr.ENOTFOUND, "no such opt-out")
	}
	if err != nil {
		return wrap("mark applied", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO opt_out_applications (request_id, system, applied_at, applied_by)
		VALUES ($1, $2, $3, NULLIF($4, '')::uuid) ON CONFLICT (request_id, system) DO NOTHING`, requestID, system, at, userID)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23514" {
		return dsr.InvalidField("system", "use lower-case letters, digits, '.', '_' or '-' (at most 63)")
	}
	return wrap("mark applied", err)
}
