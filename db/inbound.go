package db

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Inbound email statuses.
const (
	InboundReceived    = "received"      // stored, not yet parsed
	InboundRequest     = "request"       // became a new request
	InboundReply       = "reply"         // attached to the request it answers
	InboundIgnored     = "ignored"       // auto-reply, bounce or our own mail: never a request
	InboundUnreadable  = "unreadable"    // no usable sender, or no request could be made of it
	InboundNotARequest = "not_a_request" // an officer said so (spam, general question)
)

// maxInboundMessageID bounds the Message-IDs used for deduplication; a
// longer one is stored as "" (not deduplicated) rather than refused.
const maxInboundMessageID = 500

// InboundEmail is one message received by the inbound SMTP listener.
type InboundEmail struct {
	ID           string
	ReceivedAt   time.Time
	EnvelopeFrom string
	Recipients   []string
	RemoteIP     string
	Helo         string
	MessageID    string // without angle brackets; "" when absent
	Raw          []byte // nil in lists
	Size         int
	Status       string
	RequestID    string
	FromAddress  string
	Subject      string
	DKIM         string // "pass", "fail", "none", "temperror"; "" before parsing
	DKIMDomain   string
	Note         string
	MarkedBy     string
	ProcessedAt  *time.Time
}

// InsertInbound stores a received message. A non-empty Message-ID already
// stored makes it a duplicate: nothing is written and dup is true.
func InsertInbound(ctx context.Context, tx pgx.Tx, m *InboundEmail) (id string, dup bool, err error) {
	msgID := m.MessageID
	if len(msgID) > maxInboundMessageID {
		msgID = ""
	}
	err = tx.QueryRow(ctx, `INSERT INTO inbound_emails (received_at, envelope_from, recipients, remote_ip, helo, message_id, raw, size)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (message_id) WHERE message_id <> '' DO NOTHING RETURNING id`,
		m.ReceivedAt, m.EnvelopeFrom, m.Recipients, m.RemoteIP, m.Helo, msgID, m.Raw, len(m.Raw)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", true, nil
	}
	return id, false, wrap("insert inbound email", err)
}

const inboundColumns = `id, received_at, envelope_from, recipients, remote_ip, helo, message_id, size, status,
	coalesce(request_id::text, ''), from_address, subject, dkim, dkim_domain, note, marked_by, processed_at`

func scanInbound(row pgx.Row, extra ...any) (*InboundEmail, error) {
	var m InboundEmail
	dest := append([]any{&m.ID, &m.ReceivedAt, &m.EnvelopeFrom, &m.Recipients, &m.RemoteIP, &m.Helo, &m.MessageID,
		&m.Size, &m.Status, &m.RequestID, &m.FromAddress, &m.Subject, &m.DKIM, &m.DKIMDomain, &m.Note, &m.MarkedBy,
		&m.ProcessedAt}, extra...)
	err := row.Scan(dest...)
	return &m, err
}

// GetInbound loads a received message with its raw bytes; forUpdate
// locks its row until the transaction ends. Errors: ENOTFOUND.
func GetInbound(ctx context.Context, q Querier, id string, forUpdate bool) (*InboundEmail, error) {
	sql := `SELECT ` + inboundColumns + `, raw FROM inbound_emails WHERE id::text = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var raw []byte
	m, err := scanInbound(q.QueryRow(ctx, sql, id), &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "inbound email not found")
	}
	m.Raw = raw
	return m, wrap("get inbound email", err)
}

// LockInbound locks a received message's row and returns its status and
// request id. Errors: ENOTFOUND.
func LockInbound(ctx context.Context, tx pgx.Tx, id string) (status, requestID string, err error) {
	err = tx.QueryRow(ctx, `SELECT status, coalesce(request_id::text, '') FROM inbound_emails WHERE id::text = $1 FOR UPDATE`, id).
		Scan(&status, &requestID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", dsr.Errorf(dsr.ENOTFOUND, "inbound email not found")
	}
	return status, requestID, wrap("lock inbound email", err)
}

// InboundOutcome is what parsing a received message found and did.
type InboundOutcome struct {
	Status      string
	RequestID   string // "" when none
	FromAddress string
	Subject     string
	DKIM        string
	DKIMDomain  string
	Note        string
}

// MarkInboundProcessed records the outcome of parsing a message.
func MarkInboundProcessed(ctx context.Context, tx pgx.Tx, id string, o InboundOutcome, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE inbound_emails SET status = $2, request_id = NULLIF($3, '')::uuid, from_address = $4,
		subject = $5, dkim = $6, dkim_domain = $7, note = $8, processed_at = $9 WHERE id = $1`,
		id, o.Status, o.RequestID, o.FromAddress, o.Subject, o.DKIM, o.DKIMDomain, o.Note, at)
	return wrap("mark inbound email", err)
}

// MarkInboundNotARequest records an officer's verdict that a message is
// not a request, with their reason.
func MarkInboundNotARequest(ctx context.Context, tx pgx.Tx, id, actor, reason string, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE inbound_emails SET status = 'not_a_request', note = $2, marked_by = $3,
		processed_at = coalesce(processed_at, $4) WHERE id = $1`, id, reason, actor, at)
	return wrap("mark inbound email", err)
}

// InboundEmails lists received messages without their raw bytes, newest
// first; status "" means all.
func InboundEmails(ctx context.Context, q Querier, status string, limit int) ([]*InboundEmail, error) {
	rows, err := q.Query(ctx, `SELECT `+inboundColumns+` FROM inbound_emails
		WHERE $1 = '' OR status = $1 ORDER BY received_at DESC, id LIMIT $2`, status, limit)
	if err != nil {
		return nil, wrap("inbound emails", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*InboundEmail, error) { return scanInbound(row) })
}

// RepliedMessage finds the newest of our messages to a requester or an
// agent whose Message-ID is among ids (an In-Reply-To/References list), so
// a reply can be attached to its request. It returns nil when none is ours.
func RepliedMessage(ctx context.Context, q Querier, ids []string) (*Message, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	m, err := scanMessage(q.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE message_id = ANY($1) AND request_id IS NOT NULL AND recipient_role IN ('subject', 'agent')
		ORDER BY created_at DESC, id LIMIT 1`, ids))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return m, wrap("replied message", err)
}
