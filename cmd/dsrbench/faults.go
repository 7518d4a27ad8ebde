package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5"
)

// runFaults checks that nothing acknowledged is lost when the server is
// killed, the mail relay is down, or PostgreSQL restarts under load. It
// prints what it checked with the counts and fails on any loss.
func runFaults(ctx context.Context, o options) error {
	b, err := newBench(ctx, o)
	if err != nil {
		return err
	}
	defer b.close()
	fmt.Printf("dsrfaults %s · %s\n\n", time.Now().UTC().Format(time.RFC3339), machine())
	if err := b.faultKill(ctx); err != nil {
		return fmt.Errorf("kill -9: %w", err)
	}
	if err := b.faultSMTPDown(ctx); err != nil {
		return fmt.Errorf("SMTP down: %w", err)
	}
	if err := b.faultWebhookDown(ctx); err != nil {
		return fmt.Errorf("webhook receiver down: %w", err)
	}
	if err := b.faultTwoReplicas(ctx); err != nil {
		return fmt.Errorf("two replicas: %w", err)
	}
	if o.pgRestart {
		if err := b.faultPGRestart(ctx); err != nil {
			return fmt.Errorf("PostgreSQL restart: %w", err)
		}
	}
	fmt.Println("\nfaults: every check passed")
	return nil
}

// load posts requests from c clients until stop is closed and returns the
// ids answered 201, and how many calls failed otherwise.
func (b *bench) load(c int, stop <-chan struct{}) (ids []string, failed int) {
	return b.loadOver(c, stop, b.baseURL)
}

// loadOver is load with the calls spread round-robin over the replicas at
// urls, as a load balancer would.
func (b *bench) loadOver(c int, stop <-chan struct{}, urls ...string) (ids []string, failed int) {
	return loadRequests(c, stop, urls, func(n int64) map[string]any {
		return map[string]any{"kind": "access",
			"subject": map[string]any{"email": fmt.Sprintf("fault%d@example.com", n), "country": "US", "state": "CA"}}
	})
}

// loadRequests posts the request body(n) from c clients, round-robin over
// urls, until stop is closed; it returns the ids answered 201 and how
// many calls failed otherwise.
func loadRequests(c int, stop <-chan struct{}, urls []string, body func(n int64) map[string]any) (ids []string, failed int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := seq.Add(1)
				code, answer, err := postJSON(client, urls[int(n)%len(urls)]+"/api/v1/requests", body(n))
				mu.Lock()
				if err == nil && code == http.StatusCreated {
					var rc struct {
						ID string `json:"id"`
					}
					_ = json.Unmarshal(answer, &rc)
					ids = append(ids, rc.ID)
				} else {
					failed++
					time.Sleep(20 * time.Millisecond)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return ids, failed
}

// checkAccepted verifies that every accepted request exists with its
// events, its deadline job and its messages.
func (b *bench) checkAccepted(ctx context.Context, ids []string) error {
	var missing, noEvents, noJobs, noMail int
	err := b.pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE r.id IS NULL),
		count(*) FILTER (WHERE r.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM events e WHERE e.request_id = r.id)),
		count(*) FILTER (WHERE r.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.kind = 'deadline_reminder' AND j.args ->> 'request_id' = r.id::text)),
		count(*) FILTER (WHERE r.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.request_id = r.id))
		FROM unnest($1::uuid[]) AS a(id) LEFT JOIN requests r ON r.id = a.id`, ids).Scan(&missing, &noEvents, &noJobs, &noMail)
	if err != nil {
		return err
	}
	fmt.Printf("  %d requests answered 201: %d missing, %d without events, %d without deadline job, %d without messages\n",
		len(ids), missing, noEvents, noJobs, noMail)
	if missing+noEvents+noJobs+noMail > 0 {
		return errors.New("an accepted request lost data")
	}
	return nil
}

// checkDelivered waits until no message is queued, then checks each sent
// message arrived at the sink, and counts duplicate deliveries.
func (b *bench) checkDelivered(ctx context.Context, limit time.Duration) error {
	if err := b.waitMessages(ctx, limit); err != nil {
		return err
	}
	rows, err := b.pool.Query(ctx, `SELECT message_id, status FROM messages`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var total, failed, lost int
	for rows.Next() {
		var id, status string
		if err := rows.Scan(&id, &status); err != nil {
			return err
		}
		total++
		if status == "failed" {
			failed++
		}
		if b.sink.delivered(id) == 0 {
			lost++
		}
	}
	dups := b.sink.duplicates()
	fmt.Printf("  %d messages: %d not delivered, %d failed, %d delivered more than once (at-least-once)\n", total, lost, failed, dups)
	if lost > 0 || failed > 0 {
		return errors.New("a message was not delivered")
	}
	return nil
}

func (b *bench) faultKill(ctx context.Context) error {
	fmt.Println("kill -9 of dsrdesk serve under intake load")
	stop := make(chan struct{})
	var ids []string
	var failed int
	done := make(chan struct{})
	go func() { ids, failed = b.load(8, stop); close(done) }()
	time.Sleep(3 * time.Second)
	if err := b.child.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	_ = b.child.Wait()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	<-done
	fmt.Printf("  killed after %d accepted requests (%d calls failed while it was down)\n", len(ids), failed)
	if err := b.startServer(ctx); err != nil {
		return err
	}
	if err := b.checkAccepted(ctx, ids); err != nil {
		return err
	}
	// The killed worker's claimed messages stay leased for 2 minutes
	// (workflow.deliveryLease) before another worker may send them: wait past that.
	return b.checkDelivered(ctx, 4*time.Minute)
}

func (b *bench) faultSMTPDown(ctx context.Context) error {
	fmt.Println("mail relay down under load, then back")
	before := b.sink.total()
	b.sink.stop()
	stop := make(chan struct{})
	var ids []string
	done := make(chan struct{})
	go func() { ids, _ = b.load(4, stop); close(done) }()
	time.Sleep(3 * time.Second)
	close(stop)
	<-done
	var retried int
	time.Sleep(2 * time.Second)
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE status = 'queued' AND attempts > 0`).Scan(&retried); err != nil {
		return err
	}
	fmt.Printf("  %d requests accepted while the relay was down; %d messages waiting to retry\n", len(ids), retried)
	if err := b.sink.start(); err != nil {
		return err
	}
	if err := b.checkAccepted(ctx, ids); err != nil {
		return err
	}
	if err := b.checkDelivered(ctx, 3*time.Minute); err != nil {
		return err
	}
	fmt.Printf("  %d deliveries after the relay came back\n", b.sink.total()-before)
	return nil
}

func (b *bench) faultPGRestart(ctx context.Context) error {
	fmt.Println("PostgreSQL restarted under load")
	version, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(version) == 0 {
		return fmt.Errorf("no local PostgreSQL cluster to restart (run with -pg-restart=false elsewhere)")
	}
	cluster := version[0].Name()
	stop := make(chan struct{})
	var ids []string
	var failed int
	done := make(chan struct{})
	go func() { ids, failed = b.load(4, stop); close(done) }()
	time.Sleep(2 * time.Second)
	if out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "stop", "-m", "fast").CombinedOutput(); err != nil {
		return fmt.Errorf("stop: %v %s", err, out)
	}
	outage := b.readyz()
	time.Sleep(2 * time.Second)
	if out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "start").CombinedOutput(); err != nil {
		return fmt.Errorf("start: %v %s", err, out)
	}
	recovered := time.Now()
	for b.readyz() != http.StatusOK {
		if time.Since(recovered) > 60*time.Second {
			return errors.New("/readyz did not recover within 60s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Printf("  /readyz answered %d during the outage and 200 again %.1fs after PostgreSQL started\n", outage, time.Since(recovered).Seconds())
	time.Sleep(2 * time.Second)
	close(stop)
	<-done
	if outage != http.StatusServiceUnavailable {
		return fmt.Errorf("/readyz answered %d while PostgreSQL was down", outage)
	}
	fmt.Printf("  %d accepted, %d calls refused during the outage (503, to retry)\n", len(ids), failed)
	b.pool.Reset()
	if err := b.checkAccepted(ctx, ids); err != nil {
		return err
	}
	return b.checkDelivered(ctx, 3*time.Minute)
}

// faultTwoReplicas runs a second `dsrdesk serve` on the same database
// and checks that the two behave as one: with intake spread over both,
// every accepted request exists with its jobs and every message is
// delivered exactly once (counted per Message-ID at the SMTP sink); a
// session signed in on one replica works on the other; there is one live
// River leader and at most one sweep per period. Then it kills the first
// replica (the leader) with -9 mid-load: nothing accepted is lost, every
// message is delivered (at least once: a delivery the killed replica was
// making when it died may be repeated by the survivor), and the survivor
// becomes the one live leader.
func (b *bench) faultTwoReplicas(ctx context.Context) error {
	fmt.Println("two replicas on one database: load over both, then kill -9 of one")
	r, err := b.startReplica(ctx)
	if err != nil {
		return err
	}
	urls := []string{b.baseURL, r.baseURL}

	// Both alive: every job runs once.
	stop := make(chan struct{})
	var ids []string
	done := make(chan struct{})
	go func() { ids, _ = b.loadOver(8, stop, urls...); close(done) }()
	time.Sleep(3 * time.Second)
	close(stop)
	<-done
	fmt.Printf("  both replicas up: %d requests accepted over the two\n", len(ids))
	if err := b.checkAccepted(ctx, ids); err != nil {
		return err
	}
	if err := b.checkDelivered(ctx, 4*time.Minute); err != nil {
		return err
	}
	n, dups, err := b.deliveriesOf(ctx, ids)
	if err != nil {
		return err
	}
	fmt.Printf("  %d messages of these requests, %d delivered more than once\n", n, dups)
	if dups > 0 {
		return errors.New("a message was delivered twice while both replicas ran")
	}
	if err := b.checkSessionAcross(ctx, b.baseURL, r.baseURL); err != nil {
		return err
	}
	leader, expires, err := b.checkOneLeader(ctx)
	if err != nil {
		return err
	}

	// Kill -9 of the first replica mid-load: it was up before the second,
	// so it holds the River leadership (the leader keeps it until it dies),
	// and the survivor must take over leading, rescuing its running jobs and
	// the sweep. The second replica then serves the checks that follow.
	stop, done = make(chan struct{}), make(chan struct{})
	var failed int
	go func() { ids, failed = b.loadOver(8, stop, urls...); close(done) }()
	time.Sleep(2 * time.Second)
	if err := b.child.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	_ = b.child.Wait()
	killed := time.Now()
	b.child, b.baseURL = r.cmd, r.baseURL
	b.extra = b.extra[:len(b.extra)-1]
	time.Sleep(1 * time.Second)
	close(stop)
	<-done
	fmt.Printf("  first replica killed: %d requests accepted, %d calls to it failed\n", len(ids), failed)
	if err := b.checkAccepted(ctx, ids); err != nil {
		return err
	}
	if err := b.checkDelivered(ctx, 4*time.Minute); err != nil {
		return err
	}
	if n, dups, err = b.deliveriesOf(ctx, ids); err != nil {
		return err
	}
	fmt.Printf("  %d messages of these requests, %d delivered more than once (at-least-once across the kill)\n", n, dups)
	if err := b.checkLeaderAlive(ctx, leader, expires, killed); err != nil {
		return err
	}
	return nil
}

// deliveriesOf counts the messages of the requests ids and how many of
// their deliveries at the sink were repeats.
func (b *bench) deliveriesOf(ctx context.Context, ids []string) (messages, repeats int, err error) {
	rows, err := b.pool.Query(ctx, `SELECT message_id FROM messages WHERE request_id = ANY($1::uuid[])`, ids)
	if err != nil {
		return 0, 0, err
	}
	msgIDs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, 0, err
	}
	for _, id := range msgIDs {
		if n := b.sink.delivered(id); n > 1 {
			repeats += n - 1
		}
	}
	return len(msgIDs), repeats, nil
}

// checkSessionAcross signs an officer in on replica a and uses the session
// cookie on replica b: the console must answer 200 there, not send the
// officer to the login page.
func (b *bench) checkSessionAcross(ctx context.Context, a, other string) error {
	c, err := b.loginAt(ctx, a, "replica-officer@bench.example")
	if err != nil {
		return err
	}
	au, _ := url.Parse(a + "/console") // the session cookie may be scoped to /console
	var cookies []string
	for _, ck := range c.Jar.Cookies(au) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	if len(cookies) == 0 {
		return errors.New("no session cookie after signing in")
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, other+"/console", nil)
	req.Header.Set("Cookie", strings.Join(cookies, "; "))
	plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := plain.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	fmt.Printf("  signed in on the first replica; the console on the second answers %d with that cookie\n", resp.StatusCode)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the session of one replica is refused by the other (%d %s)", resp.StatusCode, resp.Header.Get("Location"))
	}
	return nil
}

// checkOneLeader checks there is one live River leader (the leader row
// not expired) and at most one sweep job per 15-minute period, and returns
// the leader and its expiry.
func (b *bench) checkOneLeader(ctx context.Context) (string, time.Time, error) {
	var leader string
	var expires time.Time
	// Right after processes start or die there may be no leader for a few
	// seconds (River re-elects on its own schedule): wait for one, up to
	// 30 s, before calling it missing. There can never be two: the leader
	// row has a single key.
	for deadline := time.Now().Add(30 * time.Second); ; {
		err := b.pool.QueryRow(ctx, `SELECT leader_id, expires_at FROM river_leader WHERE expires_at > now()`).Scan(&leader, &expires)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return "", time.Time{}, fmt.Errorf("no live River leader for 30 s: %w", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	var perPeriod int
	if err := b.pool.QueryRow(ctx, `SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM river_job WHERE kind = 'reconcile_deadlines'
		GROUP BY date_bin('15 minutes', created_at, TIMESTAMPTZ '2000-01-01')) p`).Scan(&perPeriod); err != nil {
		return "", time.Time{}, err
	}
	fmt.Printf("  one live River leader (%s); at most %d sweep per 15-minute period\n", leader, perPeriod)
	if perPeriod > 1 {
		return "", time.Time{}, errors.New("two sweeps ran in one period")
	}
	return leader, expires, nil
}

// checkLeaderAlive waits (45s at most) until the leadership held before a
// replica was killed at killed is held by a live process: a new leader was
// elected, or the same one renewed its term past what a dead one could
// hold (its expiry then plus one term).
func (b *bench) checkLeaderAlive(ctx context.Context, before string, expires, killed time.Time) error {
	term := max(expires.Sub(killed), 0) + 20*time.Second
	deadline := time.Now().Add(45 * time.Second)
	for {
		var leader string
		var exp time.Time
		err := b.pool.QueryRow(ctx, `SELECT leader_id, expires_at FROM river_leader WHERE expires_at > now()`).Scan(&leader, &exp)
		if err == nil && (leader != before || exp.After(killed.Add(term))) {
			if leader != before {
				fmt.Printf("  leadership moved from the killed replica to %s (checked %.0fs after the kill, once its mail was delivered)\n", leader, time.Since(killed).Seconds())
			} else {
				fmt.Printf("  the leader %s was the surviving replica and keeps renewing its term\n", leader)
			}
			_, _, err := b.checkOneLeader(ctx)
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no live River leader 45s after the kill (leader %q)", leader)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (b *bench) readyz() int {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(b.baseURL + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Delivery bookkeeping of the sink: Message-ID → deliveries.
func (s *sink) record(raw []byte) {
	id := ""
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Message-Id") {
			id = strings.Trim(strings.TrimSpace(v), "<>")
		}
	}
	s.mu.Lock()
	if s.seen == nil {
		s.seen = map[string]int{}
	}
	s.seen[id]++
	s.mu.Unlock()
}

func (s *sink) delivered(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id]
}

func (s *sink) duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.seen {
		if c > 1 {
			n += c - 1
		}
	}
	return n
}

func (s *sink) total() int64 { return s.count.Load() }

func (s *sink) stop() { _ = s.srv.Close() }

// start listens again on the same address.
func (s *sink) start() error {
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.srv = newSMTPServer(s)
	go func() { _ = s.srv.Serve(l) }()
	return nil
}

func newSMTPServer(s *sink) *smtp.Server {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	srv.Domain = "localhost"
	srv.MaxMessageBytes = 30 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0) // resets from the killed server are expected
	return srv
}
