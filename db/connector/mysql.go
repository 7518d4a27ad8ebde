package connector

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// NewMySQL returns the runner of a mysql system (MySQL or MariaDB) whose
// database is at dsn (go-sql-driver form: user:pass@tcp(host:3306)/db).
// The driver is set to bind parameters on the server (no client-side
// interpolation), to refuse several statements in one string, to parse
// DATE/DATETIME into times, and to count matched rather than changed rows
// (so an UPDATE that writes the same value still counts). It does not
// connect until the first Run. Errors: EINVALID for a bad connector config
// (naming the field) or a DSN that does not parse (not quoted: it may hold
// a password).
func NewMySQL(sys dsr.System, dsn string) (*SQLRunner, error) {
	r, err := newRunner(sys, dialectMySQL)
	if err != nil {
		return nil, err
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, dsr.InvalidField("systems."+sys.Name+".dsn", "is not a MySQL DSN (user:password@tcp(host:3306)/database)")
	}
	cfg.InterpolateParams = false
	cfg.MultiStatements = false
	cfg.ParseTime = true
	cfg.ClientFoundRows = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("system %s: %w", sys.Name, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	r.db = &myBackend{db: db}
	return r, nil
}

type myBackend struct {
	db *sql.DB

	mu      sync.Mutex
	known   bool // mariaDB has been asked
	mariaDB bool
}

// isMariaDB asks the server once which of the two it is (they name the
// statement timeout differently); a failed ask is repeated next time.
func (b *myBackend) isMariaDB(ctx context.Context, conn *sql.Conn) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.known {
		var v string
		if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
			return false, err
		}
		b.known, b.mariaDB = true, strings.Contains(strings.ToLower(v), "mariadb")
	}
	return b.mariaDB, nil
}

func (b *myBackend) close() { _ = b.db.Close() }

// session takes one connection and sets its server-side statement
// timeout: MariaDB's max_statement_time (seconds, every statement) or
// MySQL's max_execution_time (milliseconds, SELECT only; writes rely on
// the context deadline, which closes the connection).
func (b *myBackend) session(ctx context.Context, timeout time.Duration) (*sql.Conn, error) {
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	maria, err := b.isMariaDB(ctx, conn)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("server version: %w", err)
	}
	// The value is our own duration, formatted as a number, not input.
	set := "SET SESSION max_execution_time = " + strconv.FormatInt(timeout.Milliseconds(), 10)
	if maria {
		set = "SET SESSION max_statement_time = " + strconv.FormatFloat(timeout.Seconds(), 'f', 3, 64)
	}
	if _, err := conn.ExecContext(ctx, set); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("set the statement timeout: %w", err)
	}
	return conn, nil
}

func (b *myBackend) read(ctx context.Context, qs []query, args func(statement) []any, limit int, timeout time.Duration) ([]dsr.Section, error) {
	conn, err := b.session(ctx, timeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // START TRANSACTION READ ONLY
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	secs := make([]dsr.Section, 0, len(qs))
	for _, q := range qs {
		s, err := mySection(ctx, tx, q, args(q.stmt), limit, timeout)
		if err != nil {
			return nil, err
		}
		secs = append(secs, s)
	}
	return secs, nil
}

func mySection(ctx context.Context, tx *sql.Tx, q query, args []any, limit int, timeout time.Duration) (dsr.Section, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	rows, err := tx.QueryContext(ctx, q.stmt.Text, args...)
	if err != nil {
		return dsr.Section{}, stmtError("access", q, args, err, timeout)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return dsr.Section{}, stmtError("access", q, args, err, timeout)
	}
	s := dsr.Section{Name: q.section, Columns: make([]string, len(cts)), Rows: []map[string]any{}}
	vals := make([]any, len(cts))
	ptrs := make([]any, len(cts))
	for i, ct := range cts {
		s.Columns[i] = ct.Name()
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if len(s.Rows) == limit {
			return dsr.Section{}, rowLimitError(q, limit)
		}
		if err := rows.Scan(ptrs...); err != nil {
			return dsr.Section{}, stmtError("access", q, args, err, timeout)
		}
		row := make(map[string]any, len(vals))
		for i, v := range vals {
			row[s.Columns[i]] = myValue(cts[i].DatabaseTypeName(), v)
		}
		s.Rows = append(s.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return dsr.Section{}, stmtError("access", q, args, err, timeout)
	}
	return s, nil
}

// myValue converts a MySQL value. The text protocol (a query without
// parameters) returns every column as bytes; the column type says which
// of them are numbers.
func myValue(typ string, v any) any {
	if b, ok := v.([]byte); ok {
		switch typ {
		case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT", "YEAR":
			if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
				return n
			}
		case "UNSIGNED TINYINT", "UNSIGNED SMALLINT", "UNSIGNED MEDIUMINT", "UNSIGNED INT", "UNSIGNED BIGINT":
			if n, err := strconv.ParseUint(string(b), 10, 64); err == nil {
				return n
			}
		case "FLOAT", "DOUBLE":
			if f, err := strconv.ParseFloat(string(b), 64); err == nil {
				return floatValue(f)
			}
		}
	}
	return jsonValue(v, typ == "DATE")
}

func (b *myBackend) write(ctx context.Context, qs []query, args func(statement) []any, commit bool, timeout time.Duration) ([]dsr.Affected, error) {
	conn, err := b.session(ctx, timeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit; the dry run's undo
	aff := make([]dsr.Affected, 0, len(qs))
	for _, q := range qs {
		n, err := myExec(ctx, tx, q, args(q.stmt), timeout)
		if err != nil {
			return nil, err
		}
		aff = append(aff, dsr.Affected{Statement: q.index, Rows: n})
	}
	if !commit {
		if err := tx.Rollback(); err != nil {
			return nil, fmt.Errorf("roll back the dry run: %w", err)
		}
		return aff, nil
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return aff, nil
}

func myExec(ctx context.Context, tx *sql.Tx, q query, args []any, timeout time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	res, err := tx.ExecContext(ctx, q.stmt.Text, args...)
	if err != nil {
		return 0, stmtError("write", q, args, err, timeout)
	}
	return res.RowsAffected()
}
