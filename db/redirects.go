package db

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// InsertRedirect records a request answered on the processor path: when
// it came, the client named, and the message that carried the
// instructions.
func InsertRedirect(ctx context.Context, tx pgx.Tx, id string, receivedAt time.Time, client, messageID string) error {
	_, err := tx.Exec(ctx, `INSERT INTO redirects (id, received_at, client, message_id) VALUES ($1, $2, $3, $4)`,
		id, receivedAt, client, messageID)
	return err
}

// RedirectRow is a recorded redirect for the console: when it came, the
// client named, and the message that carried the instructions (to whom,
// its subject and text as recorded, its delivery status).
type RedirectRow struct {
	ID            string
	ReceivedAt    time.Time
	Client        string
	ToEmail       string
	Subject       string
	TextBody      string
	MessageStatus string
}

// Redirects lists the latest limit redirects, newest first, and how many
// there are in all.
func Redirects(ctx context.Context, q Querier, limit int) ([]RedirectRow, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM redirects`).Scan(&total); err != nil {
		return nil, 0, wrap("count redirects", err)
	}
	rows, err := q.Query(ctx, `SELECT r.id, r.received_at, r.client, m.to_email, m.subject, m.text_body, m.status
		FROM redirects r JOIN messages m ON m.id = r.message_id
		ORDER BY r.received_at DESC, r.id LIMIT $1`, limit)
	if err != nil {
		return nil, 0, wrap("redirects", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (RedirectRow, error) {
		var r RedirectRow
		err := row.Scan(&r.ID, &r.ReceivedAt, &r.Client, &r.ToEmail, &r.Subject, &r.TextBody, &r.MessageStatus)
		return r, err
	})
	if err != nil {
		return nil, 0, wrap("scan redirects", err)
	}
	return out, total, nil
}
