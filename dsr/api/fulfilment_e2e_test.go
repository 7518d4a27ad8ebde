package api_test

// End-to-end fulfilment (#15 "Done when"): requests filed through the
// public API are carried out by the REAL connectors — connector.NewPostgres
// on a second PostgreSQL database, connector.NewMySQL on the machine's
// MariaDB, webhook.New against an in-process receiver that verifies the
// Standard Webhooks signature — built from the config's "systems" and the
// DSR_SYSTEM_<NAME>_… values the way `dsrdesk serve` builds them.

import (
	"archive/zip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgxpool"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/dsrdesk/dsrdesk/db/connector"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/notify/webhook"
	"github.com/dsrdesk/dsrdesk/workflow"
)

const (
	e2eAda = "ada@example.com"
	e2eBob = "bob@example.com"
)

// e2eSeed is the customer schema of both databases: Ada (id 1) with two
// orders, Bob (id 2) with one. The statements are plain SQL that both
// PostgreSQL and MariaDB accept.
var e2eSeed = []string{
	`CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(255) NOT NULL, name VARCHAR(255))`,
	`CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL REFERENCES customers (id), item VARCHAR(255))`,
	`INSERT INTO customers (id, email, name) VALUES (1, 'ada@example.com', 'Ada Lovelace'), (2, 'bob@example.com', 'Bob Babbage')`,
	`INSERT INTO orders (id, customer_id, item) VALUES (10, 1, 'Difference Engine'), (11, 1, 'Punch cards'), (12, 2, 'Loom')`,
}

// customerStore is one system's customer database as the test sees it.
type customerStore struct {
	dsn   string
	count func(t *testing.T, q string) int
}

// pgCustomers gives t a second fresh PostgreSQL database (not the desk's)
// holding the customer schema in its own schema "shop", first on the
// connector's search_path, so no DSR Desk table is touched.
func pgCustomers(t *testing.T) customerStore {
	t.Helper()
	ctx := context.Background()
	base := dbtest.New(t)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	dsn := base + sep + "search_path=shop"
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	for _, q := range append([]string{`CREATE SCHEMA shop`}, e2eSeed...) {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return customerStore{dsn: dsn, count: func(t *testing.T, q string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}}
}

// mariaCustomers creates a uniquely named database on the machine's
// MariaDB (or DSR_TEST_MYSQL_DSN) with the customer schema, dropped when t
// ends. Unreachable: a failure when DSR_TEST_MYSQL_DSN or CI is set, else
// the test is skipped saying so.
func mariaCustomers(t *testing.T) customerStore {
	t.Helper()
	base := os.Getenv("DSR_TEST_MYSQL_DSN")
	explicit := base != "" || os.Getenv("CI") != ""
	if base == "" {
		base = "root@tcp(127.0.0.1:3306)/test"
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
	ctx := context.Background()
	admin, err := sql.Open("mysql", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "dsr_e2e_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name) })
	cfg.DBName = name
	dsn := cfg.FormatDSN()
	conn, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	for _, q := range e2eSeed {
		if strings.HasPrefix(q, "CREATE") {
			q += " ENGINE=InnoDB"
		}
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return customerStore{dsn: dsn, count: func(t *testing.T, q string) int {
		t.Helper()
		var n int
		if err := conn.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}}
}

// sqlSystem is the config entry of a customer database system.
func sqlSystem(name, typ string, dryRun bool) string {
	return fmt.Sprintf(`{"name": %q, "description": "Customer database (%s)", "kinds": ["access", "erasure"],
     "connector": {"type": %q, "dry_run": %t, "statement_timeout": "5s",
       "access": [
         {"section": "customers", "sql": "SELECT id, email, name FROM customers WHERE email = :email ORDER BY id"},
         {"section": "orders", "sql": "SELECT o.id, o.item FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email = :email ORDER BY o.id"}],
       "erasure": [
         {"sql": "DELETE FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE email = :email)"},
         {"sql": "DELETE FROM customers WHERE email = :email"}]}}`, name, typ, typ, dryRun)
}

// withSystems is the test desk's config with the given systems.
func withSystems(systems ...string) string {
	return strings.Replace(apitest.ConfigJSON, `"mail":`, `"systems": [`+strings.Join(systems, ",\n")+`],
  "mail":`, 1)
}

// startConnectedDesk parses config, builds the runner of every system the
// way `dsrdesk serve` does (openRunners in cmd/dsrdesk: the connector type
// picks the constructor, the DSN or secret comes from
// DSR_SYSTEM_<NAME>_DSN / _SECRET in env) and starts a desk with them.
func startConnectedDesk(t *testing.T, config string, env map[string]string) *apitest.Desk {
	t.Helper()
	org, err := dsr.ParseConfig(strings.NewReader(config))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	runners := map[string]dsr.TaskRunner{}
	for _, sys := range org.Systems {
		key := "DSR_SYSTEM_" + strings.ToUpper(strings.ReplaceAll(sys.Name, "-", "_"))
		var r dsr.TaskRunner
		switch sys.Connector.Type {
		case dsr.ConnectorPostgres:
			sr, err := connector.NewPostgres(sys, env[key+"_DSN"])
			if err != nil {
				t.Fatalf("%s: %v", sys.Name, err)
			}
			t.Cleanup(sr.Close) // registered before the desk: closes after the engine stopped
			r = sr
		case dsr.ConnectorMySQL:
			sr, err := connector.NewMySQL(sys, env[key+"_DSN"])
			if err != nil {
				t.Fatalf("%s: %v", sys.Name, err)
			}
			t.Cleanup(sr.Close)
			r = sr
		case dsr.ConnectorWebhook:
			if r, err = webhook.New(sys, env[key+"_SECRET"], nil); err != nil {
				t.Fatalf("%s: %v", sys.Name, err)
			}
		default:
			t.Fatalf("%s: connector %s has no runner", sys.Name, sys.Connector.Type)
		}
		runners[sys.Name] = r
	}
	return apitest.Start(t, apitest.Options{ConfigJSON: config, Runners: runners})
}

// fileVerified files a GDPR request from email through the public API,
// confirms it through the emailed link and runs the jobs due (the task
// jobs, and what they queue).
func fileVerified(t *testing.T, d *apitest.Desk, kind, email string) receipt {
	t.Helper()
	rc := newRequest(t, d, kind, email, "NL", "")
	if resp := post(t, d, apitest.LinkWith(t, d.MailTo(t, email, 1)[0], "/verify/"), nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("verify: %d", resp.StatusCode)
	}
	d.RunDue(t, 0)
	return rc
}

// adminTasks reads the request's tasks through the admin API, by system.
func adminTasks(t *testing.T, d *apitest.Desk, token, id string) map[string]map[string]any {
	t.Helper()
	code, out := adminCall(t, d, token, http.MethodGet, "/api/v1/admin/requests/"+id+"/tasks", nil)
	if code != http.StatusOK {
		t.Fatalf("tasks: %d %v", code, out)
	}
	by := map[string]map[string]any{}
	for _, x := range out["data"].([]any) {
		m := x.(map[string]any)
		by[m["system"].(string)] = m
	}
	return by
}

// downloadPackage completes the request without files through the admin
// API and downloads, through the link mailed to the subject, the zip; it
// returns its files by path, having checked manifest.json's sizes and
// SHA-256 sums against them.
func downloadPackage(t *testing.T, d *apitest.Desk, token, id, email string) map[string][]byte {
	t.Helper()
	if code, out := adminCall(t, d, token, http.MethodPost, "/api/v1/admin/requests/"+id+"/complete", map[string]any{"summary": "Your data from our systems."}); code != http.StatusOK {
		t.Fatalf("complete: %d %v", code, out)
	}
	link := apitest.LinkWith(t, d.MailWithSubject(t, email, "is complete"), "/download/")
	resp, page := get(t, d, link)
	m := regexp.MustCompile(`href="(/download/[^"]+/[0-9a-f-]{36})"`).FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("download page %d:\n%s", resp.StatusCode, page)
	}
	resp, file := get(t, d, d.URL+m[1])
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("download: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	zr, err := zip.NewReader(strings.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatalf("zip: %v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rd, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rd)
		rd.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		files[f.Name] = b
	}
	var manifest struct {
		Files []struct {
			Path   string `json:"path"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		t.Fatalf("manifest.json: %v\n%s", err, files["manifest.json"])
	}
	if len(manifest.Files) != len(files)-1 {
		t.Errorf("manifest lists %d files, the zip holds %d besides it", len(manifest.Files), len(files)-1)
	}
	for _, e := range manifest.Files {
		b, ok := files[e.Path]
		sum := sha256.Sum256(b)
		if !ok || int64(len(b)) != e.Size || hex.EncodeToString(sum[:]) != e.SHA256 {
			t.Errorf("manifest entry %+v does not match the zip's file (present %v, %d bytes, sha256 %x)", e, ok, len(b), sum)
		}
	}
	return files
}

// rowsOf decodes a section file of the package (a JSON array of rows) to
// canonical JSON lines, sorted, for exact comparison.
func rowsOf(t *testing.T, files map[string][]byte, path string) []string {
	t.Helper()
	b, ok := files[path]
	if !ok {
		names := make([]string, 0, len(files))
		for n := range files {
			names = append(names, n)
		}
		sort.Strings(names)
		t.Fatalf("package has no %s; it has %v", path, names)
	}
	var rows []map[string]any
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		j, _ := json.Marshal(r) // map keys are sorted
		out = append(out, string(j))
	}
	sort.Strings(out)
	return out
}

func sameRows(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func TestFulfilmentAccessFromRealDatabases(t *testing.T) {
	t.Parallel()
	crm, shop := pgCustomers(t), mariaCustomers(t)
	d := startConnectedDesk(t, withSystems(sqlSystem("crm", "postgres", false), sqlSystem("shop", "mysql", false)),
		map[string]string{"DSR_SYSTEM_CRM_DSN": crm.dsn, "DSR_SYSTEM_SHOP_DSN": shop.dsn})
	_, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)

	rc := fileVerified(t, d, "access", e2eAda)
	tasks := adminTasks(t, d, tok, rc.ID)
	for _, sys := range []string{"crm", "shop"} {
		if x := tasks[sys]; x == nil || x["status"] != "done" || x["count"] != float64(3) {
			t.Fatalf("%s task after the jobs ran: %v (all: %v)", sys, x, tasks)
		}
	}
	files := downloadPackage(t, d, tok, rc.ID, e2eAda)
	for _, sys := range []string{"crm", "shop"} {
		sameRows(t, sys+" customers", rowsOf(t, files, sys+"/customers.json"), `{"email":"ada@example.com","id":1,"name":"Ada Lovelace"}`)
		sameRows(t, sys+" orders", rowsOf(t, files, sys+"/orders.json"), `{"id":10,"item":"Difference Engine"}`, `{"id":11,"item":"Punch cards"}`)
	}
	for name, b := range files {
		if strings.Contains(string(b), e2eBob) || strings.Contains(string(b), "Loom") {
			t.Errorf("%s holds the other person's data:\n%s", name, b)
		}
	}
}

func TestFulfilmentErasureInRealDatabases(t *testing.T) {
	t.Parallel()
	crm, shop := pgCustomers(t), mariaCustomers(t)
	d := startConnectedDesk(t, withSystems(sqlSystem("crm", "postgres", false), sqlSystem("shop", "mysql", false)),
		map[string]string{"DSR_SYSTEM_CRM_DSN": crm.dsn, "DSR_SYSTEM_SHOP_DSN": shop.dsn})
	_, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)

	rc := fileVerified(t, d, "erasure", e2eAda)
	for name, db := range map[string]customerStore{"crm": crm, "shop": shop} {
		if n := db.count(t, "SELECT COUNT(*) FROM customers WHERE email = 'ada@example.com'"); n != 0 {
			t.Errorf("%s: %d customer rows of Ada remain", name, n)
		}
		if n := db.count(t, "SELECT COUNT(*) FROM orders WHERE customer_id = 1"); n != 0 {
			t.Errorf("%s: %d orders of Ada remain", name, n)
		}
		if n := db.count(t, "SELECT COUNT(*) FROM customers WHERE email = 'bob@example.com'") + db.count(t, "SELECT COUNT(*) FROM orders WHERE customer_id = 2"); n != 2 {
			t.Errorf("%s: %d rows of Bob remain, want 2", name, n)
		}
	}
	// The admin task API has each statement's count; the request's
	// events record each task's finish with the total.
	tasks := adminTasks(t, d, tok, rc.ID)
	for _, sys := range []string{"crm", "shop"} {
		x := tasks[sys]
		aff, _ := json.Marshal(x["affected"])
		if x["status"] != "done" || x["count"] != float64(3) || x["dry_run"] != false || string(aff) != `[{"rows":2,"statement":0},{"rows":1,"statement":1}]` {
			t.Errorf("%s task: %v", sys, x)
		}
	}
	code, out := adminCall(t, d, tok, http.MethodGet, "/api/v1/admin/requests/"+rc.ID, nil)
	if code != http.StatusOK {
		t.Fatalf("request: %d %v", code, out)
	}
	finished := map[string]string{}
	for _, x := range out["events"].([]any) {
		ev := x.(map[string]any)
		if ev["type"] == "task_finished" {
			data := ev["data"].(map[string]any)
			finished[data["system"].(string)] = fmt.Sprint(data["status"], " ", data["count"])
		}
	}
	if finished["crm"] != "done 3" || finished["shop"] != "done 3" {
		t.Errorf("task_finished events: %v", finished)
	}
}

func TestFulfilmentDryRunErasureChangesNothing(t *testing.T) {
	t.Parallel()
	crm, shop := pgCustomers(t), mariaCustomers(t)
	d := startConnectedDesk(t, withSystems(sqlSystem("crm", "postgres", true), sqlSystem("shop", "mysql", true)),
		map[string]string{"DSR_SYSTEM_CRM_DSN": crm.dsn, "DSR_SYSTEM_SHOP_DSN": shop.dsn})
	_, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)

	rc := fileVerified(t, d, "erasure", e2eAda)
	tasks := adminTasks(t, d, tok, rc.ID)
	for name, db := range map[string]customerStore{"crm": crm, "shop": shop} {
		if n := db.count(t, "SELECT COUNT(*) FROM customers") + db.count(t, "SELECT COUNT(*) FROM orders"); n != 5 {
			t.Errorf("%s: %d rows after a dry run, want all 5", name, n)
		}
		x := tasks[name]
		aff, _ := json.Marshal(x["affected"])
		if x["status"] != "done" || x["dry_run"] != true || x["count"] != float64(3) || x["note"] != connector.NoteDryRun ||
			string(aff) != `[{"rows":2,"statement":0},{"rows":1,"statement":1}]` {
			t.Errorf("%s dry-run task: %v", name, x)
		}
	}
}

// signedReceiver is the webhook system: it verifies every delivery with
// the Standard Webhooks library, answers 503 to the first `failures`
// deliveries and 200 {"ok": true} after, and keeps the accepted ones.
type signedReceiver struct {
	t        *testing.T
	wh       *standardwebhooks.Webhook
	mu       sync.Mutex
	failures int
	calls    int
	accepted []map[string]any
	ids      map[string]bool
}

func (rc *signedReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	if err := rc.wh.Verify(body, r.Header); err != nil {
		rc.t.Errorf("delivery %d: signature: %v", rc.calls, err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rc.ids[r.Header.Get("webhook-id")] = true
	if rc.calls <= rc.failures {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	var task map[string]any
	if err := json.Unmarshal(body, &task); err != nil {
		rc.t.Errorf("delivery body: %v", err)
	}
	rc.accepted = append(rc.accepted, task)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok": true}`))
}

func TestFulfilmentWebhookRetriesThenCallsBack(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	rcv := &signedReceiver{t: t, wh: wh, failures: 2, ids: map[string]bool{}}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	d := startConnectedDesk(t, withSystems(`{"name": "newsletter", "description": "Newsletter", "kinds": ["access"],
     "connector": {"type": "webhook", "url": "`+srv.URL+`/dsr"}}`),
		map[string]string{"DSR_SYSTEM_NEWSLETTER_SECRET": secret})
	_, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)

	rc := fileVerified(t, d, "access", e2eAda) // attempt 1: 503
	x := adminTasks(t, d, tok, rc.ID)["newsletter"]
	if x["status"] != "running" || x["attempts"] != float64(1) || !strings.Contains(x["last_error"].(string), "503") {
		t.Fatalf("after the first 503: %v", x)
	}
	d.RunDueOnce(t, 2*time.Minute) // the retry after 1 min × 1²: 503 again
	if x = adminTasks(t, d, tok, rc.ID)["newsletter"]; x["attempts"] != float64(2) || x["status"] != "running" {
		t.Fatalf("after the second 503: %v", x)
	}
	d.RunDue(t, 5*time.Minute) // after 1 min × 2²: accepted
	x = adminTasks(t, d, tok, rc.ID)["newsletter"]
	rcv.mu.Lock()
	calls, accepted, ids := rcv.calls, rcv.accepted, len(rcv.ids)
	rcv.mu.Unlock()
	if calls != 3 || len(accepted) != 1 || ids != 1 || x["status"] != "waiting" || x["attempts"] != float64(3) {
		t.Fatalf("after the 200: %d calls, %d accepted, %d webhook-ids; task %v", calls, len(accepted), ids, x)
	}
	task := accepted[0]
	ident, _ := task["identity"].(map[string]any)
	if task["task_id"] != x["id"] || task["kind"] != "access" || ident["email"] != e2eAda || ident["email_sha256"] != dsr.EmailSHA256(e2eAda) {
		t.Fatalf("delivered task: %v", task)
	}

	// The system looks the person up and reports back on the callback
	// the delivery named, with its own system token.
	report := map[string]any{"status": "done", "count": 1, "data": map[string]any{
		"subscriptions": []any{map[string]any{"list": "weekly", "email": e2eAda}}}}
	if code, out := adminCall(t, d, systemToken(t, d, "newsletter"), http.MethodPost, task["callback"].(string), report); code != http.StatusOK {
		t.Fatalf("callback: %d %v", code, out)
	}
	d.RunDue(t, 0) // build_export
	files := downloadPackage(t, d, tok, rc.ID, e2eAda)
	sameRows(t, "newsletter subscriptions", rowsOf(t, files, "newsletter/subscriptions.json"), `{"email":"ada@example.com","list":"weekly"}`)
}
