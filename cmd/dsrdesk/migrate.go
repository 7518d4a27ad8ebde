package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/dsrdesk/dsrdesk/db"
)

// migrate creates the database when missing and applies River's and our
// migrations.
func migrate(ctx context.Context, stdout io.Writer) error {
	pool, err := db.Open(ctx, getenv("DATABASE_URL", db.DefaultURL))
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := db.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "migrate: database is up to date")
		return nil
	}
	fmt.Fprintf(stdout, "migrate: applied %s\n", strings.Join(applied, ", "))
	return nil
}
