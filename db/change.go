package db

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// The Queue* functions add multi-row statements to a pgx.Batch, so that
// the engine writes a whole dsr.Change in one round trip. Each statement's
// error comes back, wrapped as the single-statement functions wrap it,
// when the batch is read (Close).

// QueueNewRequest queues the insert of a new request with its data
// subject, its agent (r.Agent, if any) and att (nil for none) as one
// statement; the IDs are r's, drawn by the plan. When the batch is read,
// *ref holds the request number the database assigned.
func QueueNewRequest(b *pgx.Batch, r *dsr.Request, att *dsr.Attachment, ref *int64) {
	fields, _ := json.Marshal(nonNil(r.Fields))
	var agentID, agentName, agentEmail string
	if r.Agent != nil {
		agentID, agentName, agentEmail = r.Agent.ID, r.Agent.Name, r.Agent.Email
	}
	var attID, attPurpose, attName, attType string
	var attContent, attSum []byte
	if att != nil {
		sum := sha256.Sum256(att.File.Content)
		attID, attPurpose, attName, attType, attContent, attSum = att.ID, att.Purpose, att.File.Filename, att.File.ContentType, att.File.Content, sum[:]
	}
	b.Queue(`
		WITH s AS (INSERT INTO requesters (id, email, name, country, state, postal_address) VALUES ($1, $2, $3, $4, $5, $35)),
		a AS (INSERT INTO agents (id, name, email)
			SELECT x.id, $7, $8 FROM (SELECT NULLIF($6::text, '')::uuid AS id) x WHERE x.id IS NOT NULL),
		r AS (INSERT INTO requests (id, kind, regime, status, channel, requester_id, agent_id, details, fields, calendar,
			received_at, received_on, ack_due, ack_sent_at, legal_due, policy_due, due_on, extended_due, extension_notice_by,
			needs_verification, verification_sent_at, updated_at)
			VALUES ($9, $10, $11, $12, $13, $1, NULLIF($6::text, '')::uuid, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
				$24, $25, $26, $27, $28)
			RETURNING ref),
		f AS (INSERT INTO attachments (id, request_id, purpose, filename, content_type, size, sha256, content)
			SELECT x.id, $9, $30, $31, $32, length($33::bytea), $34, $33 FROM (SELECT NULLIF($29::text, '')::uuid AS id) x
			WHERE x.id IS NOT NULL)
		SELECT ref FROM r`,
		r.SubjectID, r.Subject.Email, r.Subject.Name, r.Subject.Country, r.Subject.State,
		agentID, agentName, agentEmail,
		r.ID, r.Kind, r.Regime, r.Status, r.Channel, r.Details, fields, r.Calendar,
		r.ReceivedAt, r.ReceivedOn.Time(), dateArg(r.AckDue), r.AckSentAt, r.LegalDue.Time(), dateArg(r.PolicyDue), r.DueOn.Time(),
		dateArg(r.ExtendedDue), dateArg(r.ExtensionNoticeBy), r.NeedsVerification, r.VerificationSent, r.UpdatedAt,
		attID, attPurpose, attName, attType, attContent, attSum, r.Subject.PostalAddress,
	).QueryRow(func(row pgx.Row) error { return wrap("insert request", row.Scan(ref)) })
}

// QueueLedger queues the append of deadline ledger entries, in order, as
// one statement (nothing for none).
func QueueLedger(b *pgx.Batch, requestID string, at time.Time, entries []dsr.LedgerEntry) {
	if len(entries) == 0 {
		return
	}
	whats, dates, rules := make([]string, len(entries)), make([]time.Time, len(entries)), make([]string, len(entries))
	for i, e := range entries {
		whats[i], dates[i], rules[i] = e.What, e.Date.Time(), e.Rule
	}
	b.Queue(`INSERT INTO deadline_ledger (request_id, at, what, date, rule)
		SELECT $1, $2, w, d, r FROM unnest($3::text[], $4::date[], $5::text[]) WITH ORDINALITY AS u(w, d, r, n) ORDER BY n`,
		requestID, at, whats, dates, rules).Exec(func(pgconn.CommandTag) error { return nil })
}

// ChainHead is the last link of a request's event hash chain: its seq and
// hash. The zero ChainHead is the head of a request with no events (the
// first event has seq 1 and a prev_hash of 32 zero bytes).
type ChainHead struct {
	Seq  int
	Hash []byte
}

// QueueEvents queues the append of evs after head, as one statement, and
// returns the new head. Seq, prev_hash and hash are computed here as
// AppendEvent computes them; the caller holds the request's row lock (or
// inserts the request in the same transaction), so head cannot move.
func QueueEvents(b *pgx.Batch, requestID string, head ChainHead, evs []dsr.Event) ChainHead {
	if len(evs) == 0 {
		return head
	}
	prev := head.Hash
	if prev == nil {
		prev = make([]byte, sha256.Size)
	}
	n := len(evs)
	seqs, ats, actors, types, publics := make([]int, n), make([]time.Time, n), make([]string, n), make([]string, n), make([]bool, n)
	datas, prevs, hashes := make([]string, n), make([][]byte, n), make([][]byte, n)
	personals, digests := make([]*string, n), make([][]byte, n)
	seq := head.Seq
	for i, ev := range evs {
		seq++
		ev.Seq, ev.At = seq, ev.At.UTC().Truncate(time.Microsecond)
		s := sealEvent(prev, requestID, ev)
		seqs[i], ats[i], actors[i], types[i], publics[i] = ev.Seq, ev.At, ev.Actor, ev.Type, ev.Public
		datas[i], prevs[i], hashes[i], digests[i] = string(s.Data), prev, s.Hash, s.Digest
		if s.Personal != nil {
			p := string(s.Personal)
			personals[i] = &p
		}
		prev = s.Hash
	}
	// One statement for the events and their personal parts (intake's
	// statement count stays as it was): the side rows' foreign key is
	// checked at the statement's end, when the events are in.
	b.Queue(`WITH u AS MATERIALIZED (SELECT * FROM unnest($2::int[], $3::timestamptz[], $4::text[], $5::text[], $6::bool[],
				$7::text[], $8::bytea[], $9::bytea[], $10::text[], $11::bytea[]) AS u(s, a, ac, t, p, d, ph, h, pe, pd)),
			e AS (INSERT INTO events (request_id, seq, at, actor, type, public, data, prev_hash, hash, hash_version, personal_digest)
				SELECT $1, s, a, ac, t, p, d::jsonb, ph, h, 2, pd FROM u ORDER BY s)
		INSERT INTO event_personal (request_id, seq, personal) SELECT $1, s, pe::jsonb FROM u WHERE pe IS NOT NULL`,
		requestID, seqs, ats, actors, types, publics, datas, prevs, hashes, personals, digests).Exec(func(pgconn.CommandTag) error { return nil })
	return ChainHead{Seq: seq, Hash: prev}
}

// NewToken is a token to store: only its hash.
type NewToken struct {
	RequestID string
	Purpose   string
	Holder    string
	Scope     string
	Hash      []byte
	Expires   time.Time
}

// QueueTokens queues the insert of tokens as one statement (nothing for
// none).
func QueueTokens(b *pgx.Batch, tokens []NewToken) {
	if len(tokens) == 0 {
		return
	}
	n := len(tokens)
	reqs, purposes, holders, scopes, hashes, expires := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([][]byte, n), make([]time.Time, n)
	for i, t := range tokens {
		reqs[i], purposes[i], holders[i], scopes[i], hashes[i], expires[i] = t.RequestID, t.Purpose, t.Holder, t.Scope, t.Hash, t.Expires
	}
	b.Queue(`INSERT INTO tokens (request_id, purpose, holder, scope, token_hash, expires_at)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::timestamptz[])`,
		reqs, purposes, holders, scopes, hashes, expires).Exec(func(_ pgconn.CommandTag) error { return nil })
}

// QueueMessages queues the insert of messages as one statement (nothing
// for none). Each message's ID must be set (dsr.NewID): the delivery jobs
// name it before the row is read back.
func QueueMessages(b *pgx.Batch, ms []*Message) {
	if len(ms) == 0 {
		return
	}
	n := len(ms)
	col := func(f func(*Message) string) []string {
		out := make([]string, n)
		for i, m := range ms {
			out[i] = f(m)
		}
		return out
	}
	created, sealed := make([]time.Time, n), make([][]byte, n)
	for i, m := range ms {
		created[i], sealed[i] = m.CreatedAt, m.Sealed
	}
	b.Queue(`INSERT INTO messages (id, request_id, event, locale, recipient_role, to_name, to_email, from_email,
			subject, text_body, html_body, message_id, status, created_at, sealed)
		SELECT id, NULLIF(rq, '')::uuid, ev, lo, rr, tn, te, fe, su, tb, hb, mi, st, ca, se
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::timestamptz[], $15::bytea[])
			AS u(id, rq, ev, lo, rr, tn, te, fe, su, tb, hb, mi, st, ca, se)`,
		col(func(m *Message) string { return m.ID }), col(func(m *Message) string { return m.RequestID }),
		col(func(m *Message) string { return m.Event }), col(func(m *Message) string { return m.Locale }),
		col(func(m *Message) string { return m.RecipientRole }), col(func(m *Message) string { return m.ToName }),
		col(func(m *Message) string { return m.ToEmail }), col(func(m *Message) string { return m.FromEmail }),
		col(func(m *Message) string { return m.Subject }), col(func(m *Message) string { return m.TextBody }),
		col(func(m *Message) string { return m.HTMLBody }), col(func(m *Message) string { return m.MessageID }),
		col(func(m *Message) string { return m.Status }), created, sealed,
	).Exec(func(pgconn.CommandTag) error { return nil })
}

// QueueIdempotent queues InsertIdempotent. Errors when read: ECONFLICT
// when another transaction stored the key first.
func QueueIdempotent(b *pgx.Batch, keyHash []byte, i Idempotent) {
	b.Queue(`INSERT INTO idempotency_keys (key_hash, fingerprint, request_id, response) VALUES ($1, $2, $3, $4)`,
		keyHash, i.Fingerprint, i.RequestID, i.Response).Exec(func(pgconn.CommandTag) error { return nil })
}

// PipelinedTx is a transaction whose BEGIN travels with its first
// statements and whose COMMIT travels with its last ones: a change that
// needs the database only twice (write, then write what depends on the
// answer) costs two round trips instead of four. It is a pgx.Tx, so River
// inserts jobs in it like in any other; it does not support nested
// transactions (savepoints).
type PipelinedTx struct {
	conn *pgxpool.Conn
	done bool
	// held are BEGIN and the first statements of a BeginHeld transaction
	// until they are sent; heldErr is what they met then.
	held    *pgx.Batch
	heldErr error
}

var _ pgx.Tx = (*PipelinedTx)(nil)

// BeginWith acquires a connection and sends BEGIN followed by b's
// statements in one round trip, reading their results (b's callbacks run).
// Errors: ETEMPORARY when the database cannot be reached, and the first
// failing statement's error (the transaction is then rolled back).
func BeginWith(ctx context.Context, pool *pgxpool.Pool, b *pgx.Batch) (*PipelinedTx, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, wrap("begin", err)
	}
	tx := &PipelinedTx{conn: conn}
	full := &pgx.Batch{}
	full.Queue("BEGIN")
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	if err := tx.conn.SendBatch(ctx, full).Close(); err != nil {
		tx.end(ctx)
		return nil, batchErr("begin", err)
	}
	return tx, nil
}

// BeginHeld acquires a connection and holds BEGIN and b's statements
// until the transaction's next statement: a Query joins them in the same
// round trip (it is sent after them, and its rows are read after their
// results and callbacks); anything else sends them first on their own
// (Flush sends them alone). So River's InsertManyTx, whose job insert is
// one Query, costs no round trip of its own: River builds and runs its
// insert as always (unique jobs included), it only travels with BEGIN.
// Errors: ETEMPORARY when the database cannot be reached. The held
// statements' own errors come from the call that sends them, and stay
// readable with HeldErr.
func BeginHeld(ctx context.Context, pool *pgxpool.Pool, b *pgx.Batch) (*PipelinedTx, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, wrap("begin", err)
	}
	full := &pgx.Batch{}
	full.Queue("BEGIN")
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	return &PipelinedTx{conn: conn, held: full}, nil
}

// Flush sends the held statements of a BeginHeld transaction, if they
// have not gone yet, and reads their results (their callbacks run).
// Errors: the first failing held statement's (the transaction is then
// rolled back), also when they went earlier.
func (tx *PipelinedTx) Flush(ctx context.Context) error {
	if tx.held == nil {
		return tx.heldErr
	}
	b := tx.held
	tx.held = nil
	if err := tx.conn.SendBatch(ctx, b).Close(); err != nil {
		tx.heldErr = batchErr("begin", err)
		tx.end(ctx)
	}
	return tx.heldErr
}

// HeldErr is the error the held statements of a BeginHeld transaction met
// when they were sent (nil before, or when they succeeded). A statement
// that travelled after them fails when they do: a caller seeing its error
// asks HeldErr for the cause.
func (tx *PipelinedTx) HeldErr() error { return tx.heldErr }

// queryAfterHeld sends the held statements followed by sql in one round
// trip, reads the held results (running their callbacks) and returns
// sql's rows; closing them reads the end of the batch.
func (tx *PipelinedTx) queryAfterHeld(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if len(args) > 0 {
		switch args[0].(type) {
		case pgx.QueryExecMode, pgx.QueryResultFormats, pgx.QueryResultFormatsByOID:
			// Query options a batch cannot carry: send the held
			// statements first, then the query on its own.
			if err := tx.Flush(ctx); err != nil {
				return nil, err
			}
			return tx.conn.Query(ctx, sql, args...)
		}
	}
	b := tx.held
	tx.held = nil
	n := len(b.QueuedQueries)
	b.Queue(sql, args...)
	br := tx.conn.SendBatch(ctx, b)
	for _, qq := range b.QueuedQueries[:n] {
		var err error
		if qq.Fn != nil {
			err = qq.Fn(br)
		} else {
			_, err = br.Exec()
		}
		if err != nil {
			_ = br.Close()
			tx.heldErr = batchErr("begin", err)
			tx.end(ctx)
			return nil, tx.heldErr
		}
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &afterHeldRows{Rows: rows, br: br}, nil
}

// afterHeldRows are the rows of a query sent after held statements:
// closing them also reads the rest of the batch.
type afterHeldRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error
}

// Close closes the rows and the batch they came in.
func (r *afterHeldRows) Close() {
	if r.br == nil {
		return
	}
	r.Rows.Close()
	r.err = r.br.Close()
	r.br = nil
}

// Err is the rows' error, else the batch's once closed.
func (r *afterHeldRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// CommitWith sends b's statements followed by COMMIT in one round trip
// (after the held statements of a BeginHeld transaction, when they have
// not gone yet). Errors: the first failing statement's (the transaction
// is then rolled back); pgx.ErrTxClosed after Commit or Rollback.
func (tx *PipelinedTx) CommitWith(ctx context.Context, b *pgx.Batch) error {
	if tx.done {
		if tx.heldErr != nil {
			return tx.heldErr
		}
		return pgx.ErrTxClosed
	}
	full := &pgx.Batch{}
	if tx.held != nil {
		full.QueuedQueries = append(full.QueuedQueries, tx.held.QueuedQueries...)
		tx.held = nil
	}
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	var tag pgconn.CommandTag
	full.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
	err := tx.conn.SendBatch(ctx, full).Close()
	tx.end(ctx)
	if err != nil {
		return batchErr("commit", err)
	}
	if tag.String() == "ROLLBACK" {
		return wrap("commit", pgx.ErrTxCommitRollback)
	}
	return nil
}

// end rolls back whatever is still open and returns the connection; a
// connection left in a transaction is closed by the pool.
func (tx *PipelinedTx) end(ctx context.Context) {
	if tx.done {
		return
	}
	tx.done = true
	if tx.conn.Conn().PgConn().TxStatus() != 'I' && !tx.conn.Conn().IsClosed() {
		_, _ = tx.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	tx.conn.Release()
}

// batchErr wraps a batch error, which pgx may return bare or wrapped.
func batchErr(op string, err error) error {
	var de *dsr.Error
	if errors.As(err, &de) {
		return err
	}
	return wrap(op, err)
}

// Begin is not supported: a pipelined transaction has no savepoints.
func (tx *PipelinedTx) Begin(context.Context) (pgx.Tx, error) {
	return nil, fmt.Errorf("db: nested transactions are not supported in a pipelined transaction")
}

// Commit commits the transaction.
func (tx *PipelinedTx) Commit(ctx context.Context) error { return tx.CommitWith(ctx, &pgx.Batch{}) }

// Rollback rolls the transaction back; after Commit it returns
// pgx.ErrTxClosed, so it is safe to defer.
func (tx *PipelinedTx) Rollback(ctx context.Context) error {
	if tx.done {
		return pgx.ErrTxClosed
	}
	tx.end(ctx)
	return nil
}

// CopyFrom implements pgx.Tx.
func (tx *PipelinedTx) CopyFrom(ctx context.Context, t pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	if err := tx.Flush(ctx); err != nil {
		return 0, err
	}
	return tx.conn.CopyFrom(ctx, t, cols, src)
}

// SendBatch implements pgx.Tx; the held statements of a BeginHeld
// transaction go first, in the same round trip.
func (tx *PipelinedTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if tx.held != nil {
		full := &pgx.Batch{QueuedQueries: append(tx.held.QueuedQueries, b.QueuedQueries...)}
		tx.held = nil
		return tx.conn.SendBatch(ctx, full)
	}
	return tx.conn.SendBatch(ctx, b)
}

// LargeObjects implements pgx.Tx but is not supported: nothing in DSR
// Desk stores large objects, and the value returned has no transaction to
// work in (its methods must not be called).
func (tx *PipelinedTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

// Prepare implements pgx.Tx.
func (tx *PipelinedTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if err := tx.Flush(ctx); err != nil {
		return nil, err
	}
	return tx.conn.Conn().Prepare(ctx, name, sql)
}

// Exec implements pgx.Tx.
func (tx *PipelinedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := tx.Flush(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return tx.conn.Exec(ctx, sql, args...)
}

// Query implements pgx.Tx.
func (tx *PipelinedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if tx.held != nil {
		return tx.queryAfterHeld(ctx, sql, args...)
	}
	if tx.heldErr != nil {
		return nil, tx.heldErr
	}
	return tx.conn.Query(ctx, sql, args...)
}

// QueryRow implements pgx.Tx.
func (tx *PipelinedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := tx.Flush(ctx); err != nil {
		return errRow{err}
	}
	return tx.conn.QueryRow(ctx, sql, args...)
}

// errRow is a pgx.Row that failed before it was sent.
type errRow struct{ err error }

// Scan returns the error.
func (r errRow) Scan(...any) error { return r.err }

// Conn implements pgx.Tx. Statements sent on it directly bypass the held
// statements of a BeginHeld transaction: call Flush first.
func (tx *PipelinedTx) Conn() *pgx.Conn { return tx.conn.Conn() }

// SendBatch sends b's statements in tx in one round trip and reads their
// results (b's callbacks run). Errors: the first failing statement's,
// wrapped as its single-statement function wraps it.
func SendBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return batchErr("batch", err)
	}
	return nil
}

// QueueVerified queues what confirming the address does to a request's
// links, as one statement: every unused verification link is used up and
// every status link still in force is revoked (UseAllTokens and
// RevokeStatusTokens). Queue it before the change's new tokens.
func QueueVerified(b *pgx.Batch, requestID string, at time.Time) {
	b.Queue(`UPDATE tokens SET
			used_at = CASE WHEN purpose = 'verify' AND used_at IS NULL THEN $2 ELSE used_at END,
			revoked_at = CASE WHEN purpose = 'status' AND revoked_at IS NULL THEN $2 ELSE revoked_at END
		WHERE request_id = $1 AND ((purpose = 'verify' AND used_at IS NULL) OR (purpose = 'status' AND revoked_at IS NULL))`,
		requestID, at).Exec(func(pgconn.CommandTag) error { return nil })
}

// QueueNotes queues the insert of notes as one statement (nothing for
// none); a note by "subject" or "agent" is shown to the requester, any
// other is internal, as InsertNote decides.
func QueueNotes(b *pgx.Batch, requestID string, at time.Time, notes []dsr.Note) {
	if len(notes) == 0 {
		return
	}
	authors, bodies := make([]string, len(notes)), make([]string, len(notes))
	for i, n := range notes {
		authors[i], bodies[i] = n.Author, n.Body
	}
	b.Queue(`INSERT INTO notes (request_id, author, internal, body, created_at)
		SELECT $1, a, a NOT IN ('subject', 'agent'), t, $2 FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(a, t, n) ORDER BY n`,
		requestID, at, authors, bodies).Exec(func(pgconn.CommandTag) error { return nil })
}

// QueueAttachments queues the insert of documents with their given IDs as
// one statement (nothing for none), as InsertAttachment stores them.
func QueueAttachments(b *pgx.Batch, requestID string, atts []dsr.Attachment) {
	if len(atts) == 0 {
		return
	}
	n := len(atts)
	ids, purposes, names, types, sums, contents := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([][]byte, n), make([][]byte, n)
	for i, a := range atts {
		sum := sha256.Sum256(a.File.Content)
		ids[i], purposes[i], names[i], types[i], sums[i], contents[i] = a.ID, a.Purpose, a.File.Filename, a.File.ContentType, sum[:], a.File.Content
	}
	b.Queue(`INSERT INTO attachments (id, request_id, purpose, filename, content_type, size, sha256, content)
		SELECT id, $1, p, f, t, length(c), s, c FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::bytea[])
			AS u(id, p, f, t, s, c)`,
		requestID, ids, purposes, names, types, sums, contents).Exec(func(pgconn.CommandTag) error { return nil })
}

// ChainHeadOf returns the head of a request's event chain (the zero
// ChainHead for none). The caller holds the request's row lock.
func ChainHeadOf(ctx context.Context, tx pgx.Tx, requestID string) (ChainHead, error) {
	var h ChainHead
	err := tx.QueryRow(ctx, `SELECT seq, hash FROM events WHERE request_id = $1 ORDER BY seq DESC LIMIT 1`, requestID).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return ChainHead{}, nil
	}
	return h, wrap("chain head", err)
}
