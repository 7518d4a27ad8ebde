package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/db"
)

// bench is one run: its database, the `dsrdesk serve` replicas (child is
// the first, extra the others, all built once into bin) and the results.
type bench struct {
	o         options
	dbName    string
	dbURL     string
	pool      *pgxpool.Pool
	tmp       string
	child     *exec.Cmd
	baseURL   string
	bin       string
	extra     []*replica
	sink      *sink
	pgVersion string
	rows      []row
	peakRSS   int64
	// secretKey is the DSR_SECRET_KEY of every serve this run starts: a
	// restarted server (the kill -9 check) must open the mail its
	// predecessor sealed.
	secretKey string
	// hook is the webhook system's receiver of the webhook fault check;
	// its address and secret are in every serve's config and environment.
	hook *hookReceiver
}

// row is one line of the final table.
type row struct{ what, value, target string }

func (b *bench) add(what, value, target string) {
	b.rows = append(b.rows, row{what, value, target})
	fmt.Printf("  %-58s %s\n", what, value)
}

func newBench(ctx context.Context, o options) (*bench, error) {
	b := &bench{o: o}
	var err error
	if b.tmp, err = os.MkdirTemp("", "dsrbench"); err != nil {
		return nil, err
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	b.dbName = "dsrbench_" + hex.EncodeToString(suffix)
	cfg, err := pgx.ParseConfig(o.server)
	if err != nil {
		return nil, fmt.Errorf("-db: %w", err)
	}
	cfg.Database = b.dbName
	b.dbURL = fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, b.dbName)
	if b.pool, err = db.Open(ctx, b.dbURL); err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx, b.pool); err != nil {
		return nil, err
	}
	_ = b.pool.QueryRow(ctx, "SHOW server_version").Scan(&b.pgVersion)
	if b.sink, err = startSink(); err != nil {
		return nil, err
	}
	return b, b.startServer(ctx)
}

func (b *bench) close() {
	for _, r := range b.extra {
		stopChild(r.cmd)
	}
	stopChild(b.child)
	if b.sink != nil {
		_ = b.sink.srv.Close()
	}
	if b.pool != nil {
		b.pool.Close()
	}
	if !b.o.keep {
		if c, err := pgx.Connect(context.Background(), b.o.server); err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+b.dbName+" WITH (FORCE)")
			_ = c.Close(context.Background())
		}
	}
	if !b.o.keep {
		_ = os.RemoveAll(b.tmp)
	}
}

// benchConfig is the organisation of the benchmark: CCPA for California,
// GDPR for the EEA.
const benchConfig = `{
  "organisation": {"name": "Bench Inc.", "contact_email": "privacy@bench.example"},
  "time_zone": "America/Los_Angeles", "calendar": "US",
  "regimes": ["ccpa", "gdpr"],
  "jurisdictions": [{"countries": ["US"], "states": ["CA"], "regime": "ccpa"}, {"countries": ["EEA"], "regime": "gdpr"}],
  "mail": {"from": "privacy@bench.example", "from_name": "Bench Privacy"}
}`

// replica is one `dsrdesk serve` child process.
type replica struct {
	cmd     *exec.Cmd
	baseURL string
}

// stopChild interrupts a child process and waits for it (20s, then kill).
func stopChild(c *exec.Cmd) {
	if c == nil || c.Process == nil || c.ProcessState != nil {
		return
	}
	_ = c.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = c.Process.Kill()
	}
}

// startServer builds dsrdesk and runs `dsrdesk serve` as a child process,
// so intake is measured over real HTTP and its memory can be read.
func (b *bench) startServer(ctx context.Context) error {
	r, err := b.spawn(ctx, "serve.log")
	if err != nil {
		return err
	}
	b.child, b.baseURL = r.cmd, r.baseURL
	return nil
}

// startReplica runs one more `dsrdesk serve` on the same database, with
// the same config and secret key, on its own port.
func (b *bench) startReplica(ctx context.Context) (*replica, error) {
	r, err := b.spawn(ctx, fmt.Sprintf("serve-%d.log", len(b.extra)+2))
	if err != nil {
		return nil, err
	}
	b.extra = append(b.extra, r)
	return r, nil
}

// spawn starts `dsrdesk serve` (built on first use) and waits until its
// /readyz answers 200.
func (b *bench) spawn(ctx context.Context, logName string) (*replica, error) {
	if b.bin == "" {
		bin := filepath.Join(b.tmp, "dsrdesk")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/dsrdesk")
		build.Dir = moduleRoot()
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build dsrdesk: %v\n%s", err, out)
		}
		hook, err := newHookReceiver()
		if err != nil {
			return nil, err
		}
		b.hook = hook
		if err := os.WriteFile(filepath.Join(b.tmp, "config.json"), []byte(hook.config(benchConfig)), 0o600); err != nil {
			return nil, err
		}
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		b.bin, b.secretKey = bin, hex.EncodeToString(key)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &replica{baseURL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	r.cmd = exec.Command(b.bin, "serve")
	// Replicas share only PostgreSQL and the secret key (which seals the
	// links of stored mail that another replica may deliver).
	r.cmd.Env = append(os.Environ(), "DATABASE_URL="+b.dbURL, "DSR_CONFIG="+filepath.Join(b.tmp, "config.json"),
		fmt.Sprintf("DSR_ADDR=127.0.0.1:%d", port), "DSR_BASE_URL="+r.baseURL, "DSR_SMTP_URL=smtp://"+b.sink.addr, "DSR_SECRET_KEY="+b.secretKey,
		"DSR_PUBLIC_RATE=1000000", "DSR_PUBLIC_BURST=1000000", "DSR_MAIL_RETRY_BASE=1s", "DSR_RESCUE_STUCK_AFTER=20s",
		"DSR_SYSTEM_NEWSLETTER_SECRET="+b.hook.secret, "DSR_TASK_RETRY_BASE=1s")
	logf, err := os.OpenFile(filepath.Join(b.tmp, logName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(r.baseURL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return r, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = r.cmd.Process.Kill()
	return nil, errors.New("dsrdesk serve did not become ready in 30s")
}

func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "."
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// peakRSSKiB reads the child's high-water resident set (VmHWM).
func (b *bench) readPeakRSS() {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", b.child.Process.Pid))
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%d", &kb)
			b.peakRSS = kb
		}
	}
}

// sink is an in-process SMTP server that accepts and counts messages.
type sink struct {
	srv   *smtp.Server
	addr  string
	count atomic.Int64
	mu    sync.Mutex
	seen  map[string]int // Message-ID → deliveries
}

func startSink() (*sink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{addr: l.Addr().String()}
	s.srv = newSMTPServer(s)
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

type sinkSession struct{ s *sink }

func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.record(raw)
	ss.s.count.Add(1)
	return nil
}
func (ss *sinkSession) Reset()        {}
func (ss *sinkSession) Logout() error { return nil }

// latencies summarises a sample.
type latencies []time.Duration

func (l latencies) pct(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := append(latencies(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p * float64(len(s)-1))
	return s[i]
}

func msf(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// parallel runs n calls of fn over c goroutines and returns the wall time
// and each call's latency.
func parallel(n, c int, fn func(i int) error) (time.Duration, latencies, error) {
	var next atomic.Int64
	lat := make(latencies, n)
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	return time.Since(start), lat, firstErr
}

func postJSON(c *http.Client, url string, body any) (int, []byte, error) {
	b, _ := json.Marshal(body)
	resp, err := c.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, nil
}

func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "model name") {
				model = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s/%s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH)
}
