package db

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Letter is a message to a requester without an email address: what it
// says (the message row) and where it goes, and whether an officer has
// posted it.
type Letter struct {
	MessageID     string
	RequestID     string
	Event         string
	Subject       string
	TextBody      string
	ToName        string
	PostalAddress string
	CreatedAt     time.Time
	PostedAt      *time.Time
	PostedBy      string // the officer's name, "" until posted
}

// QueueLetters queues, as one statement, the letter rows of the messages
// in ms that are letters (Message.Letter set); nothing when none is. The
// batch must hold the messages' insert before it.
func QueueLetters(b *pgx.Batch, ms []*Message) {
	var ids, reqs, addrs []string
	for _, m := range ms {
		if m.Letter != "" {
			ids, reqs, addrs = append(ids, m.ID), append(reqs, m.RequestID), append(addrs, m.Letter)
		}
	}
	if len(ids) == 0 {
		return
	}
	b.Queue(`INSERT INTO letters (message_id, request_id, postal_address)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[])`, ids, reqs, addrs).
		Exec(func(pgconn.CommandTag) error { return nil })
}

const letterColumns = `m.id, l.request_id, m.event, m.subject, m.text_body, m.to_name, l.postal_address, m.created_at, l.posted_at,
	coalesce(u.name, '')`

const letterFrom = ` FROM letters l JOIN messages m ON m.id = l.message_id LEFT JOIN users u ON u.id = l.posted_by`

func scanLetter(row pgx.Row) (*Letter, error) {
	var l Letter
	err := row.Scan(&l.MessageID, &l.RequestID, &l.Event, &l.Subject, &l.TextBody, &l.ToName, &l.PostalAddress, &l.CreatedAt,
		&l.PostedAt, &l.PostedBy)
	return &l, err
}

// Letters lists a request's letters, oldest first.
func Letters(ctx context.Context, q Querier, requestID string) ([]Letter, error) {
	rows, err := q.Query(ctx, `SELECT `+letterColumns+letterFrom+` WHERE l.request_id = $1 ORDER BY m.created_at, m.id`, requestID)
	if err != nil {
		return nil, wrap("letters", err)
	}
	defer rows.Close()
	var out []Letter
	for rows.Next() {
		l, err := scanLetter(rows)
		if err != nil {
			return nil, wrap("letters", err)
		}
		out = append(out, *l)
	}
	return out, wrap("letters", rows.Err())
}

// GetLetter loads one letter of a request. Errors: ENOTFOUND (no such
// letter, or one of another request).
func GetLetter(ctx context.Context, q Querier, requestID, messageID string) (*Letter, error) {
	l, err := scanLetter(q.QueryRow(ctx, `SELECT `+letterColumns+letterFrom+` WHERE l.request_id = $1 AND l.message_id = $2`,
		requestID, messageID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "letter not found")
	}
	return l, wrap("get letter", err)
}

// MarkLetterPosted records that user posted the letter at at. It reports
// false when the letter was already marked posted (nothing changes).
// Errors: ENOTFOUND.
func MarkLetterPosted(ctx context.Context, tx pgx.Tx, requestID, messageID, userID string, at time.Time) (bool, error) {
	var posted *time.Time
	err := tx.QueryRow(ctx, `SELECT posted_at FROM letters WHERE request_id = $1 AND message_id = $2 FOR UPDATE`,
		requestID, messageID).Scan(&posted)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, dsr.Errorf(dsr.ENOTFOUND, "letter not found")
	}
	if err != nil {
		return false, wrap("mark letter posted", err)
	}
	if posted != nil {
		return false, nil
	}
	_, err = tx.Exec(ctx, `UPDATE letters SET posted_at = $3, posted_by = $4 WHERE request_id = $1 AND message_id = $2`,
		requestID, messageID, at, userID)
	return err == nil, wrap("mark letter posted", err)
}
