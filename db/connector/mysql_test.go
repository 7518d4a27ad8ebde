package connector_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dsrdesk/dsrdesk/db/connector"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// defaultMySQLDSN is the machine's MariaDB (CI starts it in .ci/run).
const defaultMySQLDSN = "root@tcp(127.0.0.1:3306)/test?parseTime=true"

var mySchema = []string{
	`CREATE TABLE customers (
		id INT PRIMARY KEY, email VARCHAR(255) NOT NULL, name VARCHAR(255), plan VARCHAR(32), joined DATE,
		balance DECIMAL(10,2), avatar BLOB, email_hash CHAR(64)) ENGINE=InnoDB`,
	`CREATE TABLE orders (
		id INT PRIMARY KEY, customer_id INT NOT NULL, item VARCHAR(255), total DECIMAL(10,2),
		FOREIGN KEY (customer_id) REFERENCES customers (id)) ENGINE=InnoDB`,
}

// newMySQLCustomers creates a uniquely named database with the customer
// schema, dropped when t ends. Without a reachable server the test is
// skipped only when neither DSR_TEST_MYSQL_DSN nor CI is set.
func newMySQLCustomers(t *testing.T) customerDB {
	t.Helper()
	base := os.Getenv("DSR_TEST_MYSQL_DSN")
	explicit := base != "" || os.Getenv("CI") != ""
	if base == "" {
		base = defaultMySQLDSN
	}
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("DSR_TEST_MYSQL_DSN: %v", err)
	}
	if c, err := net.DialTimeout(cfg.Net, cfg.Addr, 2*time.Second); err != nil {
		if !explicit {
			t.Skipf("MySQL/MariaDB is not reachable at %s (%v): start it (/usr/sbin/mariadbd) or set DSR_TEST_MYSQL_DSN", cfg.Addr, err)
		}
		t.Fatalf("MySQL/MariaDB is not reachable at %s: %v", cfg.Addr, err)
	} else {
		c.Close()
	}
	admin, err := sql.Open("mysql", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "dsr_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name) })
	cfg.DBName = name
	dsn := cfg.FormatDSN()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := customerDB{
		dialect: "mysql",
		exec: func(t *testing.T, q string) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		},
		count: func(t *testing.T, q string) int {
			t.Helper()
			var n int
			if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		},
		open: func(t *testing.T, sys dsr.System) *connector.SQLRunner {
			t.Helper()
			r, err := connector.NewMySQL(sys, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.Close)
			return r
		},
		sleep: func(s string) string { return "SLEEP(" + s + ")" },
	}
	for _, q := range mySchema {
		c.exec(t, q)
	}
	return c
}

func TestMySQLConnector(t *testing.T) {
	runCustomerSuite(t, newMySQLCustomers)
}
