package connector_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/db/connector"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
)

const pgSchema = `
CREATE TABLE customers (
	id int PRIMARY KEY, email text NOT NULL, name text, plan text, joined date,
	balance numeric(10,2), avatar bytea, email_hash text);
CREATE TABLE orders (
	id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id), item text, total numeric(10,2));`

// newPostgresCustomers gives t a fresh PostgreSQL database (dbtest) with
// the customer schema beside DSR Desk's own tables.
func newPostgresCustomers(t *testing.T) customerDB {
	dsn := dbtest.New(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	c := customerDB{
		dialect: "postgres",
		exec: func(t *testing.T, sql string) {
			t.Helper()
			if _, err := pool.Exec(context.Background(), sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		},
		count: func(t *testing.T, sql string) int {
			t.Helper()
			var n int
			if err := pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
			return n
		},
		open: func(t *testing.T, sys dsr.System) *connector.SQLRunner {
			t.Helper()
			r, err := connector.NewPostgres(sys, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.Close)
			return r
		},
		sleep: func(s string) string { return "pg_sleep(" + s + ")::text" },
	}
	c.exec(t, pgSchema)
	return c
}

func TestPostgresConnector(t *testing.T) {
	runCustomerSuite(t, newPostgresCustomers)
}
