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
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
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
				code, body, err := postJSON(client, b.baseURL+"/api/v1/requests", map[string]any{"kind": "access",
					"subject": map[string]any{"email": fmt.Sprintf("fault%d@example.com", n), "country": "US", "state": "CA"}})
				mu.Lock()
				if err == nil && code == http.StatusCreated {
					var rc struct {
						ID string `json:"id"`
					}
					_ = json.Unmarshal(body, &rc)
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
	return b.checkDelivered(ctx, 2*time.Minute)
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
