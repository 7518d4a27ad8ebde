package connector

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// maxConns keeps the pool small: a task runs a few statements, and the
// system's database belongs to someone else.
const maxConns = 2

// NewPostgres returns the runner of a postgres system whose database is at
// dsn (a pgx connection string or URL). It does not connect until the
// first Run. Errors: EINVALID for a bad connector config (naming the
// field) or a DSN that does not parse (the DSN itself is not quoted: it
// may hold a password).
func NewPostgres(sys dsr.System, dsn string) (*SQLRunner, error) {
	r, err := newRunner(sys, dialectPG)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, dsr.InvalidField("systems."+sys.Name+".dsn", "is not a PostgreSQL connection string")
	}
	cfg.MaxConns = maxConns
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = 5 * time.Minute
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("system %s: %w", sys.Name, err)
	}
	r.db = &pgBackend{pool: pool}
	return r, nil
}

type pgBackend struct{ pool *pgxpool.Pool }

func (b *pgBackend) close() { b.pool.Close() }

// begin opens a transaction with the statement timeout set for its
// statements only (SET LOCAL, through set_config so the value is bound).
func (b *pgBackend) begin(ctx context.Context, mode pgx.TxAccessMode, timeout time.Duration) (pgx.Tx, error) {
	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: mode})
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	ms := strconv.FormatInt(timeout.Milliseconds(), 10)
	if _, err := tx.Exec(ctx, "SELECT set_config('statement_timeout', $1, true)", ms); err != nil {
		_ = tx.Rollback(ctx)
		return nil, fmt.Errorf("set statement_timeout: %w", err)
	}
	return tx, nil
}

func (b *pgBackend) read(ctx context.Context, qs []query, args func(statement) []any, limit int, timeout time.Duration) ([]dsr.Section, error) {
	tx, err := b.begin(ctx, pgx.ReadOnly, timeout)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only: nothing to keep
	secs := make([]dsr.Section, 0, len(qs))
	for _, q := range qs {
		s, err := pgSection(ctx, tx, q, args(q.stmt), limit, timeout)
		if err != nil {
			return nil, err
		}
		secs = append(secs, s)
	}
	return secs, nil
}

// pgSection runs one access query. The context deadline is a backstop a
// little past the server's statement_timeout, for a server that ignores it.
func pgSection(ctx context.Context, tx pgx.Tx, q query, args []any, limit int, timeout time.Duration) (dsr.Section, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	rows, err := tx.Query(ctx, q.stmt.Text, args...)
	if err != nil {
		return dsr.Section{}, stmtError("access", q, args, err, timeout)
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	s := dsr.Section{Name: q.section, Columns: make([]string, len(fds)), Rows: []map[string]any{}}
	for i, fd := range fds {
		s.Columns[i] = fd.Name
	}
	for rows.Next() {
		if len(s.Rows) == limit {
			return dsr.Section{}, rowLimitError(q, limit)
		}
		vals, err := rows.Values()
		if err != nil {
			return dsr.Section{}, stmtError("access", q, args, err, timeout)
		}
		row := make(map[string]any, len(vals))
		for i, v := range vals {
			row[s.Columns[i]] = jsonValue(v, fds[i].DataTypeOID == pgtype.DateOID)
		}
		s.Rows = append(s.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return dsr.Section{}, stmtError("access", q, args, err, timeout)
	}
	return s, nil
}

func (b *pgBackend) write(ctx context.Context, qs []query, args func(statement) []any, commit bool, timeout time.Duration) ([]dsr.Affected, error) {
	tx, err := b.begin(ctx, pgx.ReadWrite, timeout)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit; the dry run's undo
	aff := make([]dsr.Affected, 0, len(qs))
	for _, q := range qs {
		n, err := pgExec(ctx, tx, q, args(q.stmt), timeout)
		if err != nil {
			return nil, err
		}
		aff = append(aff, dsr.Affected{Statement: q.index, Rows: n})
	}
	if !commit {
		if err := tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
			return nil, fmt.Errorf("roll back the dry run: %w", err)
		}
		return aff, nil
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return aff, nil
}

func pgExec(ctx context.Context, tx pgx.Tx, q query, args []any, timeout time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	tag, err := tx.Exec(ctx, q.stmt.Text, args...)
	if err != nil {
		return 0, stmtError("write", q, args, err, timeout)
	}
	return tag.RowsAffected(), nil
}
