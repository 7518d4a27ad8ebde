package db

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Querier is what both a pool and a transaction offer.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const requestColumns = `r.id, r.ref, r.kind, r.regime, r.status, r.channel, r.requester_id, s.email, s.name, s.country, s.state,
	r.agent_id, coalesce(a.name, ''), coalesce(a.email, ''), r.details, r.fields, r.calendar, r.received_at, r.received_on,
	r.ack_due, r.ack_sent_at, r.legal_due, r.policy_due, r.due_on, r.extended_due, r.extension_notice_by, r.extensions,
	r.paused_since, r.paused_days, r.needs_verification, r.verification_sent_at, r.verified_at, r.verified_method, r.agent_confirmed_at,
	r.assignee_id, r.closed_at, r.close_reason, r.updated_at, s.postal_address`

const requestFrom = ` FROM requests r JOIN requesters s ON s.id = r.requester_id LEFT JOIN agents a ON a.id = r.agent_id`

// GetRequest loads a request with its subject and agent. With forUpdate it
// locks the request row until the transaction ends; every change to a
// request takes this lock first. Errors: ENOTFOUND.
func GetRequest(ctx context.Context, q Querier, id string, forUpdate bool) (*dsr.Request, error) {
	sql := `SELECT ` + requestColumns + requestFrom + ` WHERE r.id = $1`
	if forUpdate {
		sql += ` FOR UPDATE OF r`
	}
	r, err := scanRequest(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "request not found")
	}
	return r, wrap("get request", err)
}

// LockRequest loads a request with its row lock (every change to a
// request takes it first) and the head of its event chain, in one
// statement. Errors: ENOTFOUND.
func LockRequest(ctx context.Context, tx pgx.Tx, id string) (*dsr.Request, ChainHead, error) {
	var head ChainHead
	var seq *int
	r, err := scanRequest(tx.QueryRow(ctx, `SELECT `+requestColumns+`, h.seq, h.hash`+requestFrom+`
		LEFT JOIN LATERAL (SELECT seq, hash FROM events e WHERE e.request_id = r.id ORDER BY seq DESC LIMIT 1) h ON true
		WHERE r.id = $1 FOR UPDATE OF r`, id), &seq, &head.Hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, head, dsr.Errorf(dsr.ENOTFOUND, "request not found")
	}
	if seq != nil {
		head.Seq = *seq
	}
	return r, head, wrap("lock request", err)
}

// QueueRequestUpdate queues the write of r's changeable columns (all but
// its identity, people and receipt: status, closing, kind, regime, dates,
// pause, assignee, verification, acknowledgment) as one statement; closing also ends
// the request's status links at the close plus StatusLinkGrace, as
// SetStatus does.
func QueueRequestUpdate(b *pgx.Batch, r *dsr.Request, closing bool) {
	var assignee any
	if r.AssigneeID != "" {
		assignee = r.AssigneeID
	}
	fields, _ := json.Marshal(nonNil(r.Fields))
	b.Queue(`UPDATE requests SET status = $2, closed_at = $3, close_reason = $4, legal_due = $5, due_on = $6,
		extended_due = $7, paused_since = $8, paused_days = $9, extensions = $10, assignee_id = $11, updated_at = $12,
		verified_at = $13, verified_method = $14, agent_confirmed_at = $15, kind = $16, regime = $17, calendar = $18,
		fields = $19, needs_verification = $20, ack_due = $21, policy_due = $22, extension_notice_by = $23,
		ack_sent_at = $24, verification_sent_at = $25
		WHERE id = $1`,
		r.ID, r.Status, r.ClosedAt, r.CloseReason, r.LegalDue.Time(), r.DueOn.Time(), dateArg(r.ExtendedDue),
		r.PausedSince, r.PausedDays, r.Extensions, assignee, r.UpdatedAt,
		r.VerifiedAt, r.VerifiedMethod, r.AgentConfirmedAt, r.Kind, r.Regime, r.Calendar,
		fields, r.NeedsVerification, dateArg(r.AckDue), dateArg(r.PolicyDue), dateArg(r.ExtensionNoticeBy),
		r.AckSentAt, r.VerificationSent).Exec(func(pgconn.CommandTag) error { return nil })
	if closing && r.ClosedAt != nil {
		b.Queue(`UPDATE tokens SET expires_at = least(expires_at, $2) WHERE request_id = $1 AND purpose = 'status'`,
			r.ID, r.ClosedAt.Add(StatusLinkGrace)).Exec(func(pgconn.CommandTag) error { return nil })
	}
}

func scanRequest(row pgx.Row, extra ...any) (*dsr.Request, error) {
	var r dsr.Request
	var agentID, assignee *string
	var agentName, agentEmail string
	var fields []byte
	var receivedOn, legal, due time.Time
	var ack, policy, ext, notice *time.Time
	dest := append([]any{&r.ID, &r.Ref, &r.Kind, &r.Regime, &r.Status, &r.Channel, &r.SubjectID, &r.Subject.Email, &r.Subject.Name,
		&r.Subject.Country, &r.Subject.State, &agentID, &agentName, &agentEmail, &r.Details, &fields, &r.Calendar,
		&r.ReceivedAt, &receivedOn, &ack, &r.AckSentAt, &legal, &policy, &due, &ext, &notice, &r.Extensions,
		&r.PausedSince, &r.PausedDays, &r.NeedsVerification, &r.VerificationSent, &r.VerifiedAt, &r.VerifiedMethod, &r.AgentConfirmedAt,
		&assignee, &r.ClosedAt, &r.CloseReason, &r.UpdatedAt, &r.Subject.PostalAddress}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if agentID != nil {
		r.Agent = &dsr.AgentInfo{ID: *agentID, Name: agentName, Email: agentEmail}
	}
	if assignee != nil {
		r.AssigneeID = *assignee
	}
	if err := json.Unmarshal(fields, &r.Fields); err != nil {
		return nil, err
	}
	r.ReceivedOn, r.LegalDue, r.DueOn = dsr.DateOf(receivedOn), dsr.DateOf(legal), dsr.DateOf(due)
	r.AckDue, r.PolicyDue, r.ExtendedDue, r.ExtensionNoticeBy = optDate(ack), optDate(policy), optDate(ext), optDate(notice)
	return &r, nil
}

// SetStatus changes a request's status and closing fields; a closing
// status also ends the request's status links at the close plus
// StatusLinkGrace.
func SetStatus(ctx context.Context, tx pgx.Tx, id string, st dsr.Status, at time.Time, reason string) error {
	var closed *time.Time
	if st.Closed() {
		closed = &at
	}
	_, err := tx.Exec(ctx, `UPDATE requests SET status = $2, closed_at = coalesce($3, closed_at),
		close_reason = CASE WHEN $4 <> '' THEN $4 ELSE close_reason END, updated_at = $5 WHERE id = $1`,
		id, st, closed, reason, at)
	if err != nil || !st.Closed() {
		return wrap("set status", err)
	}
	// Every close path goes through here, so status links end with the
	// grace period in the same transaction as the close.
	return capStatusTokens(ctx, tx, id, at)
}

// InsertLedger appends deadline ledger entries in one statement.
func InsertLedger(ctx context.Context, tx pgx.Tx, requestID string, at time.Time, entries []dsr.LedgerEntry) error {
	if len(entries) == 0 {
		return nil
	}
	whats, dates, rules := make([]string, len(entries)), make([]time.Time, len(entries)), make([]string, len(entries))
	for i, e := range entries {
		whats[i], dates[i], rules[i] = e.What, e.Date.Time(), e.Rule
	}
	_, err := tx.Exec(ctx, `INSERT INTO deadline_ledger (request_id, at, what, date, rule)
		SELECT $1, $2, w, d, r FROM unnest($3::text[], $4::date[], $5::text[]) WITH ORDINALITY AS u(w, d, r, n) ORDER BY n`,
		requestID, at, whats, dates, rules)
	return wrap("insert ledger", err)
}

// Ledger returns a request's ledger in order.
func Ledger(ctx context.Context, q Querier, requestID string) ([]dsr.LedgerEntry, error) {
	rows, err := q.Query(ctx, `SELECT what, date, rule FROM deadline_ledger WHERE request_id = $1 ORDER BY id`, requestID)
	if err != nil {
		return nil, wrap("ledger", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (dsr.LedgerEntry, error) {
		var e dsr.LedgerEntry
		var d time.Time
		err := row.Scan(&e.What, &d, &e.Rule)
		e.Date = dsr.DateOf(d)
		return e, err
	})
}

// AppendEvent adds an event to the request's hash chain. The caller holds
// the request's row lock, so sequence numbers cannot race.
func AppendEvent(ctx context.Context, tx pgx.Tx, requestID string, ev dsr.Event) error {
	var seq int
	prev := make([]byte, sha256.Size)
	err := tx.QueryRow(ctx, `SELECT seq, hash FROM events WHERE request_id = $1 ORDER BY seq DESC LIMIT 1`, requestID).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return wrap("append event", err)
	}
	ev.Seq = seq + 1
	ev.At = ev.At.UTC().Truncate(time.Microsecond)
	s := sealEvent(prev, requestID, ev)
	_, err = tx.Exec(ctx, `WITH e AS (INSERT INTO events (request_id, seq, at, actor, type, public, data, prev_hash, hash, hash_version, personal_digest)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 2, $11))
		INSERT INTO event_personal (request_id, seq, personal) SELECT $1, $2, $10::jsonb WHERE $10::jsonb IS NOT NULL`,
		requestID, ev.Seq, ev.At, ev.Actor, ev.Type, ev.Public, s.Data, prev, s.Hash, s.Personal, s.Digest)
	return wrap("append event", err)
}

// EventHash is SHA-256 over the previous hash and a canonical encoding of
// the event: the version-1 chain link (events written before migration
// 021), which `dsrdesk audit verify` still recomputes for them. New
// events are linked with EventHashV2.
func EventHash(prev []byte, requestID string, ev dsr.Event) []byte {
	canon, _ := json.Marshal(struct {
		Request string            `json:"request"`
		Seq     int               `json:"seq"`
		At      string            `json:"at"`
		Actor   string            `json:"actor"`
		Type    string            `json:"type"`
		Public  bool              `json:"public"`
		Data    map[string]string `json:"data"`
	}{requestID, ev.Seq, ev.At.UTC().Format(time.RFC3339Nano), ev.Actor, ev.Type, ev.Public, nonNil(ev.Data)})
	h := sha256.New()
	h.Write(prev)
	h.Write(canon)
	return h.Sum(nil)
}

// Events returns a request's events in order; publicOnly keeps those shown
// to the requester.
func Events(ctx context.Context, q Querier, requestID string, publicOnly bool) ([]dsr.Event, error) {
	rows, err := q.Query(ctx, `SELECT e.seq, e.at, e.actor, e.type, e.public, e.data, p.personal
		FROM events e LEFT JOIN event_personal p ON p.request_id = e.request_id AND p.seq = e.seq
		WHERE e.request_id = $1 AND (e.public OR NOT $2) ORDER BY e.seq`, requestID, publicOnly)
	if err != nil {
		return nil, wrap("events", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (dsr.Event, error) {
		var e dsr.Event
		var data, personal []byte
		if err := row.Scan(&e.Seq, &e.At, &e.Actor, &e.Type, &e.Public, &data, &personal); err != nil {
			return e, err
		}
		err := json.Unmarshal(data, &e.Data)
		e.Data = mergePersonal(e.Data, personal)
		return e, err
	})
}

// InsertAttachment stores a document and returns its id.
func InsertAttachment(ctx context.Context, tx pgx.Tx, requestID, purpose string, f *dsr.File) (string, error) {
	sum := sha256.Sum256(f.Content)
	var id string
	err := tx.QueryRow(ctx, `INSERT INTO attachments (request_id, purpose, filename, content_type, size, sha256, content)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		requestID, purpose, f.Filename, f.ContentType, len(f.Content), sum[:], f.Content).Scan(&id)
	return id, wrap("insert attachment", err)
}

func dateArg(d dsr.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.Time()
}

func optDate(t *time.Time) dsr.Date {
	if t == nil {
		return dsr.Date{}
	}
	return dsr.DateOf(*t)
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// wrap turns pgx errors into dsr errors: unique violations are ECONFLICT,
// anything else EINTERNAL with the cause kept for logs.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *dsr.Error
	if errors.As(err, &de) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return &dsr.Error{Code: dsr.ECONFLICT, Message: "already exists", Err: fmt.Errorf("%s: %w", op, err)}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if InvalidInput(err) {
		return errInvalidInput(op, err)
	}
	if Unreachable(err) {
		return dsr.Temporary(fmt.Errorf("db: %s: %w", op, err))
	}
	return dsr.Internalf("db: %s: %w", op, err)
}

// Unreachable reports whether err means the database could not be reached
// (connection refused or lost, server shutting down), as opposed to a bad
// query: the caller may try again later.
func Unreachable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.SafeToRetry(err) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03" || strings.HasPrefix(pgErr.Code, "08")) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// InsertNote stores free text about a request: a requester's answer
// (author "subject"/"agent", not internal) or an officer's note.
func InsertNote(ctx context.Context, tx pgx.Tx, requestID, author, body string, at time.Time) error {
	internal := author != "subject" && author != "agent"
	_, err := tx.Exec(ctx, `INSERT INTO notes (request_id, author, internal, body, created_at) VALUES ($1, $2, $3, $4, $5)`,
		requestID, author, internal, body, at)
	return wrap("insert note", err)
}

// Note is one stored note.
type Note struct {
	Author   string
	Internal bool
	Body     string
	At       time.Time
}

// Notes returns the notes of a request, oldest first.
func Notes(ctx context.Context, q Querier, requestID string) ([]Note, error) {
	rows, err := q.Query(ctx, `SELECT author, internal, body, created_at FROM notes WHERE request_id = $1 ORDER BY created_at, id`, requestID)
	if err != nil {
		return nil, wrap("notes", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Note, error) {
		var n Note
		err := row.Scan(&n.Author, &n.Internal, &n.Body, &n.At)
		return n, err
	})
}

// GetRequests loads several requests (no lock; lock them first).
func GetRequests(ctx context.Context, q Querier, ids []string) ([]*dsr.Request, error) {
	// unnest + join, not = ANY($1): the generic plan of ANY over a
	// parameter array can pick a sequential scan of all requests.
	rows, err := q.Query(ctx, `SELECT `+requestColumns+requestFrom+` JOIN unnest($1::uuid[]) AS x(id) ON x.id = r.id`, ids)
	if err != nil {
		return nil, wrap("get requests", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*dsr.Request, error) { return scanRequest(row) })
}

// AppendEvents appends one event to each request's chain with three
// statements in all: the chain heads, the hashes (in Go), one COPY. The
// caller holds the requests' row locks.
func AppendEvents(ctx context.Context, tx pgx.Tx, evs map[string]dsr.Event) error {
	ids := make([]string, 0, len(evs))
	for id := range evs {
		ids = append(ids, id)
	}
	// Each request's last event, one index probe per id (joining the
	// unnest: planning "= ANY" of 10,000 ids estimated every element).
	batch, err := uuidArray(ids)
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT b.id::text, e.seq, e.hash FROM unnest($1::uuid[]) b(id)
		CROSS JOIN LATERAL (SELECT seq, hash FROM events WHERE request_id = b.id ORDER BY seq DESC LIMIT 1) e`, batch)
	if err != nil {
		return wrap("append events", err)
	}
	type head struct {
		seq  int
		hash []byte
	}
	heads := map[string]head{}
	for rows.Next() {
		var id string
		var h head
		if err := rows.Scan(&id, &h.seq, &h.hash); err != nil {
			rows.Close()
			return wrap("append events", err)
		}
		heads[id] = h
	}
	rows.Close()
	var copyRows, personalRows [][]any
	for i, id := range ids {
		ev, h := evs[id], heads[id]
		if h.hash == nil {
			h.hash = make([]byte, sha256.Size)
		}
		ev.Seq, ev.At = h.seq+1, ev.At.UTC().Truncate(time.Microsecond)
		s := sealEvent(h.hash, id, ev)
		copyRows = append(copyRows, []any{batch[i], ev.Seq, ev.At, ev.Actor, ev.Type, ev.Public, s.Data, h.hash, s.Hash, HashV2, s.Digest})
		if s.Personal != nil {
			personalRows = append(personalRows, []any{batch[i], ev.Seq, s.Personal})
		}
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"events"},
		[]string{"request_id", "seq", "at", "actor", "type", "public", "data", "prev_hash", "hash", "hash_version", "personal_digest"}, pgx.CopyFromRows(copyRows))
	if err != nil || len(personalRows) == 0 {
		return wrap("append events", err)
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"event_personal"}, []string{"request_id", "seq", "personal"}, pgx.CopyFromRows(personalRows))
	return wrap("append events", err)
}

// AttachmentInfo describes a stored document without its content.
type AttachmentInfo struct {
	ID          string
	Purpose     string
	Filename    string
	ContentType string
	Size        int64
	CreatedAt   time.Time
}

// Attachments lists a request's documents of one purpose ("" for all).
func Attachments(ctx context.Context, q Querier, requestID, purpose string) ([]AttachmentInfo, error) {
	rows, err := q.Query(ctx, `SELECT id, purpose, filename, content_type, size, created_at FROM attachments
		WHERE request_id = $1 AND ($2 = '' OR purpose = $2) ORDER BY created_at, filename`, requestID, purpose)
	if err != nil {
		return nil, wrap("attachments", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (AttachmentInfo, error) {
		var a AttachmentInfo
		err := row.Scan(&a.ID, &a.Purpose, &a.Filename, &a.ContentType, &a.Size, &a.CreatedAt)
		return a, err
	})
}

// AttachmentContent loads one document of a request ("" purpose: any).
// Errors: ENOTFOUND.
func AttachmentContent(ctx context.Context, q Querier, requestID, id, purpose string) (*dsr.File, error) {
	var f dsr.File
	err := q.QueryRow(ctx, `SELECT filename, content_type, content FROM attachments
		WHERE id::text = $2 AND request_id = $1 AND ($3 = '' OR purpose = $3)`, requestID, id, purpose).Scan(&f.Filename, &f.ContentType, &f.Content)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "file not found")
	}
	return &f, wrap("attachment", err)
}

// InboundForRequest returns the id of the inbound email a request was
// made from ("" when it was not made from an email). Replies attached to
// the request do not count.
func InboundForRequest(ctx context.Context, q Querier, requestID string) (string, error) {
	var id string
	err := q.QueryRow(ctx, `SELECT id::text FROM inbound_emails WHERE request_id = $1 AND status IN ('request', 'not_a_request')
		ORDER BY received_at, id LIMIT 1`, requestID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, wrap("inbound for request", err)
}

// MarkVerificationSent records the first confirmation email (later calls
// keep the first time).
func MarkVerificationSent(ctx context.Context, tx pgx.Tx, id string, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE requests SET verification_sent_at = coalesce(verification_sent_at, $2) WHERE id = $1`, id, at)
	return wrap("mark verification sent", err)
}

// FindGPCOptOut returns the id of the earliest GPC opt-out not withdrawn
// for a browser, or "" when there is none. A browser's signal is keyed by
// its device id alone (one record per device, whatever email it gives);
// with no device id, by the email among the records that have no device,
// so a browser's signal is never folded into a record someone filed with
// an email address.
func FindGPCOptOut(ctx context.Context, q Querier, email, deviceID string) (string, error) {
	var id string
	err := q.QueryRow(ctx, `SELECT r.id FROM requests r JOIN requesters s ON s.id = r.requester_id
		WHERE r.channel = 'gpc' AND r.status <> 'withdrawn'
		  AND CASE WHEN $1 <> '' THEN r.fields ->> 'device_id' = $1
		           ELSE r.fields ->> 'device_id' IS NULL AND $2 <> '' AND lower(s.email) = lower($2) END
		ORDER BY r.received_at LIMIT 1`, deviceID, email).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, wrap("find gpc opt-out", err)
}
