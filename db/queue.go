package db

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// QueueFilter selects requests for the officer queue. The zero value is
// every open request.
type QueueFilter struct {
	Statuses []dsr.Status // empty: the open statuses
	Kind     string
	Regime   string
	Assignee string // "" any, "unassigned", or a user id
	Overdue  bool
	HasAgent bool
	Search   string   // a reference (DSR-000042 or 42), a request id, a requester's email, or part of their name
	Today    dsr.Date // for Overdue
	After    *Cursor  // keyset: rows strictly after this (due, ref)
	Offset   int      // rows to skip (the console's page numbers); ignored with After
	Limit    int      // default 50, at most 500
}

// Cursor is a keyset position in the queue order (due date, then ref).
type Cursor struct {
	Due dsr.Date
	Ref int64
}

// String encodes the cursor for URLs.
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%s_%d", c.Due, c.Ref)))
}

// ParseCursor decodes Cursor.String. Errors: EINVALID.
func ParseCursor(s string) (*Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	bad := &dsr.Error{Code: dsr.EINVALID, Message: "invalid cursor", Fields: map[string]string{"cursor": "is not a cursor from a previous page"}}
	if err != nil {
		return nil, bad
	}
	d, r, ok := strings.Cut(string(b), "_")
	due, err1 := dsr.ParseDate(d)
	ref, err2 := strconv.ParseInt(r, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil, bad
	}
	return &Cursor{Due: due, Ref: ref}, nil
}

// QueueRow is one line of the queue.
type QueueRow struct {
	ID            string     `json:"id"`
	Ref           string     `json:"ref"`
	Kind          dsr.Kind   `json:"kind"`
	Regime        string     `json:"regime"`
	Status        dsr.Status `json:"status"`
	Channel       string     `json:"channel"`
	ReceivedOn    dsr.Date   `json:"received_on"`
	DueOn         dsr.Date   `json:"due_on"`
	HasAgent      bool       `json:"has_agent"`
	AssigneeID    string     `json:"assignee_id,omitempty"`
	AssigneeEmail string     `json:"assignee_email,omitempty"`
	// RequesterName and RequesterEmail are the data subject's, for the
	// console's requester column.
	RequesterName  string `json:"requester_name,omitempty"`
	RequesterEmail string `json:"requester_email,omitempty"`
	ref            int64
}

// openStatusSQL is dsr.OpenStatuses written out, literally and in the same
// list as the partial queue indexes (migration 006), so the planner can use
// them.
const openStatusSQL = `r.status IN ('pending_triage', 'pending_verification', 'open', 'in_progress', 'awaiting_requester')`

// Queue returns one page of requests in due-date order and the cursor of
// the next page (nil on the last page). Keyset pagination: the cost of a
// page does not grow with its depth.
func Queue(ctx context.Context, q Querier, f QueueFilter) ([]QueueRow, *Cursor, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > 500 {
		limit = 500
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := queueWhere(f, arg)
	if f.After != nil {
		where = append(where, fmt.Sprintf("(r.due_on, r.ref) > (%s, %s)", arg(f.After.Due.Time()), arg(f.After.Ref)))
	}
	page := ` LIMIT ` + arg(limit+1)
	if f.After == nil && f.Offset > 0 {
		page += ` OFFSET ` + arg(f.Offset)
	}
	sql := `SELECT r.id, r.ref, r.kind, r.regime, r.status, r.channel, r.received_on, r.due_on, r.agent_id IS NOT NULL,
			coalesce(r.assignee_id::text, ''), coalesce(u.email, ''), s.name, s.email
		FROM requests r LEFT JOIN users u ON u.id = r.assignee_id JOIN requesters s ON s.id = r.requester_id
		WHERE ` + strings.Join(where, " AND ") + `
		ORDER BY r.due_on, r.ref` + page
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, nil, wrap("queue", err)
	}
	list, err := pgx.CollectRows(rows, scanQueueRow)
	if err != nil {
		return nil, nil, wrap("queue", err)
	}
	var next *Cursor
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		next = &Cursor{Due: last.DueOn, Ref: last.ref}
	}
	return list, next, nil
}

// QueueCountCap bounds QueueCount: counting every row of a million-row
// queue on each page view took the first page from 10 ms to 90 ms, and
// nobody pages through more than this.
const QueueCountCap = 10000

// QueueCount counts the requests f selects, ignoring its page (After,
// Offset, Limit): the total behind the console's page numbers. It counts
// at most QueueCountCap+1 rows; a result above QueueCountCap means "more".
func QueueCount(ctx context.Context, q Querier, f QueueFilter) (int, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM requests r WHERE `+strings.Join(queueWhere(f, arg), " AND ")+
		` LIMIT `+arg(QueueCountCap+1)+`) c`, args...).Scan(&n)
	return n, wrap("queue count", err)
}

// queueWhere is f's filters as conditions on requests r (not its page).
func queueWhere(f QueueFilter, arg func(any) string) []string {
	var where []string
	if len(f.Statuses) == 0 {
		// Literal, so the planner can use the partial queue index.
		where = append(where, openStatusSQL)
	} else if len(f.Statuses) == 1 {
		// Plain equality lets the planner read (status, due_on, ref) in order.
		where = append(where, "r.status = "+arg(string(f.Statuses[0])))
	} else {
		ss := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			ss[i] = string(s)
		}
		where = append(where, "r.status = ANY("+arg(ss)+"::text[])")
	}
	if f.Kind != "" {
		where = append(where, "r.kind = "+arg(f.Kind))
	}
	if f.Regime != "" {
		where = append(where, "r.regime = "+arg(f.Regime))
	}
	switch f.Assignee {
	case "":
	case "unassigned":
		where = append(where, "r.assignee_id IS NULL")
	default:
		where = append(where, "r.assignee_id = "+arg(f.Assignee)+"::uuid")
	}
	if f.Overdue {
		where = append(where, "r.due_on < "+arg(f.Today.Time()))
	}
	if f.HasAgent {
		where = append(where, "r.agent_id IS NOT NULL")
	}
	if s := strings.TrimSpace(f.Search); s != "" {
		where = append(where, searchClause(s, arg))
	}
	return where
}

func searchClause(s string, arg func(any) string) string {
	up := strings.ToUpper(s)
	if n, err := strconv.ParseInt(strings.TrimPrefix(up, "DSR-"), 10, 64); err == nil {
		return "r.ref = " + arg(n)
	}
	if len(s) == 36 && strings.Count(s, "-") == 4 {
		return "r.id::text = " + arg(strings.ToLower(s))
	}
	if strings.Contains(s, "@") {
		return "r.requester_id IN (SELECT id FROM requesters WHERE lower(email) = lower(" + arg(s) + "))"
	}
	// Part of a name, any case: a scan of the requesters, fine at a
	// desk's size (an address search above uses the email index).
	like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(s)) + "%"
	return "r.requester_id IN (SELECT id FROM requesters WHERE lower(name) LIKE " + arg(like) + ")"
}

func scanQueueRow(row pgx.CollectableRow) (QueueRow, error) {
	var r QueueRow
	var received, due time.Time
	err := row.Scan(&r.ID, &r.ref, &r.Kind, &r.Regime, &r.Status, &r.Channel, &received, &due, &r.HasAgent, &r.AssigneeID, &r.AssigneeEmail,
		&r.RequesterName, &r.RequesterEmail)
	r.Ref, r.ReceivedOn, r.DueOn = dsr.FormatRef(r.ref), dsr.DateOf(received), dsr.DateOf(due)
	return r, err
}

// StatusCounts counts requests per status.
func StatusCounts(ctx context.Context, q Querier) (map[dsr.Status]int, error) {
	rows, err := q.Query(ctx, `SELECT status, count(*) FROM requests GROUP BY status`)
	if err != nil {
		return nil, wrap("status counts", err)
	}
	defer rows.Close()
	out := map[dsr.Status]int{}
	for rows.Next() {
		var s dsr.Status
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, wrap("status counts", err)
		}
		out[s] = n
	}
	return out, wrap("status counts", rows.Err())
}
