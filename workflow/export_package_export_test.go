package workflow

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// QueueExportIfReady runs queueExportIfReady in its own transaction, as a
// finished task's change would.
func QueueExportIfReady(ctx context.Context, e *Engine, requestID string) error {
	return e.inTx(ctx, func(tx pgx.Tx) error { return e.queueExportIfReady(ctx, tx, requestID) })
}
