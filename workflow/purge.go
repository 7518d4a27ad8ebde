package workflow

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"golang.org/x/sync/errgroup"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// PurgeArgs runs the retention purge (issue #14 §1) as of the time the
// job runs.
type PurgeArgs struct{}

// Kind is the River job kind.
func (PurgeArgs) Kind() string { return "retention_purge" }

// InsertOpts: one purge per period, whichever client enqueues it.
func (PurgeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: PurgeInterval}}
}

// PurgeInterval is how often the leader runs the purge. The retention
// periods are days and months, so an hour late is no matter.
const PurgeInterval = time.Hour

// PurgeBatch is how many requests (or rows of a category) one purge
// statement batch handles, each batch its own transaction.
const PurgeBatch = 10000

// purgeJob is the periodic purge (River runs periodic jobs on the
// elected leader only).
func purgeJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(PurgeInterval),
		func() (river.JobArgs, *river.InsertOpts) { return PurgeArgs{}, nil },
		&river.PeriodicJobOpts{ID: "retention_purge"})
}

type purgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	e *Engine
}

// Timeout: a first purge of a large backlog takes minutes.
func (w *purgeWorker) Timeout(*river.Job[PurgeArgs]) time.Duration { return 30 * time.Minute }

func (w *purgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	_, err := w.e.Purge(ctx, w.e.now(), false)
	return err
}

// PurgeReport is what a purge did (or, dry, would do) as of AsOf.
type PurgeReport struct {
	AsOf    time.Time        `json:"as_of"`
	DryRun  bool             `json:"dry_run"`
	Cutoffs dsr.PurgeCutoffs `json:"cutoffs"`
	Counts  db.PurgeCounts   `json:"counts"`
}

// Purge applies the organisation's retention as of asOf: closed
// requests past their record period become their record form (batches
// of PurgeBatch, each locked with SKIP LOCKED, purged with set-based
// statements and a purged event each, in one transaction); then
// documents, export files, inbound emails, message bodies and ended
// tokens past their periods go, batch by batch; then closed console
// sessions. Requests on legal hold keep everything. dryRun counts what
// would go and changes nothing (sessions are not counted). A zero asOf
// is now. Errors: only database failures; what was done before one
// stays done.
func (e *Engine) Purge(ctx context.Context, asOf time.Time, dryRun bool) (PurgeReport, error) {
	if asOf.IsZero() {
		asOf = e.now()
	}
	cut := e.org.PurgeCutoffs(asOf)
	rep := PurgeReport{AsOf: cut.AsOf, DryRun: dryRun, Cutoffs: cut}
	c := &rep.Counts
	if dryRun {
		var err error
		if *c, err = db.CountPurgeableRequests(ctx, e.pool, cut.RequestsClosedBefore); err != nil {
			return rep, fmt.Errorf("purge: %w", err)
		}
		for _, p := range db.PurgeCategories {
			n, err := db.CountPurgeCategory(ctx, e.pool, p, cut)
			if err != nil {
				return rep, fmt.Errorf("purge: %w", err)
			}
			*categoryCount(c, p) += n
		}
		return rep, nil
	}
	if err := e.purgeRequests(ctx, cut, c); err != nil {
		return rep, fmt.Errorf("purge: %w", err)
	}
	for _, p := range db.PurgeCategories {
		for {
			n, err := db.PurgeCategoryBatch(ctx, e.pool, p, cut, PurgeBatch)
			if err != nil {
				return rep, fmt.Errorf("purge: %w", err)
			}
			*categoryCount(c, p) += n
			if n < PurgeBatch {
				break
			}
		}
	}
	var err error
	if c.Sessions, err = db.DeleteExpiredSessions(ctx, e.pool, e.now(), e.idle); err != nil {
		return rep, fmt.Errorf("purge: %w", err)
	}
	if c.HeldSkipped, err = db.CountHeldDue(ctx, e.pool, cut.RequestsClosedBefore); err != nil {
		return rep, fmt.Errorf("purge: %w", err)
	}
	if c.Requests > 0 || c.Documents > 0 || c.Exports > 0 || c.InboundEmails > 0 || c.MessageBodies > 0 {
		e.log.Info("retention purge", "requests", c.Requests, "documents", c.Documents, "exports", c.Exports,
			"inbound_emails", c.InboundEmails, "message_bodies", c.MessageBodies, "tokens", c.Tokens, "held", c.HeldSkipped)
	}
	return rep, nil
}

// categoryCount is the counter of category p in c.
func categoryCount(c *db.PurgeCounts, p db.PurgeCategory) *int64 {
	switch p {
	case db.PurgeDocuments:
		return &c.Documents
	case db.PurgeExports:
		return &c.Exports
	case db.PurgeTaskResults:
		return &c.TaskResults
	case db.PurgeInbound:
		return &c.InboundEmails
	case db.PurgeMessageBodies:
		return &c.MessageBodies
	default:
		return &c.Tokens
	}
}

// PurgeWorkers is how many batches of requests a purge turns into their
// record form at once, each in its own transaction on its own
// connection: the work is one backend's CPU per batch, and two at once
// did 1.5 times the requests per second of one on two cores.
const PurgeWorkers = 2

// purgeRequests turns every request due under cut into its record form,
// PurgeWorkers batches at once (SKIP LOCKED keeps them apart), adding
// what it did to c. Requesters and agents a batch kept for a request of
// another batch running beside it are anonymised at the end, once no
// unpurged request names them. Errors: the first database failure (the
// other batches stop; what was committed stays done).
func (e *Engine) purgeRequests(ctx context.Context, cut dsr.PurgeCutoffs, c *db.PurgeCounts) error {
	var (
		mu    sync.Mutex
		inUse db.PeopleInUse
	)
	data := map[string]string{"as_of": dsr.DateIn(cut.AsOf, e.org.Location()).String()}
	g, gctx := errgroup.WithContext(ctx)
	for range PurgeWorkers {
		g.Go(func() error {
			for {
				var (
					n    int
					got  db.PurgeCounts
					kept db.PeopleInUse
				)
				err := e.inTx(gctx, func(tx pgx.Tx) error {
					ids, err := db.LockPurgeableRequests(gctx, tx, cut.RequestsClosedBefore, PurgeBatch)
					if err != nil || len(ids) == 0 {
						return err
					}
					n = len(ids)
					got, kept, err = e.purgeRequestsTx(gctx, tx, ids, data)
					return err
				})
				if err != nil {
					return err
				}
				mu.Lock()
				c.Add(got)
				inUse.Add(kept)
				mu.Unlock()
				if n < PurgeBatch {
					return nil
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	requesters, agents, err := db.DeleteUnusedPeople(ctx, e.pool, inUse)
	c.Requesters += requesters
	c.Agents += agents
	return err
}

// purgeRequestsTx purges the locked requests ids to their record form
// and appends a purged event (with data) to each chain. It returns the
// counts and the people kept for requests not yet purged.
func (e *Engine) purgeRequestsTx(ctx context.Context, tx pgx.Tx, ids []string, data map[string]string) (db.PurgeCounts, db.PeopleInUse, error) {
	now := e.now()
	c, inUse, err := db.PurgeRequests(ctx, tx, ids, now)
	if err != nil {
		return c, inUse, err
	}
	evs := make(map[string]dsr.Event, len(ids))
	for _, id := range ids {
		evs[id] = dsr.Event{At: now, Actor: dsr.ActorSystem, Type: string(dsr.EventPurged), Data: data}
	}
	return c, inUse, db.AppendEvents(ctx, tx, evs)
}

// EraseOwnRecordsArgs purges, after an erasure request completed, the
// same requester's other closed requests to their record form
// (dsr.Retention.EraseOwnRecordsOnErasure). Inserted with the
// completion, in its transaction.
type EraseOwnRecordsArgs struct {
	RequestID string `json:"request_id"`
}

// Kind is the River job kind.
func (EraseOwnRecordsArgs) Kind() string { return "erase_own_records" }

// InsertOpts: retried like any job; the work is idempotent.
func (EraseOwnRecordsArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 10} }

type eraseOwnRecordsWorker struct {
	river.WorkerDefaults[EraseOwnRecordsArgs]
	e *Engine
}

func (w *eraseOwnRecordsWorker) Work(ctx context.Context, j *river.Job[EraseOwnRecordsArgs]) error {
	_, err := w.e.EraseOwnRecords(ctx, j.Args.RequestID)
	return err
}

// EraseOwnRecords purges to their record form the other closed requests
// (not on legal hold) of the requester of the completed erasure request
// requestID, in one transaction, and records on the erasure request how
// many it purged. It does nothing when the request is not a completed
// erasure. It returns how many requests it purged. Errors: ENOTFOUND.
func (e *Engine) EraseOwnRecords(ctx context.Context, requestID string) (int, error) {
	var n int
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		req, _, err := db.LockRequest(ctx, tx, requestID)
		if err != nil {
			return err
		}
		if req.Kind != dsr.KindErasure || req.Status != dsr.StatusCompleted {
			return nil
		}
		ids, err := db.LockOwnEarlierRequests(ctx, tx, requestID)
		if err != nil || len(ids) == 0 {
			return err
		}
		n = len(ids)
		// The people kept here are named by requests not purged: this
		// transaction holds every closed request of the requester.
		if _, _, err := e.purgeRequestsTx(ctx, tx, ids, map[string]string{"erasure": fmt.Sprint(req.Ref)}); err != nil {
			return err
		}
		return db.AppendEvent(ctx, tx, requestID, dsr.Event{At: e.now(), Actor: dsr.ActorSystem,
			Type: string(dsr.EventOwnRecordsErased), Data: map[string]string{"requests": fmt.Sprint(n)}})
	})
	return n, err
}

// PlaceLegalHold puts the request on legal hold with the officer's
// reason: nothing of it is purged until the hold is released. Errors:
// EINVALID (no reason), ENOTFOUND, ECONFLICT (already held, or purged).
func (e *Engine) PlaceLegalHold(ctx context.Context, requestID, actor, reason string) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		req, head, err := db.LockRequest(ctx, tx, requestID)
		if err != nil {
			return err
		}
		hold, purged, err := db.LegalHoldOf(ctx, tx, requestID)
		if err != nil {
			return err
		}
		now := e.now()
		c, h, err := dsr.PlanLegalHold(hold, purged, actor, reason, now)
		if err != nil {
			return err
		}
		if err := db.SetLegalHold(ctx, tx, requestID, &h); err != nil {
			return err
		}
		_, err = e.apply(ctx, tx, req, head, c, now)
		return err
	})
}

// ReleaseLegalHold ends the request's legal hold; the retention periods
// apply again. Errors: ENOTFOUND, ECONFLICT (not held).
func (e *Engine) ReleaseLegalHold(ctx context.Context, requestID, actor string) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		req, head, err := db.LockRequest(ctx, tx, requestID)
		if err != nil {
			return err
		}
		hold, _, err := db.LegalHoldOf(ctx, tx, requestID)
		if err != nil {
			return err
		}
		now := e.now()
		c, err := dsr.PlanReleaseHold(hold, actor, now)
		if err != nil {
			return err
		}
		if err := db.SetLegalHold(ctx, tx, requestID, nil); err != nil {
			return err
		}
		_, err = e.apply(ctx, tx, req, head, c, now)
		return err
	})
}

// Retention is a request's retention state for its page.
type Retention struct {
	Hold   *dsr.LegalHold // nil when not held
	Purged bool           // the request is its record form
}

// RequestRetention returns the request's legal hold and whether it was
// purged. Errors: ENOTFOUND.
func (e *Engine) RequestRetention(ctx context.Context, requestID string) (Retention, error) {
	h, purged, err := db.LegalHoldOf(ctx, e.pool, requestID)
	return Retention{Hold: h, Purged: purged}, err
}
