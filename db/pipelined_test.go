package db_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
)

// heldPool is a pool on a fresh database with a table for the held
// statements and a statement counter.
func heldPool(t *testing.T) (*pgxpool.Pool, *db.StatementCounter) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dbtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	counter := &db.StatementCounter{}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(context.Background(), `CREATE TABLE held_t (n int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	return pool, counter
}

func heldInsert(n int, ran *bool) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO held_t VALUES ($1)`, n).Exec(func(pgconn.CommandTag) error { *ran = true; return nil })
	return b
}

func heldCount(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM held_t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// BEGIN and the held statements travel with the transaction's first
// query (as River's job insert does in intake): one round trip, the
// query sees them, their callbacks run before its rows are read, and
// COMMIT keeps them.
func TestBeginHeldSendsWithTheFirstQuery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, counter := heldPool(t)
	counter.Reset()
	var ran bool
	tx, err := db.BeginHeld(ctx, pool, heldInsert(1, &ran))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if counter.RoundTrips() != 0 || ran {
		t.Fatalf("BeginHeld sent something: %d round trips, callback ran %v", counter.RoundTrips(), ran)
	}
	rows, err := tx.Query(ctx, `SELECT count(*) FROM held_t`)
	if err != nil {
		t.Fatal(err)
	}
	if !ran {
		t.Error("the held statement's callback had not run when the query's rows came")
	}
	n, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[int])
	if err != nil || n != 1 {
		t.Fatalf("query after the held insert: %d, %v; want 1", n, err)
	}
	if trips, stmts := counter.RoundTrips(), counter.Statements(); trips != 1 || stmts != 3 {
		t.Errorf("%d statements in %d round trips, want BEGIN, INSERT and SELECT in 1:\n%v", stmts, trips, counter.SQL())
	}
	if err := tx.Flush(ctx); err != nil || counter.RoundTrips() != 1 {
		t.Errorf("Flush after the held statements went: %v, %d round trips", err, counter.RoundTrips())
	}
	if err := tx.CommitWith(ctx, heldInsert(2, new(bool))); err != nil {
		t.Fatal(err)
	}
	if got := heldCount(t, pool); got != 2 {
		t.Errorf("%d rows after commit, want 2", got)
	}
}

// A held statement that fails fails the query that travelled with it;
// HeldErr names the cause, the transaction is over and keeps nothing, and
// its connection is back in the pool.
func TestBeginHeldFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := heldPool(t)
	if _, err := pool.Exec(ctx, `INSERT INTO held_t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	b := heldInsert(2, new(bool))
	b.QueuedQueries = append(b.QueuedQueries, heldInsert(1, new(bool)).QueuedQueries...) // a duplicate key
	tx, err := db.BeginHeld(ctx, pool, b)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Query(ctx, `SELECT count(*) FROM held_t`); err == nil {
		t.Fatal("query after a failing held statement succeeded")
	}
	if tx.HeldErr() == nil {
		t.Fatal("HeldErr is nil after the held statements failed")
	}
	if err := tx.Flush(ctx); err != tx.HeldErr() {
		t.Errorf("Flush: %v, want the held error %v", err, tx.HeldErr())
	}
	if err := tx.CommitWith(ctx, heldInsert(3, new(bool))); err == nil {
		t.Error("commit after a failing held statement succeeded")
	}
	if n := pool.Stat().AcquiredConns(); n != 0 {
		t.Errorf("%d connections still acquired", n)
	}
	if got := heldCount(t, pool); got != 1 {
		t.Errorf("%d rows, want the 1 from before the transaction", got)
	}
}

// Flush sends the held statements alone (intake without jobs), and a
// transaction rolled back before anything was sent costs no round trip.
func TestBeginHeldFlushAndRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, counter := heldPool(t)
	counter.Reset()
	var ran bool
	tx, err := db.BeginHeld(ctx, pool, heldInsert(1, &ran))
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if counter.RoundTrips() != 0 || ran || pool.Stat().AcquiredConns() != 0 {
		t.Errorf("rollback of an unsent transaction: %d round trips, callback ran %v, %d connections acquired",
			counter.RoundTrips(), ran, pool.Stat().AcquiredConns())
	}
	tx, err = db.BeginHeld(ctx, pool, heldInsert(2, &ran))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if err := tx.Flush(ctx); err != nil || !ran || counter.RoundTrips() != 1 {
		t.Fatalf("Flush: %v, callback ran %v, %d round trips", err, ran, counter.RoundTrips())
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := heldCount(t, pool); got != 0 {
		t.Errorf("%d rows after rollback, want 0", got)
	}
}

// A query with options a batch cannot carry (an exec mode) sends the held
// statements first and then runs on its own: two round trips, same result.
func TestBeginHeldQueryWithOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, counter := heldPool(t)
	counter.Reset()
	var ran bool
	tx, err := db.BeginHeld(ctx, pool, heldInsert(1, &ran))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	rows, err := tx.Query(ctx, `SELECT count(*) FROM held_t`, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatal(err)
	}
	n, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[int])
	if err != nil || n != 1 || !ran {
		t.Fatalf("query with an exec mode: %d, %v, callback ran %v; want 1", n, err, ran)
	}
	if trips := counter.RoundTrips(); trips != 2 {
		t.Errorf("%d round trips, want 2 (the held statements, then the query)", trips)
	}
}
