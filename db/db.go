// Package db holds the PostgreSQL side of DSR Desk: the pgx pool, the
// embedded numbered migrations (applied together with River's) and the
// queries.
package db

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/dsrdesk/dsrdesk/dsr"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DefaultURL is used when DATABASE_URL is not set.
const DefaultURL = "postgres://localhost:5432/dsrdesk?sslmode=disable"

// Open connects to the database at url, creating the database first when
// it does not exist. The caller closes the pool.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("db: DATABASE_URL: %w", err)
	}
	if err := ensureDatabase(ctx, cfg.ConnConfig); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("db: %w", err)
	}
	return pool, nil
}

// ensureDatabase creates cfg's database when connecting to it fails with
// "database does not exist" (SQLSTATE 3D000).
func ensureDatabase(ctx context.Context, cfg *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
		return fmt.Errorf("db: connect to %s: %w", redact(cfg), err)
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	aconn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("db: database %q does not exist and the server's postgres database is unreachable: %w", cfg.Database, err)
	}
	defer aconn.Close(ctx)
	_, err = aconn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	if err != nil && !isDuplicateDatabase(err) {
		return fmt.Errorf("db: create database %q: %w", cfg.Database, err)
	}
	slog.Info("created database", "database", cfg.Database)
	return nil
}

// InvalidInput reports whether err is PostgreSQL refusing a value as
// input, any "data exception" (SQLSTATE class 22): a NUL byte or broken
// UTF-8 in text (22021), text that is no valid value of its type such as a
// non-UUID id (22P02) or a bad date (22007), a value out of range. Callers
// validate first; this is the safety net that keeps such input a client
// error rather than an internal one — and out of the logs, since
// PostgreSQL's messages for these quote the value.
func InvalidInput(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22")
}

// errInvalidInput is what wrap makes of an InvalidInput error. Its cause
// is kept for errors.As, but the message quotes nothing: PostgreSQL's own
// message for 22P02 quotes the offending value.
func errInvalidInput(op string, err error) error {
	return &dsr.Error{Code: dsr.EINVALID, Message: "Some input is not valid text or not a valid id.",
		Err: &invalidInputError{op: op, err: err}}
}

type invalidInputError struct {
	op  string
	err error
}

func (e *invalidInputError) Error() string {
	var pgErr *pgconn.PgError
	if errors.As(e.err, &pgErr) {
		return "db: " + e.op + ": invalid input (SQLSTATE " + pgErr.Code + ")"
	}
	return "db: " + e.op + ": invalid input"
}

func (e *invalidInputError) Unwrap() error { return e.err }

func isDuplicateDatabase(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42P04"
}

func redact(cfg *pgx.ConnConfig) string {
	u := url.URL{Scheme: "postgres", Host: fmt.Sprintf("%s:%d", cfg.Host, cfg.Port), Path: "/" + cfg.Database}
	return u.String()
}

// Migration is one embedded numbered .sql file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		var v int
		if _, err := fmt.Sscanf(e.Name(), "%03d_", &v); err != nil {
			return nil, fmt.Errorf("db: migration %s: name must start with a number", e.Name())
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: strings.TrimSuffix(e.Name(), ".sql"), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// migrateLock is the advisory lock key that serialises migrations between
// processes starting at once.
const migrateLock = 0x6473726465736b // "dsrdesk"

// Migrate applies River's migrations and then every embedded migration not
// yet recorded in schema_migrations, each in its own transaction. It
// returns the names of what it applied.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return nil, fmt.Errorf("db: migrate lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLock) //nolint:errcheck

	var applied []string
	rm, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return nil, fmt.Errorf("db: river migrate: %w", err)
	}
	res, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("db: river migrate: %w", err)
	}
	for _, v := range res.Versions {
		applied = append(applied, fmt.Sprintf("river_%03d", v.Version))
	}
	own, err := migrateOwn(ctx, conn.Conn())
	return append(applied, own...), err
}

func migrateOwn(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	_, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
	if err != nil {
		return nil, fmt.Errorf("db: migrate: %w", err)
	}
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range ms {
		ok, err := applyOne(ctx, conn, m)
		if err != nil {
			return applied, err
		}
		if ok {
			applied = append(applied, m.Name)
		}
	}
	return applied, nil
}

func applyOne(ctx context.Context, conn *pgx.Conn, m Migration) (bool, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	var done bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", m.Version).Scan(&done); err != nil {
		return false, err
	}
	if done {
		return false, nil
	}
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("db: migration %s: %w", m.Name, err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}
