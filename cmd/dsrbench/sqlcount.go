package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// statementCounter is a pgx QueryTracer, BatchTracer and CopyFromTracer
// that counts the SQL statements a pool runs and the round trips they
// take: each Exec, Query, QueryRow or CopyFrom is one statement in one
// round trip, a batch is one round trip for all its statements. BEGIN and
// COMMIT are counted apart (they are round trips too). Implicit prepares
// of the statement cache are not counted: the first of two submissions
// warms it.
type statementCounter struct {
	mu                    sync.Mutex
	statements, txControl int
	roundTrips            int
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.roundTrips++
	switch strings.ToLower(strings.TrimSpace(d.SQL)) {
	case "begin", "commit", "rollback":
		c.txControl++
	default:
		c.statements++
	}
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *statementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.mu.Lock()
	c.roundTrips++
	c.mu.Unlock()
	return ctx
}

func (c *statementCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.mu.Lock()
	c.statements++
	c.mu.Unlock()
}

func (c *statementCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (c *statementCounter) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	c.mu.Lock()
	c.statements++
	c.roundTrips++
	c.mu.Unlock()
	return ctx
}

func (c *statementCounter) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// take returns the counts so far and starts again from zero.
func (c *statementCounter) take() (statements, txControl, roundTrips int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	statements, txControl, roundTrips = c.statements, c.txControl, c.roundTrips
	c.statements, c.txControl, c.roundTrips = 0, 0, 0
	return
}

// benchPermission is a minimal PDF: an agent's signed permission.
var benchPermission = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// intakeStatements submits one request of each kind of intake to an
// in-process engine (not started: no worker shares its pool) on the
// benchmark database and reports the SQL statements and round trips each
// took, as a pgx tracer sees them.
func (b *bench) intakeStatements(ctx context.Context) error {
	cfg, err := pgxpool.ParseConfig(b.dbURL)
	if err != nil {
		return err
	}
	counter := &statementCounter{}
	cfg.ConnConfig.Tracer = counter
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	org, err := dsr.ParseConfig(strings.NewReader(benchConfig))
	if err != nil {
		return err
	}
	key, err := workflow.ParseSecretKey(b.secretKey) // the replicas deliver what it records
	if err != nil {
		return err
	}
	e, err := workflow.New(pool, workflow.Options{Org: org, BaseURL: b.baseURL, SecretKey: key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	cases := []struct {
		name string
		s    func(n int64) dsr.Submission
	}{
		{"GDPR access", func(n int64) dsr.Submission {
			return dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelAPI,
				Subject: dsr.Person{Email: fmt.Sprintf("sql%d@example.com", n), Name: "Bench", Country: "NL"}}
		}},
		{"CCPA access", func(n int64) dsr.Submission {
			return dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelAPI,
				Subject: dsr.Person{Email: fmt.Sprintf("sql%d@example.com", n), Name: "Bench", Country: "US", State: "CA"}}
		}},
		{"CCPA agent request", func(n int64) dsr.Submission {
			return dsr.Submission{Kind: dsr.KindAccess, Channel: dsr.ChannelAPI,
				Subject: dsr.Person{Email: fmt.Sprintf("sql%d@example.com", n), Name: "Bench", Country: "US", State: "CA"},
				Agent: &dsr.Agent{Name: "Agent Co", Email: fmt.Sprintf("agent%d@example.org", n),
					Permission: &dsr.File{Filename: "permission.pdf", Content: benchPermission}}}
		}},
		{"CCPA opt-out", func(n int64) dsr.Submission {
			return dsr.Submission{Kind: dsr.KindOptOut, Channel: dsr.ChannelAPI, Fields: map[string]string{"opt_out_of": "sale"},
				Subject: dsr.Person{Email: fmt.Sprintf("sql%d@example.com", n), Name: "Bench", Country: "US", State: "CA"}}
		}},
	}
	for _, c := range cases {
		// The first submission warms the pool and its statement cache; the
		// second is counted.
		for round := range 2 {
			counter.take()
			if _, err := e.Submit(ctx, c.s(seq.Add(1)), ""); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			if round == 1 {
				st, tc, rt := counter.take()
				b.add("intake SQL statements / round trips: "+c.name,
					fmt.Sprintf("%d statements (+%d BEGIN/COMMIT) in %d round trips", st, tc, rt), "≤ 8 statements in ≤ 3 round trips")
			}
		}
	}
	return nil
}
