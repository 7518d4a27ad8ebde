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
