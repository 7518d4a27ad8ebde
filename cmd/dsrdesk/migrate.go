package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/db"
)

// migrate creates the database when missing and applies River's and our
// migrations.
func migrate(ctx context.Context, stdout io.Writer) error {
	pool, applied, err := openMigrated(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "migrate: database is up to date")
		return nil
	}
	fmt.Fprintf(stdout, "migrate: applied %s\n", strings.Join(applied, ", "))
	return nil
}

// openMigrated opens DATABASE_URL (creating the database when missing) and
// applies the migrations; it returns what it applied. The caller closes
// the pool.
func openMigrated(ctx context.Context) (*pgxpool.Pool, []string, error) {
	pool, err := db.Open(ctx, getenv("DATABASE_URL", db.DefaultURL))
	if err != nil {
		return nil, nil, err
	}
	applied, err := db.Migrate(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return pool, applied, nil
}
