package workflow

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/dsrdesk/dsrdesk/db"
)

// SessionCleanupArgs deletes the console sessions past their absolute
// expiry or idle for longer than the idle timeout. The session lookup
// already refuses them; the job keeps the table from growing and leaves
// no usable-looking rows behind.
type SessionCleanupArgs struct{}

// Kind is the River job kind.
func (SessionCleanupArgs) Kind() string { return "session_cleanup" }

// InsertOpts: a few attempts; the next period tries again anyway.
func (SessionCleanupArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

// SessionCleanupInterval is how often the leader runs the session cleanup.
const SessionCleanupInterval = 15 * time.Minute

// sessionCleanupJob is the periodic job that runs the cleanup (River runs
// periodic jobs on the elected leader only).
func sessionCleanupJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(SessionCleanupInterval),
		func() (river.JobArgs, *river.InsertOpts) { return SessionCleanupArgs{}, nil },
		&river.PeriodicJobOpts{ID: "session_cleanup"})
}

type sessionCleanupWorker struct {
	river.WorkerDefaults[SessionCleanupArgs]
	e *Engine
}

// Work deletes the expired sessions in one set-based statement.
func (w *sessionCleanupWorker) Work(ctx context.Context, _ *river.Job[SessionCleanupArgs]) error {
	n, err := db.DeleteExpiredSessions(ctx, w.e.pool, w.e.now(), w.e.idle)
	if err != nil {
		return err
	}
	if n > 0 {
		w.e.log.Info("expired sessions deleted", "sessions", n)
	}
	return nil
}
