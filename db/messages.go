package db

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Message statuses.
const (
	MessageCaptured = "captured" // no relay configured: kept in the database only
	MessageQueued   = "queued"
	MessageSent     = "sent"
	MessageFailed   = "failed"
)

// Message is one outgoing email as recorded.
type Message struct {
	ID            string
	RequestID     string
	Event         string
	Locale        string
	RecipientRole string
	ToName        string
	ToEmail       string
	FromEmail     string
	FromName      string
	Subject       string
	TextBody      string
	HTMLBody      string
	// Sealed is the live text and HTML (with working links), encrypted
	// for the delivery job; nil once the message is sent or failed, or
	// when the bodies hold no link. TextBody and HTMLBody are redacted.
	Sealed    []byte
	MessageID string
	Status    string
	Attempts  int
	LastError string
	CreatedAt time.Time
	SentAt    *time.Time
	// Letter, when set, makes the message a letter to print and post to
	// this postal address (QueueLetters records it); it is never mailed.
	Letter string
}

// InsertMessage records an outgoing message and returns its id.
func InsertMessage(ctx context.Context, tx pgx.Tx, m *Message) (string, error) {
	err := tx.QueryRow(ctx, `INSERT INTO messages (request_id, event, locale, recipient_role, to_name, to_email, from_email,
			subject, text_body, html_body, message_id, status, created_at, sealed)
		VALUES (NULLIF($1, '')::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		m.RequestID, m.Event, m.Locale, m.RecipientRole, m.ToName, m.ToEmail, m.FromEmail, m.Subject, m.TextBody,
		m.HTMLBody, m.MessageID, m.Status, m.CreatedAt, m.Sealed).Scan(&m.ID)
	return m.ID, wrap("insert message", err)
}

const messageColumns = `id, coalesce(request_id::text, ''), event, locale, recipient_role, to_name, to_email, from_email, subject,
	text_body, html_body, sealed, message_id, status, attempts, last_error, created_at, sent_at`

func scanMessage(row pgx.Row) (*Message, error) {
	var m Message
	err := row.Scan(&m.ID, &m.RequestID, &m.Event, &m.Locale, &m.RecipientRole, &m.ToName, &m.ToEmail, &m.FromEmail,
		&m.Subject, &m.TextBody, &m.HTMLBody, &m.Sealed, &m.MessageID, &m.Status, &m.Attempts, &m.LastError, &m.CreatedAt, &m.SentAt)
	return &m, err
}

// GetMessage loads a message; forUpdate locks it. Errors: ENOTFOUND.
func GetMessage(ctx context.Context, q Querier, id string, forUpdate bool) (*Message, error) {
	sql := `SELECT ` + messageColumns + ` FROM messages WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	m, err := scanMessage(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "message not found")
	}
	return m, wrap("get message", err)
}

// RequestMessages returns the messages of a request, oldest first.
func RequestMessages(ctx context.Context, q Querier, requestID string) ([]*Message, error) {
	rows, err := q.Query(ctx, `SELECT `+messageColumns+` FROM messages WHERE request_id = $1 ORDER BY created_at, id`, requestID)
	if err != nil {
		return nil, wrap("messages", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Message, error) { return scanMessage(row) })
}

// RecentMessages returns the newest messages first.
func RecentMessages(ctx context.Context, q Querier, limit int) ([]*Message, error) {
	rows, err := q.Query(ctx, `SELECT `+messageColumns+` FROM messages ORDER BY created_at DESC, id LIMIT $1`, limit)
	if err != nil {
		return nil, wrap("messages", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Message, error) { return scanMessage(row) })
}
