// Package workflow is the engine of DSR Desk: every change to a request
// writes its state, its audit event, its ledger, its messages and its
// follow-up River jobs in ONE transaction; the River workers live here too,
// one file per job kind.
package workflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/notify"
	"github.com/dsrdesk/dsrdesk/templates"
)

// Clock is the one source of time of the engine; tests control it.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// Mailer delivers a raw message; *notify.Sender implements it.
type Mailer interface {
	Send(ctx context.Context, from string, to []string, raw []byte) error
}

// Options configure an Engine.
type Options struct {
	Org     *dsr.Config
	BaseURL string // public URL for links in emails, e.g. https://privacy.example.com
	// Mailer delivers mail; nil keeps messages captured in the database.
	Mailer Mailer
	Clock  Clock
	Logger *slog.Logger
	// RetryBase is the first delivery retry delay (default 30s); each
	// further retry waits attempt² times longer, capped at 1h.
	RetryBase time.Duration
	// Workers is the number of concurrent jobs per queue (default 10).
	Workers int
	// RescueAfter is how long a job may stay "running" before River assumes
	// its process died (kill -9, power loss) and runs it again (default
	// 15 minutes; longer than any job's timeout).
	RescueAfter time.Duration
	// FetchPollInterval is how often River looks for jobs that no
	// notification announced (default 1s; tests use less).
	FetchPollInterval time.Duration
	// SessionIdleTimeout ends a console session unused for this long
	// (default 30 minutes), besides its 12-hour absolute limit.
	SessionIdleTimeout time.Duration
	// SecretKey is the server secret (DSR_SECRET_KEY, at least 32 bytes)
	// from which the key that seals stored mail is derived. Nil uses a
	// random key for this process only: mail recorded but not delivered
	// before a restart then fails with a clear error.
	SecretKey []byte
	// Runners carry out the systems' tasks, by system name (see
	// dsr.TaskRunner); a manual system needs none (its task is mailed to
	// its owner). A task of a system with no runner fails its attempts
	// with an error saying so.
	Runners map[string]dsr.TaskRunner
	// TaskRetryBase is the first retry delay of a task's connector
	// (default 1 minute); each further retry waits attempt² times longer,
	// capped at 1h.
	TaskRetryBase time.Duration
}

// Engine runs the request workflow.
type Engine struct {
	pool     *pgxpool.Pool
	river    *river.Client[pgx.Tx]
	org      *dsr.Config
	baseURL  string
	mailer   Mailer
	clock    Clock
	log      *slog.Logger
	renderer *notify.Renderer
	retry    time.Duration
	idle     time.Duration // console session idle timeout
	sealKey  []byte        // AES-256 key sealing the live bodies of stored mail
	reportTZ atomic.Bool   // the report time zone is recorded (reports.go)
	jobs     *jobMetrics   // job histograms (see metrics.go)
	runners  map[string]dsr.TaskRunner
	// taskRetry is the first retry delay of a task's connector.
	taskRetry time.Duration
}

// Queue names.
const (
	QueueDefault = river.QueueDefault
	QueueEmail   = "email"
)

// New builds an engine and its River client (not started). Errors: a bad
// option or template.
func New(pool *pgxpool.Pool, o Options) (*Engine, error) {
	if o.Org == nil {
		return nil, errors.New("workflow: Org config is required")
	}
	r, err := notify.NewRenderer(templates.FS)
	if err != nil {
		return nil, err
	}
	e := &Engine{pool: pool, org: o.Org, baseURL: o.BaseURL, mailer: o.Mailer, clock: o.Clock, log: o.Logger,
		renderer: r, retry: o.RetryBase, idle: sessionIdleTimeout(o.SessionIdleTimeout), runners: o.Runners}
	e.jobs = newJobMetrics()
	if e.clock == nil {
		e.clock = SystemClock{}
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.retry == 0 {
		e.retry = 30 * time.Second
	}
	if e.taskRetry = o.TaskRetryBase; e.taskRetry <= 0 {
		e.taskRetry = time.Minute
	}
	secret := o.SecretKey
	if secret == nil {
		secret = NewSecretKey()
	}
	if len(secret) < MinSecretKeyBytes {
		return nil, fmt.Errorf("workflow: SecretKey must be at least %d bytes", MinSecretKeyBytes)
	}
	if e.sealKey, err = mailSealKey(secret); err != nil {
		return nil, fmt.Errorf("workflow: derive mail key: %w", err)
	}
	workers := o.Workers
	if workers == 0 {
		workers = 10
	}
	rw := river.NewWorkers()
	river.AddWorker(rw, &deliverWorker{e: e})
	river.AddWorker(rw, &verifyReminderWorker{e: e})
	river.AddWorker(rw, &verifyExpiryWorker{e: e})
	river.AddWorker(rw, &reminderWorker{e: e})
	river.AddWorker(rw, &sweepWorker{e: e})
	river.AddWorker(rw, &digestWorker{e: e})
	river.AddWorker(rw, &parseInboundWorker{e: e})
	river.AddWorker(rw, &sessionCleanupWorker{e: e})
	river.AddWorker(rw, &purgeWorker{e: e})
	river.AddWorker(rw, &eraseOwnRecordsWorker{e: e})
	river.AddWorker(rw, &buildExportWorker{e: e})
	river.AddWorker(rw, &reportFoldWorker{e: e})
	river.AddWorker(rw, &taskWorker{e: e})
	river.AddWorker(rw, &taskReminderWorker{e: e})
	e.river, err = river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues: map[string]river.QueueConfig{
			QueueDefault: {MaxWorkers: workers, FetchPollInterval: o.FetchPollInterval, FetchCooldown: cooldown(o.FetchPollInterval)},
			QueueEmail:   {MaxWorkers: workers, FetchPollInterval: o.FetchPollInterval, FetchCooldown: cooldown(o.FetchPollInterval)},
		},
		Workers:              rw,
		PeriodicJobs:         e.periodicJobs(),
		Logger:               e.log,
		SoftStopTimeout:      10 * time.Second,
		RescueStuckJobsAfter: rescueAfter(o.RescueAfter),
		JobTimeout:           jobTimeout(rescueAfter(o.RescueAfter)),
	})
	if err != nil {
		return nil, fmt.Errorf("workflow: river: %w", err)
	}
	return e, nil
}

// periodicJobs are run by the elected leader only: the reconciliation
// sweep every 15 minutes and at start, the officer digest daily at 08:00
// in the organisation's time zone, the session cleanup every 15 minutes.
func (e *Engine) periodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(SweepInterval),
			func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
			&river.PeriodicJobOpts{ID: "reconcile_deadlines", RunOnStart: true}),
		river.NewPeriodicJob(dailyAt{at: 8 * time.Hour, loc: e.org.Location()},
			func() (river.JobArgs, *river.InsertOpts) {
				return DigestArgs{Day: dsr.DateIn(e.now(), e.org.Location()).String()}, nil
			},
			&river.PeriodicJobOpts{ID: "officer_digest"}),
		sessionCleanupJob(),
		purgeJob(), // retention purge, hourly (purge.go)
		reportFoldJob(),
	}
}

// jobTimeout is 2 minutes, or less when RescueAfter is shorter (River
// requires the rescue delay to exceed the job timeout).
func jobTimeout(rescue time.Duration) time.Duration {
	if rescue <= 2*time.Minute {
		return rescue * 3 / 4
	}
	return 2 * time.Minute
}

func rescueAfter(d time.Duration) time.Duration {
	if d <= 0 {
		return 15 * time.Minute
	}
	return d
}

// fetchCooldown is the pause between River fetches of one queue. River's
// default (100 ms) caps a queue at MaxWorkers jobs per 100 ms, which made
// the outbox deliver at most 50 messages a second with 5 workers.
const fetchCooldown = 20 * time.Millisecond

// cooldown keeps River's fetch cooldown below a short poll interval.
func cooldown(poll time.Duration) time.Duration {
	if poll > 0 && poll < fetchCooldown {
		return poll / 2
	}
	return fetchCooldown
}

// River returns the engine's River client (for the job UI and tests).
func (e *Engine) River() *river.Client[pgx.Tx] { return e.river }

// Org returns the organisation config.
func (e *Engine) Org() *dsr.Config { return e.org }

// Start starts working jobs until ctx ends or Stop is called.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.syncReportTimeZone(ctx); err != nil { // before any request is written
		return err
	}
	e.jobs.watch(e.river)
	return e.river.Start(ctx)
}

// Stop stops fetching jobs and waits for running ones, up to ctx.
func (e *Engine) Stop(ctx context.Context) error { return e.river.Stop(ctx) }

// inTx runs fn in a transaction and commits when it returns nil. Jobs
// enqueued with e.enqueue during fn are inserted with one InsertManyTx in
// the same transaction just before the commit, so a change and its jobs
// commit together or not at all.
func (e *Engine) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		return dbErr("begin", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	jobs := &jobBatch{}
	if err := fn(withJobs(tx, jobs)); err != nil {
		return err
	}
	if len(jobs.params) > 0 {
		if _, err := e.river.InsertManyTx(ctx, tx, jobs.params); err != nil {
			return dsr.Internalf("insert jobs: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return dbErr("commit", err)
	}
	return nil
}

// withRequest runs fn in a transaction with the request locked (every
// change to a request takes its row lock first). Errors: ENOTFOUND, and
// whatever fn returns.
func (e *Engine) withRequest(ctx context.Context, id string, fn func(tx pgx.Tx, req *dsr.Request) error) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		req, err := db.GetRequest(ctx, tx, id, true)
		if err != nil {
			return err
		}
		return fn(tx, req)
	})
}

// dbErr classifies a transaction-level database error.
func dbErr(op string, err error) error {
	if db.Unreachable(err) {
		return dsr.Temporary(fmt.Errorf("%s: %w", op, err))
	}
	return dsr.Internalf("%s: %w", op, err)
}

// jobBatch collects the jobs of one transaction.
type jobBatch struct{ params []river.InsertManyParams }

// batchTx is a pgx.Tx that carries its job batch.
type batchTx struct {
	pgx.Tx
	jobs *jobBatch
}

func withJobs(tx pgx.Tx, jobs *jobBatch) pgx.Tx { return batchTx{Tx: tx, jobs: jobs} }

// enqueue adds a job to the transaction's batch (inserted at commit by
// inTx), or inserts it at once in a transaction not opened by inTx.
func (e *Engine) enqueue(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	if bt, ok := tx.(batchTx); ok {
		bt.jobs.params = append(bt.jobs.params, river.InsertManyParams{Args: args, InsertOpts: opts})
		return nil
	}
	_, err := e.river.InsertTx(ctx, tx, args, opts)
	return err
}

func (e *Engine) now() time.Time { return e.clock.Now().UTC().Truncate(time.Microsecond) }

func (e *Engine) link(path string) string { return e.baseURL + path }
