package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/notify"
	"github.com/dsrdesk/dsrdesk/workflow"
)

var seq atomic.Int64

// intake posts CCPA access requests at each concurrency level and, on the
// same PostgreSQL with the same clients, the two ceilings.
func (b *bench) intake(ctx context.Context) error {
	fmt.Println("Intake (POST /api/v1/requests over HTTP to dsrdesk serve)")
	if _, err := b.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_ceiling (id bigserial PRIMARY KEY, payload text NOT NULL, at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return err
	}
	rc, err := b.riverInsertClient()
	if err != nil {
		return err
	}
	rates := map[int]float64{}
	for _, c := range b.o.levels {
		rate, lat, err := b.intakeRate(c, b.baseURL)
		if err != nil {
			return err
		}
		rates[c] = rate
		b.readPeakRSS()
		ceilA, err := b.ceilingInserts(ctx, c)
		if err != nil {
			return err
		}
		ceilB, err := b.ceilingRiver(ctx, rc, c)
		if err != nil {
			return err
		}
		b.add(fmt.Sprintf("intake, %d clients: requests/s", c), fmt.Sprintf("%.0f/s (p50 %s, p95 %s, p99 %s)", rate, msf(lat.pct(.5)), msf(lat.pct(.95)), msf(lat.pct(.99))),
			map[bool]string{true: "p99 ≤ 50 ms", false: ""}[c == 32])
		b.add(fmt.Sprintf("  (a) single-row insert tx/s, %d clients", c), fmt.Sprintf("%.0f/s → intake/(a) = %.0f%%", ceilA, 100*rate/ceilA),
			map[bool]string{true: "≥ 40% at 32 clients", false: ""}[c == 32])
		b.add(fmt.Sprintf("  (b) River Insert (1 job per tx)/s, %d clients", c), fmt.Sprintf("%.0f/s → intake/(b) = %.0f%%", ceilB, 100*rate/ceilB), "")
	}
	b.add("peak RSS of dsrdesk serve after the intake load", fmt.Sprintf("%.1f MB", float64(b.peakRSS)/1024), "≤ 100 MB")
	if err := b.intakeTwoReplicas(ctx, rates); err != nil {
		return err
	}
	if err := b.pgbenchCeiling(ctx, rates[32]); err != nil {
		return err
	}
	return b.intakeStatements(ctx)
}

// intakeRate posts b.o.intake CCPA access requests from c clients, spread
// round-robin over the given replicas, and returns requests per second
// and the latencies.
func (b *bench) intakeRate(c int, urls ...string) (float64, latencies, error) {
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}}
	wall, lat, err := parallel(b.o.intake, c, func(i int) error {
		n := seq.Add(1)
		code, body, err := postJSON(client, urls[i%len(urls)]+"/api/v1/requests", map[string]any{"kind": "access",
			"subject": map[string]any{"email": fmt.Sprintf("bench%d@example.com", n), "name": "Bench", "country": "US", "state": "CA"}})
		if err == nil && code != http.StatusCreated {
			err = fmt.Errorf("status %d: %s", code, body)
		}
		return err
	})
	return float64(b.o.intake) / wall.Seconds(), lat, err
}

// intakeTwoReplicas runs the 32-client intake against two `dsrdesk
// serve` processes on the same database, requests alternating between
// them, and compares it with one (the 32-client row above; measured now
// when -clients has no 32).
func (b *bench) intakeTwoReplicas(ctx context.Context, rates map[int]float64) error {
	one, ok := rates[32]
	if !ok {
		var err error
		if one, _, err = b.intakeRate(32, b.baseURL); err != nil {
			return err
		}
		rates[32] = one
	}
	r, err := b.startReplica(ctx)
	if err != nil {
		return err
	}
	defer func() {
		stopChild(r.cmd)
		b.extra = b.extra[:len(b.extra)-1]
	}()
	two, lat, err := b.intakeRate(32, b.baseURL, r.baseURL)
	if err != nil {
		return err
	}
	b.add("intake, 32 clients, two replicas on one database: requests/s",
		fmt.Sprintf("%.0f/s (p50 %s, p99 %s) = %.2f× one replica (%.0f/s)", two, msf(lat.pct(.5)), msf(lat.pct(.99)), two/one, one), "≥ 1.0× one replica")
	return nil
}

// pgbenchCeiling runs pgbench with a one-line insert script against the
// scratch table of the benchmark database (32 clients, 2 threads, 10 s)
// and compares the 32-client intake with it.
func (b *bench) pgbenchCeiling(ctx context.Context, intake32 float64) error {
	script := filepath.Join(b.tmp, "one-insert.sql")
	if err := os.WriteFile(script, []byte("INSERT INTO bench_ceiling (payload) VALUES ('pgbench');\n"), 0o600); err != nil {
		return err
	}
	cfg, err := pgx.ParseConfig(b.dbURL)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "pgbench", "-n", "-c", "32", "-j", "2", "-T", "10", "-f", script,
		"-h", cfg.Host, "-p", fmt.Sprint(cfg.Port), "-U", cfg.User, cfg.Database)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	m := pgbenchTPS.FindSubmatch(out)
	if m == nil {
		return fmt.Errorf("pgbench: no tps in its output:\n%s", out)
	}
	tps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || tps <= 0 {
		return fmt.Errorf("pgbench: tps %q", m[1])
	}
	b.add("  (c) pgbench -n -c 32 -j 2 -T 10 -f one-insert.sql, tps", fmt.Sprintf("%.0f/s → intake/(c) = %.0f%% (32 clients)", tps, 100*intake32/tps),
		"≥ 15% at 32 clients")
	return nil
}

// pgbenchTPS finds pgbench's "tps = 14000.123456 (without initial
// connection time)" line.
var pgbenchTPS = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

func (b *bench) ceilingInserts(ctx context.Context, c int) (float64, error) {
	wall, _, err := parallel(b.o.intake, c, func(i int) error {
		tx, err := b.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		if _, err := tx.Exec(ctx, `INSERT INTO bench_ceiling (payload) VALUES ($1)`, fmt.Sprintf("row %d", i)); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	return float64(b.o.intake) / wall.Seconds(), err
}

// benchArgs is a job on a queue the server does not work.
type benchArgs struct {
	N int `json:"n"`
}

func (benchArgs) Kind() string { return "bench_noop" }

func (b *bench) riverInsertClient() (*river.Client[pgx.Tx], error) {
	w := river.NewWorkers()
	river.AddWorker(w, river.WorkFunc(func(context.Context, *river.Job[benchArgs]) error { return nil }))
	// The server works deliver_message; this client only inserts.
	return river.NewClient(riverpgxv5.New(b.pool), &river.Config{Workers: w, SkipUnknownJobCheck: true})
}

func (b *bench) ceilingRiver(ctx context.Context, rc *river.Client[pgx.Tx], c int) (float64, error) {
	wall, _, err := parallel(b.o.intake, c, func(i int) error {
		_, err := rc.Insert(ctx, benchArgs{N: i}, &river.InsertOpts{Queue: "bench"})
		return err
	})
	return float64(b.o.intake) / wall.Seconds(), err
}

// mailBench records messages with their delivery jobs in one transaction
// and times until the server's email workers have delivered them all to
// the local SMTP server; then sends the same message straight to that
// server with the same number of concurrent senders (10, the email queue's
// default workers).
func (b *bench) mailBench(ctx context.Context) error {
	fmt.Println("\nMail (outbox → River → SMTP, against direct SMTP)")
	// Let intake's own emails drain first.
	if err := b.waitMessages(ctx, 10*time.Minute); err != nil {
		return err
	}
	start := b.sink.count.Load()
	t0 := time.Now()
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO messages (event, recipient_role, to_email, from_email, subject, text_body, html_body, message_id, status)
			SELECT 'bench', 'subject', 'bench' || g || '@example.com', 'privacy@bench.example', 'Benchmark message ' || g,
			       'Hello,' || chr(10) || 'this is benchmark message ' || g || '.', '<p>benchmark</p>', 'bench-' || g || '-' || md5(random()::text) || '@bench.example', 'queued'
			FROM generate_series(1, $1::int) g RETURNING id`, b.o.mail)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		rc, err := b.riverInsertClient()
		if err != nil {
			return err
		}
		params := make([]river.InsertManyParams, len(ids))
		for i, id := range ids {
			params[i] = river.InsertManyParams{Args: workflow.DeliverArgs{MessageID: id}}
		}
		_, err = rc.InsertManyFastTx(ctx, tx, params)
		return err
	})
	if err != nil {
		return err
	}
	for b.sink.count.Load()-start < int64(b.o.mail) {
		if time.Since(t0) > 10*time.Minute {
			return fmt.Errorf("only %d of %d messages delivered in 10 minutes", b.sink.count.Load()-start, b.o.mail)
		}
		time.Sleep(10 * time.Millisecond)
	}
	outbox := float64(b.o.mail) / time.Since(t0).Seconds()

	sender, err := notify.NewSender("smtp://" + b.sink.addr)
	if err != nil {
		return err
	}
	raw, err := notify.BuildMIME(notify.Message{From: notify.Address{Email: "privacy@bench.example"},
		To: []notify.Address{{Email: "bench@example.com"}}, Subject: "Benchmark message", Text: "Hello,\nthis is a benchmark message.\n",
		HTML: "<p>benchmark</p>", MessageID: "direct@bench.example"})
	if err != nil {
		return err
	}
	wall, _, err := parallel(b.o.mail, 10, func(int) error { return sender.Send(ctx, "privacy@bench.example", []string{"bench@example.com"}, raw) })
	if err != nil {
		return err
	}
	direct := float64(b.o.mail) / wall.Seconds()
	b.add("mail delivered through the outbox", fmt.Sprintf("%.0f msg/s", outbox), "")
	b.add("  direct SMTP sends, 10 concurrent", fmt.Sprintf("%.0f msg/s → outbox/direct = %.0f%%", direct, 100*outbox/direct), "≥ 50%")
	return nil
}

// waitMessages waits until no message is queued.
func (b *bench) waitMessages(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var n int
		if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE status = 'queued'`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("messages still queued after %s", limit)
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// queueAndSweep seeds the database and times the officer queue (over HTTP,
// signed in) and the reconciliation sweep.
func (b *bench) queueAndSweep(ctx context.Context) error {
	fmt.Printf("\nQueue and sweep (%d requests)\n", b.o.requests)
	if err := b.seed(ctx); err != nil {
		return err
	}
	client, err := b.login(ctx)
	if err != nil {
		return err
	}
	for _, p := range []struct{ name, query, target string }{
		{"first page", "", "p95 ≤ 50 ms"},
		{"kind = access", "?kind=access", ""},
		{"unassigned and overdue", "?assignee=unassigned&overdue=1", ""},
		{"has agent", "?agent=1", ""},
		{"search by email", "?q=seed42@example.com", ""},
	} {
		var lat latencies
		for i := 0; i < 220; i++ {
			t0 := time.Now()
			resp, err := client.Get(b.baseURL + "/console" + p.query)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("queue %s: %d", p.name, resp.StatusCode)
			}
			if i >= 20 {
				lat = append(lat, time.Since(t0))
			}
		}
		b.add("queue page: "+p.name, fmt.Sprintf("p50 %s, p95 %s", msf(lat.pct(.5)), msf(lat.pct(.95))), p.target)
	}
	org, err := dsr.ParseConfig(strings.NewReader(benchConfig))
	if err != nil {
		return err
	}
	e, err := workflow.New(b.pool, workflow.Options{Org: org, BaseURL: b.baseURL})
	if err != nil {
		return err
	}
	t0 := time.Now()
	res, err := e.Sweep(ctx)
	if err != nil {
		return err
	}
	b.add(fmt.Sprintf("reconciliation sweep over %d open requests", b.o.requests), fmt.Sprintf("%.1f s (repaired %d)", time.Since(t0).Seconds(), res.RemindersScheduled+res.ExpiriesScheduled), "≤ 30 s")
	return nil
}

// seed inserts requests in chunks (set-based INSERT … SELECT, not one
// statement per row) with a progress bar.
func (b *bench) seed(ctx context.Context) error {
	if _, err := b.pool.Exec(ctx, `INSERT INTO requesters (email, country) SELECT 'seed' || g || '@example.com', 'NL' FROM generate_series(1, 1000) g;
		INSERT INTO agents (name, email) VALUES ('Seed Agent', 'agent@example.org');
		INSERT INTO users (email, role, password_hash) SELECT 'seed-officer' || g || '@example.com', 'officer', 'x' FROM generate_series(1, 5) g`); err != nil {
		return err
	}
	const chunk = 50_000
	t0 := time.Now()
	for done := 0; done < b.o.requests; done += chunk {
		n := min(chunk, b.o.requests-done)
		_, err := b.pool.Exec(ctx, `WITH rq AS (SELECT array_agg(id) AS ids FROM requesters WHERE email <> ''), ag AS (SELECT min(id::text)::uuid AS id FROM agents WHERE email <> ''),
			  us AS (SELECT array_agg(id) AS ids FROM users WHERE email LIKE 'seed-officer%')
			INSERT INTO requests (kind, regime, status, channel, requester_id, agent_id, assignee_id, calendar, received_at,
			                      received_on, legal_due, due_on, needs_verification)
			SELECT (ARRAY['access','rectification','erasure','portability','opt_out','restriction','objection'])[1 + g % 7],
			       (ARRAY['gdpr','uk_gdpr','ccpa','ctdpa'])[1 + g % 4],
			       (ARRAY['pending_verification','open','in_progress','awaiting_requester','completed','denied'])[1 + g % 6],
			       'api', rq.ids[1 + g % 1000], CASE WHEN g % 20 = 0 THEN ag.id END, CASE WHEN (g / 7) % 3 = 0 THEN us.ids[1 + g % 5] END, 'US',
			       now() - (g % 40) * interval '1 day', current_date - g % 40, current_date + 30 - g % 60, current_date + 30 - g % 60, true
			FROM generate_series($1::int, $2::int) g, rq, ag, us`, done+1, done+n)
		if err != nil {
			return err
		}
		progress(done+n, b.o.requests, t0)
	}
	fmt.Println()
	_, err := b.pool.Exec(ctx, `
		INSERT INTO river_job (args, kind, max_attempts, queue, priority, state, scheduled_at)
		SELECT jsonb_build_object('request_id', id::text, 'due', to_char(due_on, 'YYYY-MM-DD'), 'step', 0),
		       'deadline_reminder', 10, 'bench_seed', 1, 'scheduled', due_on + interval '400 days'
		FROM requests WHERE status IN ('pending_verification', 'open', 'in_progress', 'awaiting_requester') AND channel = 'api' AND calendar = 'US';
		INSERT INTO river_job (args, kind, max_attempts, queue, priority, state, scheduled_at)
		SELECT jsonb_build_object('request_id', id::text), 'verify_expiry', 10, 'bench_seed', 1, 'scheduled', received_at + interval '400 days'
		FROM requests WHERE status = 'pending_verification' AND calendar = 'US'`)
	if err != nil {
		return err
	}
	_, err = b.pool.Exec(ctx, `VACUUM ANALYZE`)
	return err
}

func progress(done, total int, t0 time.Time) {
	const width = 40
	filled := width * done / total
	fmt.Printf("\r  seeding [%s%s] %d/%d (%.0fs)", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, time.Since(t0).Seconds())
}

const benchPassword = "benchmark password 2026"

func (b *bench) login(ctx context.Context) (*http.Client, error) {
	return b.loginAt(ctx, b.baseURL, "bench-officer@bench.example")
}

// loginAt creates an officer with email and signs them in at the
// replica base; the client's jar holds the session.
func (b *bench) loginAt(ctx context.Context, base, email string) (*http.Client, error) {
	hash, err := dsr.HashPassword(benchPassword)
	if err != nil {
		return nil, err
	}
	if err := db.InsertUser(ctx, b.pool, &db.User{Email: email, Role: db.RoleOfficer, PasswordHash: hash}); err != nil {
		return nil, err
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 60 * time.Second}
	resp, err := c.Get(base + "/console/login")
	if err != nil {
		return nil, err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("no CSRF token on the login page")
	}
	resp, err = c.PostForm(base+"/console/login", url.Values{"email": {email}, "password": {benchPassword}, "_csrf": {string(m[1])}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return c, nil
}

func (b *bench) report() {
	fmt.Println("\n| measure | result | target |\n|---|---|---|")
	for _, r := range b.rows {
		fmt.Printf("| %s | %s | %s |\n", strings.TrimSpace(r.what), r.value, r.target)
	}
}
