package db

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
)

// StatementCounter counts the SQL statements a connection sends and the
// round trips they take, as pgx reports them: a Query, QueryRow or Exec is
// one statement in one round trip; a pgx.Batch is one round trip carrying
// each of its statements. Transaction control counts too (pgx sends BEGIN
// and COMMIT as statements). It cannot see protocol traffic pgx does not
// trace: preparing a statement the connection has not cached yet costs an
// extra round trip on that connection's first use of it.
//
// Set it as pgx.ConnConfig.Tracer (pgxpool.Config.ConnConfig.Tracer); it is
// safe for concurrent use, and Reset starts a new count.
type StatementCounter struct {
	mu         sync.Mutex
	statements int
	roundTrips int
	sql        []string
}

var (
	_ pgx.QueryTracer = (*StatementCounter)(nil)
	_ pgx.BatchTracer = (*StatementCounter)(nil)
)

// Statements returns the number of statements counted since the last Reset.
func (c *StatementCounter) Statements() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statements
}

// RoundTrips returns the number of round trips counted since the last Reset.
func (c *StatementCounter) RoundTrips() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.roundTrips
}

// SQL returns the statements counted since the last Reset, in order, as
// pgx sent them (parameters are not included).
func (c *StatementCounter) SQL() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sql...)
}

// Reset sets both counts to zero.
func (c *StatementCounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statements, c.roundTrips, c.sql = 0, 0, nil
}

// TraceQueryStart counts one statement in its own round trip.
func (c *StatementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statements++
	c.roundTrips++
	c.sql = append(c.sql, data.SQL)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (c *StatementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart counts the round trip of a batch.
func (c *StatementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.roundTrips++
	return ctx
}

// TraceBatchQuery counts one statement of a batch.
func (c *StatementCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statements++
	c.sql = append(c.sql, data.SQL)
}

// TraceBatchEnd implements pgx.BatchTracer.
func (c *StatementCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
