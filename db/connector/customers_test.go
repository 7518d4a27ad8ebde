package connector_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/db/connector"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// customerDB is the "customer" database of one test, in either engine:
// exec runs test SQL, count returns the single integer a query selects.
type customerDB struct {
	dialect string // "postgres" or "mysql"
	exec    func(t *testing.T, sql string)
	count   func(t *testing.T, sql string) int
	// open returns a runner for sys on this database.
	open func(t *testing.T, sys dsr.System) *connector.SQLRunner
	// sleep is an expression that sleeps for s seconds and yields a row.
	sleep func(s string) string
}

const (
	ada      = "ada@example.com"
	bob      = "bob@example.com"
	injected = "x' or '1'='1"
)

// seed fills customers and orders: Ada has two orders, Bob one.
func (c customerDB) seed(t *testing.T) {
	t.Helper()
	c.exec(t, `INSERT INTO customers (id, email, name, plan, joined, balance, avatar, email_hash) VALUES
		(1, 'ada@example.com', 'Ada Lovelace', 'pro', '2024-02-29', 12.50, 'a', '`+dsr.EmailSHA256(ada)+`'),
		(2, 'bob@example.com', 'Bob Babbage', 'free', '2025-01-01', 0, NULL, '`+dsr.EmailSHA256(bob)+`')`)
	c.exec(t, `INSERT INTO orders (id, customer_id, item, total) VALUES
		(10, 1, 'Difference Engine', 100.25), (11, 1, 'Punch cards', 3.00), (12, 2, 'Loom', 7.00)`)
}

func crm(conn dsr.Connector) dsr.System {
	return dsr.System{Name: "crm", Kinds: []dsr.Kind{dsr.KindAccess, dsr.KindErasure}, Connector: conn}
}

func accessQueries() []dsr.Query {
	return []dsr.Query{
		{Section: "customers", SQL: "SELECT id, email, name, plan, joined, balance, avatar FROM customers WHERE email = :email ORDER BY id"},
		{Section: "orders", SQL: "SELECT o.id, o.item, o.total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email = :email ORDER BY o.id"},
	}
}

func erasureStatements() []dsr.Query {
	return []dsr.Query{
		{SQL: "DELETE FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE email = :email)"},
		{SQL: "DELETE FROM customers WHERE email = :email"},
	}
}

func work(kind dsr.Kind, email string) dsr.Work {
	return dsr.Work{TaskID: "tsk_1", RequestID: "req_1", System: "crm", Kind: kind, Regime: "gdpr", Email: email}
}

// runCustomerSuite is the same set of assertions against either engine.
func runCustomerSuite(t *testing.T, newDB func(t *testing.T) customerDB) {
	ctx := context.Background()

	t.Run("AccessReturnsOnlyThatPersonsRows", func(t *testing.T) {
		c := newDB(t)
		c.seed(t)
		r := c.open(t, crm(dsr.Connector{Access: accessQueries()}))
		rep, err := r.Run(ctx, work(dsr.KindAccess, ada))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Status != dsr.TaskDone || rep.Count != 3 || len(rep.Sections) != 2 {
			t.Fatalf("report = %+v", rep)
		}
		cust, orders := rep.Sections[0], rep.Sections[1]
		if cust.Name != "customers" || strings.Join(cust.Columns, ",") != "id,email,name,plan,joined,balance,avatar" {
			t.Fatalf("customers section = %s %v", cust.Name, cust.Columns)
		}
		if len(cust.Rows) != 1 {
			t.Fatalf("customers rows = %v", cust.Rows)
		}
		row := cust.Rows[0]
		for k, want := range map[string]any{
			"email": ada, "name": "Ada Lovelace", "joined": "2024-02-29", "balance": "12.50", "avatar": "a",
		} {
			if row[k] != want {
				t.Errorf("customers.%s = %#v (%T), want %#v", k, row[k], row[k], want)
			}
		}
		if id, ok := row["id"].(int64); !ok || id != 1 {
			t.Errorf("customers.id = %#v (%T), want int64 1", row["id"], row["id"])
		}
		if len(orders.Rows) != 2 || orders.Rows[0]["item"] != "Difference Engine" || orders.Rows[1]["item"] != "Punch cards" {
			t.Fatalf("orders rows = %v", orders.Rows)
		}
		for _, s := range rep.Sections {
			for _, r := range s.Rows {
				if r["email"] == bob || r["item"] == "Loom" {
					t.Fatalf("Bob's row in Ada's export: %v", r)
				}
			}
		}
	})

	t.Run("AccessByHashAndPortabilityFallsBackToAccess", func(t *testing.T) {
		c := newDB(t)
		c.seed(t)
		r := c.open(t, crm(dsr.Connector{Access: []dsr.Query{
			{Section: "customers", SQL: "SELECT name FROM customers WHERE email_hash = :email_sha256"},
		}}))
		rep, err := r.Run(ctx, work(dsr.KindPortability, "  Bob@Example.COM "))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Count != 1 || rep.Sections[0].Rows[0]["name"] != "Bob Babbage" {
			t.Fatalf("report = %+v", rep)
		}
	})

	t.Run("NoRowsIsNotFound", func(t *testing.T) {
		c := newDB(t)
		c.seed(t)
		r := c.open(t, crm(dsr.Connector{Access: accessQueries(), Erasure: erasureStatements()}))
		rep, err := r.Run(ctx, work(dsr.KindAccess, "nobody@example.com"))
		if err != nil || rep.Status != dsr.TaskNotFound || rep.Count != 0 {
			t.Fatalf("access: %+v, %v", rep, err)
		}
		rep, err = r.Run(ctx, work(dsr.KindErasure, "nobody@example.com"))
		if err != nil || rep.Status != dsr.TaskNotFound || rep.Count != 0 || len(rep.Affected) != 2 {
			t.Fatalf("erasure: %+v, %v", rep, err)
		}
	})

	t.Run("ErasureDeletesWithCounts", func(t *testing.T) {
		c := newDB(t)
		c.seed(t)
		r := c.open(t, crm(dsr.Connector{Access: accessQueries(), Erasure: erasureStatements()}))
		rep, err := r.Run(ctx, work(dsr.KindErasure, ada))
		if err != nil {
			t.Fatal(err)
		}
		want := []dsr.Affected{{Statement: 0, Rows: 2}, {Statement: 1, Rows: 1}}
		if rep.Status != dsr.TaskDone || rep.Count != 3 || !equalAffected(rep.Affected, want) || rep.DryRun {
			t.Fatalf("report = %+v, want done, count 3, affected %v", rep, want)
		}
		if n := c.count(t, "SELECT COUNT(*) FROM customers WHERE email = 'ada@example.com'"); n != 0 {
			t.Fatalf("Ada still has %d customer rows", n)
		}
		if n := c.count(t, "SELECT COUNT(*) FROM orders WHERE customer_id = 1"); n != 0 {
			t.Fatalf("Ada still has %d orders", n)
		}
		if n := c.count(t, "SELECT COUNT(*) FROM orders"); n != 1 {
			t.Fatalf("%d orders left, want Bob's one", n)
		}
	})

	t.Run("DryRunWritesNothing", func(t *testing.T) {
		c := newDB(t)
		c.seed(t)
		r := c.open(t, crm(dsr.Connector{Access: accessQueries(), Erasure: erasureStatements(), DryRun: true}))
		rep, err := r.Run(ctx, work(dsr.KindErasure, ada))
		if err != nil {
			t.Fatal(err)
		}
		want := []dsr.Affected{{Statement: 0, Rows: 2}, {Statement: 1, Rows: 1}}
		if !rep.DryRun || rep.Status != dsr.TaskDone || rep.Count != 3 || !equalAffected(rep.Affected, want) || rep.Note != connector.NoteDryRun {
			t.Fatalf("report = %+v", rep)
		}
		if len(rep.Sections) != 2 || len(rep.Sections[1].Rows) != 2 {
			t.Fatalf("dry run sections = %+v, want the access rows", rep.Sections)
		}
		if n := c.count(t, "SELECT COUNT(*) FROM customers"); n != 2 {
			t.Fatalf("%d customers after a dry run, want 2", n)
		}
		if n := c.count(t, "SELECT COUNT(*) FROM orders"); n != 3 {
			t.Fatalf("%d orders after a dry run, want 3", n)
		}
	})

	t.Run("InjectionMatchesNothing", func(t *testing.T) {
		c := newDB(t)
		c.seed(t)
		r := c.open(t, crm(dsr.Connector{Access: accessQueries(), Erasure: erasureStatements()}))
		rep, err := r.Run(ctx, work(dsr.KindAccess, injected))
		if err != nil || rep.Status != dsr.TaskNotFound {
			t.Fatalf("access: %+v, %v", rep, err)
		}
		rep, err = r.Run(ctx, work(dsr.KindErasure, injected))
		if err != nil || rep.Count != 0 {
			t.Fatalf("erasure: %+v, %v", rep, err)
		}
		if n := c.count(t, "SELECT COUNT(*) FROM customers"); n != 2 {
			t.Fatalf("%d customers left after the injection attempt, want 2", n)
		}
	})

	t.Run("RectificationBindsCorrection", func(t *testing.T) {
		c := newDB(t)
		c.seed(t)
		r := c.open(t, crm(dsr.Connector{Rectification: []dsr.Query{
			{SQL: "UPDATE customers SET name = :name WHERE email = :email"},
			{SQL: "UPDATE customers SET plan = :plan WHERE email = :email"},
		}}))
		w := work(dsr.KindRectification, ada)
		w.Correction = map[string]string{"name": "Augusta Ada King"}
		rep, err := r.Run(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Status != dsr.TaskDone || rep.Count != 1 || !strings.Contains(rep.Note, "statement 1 skipped") {
			t.Fatalf("report = %+v", rep)
		}
		if n := c.count(t, "SELECT COUNT(*) FROM customers WHERE name = 'Augusta Ada King' AND plan = 'pro'"); n != 1 {
			t.Fatal("the name was not corrected, or the plan was overwritten")
		}
	})

	t.Run("AccessIsReadOnly", func(t *testing.T) {
		c := newDB(t)
		c.seed(t)
		r := c.open(t, crm(dsr.Connector{Access: []dsr.Query{
			{Section: "x", SQL: "DELETE FROM customers WHERE email = :email"},
		}}))
		if _, err := r.Run(ctx, work(dsr.KindAccess, ada)); err == nil {
			t.Fatal("a DELETE ran as an access query")
		}
		if n := c.count(t, "SELECT COUNT(*) FROM customers"); n != 2 {
			t.Fatalf("%d customers, want 2", n)
		}
	})

	t.Run("StatementTimeout", func(t *testing.T) {
		c := newDB(t)
		r := c.open(t, crm(dsr.Connector{StatementTimeout: "200ms", Access: []dsr.Query{
			{Section: "slow", SQL: "SELECT " + c.sleep("30") + " AS slept, :email AS e"},
		}}))
		_, err := r.Run(ctx, work(dsr.KindAccess, ada))
		if err == nil || !strings.Contains(err.Error(), "statement timeout (200ms) reached") {
			t.Fatalf("err = %v, want the statement timeout", err)
		}
	})

	t.Run("RowLimit", func(t *testing.T) {
		c := newDB(t)
		c.seed(t)
		conn := dsr.Connector{RowLimit: 1, Access: accessQueries()}
		r := c.open(t, crm(conn))
		_, err := r.Run(ctx, work(dsr.KindAccess, ada)) // 2 orders > 1
		if err == nil || !strings.Contains(err.Error(), "row limit 1 reached") {
			t.Fatalf("err = %v, want the row limit", err)
		}
		conn.RowLimit = 2
		if rep, err := c.open(t, crm(conn)).Run(ctx, work(dsr.KindAccess, ada)); err != nil || rep.Count != 3 {
			t.Fatalf("at the limit: %+v, %v", rep, err)
		}
	})

	t.Run("NoStatementsForKind", func(t *testing.T) {
		c := newDB(t)
		r := c.open(t, crm(dsr.Connector{Access: accessQueries()}))
		if _, err := r.Run(ctx, work(dsr.KindErasure, ada)); err == nil || !strings.Contains(err.Error(), "no erasure statements") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("BadStatementNamesIt", func(t *testing.T) {
		c := newDB(t)
		r := c.open(t, crm(dsr.Connector{Erasure: []dsr.Query{
			{SQL: "DELETE FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE email = :email)"},
			{SQL: "DELETE FROM no_such_table WHERE email = :email"},
		}}))
		c.seed(t)
		_, err := r.Run(ctx, work(dsr.KindErasure, ada))
		if err == nil || !strings.Contains(err.Error(), "write statement 1") {
			t.Fatalf("err = %v", err)
		}
		if n := c.count(t, "SELECT COUNT(*) FROM orders"); n != 3 {
			t.Fatalf("%d orders: the first statement was committed although the second failed", n)
		}
	})
}

func equalAffected(a, b []dsr.Affected) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNewRejectsBadDSN(t *testing.T) {
	sys := crm(dsr.Connector{Access: accessQueries()})
	var de *dsr.Error
	if _, err := connector.NewPostgres(sys, "postgres://u:secretpw@host:notaport/db"); !errors.As(err, &de) || strings.Contains(err.Error(), "secretpw") {
		t.Fatalf("postgres: %v", err)
	}
	if _, err := connector.NewMySQL(sys, "u:secretpw@tcp(host"); !errors.As(err, &de) || strings.Contains(err.Error(), "secretpw") {
		t.Fatalf("mysql: %v", err)
	}
}

// TestErrorsHoldNoBoundValues: a driver error that quotes a bound value
// (PostgreSQL's failed cast, MySQL's strict-mode insert) reaches the
// task's last error without it.
func TestErrorsHoldNoBoundValues(t *testing.T) {
	for _, tc := range []struct {
		name  string
		newDB func(*testing.T) customerDB
		conn  dsr.Connector
		kind  dsr.Kind
	}{
		{"postgres", newPostgresCustomers, dsr.Connector{Access: []dsr.Query{
			{Section: "s", SQL: "SELECT CAST(:email AS integer) AS n"}}}, dsr.KindAccess},
		{"mysql", newMySQLCustomers, dsr.Connector{Erasure: []dsr.Query{
			{SQL: "INSERT INTO orders (id, customer_id, item, total) VALUES (99, 1, 'x', :email)"}}}, dsr.KindErasure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.newDB(t)
			c.seed(t)
			_, err := c.open(t, crm(tc.conn)).Run(context.Background(), work(tc.kind, "not-a-number@example.com"))
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "not-a-number") || !strings.Contains(err.Error(), "[value]") {
				t.Fatalf("the error is not redacted: %v", err)
			}
		})
	}
}
