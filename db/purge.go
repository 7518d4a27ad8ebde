package db

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// PurgeCounts is what a purge deleted or erased (or, dry, would), per
// category. Requests counts requests turned into their record form; the
// other request-bound rows are counted with them.
type PurgeCounts struct {
	Requests        int64 `json:"requests"`          // requests turned into their record form
	Requesters      int64 `json:"requesters"`        // requester rows deleted (the record names the anonymous requester)
	Agents          int64 `json:"agents"`            // agent rows deleted (the record names the anonymous agent)
	Notes           int64 `json:"notes"`             // notes deleted (free text)
	Attachments     int64 `json:"attachments"`       // remaining files of purged requests deleted
	EventsErased    int64 `json:"events_erased"`     // events whose personal part was erased
	Appeals         int64 `json:"appeals"`           // appeals whose reasons were erased
	Tasks           int64 `json:"tasks"`             // tasks whose notes and results were erased
	IdempotencyKeys int64 `json:"idempotency_keys"`  // stored first answers deleted
	Documents       int64 `json:"documents"`         // identity documents, permissions, answers deleted
	Exports         int64 `json:"exports"`           // export files deleted after their link expired
	TaskResults     int64 `json:"task_results"`      // chunks of data systems returned for an export, deleted with it
	InboundEmails   int64 `json:"inbound_emails"`    // raw inbound emails erased
	MessageBodies   int64 `json:"message_bodies"`    // messages redacted to their record
	Letters         int64 `json:"letters"`           // postal addresses of letters erased
	Tokens          int64 `json:"tokens"`            // used or expired link tokens deleted
	Sessions        int64 `json:"sessions"`          // closed console sessions deleted
	HeldSkipped     int64 `json:"held_requests_due"` // requests due but on legal hold (kept)
}

// Add adds o to c.
func (c *PurgeCounts) Add(o PurgeCounts) {
	c.Requests += o.Requests
	c.Requesters += o.Requesters
	c.Agents += o.Agents
	c.Notes += o.Notes
	c.Attachments += o.Attachments
	c.EventsErased += o.EventsErased
	c.Appeals += o.Appeals
	c.Tasks += o.Tasks
	c.IdempotencyKeys += o.IdempotencyKeys
	c.Documents += o.Documents
	c.Exports += o.Exports
	c.TaskResults += o.TaskResults
	c.InboundEmails += o.InboundEmails
	c.MessageBodies += o.MessageBodies
	c.Letters += o.Letters
	c.Tokens += o.Tokens
	c.Sessions += o.Sessions
	c.HeldSkipped += o.HeldSkipped
}

// closedStatusList is the final statuses (dsr.Status.Closed) as an SQL
// list; an appealed request is a live case and is never purged.
const closedStatusList = `('completed', 'denied', 'withdrawn', 'expired')`

// purgeDueCond: requests r whose record period ended ($1: closed before).
const purgeDueCond = `r.status IN ` + closedStatusList + ` AND r.closed_at <= $1 AND r.purged_at IS NULL AND r.held_at IS NULL`

// LockPurgeableRequests locks up to limit requests due to become their
// record form (closed at or before closedBefore, not on hold, not
// purged), oldest close first, skipping any a running change holds (the
// next batch or run takes them), and returns their ids.
func LockPurgeableRequests(ctx context.Context, tx pgx.Tx, closedBefore time.Time, limit int) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT r.id::text FROM requests r WHERE `+purgeDueCond+`
		ORDER BY r.closed_at LIMIT $2 FOR UPDATE SKIP LOCKED`, closedBefore, limit)
	if err != nil {
		return nil, wrap("lock purgeable requests", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, wrap("lock purgeable requests", err)
}

// LockOwnEarlierRequests locks the requests of the same requester as
// requestID (same email, case-insensitive; never ”) that are closed, not
// on hold and not purged, other than requestID itself, and returns their
// ids: what a completed erasure purges of DSR Desk's own records.
func LockOwnEarlierRequests(ctx context.Context, tx pgx.Tx, requestID string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT r.id::text FROM requests r JOIN requesters s ON s.id = r.requester_id
		WHERE lower(s.email) = (SELECT lower(s0.email) FROM requests r0 JOIN requesters s0 ON s0.id = r0.requester_id
				WHERE r0.id = $1 AND s0.email <> '')
		  AND r.id <> $1 AND r.status IN `+closedStatusList+` AND r.purged_at IS NULL AND r.held_at IS NULL
		ORDER BY r.received_at FOR UPDATE OF r`, requestID)
	if err != nil {
		return nil, wrap("lock own earlier requests", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, wrap("lock own earlier requests", err)
}

// PurgeRequests turns the locked requests ids into their record form at
// now, in one batch of set-based statements: the request keeps kind,
// regime, channel, status, dates, outcome, close reason, ledger and
// events (their personal part erased, digests kept) and names the
// anonymous requester (and agent, if it had one); the requester and
// agent rows it named are deleted once no unpurged request outside the
// batch names them (those still named are returned); notes,
// files, tokens and stored answers are deleted; messages, letters,
// inbound emails, appeals and tasks lose their text. The caller appends
// the purged events.
//
// The rest of tx runs without JIT (these statements do milliseconds of
// work per 10,000 rows; compiling them took seconds), with
// synchronous_commit off (a purge lost in a crash is redone by the next
// run, and any later synchronous commit, such as the River job's
// completion, makes it durable first) and with random_page_cost 1.1
// (an SSD's, instead of the default 4): each statement joins the
// batch's ids (one unnest of the array; planning "= ANY" of 10,000 ids
// estimated each element, some 20 ms a statement) to its table, and at
// a million rows the default made the planner prefer hashing the whole
// table once per batch (a purge quadratic in the table size) to 10,000
// index probes. Hash joins stay allowed, so a misestimate costs one scan.
func PurgeRequests(ctx context.Context, tx pgx.Tx, ids []string, now time.Time) (PurgeCounts, PeopleInUse, error) {
	var (
		c     PurgeCounts
		inUse PeopleInUse
	)
	if len(ids) == 0 {
		return c, inUse, nil
	}
	batch, err := uuidArray(ids)
	if err != nil {
		return c, inUse, err
	}
	b := &pgx.Batch{}
	count := func(n *int64) func(pgconn.CommandTag) error {
		return func(t pgconn.CommandTag) error { *n += t.RowsAffected(); return nil }
	}
	none := func(pgconn.CommandTag) error { return nil }
	b.Queue(`SET LOCAL jit = off`).Exec(none)
	b.Queue(`SET LOCAL synchronous_commit = off`).Exec(none)
	b.Queue(`SET LOCAL random_page_cost = 1.1`).Exec(none)
	// The requests, their requester and agent rows in one statement (the
	// requests must name the anonymous person before the rows they named
	// can go). The update changes no column the reports count, so the
	// report trigger is told to skip it (migration 027); the setting is
	// cleared right after.
	b.Queue(`SELECT set_config('dsrdesk.report_unchanged', 'on', true)`).Exec(none)
	b.Queue(recordFormSQL, batch, now, AnonymousPerson).QueryRow(func(row pgx.Row) error {
		return row.Scan(&c.Requests, &c.Requesters, &inUse.Requesters, &c.Agents, &inUse.Agents)
	})
	b.Queue(`SELECT set_config('dsrdesk.report_unchanged', '', true)`).Exec(none)
	byRequest := ` USING unnest($1::uuid[]) b(id) WHERE t.request_id = b.id`
	b.Queue(`DELETE FROM notes t`+byRequest, batch).Exec(count(&c.Notes))
	b.Queue(`DELETE FROM attachments t`+byRequest, batch).Exec(count(&c.Attachments))
	b.Queue(`DELETE FROM tokens t`+byRequest, batch).Exec(count(&c.Tokens))
	b.Queue(`DELETE FROM idempotency_keys t`+byRequest, batch).Exec(count(&c.IdempotencyKeys))
	fromBatch := ` FROM unnest($1::uuid[]) b(id) WHERE t.request_id = b.id`
	b.Queue(`UPDATE messages t SET `+redactMessage+fromBatch+` AND t.redacted_at IS NULL`, batch, now).Exec(count(&c.MessageBodies))
	b.Queue(`UPDATE letters t SET postal_address = ''`+fromBatch+` AND t.postal_address <> ''`, batch).Exec(count(&c.Letters))
	b.Queue(`UPDATE inbound_emails t SET `+eraseInbound+fromBatch+` AND t.purged_at IS NULL`, batch, now).Exec(count(&c.InboundEmails))
	b.Queue(`UPDATE appeals t SET reason = '', explanation = ''`+fromBatch+` AND (t.reason, t.explanation) <> ('', '')`, batch).Exec(count(&c.Appeals))
	b.Queue(`DELETE FROM task_sections WHERE task_id IN (SELECT k.id FROM tasks k JOIN unnest($1::uuid[]) b(id) ON k.request_id = b.id)`, batch).Exec(none)
	b.Queue(`UPDATE tasks t SET note = '', last_error = '', affected = '[]'`+fromBatch, batch).Exec(count(&c.Tasks))
	// The events keep the digests of their personal parts (migration 029).
	b.Queue(`DELETE FROM event_personal t`+byRequest, batch).Exec(count(&c.EventsErased))
	if err := SendBatch(ctx, tx, b); err != nil {
		return c, inUse, wrap("purge requests", err)
	}
	return c, inUse, nil
}

// PeopleInUse are requesters and agents of purged requests that were
// kept because a request outside the batch, not yet purged, still named
// them when the batch ran.
type PeopleInUse struct {
	Requesters []string
	Agents     []string
}

// Add appends o's ids to p.
func (p *PeopleInUse) Add(o PeopleInUse) {
	p.Requesters = append(p.Requesters, o.Requesters...)
	p.Agents = append(p.Agents, o.Agents...)
}

// AnonymousPerson is the id of the requester, and of the agent, that
// every purged request names (migration 029): the record keeps that a
// request was made, and whether through an agent, and no identity.
const AnonymousPerson = "00000000-0000-0000-0000-000000000000"

// people is a table of requesters or agents (alias s) and the column of
// requests that names a row of it.
type people struct{ table, column string }

var (
	requesterRows = people{"requesters", "requester_id"}
	agentRows     = people{"agents", "agent_id"}
)

// recordFormSQL turns the batch's requests ($1) into their record form
// at $2: it erases their free text, makes them name the anonymous person
// ($3) and deletes the requester and agent rows they named that no
// request outside the batch names. It returns how many requests it
// purged, and per table how many rows it deleted and the ids it kept.
// Deleting writes a few bytes of WAL per row where blanking a row wrote
// a full page image (migration 029).
var recordFormSQL = `WITH batch AS MATERIALIZED (SELECT r.id, r.requester_id, r.agent_id
			FROM requests r JOIN unnest($1::uuid[]) b(id) ON r.id = b.id WHERE r.purged_at IS NULL),
		done AS (UPDATE requests t SET purged_at = $2, details = '', fields = '{}', requester_id = $3::uuid,
				agent_id = CASE WHEN t.agent_id IS NULL THEN NULL ELSE $3::uuid END
			FROM batch WHERE t.id = batch.id RETURNING 1),
		` + requesterRows.batchCTEs() + `,
		` + agentRows.batchCTEs() + `
	SELECT (SELECT count(*) FROM done),
		` + requesterRows.batchResults() + `,
		` + agentRows.batchResults()

// batchCTEs are the common table expressions of recordFormSQL for p: the
// rows the batch names with how many of its requests name each (_q),
// those an unpurged request outside the batch names too (_kept: the
// batch's own requests are still unpurged in the statement's snapshot,
// so a row is kept when more requests name it than the batch holds;
// requests purged earlier name the anonymous person), and the delete of
// the others (_gone).
func (p people) batchCTEs() string {
	return p.table + `_q AS MATERIALIZED (SELECT ` + p.column + ` AS id, count(*) AS n FROM batch
			WHERE ` + p.column + ` IS NOT NULL AND ` + p.column + ` <> $3::uuid GROUP BY 1),
		` + p.table + `_kept AS MATERIALIZED (SELECT q.id FROM ` + p.table + `_q q
			WHERE (SELECT count(*) FROM requests r WHERE r.` + p.column + ` = q.id AND r.purged_at IS NULL) > q.n),
		` + p.table + `_gone AS (DELETE FROM ` + p.table + ` s USING ` + p.table + `_q q
			WHERE s.id = q.id AND q.id NOT IN (SELECT id FROM ` + p.table + `_kept) RETURNING 1)`
}

// batchResults are recordFormSQL's two result columns for p: rows
// deleted and ids kept.
func (p people) batchResults() string {
	return `(SELECT count(*) FROM ` + p.table + `_gone), coalesce((SELECT array_agg(id::text) FROM ` + p.table + `_kept), '{}')`
}

// deleteUnused deletes the rows of ids ($1) that no request names and
// returns how many.
func (p people) deleteUnused(ctx context.Context, q Querier, ids []string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	t, err := q.Exec(ctx, `DELETE FROM `+p.table+` s USING unnest($1::uuid[]) k(id) WHERE s.id = k.id AND s.id <> $2::uuid
		AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.`+p.column+` = k.id)`, ids, AnonymousPerson)
	if err != nil {
		return 0, wrap("delete unused "+p.table, err)
	}
	return t.RowsAffected(), nil
}

// DeleteUnusedPeople deletes the requesters and agents of p that no
// request names any more (the ones concurrent purge batches each kept
// for the other's request) and returns how many of each.
func DeleteUnusedPeople(ctx context.Context, q Querier, p PeopleInUse) (requesters, agents int64, err error) {
	if requesters, err = requesterRows.deleteUnused(ctx, q, p.Requesters); err != nil {
		return 0, 0, err
	}
	agents, err = agentRows.deleteUnused(ctx, q, p.Agents)
	return requesters, agents, err
}

// redactMessage ($2 = now, the as-of instant) keeps a message's record: event, role,
// status, message id, created and sent times.
const redactMessage = `to_email = '', to_name = '', subject = '', text_body = '', html_body = '', sealed = NULL, last_error = '', redacted_at = $2`

// eraseInbound ($2 = now, the as-of instant) keeps an inbound email's status, request, size,
// Message-ID (the duplicate check) and times.
const eraseInbound = `raw = '', envelope_from = '', from_address = '', subject = '', remote_ip = '', helo = '',
	note = '', held_text = '', purged_at = $2`

// PurgeCategory is one periodic purge of data that ends before the
// record does: documents, export files, inbound emails, message bodies,
// used tokens.
type PurgeCategory int

// The categories, each with its cutoff in dsr.PurgeCutoffs.
const (
	PurgeDocuments PurgeCategory = iota
	PurgeExports
	PurgeTaskResults
	PurgeInbound
	PurgeMessageBodies
	PurgeTokens
)

// PurgeCategories lists every category, in the order a purge runs them.
var PurgeCategories = []PurgeCategory{PurgeDocuments, PurgeExports, PurgeTaskResults, PurgeInbound, PurgeMessageBodies, PurgeTokens}

// categorySQL is the table and due condition of a category, with $1 its
// cutoff and $2 the as-of instant (conditions that do not need $2 still
// name it, so that every statement has the same parameters).
func (p PurgeCategory) categorySQL() (table, cond string) {
	switch p {
	case PurgeDocuments:
		return "attachments t", `t.purpose IN ('permission', 'answer', 'inbound', 'unverified', 'appeal', 'letter')
			AND EXISTS (SELECT 1 FROM requests r WHERE r.id = t.request_id AND r.status IN ` + closedStatusList + `
				AND r.closed_at <= $1 AND r.held_at IS NULL) AND $2::timestamptz IS NOT NULL`
	case PurgeExports:
		// Closed a download period ago and no download link still live.
		return "attachments t", `t.purpose IN ('export', 'task')
			AND EXISTS (SELECT 1 FROM requests r WHERE r.id = t.request_id AND r.status IN ` + closedStatusList + `
				AND r.closed_at <= $1 AND r.held_at IS NULL)
			AND NOT EXISTS (SELECT 1 FROM tokens k WHERE k.request_id = t.request_id AND k.purpose = 'download' AND k.expires_at > $2)`
	case PurgeTaskResults:
		// What the organisation's systems returned (task_sections, migration
		// 023): the export's data, gone with the export files.
		return "task_sections t", `EXISTS (SELECT 1 FROM tasks k JOIN requests r ON r.id = k.request_id WHERE k.id = t.task_id
				AND r.status IN ` + closedStatusList + ` AND r.closed_at <= $1 AND r.held_at IS NULL
				AND NOT EXISTS (SELECT 1 FROM tokens d WHERE d.request_id = r.id AND d.purpose = 'download' AND d.expires_at > $2))`
	case PurgeInbound:
		// Processed, and not held for an officer's decision.
		return "inbound_emails t", `t.purged_at IS NULL AND t.processed_at <= $1 AND t.trust <> 'unverified'
			AND (t.request_id IS NULL OR NOT EXISTS (SELECT 1 FROM requests h WHERE h.id = t.request_id AND h.held_at IS NOT NULL))
			AND $2::timestamptz IS NOT NULL`
	case PurgeMessageBodies:
		// Not waiting for delivery; a letter (captured, no address) only
		// once its request closed.
		return "messages t", `t.redacted_at IS NULL AND t.created_at <= $1 AND t.status <> 'queued'
			AND (t.request_id IS NULL OR NOT EXISTS (SELECT 1 FROM requests h WHERE h.id = t.request_id
				AND (h.held_at IS NOT NULL OR (t.status = 'captured' AND h.status NOT IN ` + closedStatusList + `))))
			AND $2::timestamptz IS NOT NULL`
	default: // PurgeTokens
		return "tokens t", `coalesce(t.used_at, t.expires_at) <= $1 AND t.expires_at <= $2
			AND NOT EXISTS (SELECT 1 FROM requests h WHERE h.id = t.request_id AND h.held_at IS NOT NULL)`
	}
}

// cutoff is the category's cutoff in cut.
func (p PurgeCategory) cutoff(cut dsr.PurgeCutoffs) time.Time {
	switch p {
	case PurgeDocuments:
		return cut.DocumentsClosedBefore
	case PurgeExports, PurgeTaskResults:
		return cut.ExportsClosedBefore
	case PurgeInbound:
		return cut.InboundProcessedBefore
	case PurgeMessageBodies:
		return cut.MessagesCreatedBefore
	default:
		return cut.TokensEndedBefore
	}
}

// PurgeCategoryBatch deletes or erases up to limit rows of category p
// due under cut (rows locked by others are skipped) and returns how many
// it did; a purge calls it until it returns less than limit.
func PurgeCategoryBatch(ctx context.Context, q Querier, p PurgeCategory, cut dsr.PurgeCutoffs, limit int) (int64, error) {
	table, cond := p.categorySQL()
	pick := `SELECT t.id FROM ` + table + ` WHERE ` + cond + ` LIMIT $3 FOR UPDATE OF t SKIP LOCKED`
	var sql string
	switch p {
	case PurgeTaskResults:
		sql = `DELETE FROM task_sections WHERE (task_id, section, seq) IN (SELECT t.task_id, t.section, t.seq FROM ` + table + ` WHERE ` + cond +
			` LIMIT $3 FOR UPDATE OF t SKIP LOCKED)`
	case PurgeDocuments, PurgeExports:
		sql = `DELETE FROM attachments WHERE id IN (` + pick + `)`
	case PurgeInbound:
		sql = `UPDATE inbound_emails SET ` + eraseInbound + ` WHERE id IN (` + pick + `)`
	case PurgeMessageBodies:
		sql = `UPDATE messages SET ` + redactMessage + ` WHERE id IN (` + pick + `)`
	default:
		sql = `DELETE FROM tokens WHERE id IN (` + pick + `)`
	}
	tag, err := q.Exec(ctx, sql, p.cutoff(cut), cut.AsOf, limit)
	if err != nil {
		return 0, wrap("purge", err)
	}
	return tag.RowsAffected(), nil
}

// CountPurgeCategory counts the rows of category p due under cut: what a
// dry run reports.
func CountPurgeCategory(ctx context.Context, q Querier, p PurgeCategory, cut dsr.PurgeCutoffs) (int64, error) {
	table, cond := p.categorySQL()
	var n int64
	err := q.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE `+cond, p.cutoff(cut), cut.AsOf).Scan(&n)
	return n, wrap("count purge", err)
}

// CountPurgeableRequests counts, for a dry run, the requests due to
// become their record form under cut and what goes with them, and the
// due requests kept for a legal hold.
func CountPurgeableRequests(ctx context.Context, q Querier, closedBefore time.Time) (PurgeCounts, error) {
	var c PurgeCounts
	err := q.QueryRow(ctx, `WITH due AS (SELECT r.id, r.requester_id, r.agent_id FROM requests r WHERE `+purgeDueCond+`)
		SELECT (SELECT count(*) FROM due),
			(SELECT count(DISTINCT requester_id) FROM due),
			(SELECT count(DISTINCT agent_id) FROM due),
			(SELECT count(*) FROM notes WHERE request_id IN (SELECT id FROM due)),
			(SELECT count(*) FROM attachments WHERE request_id IN (SELECT id FROM due)),
			(SELECT count(*) FROM event_personal WHERE request_id IN (SELECT id FROM due)),
			(SELECT count(*) FROM requests r WHERE r.status IN `+closedStatusList+` AND r.closed_at <= $1
				AND r.purged_at IS NULL AND r.held_at IS NOT NULL)`, closedBefore).
		Scan(&c.Requests, &c.Requesters, &c.Agents, &c.Notes, &c.Attachments, &c.EventsErased, &c.HeldSkipped)
	return c, wrap("count purgeable requests", err)
}

// CountHeldDue counts the requests due for purge under closedBefore but
// kept for a legal hold.
func CountHeldDue(ctx context.Context, q Querier, closedBefore time.Time) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT count(*) FROM requests r WHERE r.status IN `+closedStatusList+` AND r.closed_at <= $1
		AND r.purged_at IS NULL AND r.held_at IS NOT NULL`, closedBefore).Scan(&n)
	return n, wrap("count held", err)
}

// LegalHoldOf returns the request's legal hold (nil when none) and
// whether it was purged, locking nothing (the caller holds the request
// lock). Errors: ENOTFOUND.
func LegalHoldOf(ctx context.Context, q Querier, requestID string) (*dsr.LegalHold, bool, error) {
	var (
		at           *time.Time
		by, reason   string
		purgedAtNull bool
	)
	err := q.QueryRow(ctx, `SELECT held_at, held_by, hold_reason, purged_at IS NULL FROM requests WHERE id = $1`, requestID).
		Scan(&at, &by, &reason, &purgedAtNull)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, dsr.Errorf(dsr.ENOTFOUND, "request not found")
	}
	if err != nil {
		return nil, false, wrap("legal hold", err)
	}
	if at == nil {
		return nil, !purgedAtNull, nil
	}
	return &dsr.LegalHold{At: *at, By: by, Reason: reason}, !purgedAtNull, nil
}

// SetLegalHold stores the request's hold (nil releases it).
func SetLegalHold(ctx context.Context, tx pgx.Tx, requestID string, h *dsr.LegalHold) error {
	var err error
	if h == nil {
		_, err = tx.Exec(ctx, `UPDATE requests SET held_at = NULL, held_by = '', hold_reason = '' WHERE id = $1`, requestID)
	} else {
		_, err = tx.Exec(ctx, `UPDATE requests SET held_at = $2, held_by = $3, hold_reason = $4 WHERE id = $1`, requestID, h.At, h.By, h.Reason)
	}
	return wrap("set legal hold", err)
}
