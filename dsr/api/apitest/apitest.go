// Package apitest starts a whole DSR Desk for tests: a fresh PostgreSQL
// database, an in-process SMTP server, the River workers and the HTTP
// server on a loopback port. Nothing is mocked.
package apitest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api"
	"github.com/dsrdesk/dsrdesk/notify"
	"github.com/dsrdesk/dsrdesk/notify/smtptest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// ConfigJSON is the organisation config of the test desk: GDPR for the
// EEA, UK GDPR for GB, CCPA for California, CTDPA for Connecticut, no
// rights elsewhere, and a 14-day erasure promise under the GDPR.
const ConfigJSON = `{
  "organisation": {"name": "Testorg B.V.", "contact_email": "privacy@testorg.example", "address": "Teststraat 1, Utrecht"},
  "time_zone": "Europe/Amsterdam",
  "regimes": ["gdpr", "uk_gdpr", "ccpa", "ctdpa"],
  "jurisdictions": [
    {"countries": ["GB"], "regime": "uk_gdpr"},
    {"countries": ["EEA"], "regime": "gdpr"},
    {"countries": ["US"], "states": ["CA"], "regime": "ccpa"},
    {"countries": ["US"], "states": ["CT"], "regime": "ctdpa"}
  ],
  "regime_calendars": {"gdpr": "NL", "uk_gdpr": "GB-ENG", "ccpa": "US", "ctdpa": "US"},
  "promises": [{"kind": "erasure", "days": 14, "regimes": ["gdpr"], "source": "Privacy policy"}],
  "mail": {"from": "privacy@testorg.example", "from_name": "Testorg Privacy"}
}`

// Clock is a settable clock; zero offset means real time.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns real time plus the offset.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Desk is a running DSR Desk.
type Desk struct {
	URL    string
	Pool   *pgxpool.Pool
	SMTP   *smtptest.Server
	Engine *workflow.Engine
	Server *api.Server
	Org    *dsr.Config
	Clock  *Clock
	Client *http.Client // does not follow redirects
}

// Options tune a Desk.
type Options struct {
	ConfigJSON  string  // default ConfigJSON
	PublicRate  float64 // default: effectively unlimited
	PublicBurst int
	// Observe, when set, sees every HTTP request before the server does.
	Observe func(*http.Request)
	// Server, when set, adjusts the server options (trusted proxies, a
	// logger to inspect) before the server is built.
	Server func(*api.Options)
	// Runners carry out the systems' tasks (workflow.Options.Runners).
	Runners map[string]dsr.TaskRunner
}

// Start runs a desk for t; everything stops when t ends.
func Start(t testing.TB, o Options) *Desk {
	t.Helper()
	if o.ConfigJSON == "" {
		o.ConfigJSON = ConfigJSON
	}
	if o.PublicRate == 0 {
		o.PublicRate, o.PublicBurst = 1000, 1000
	}
	org, err := dsr.ParseConfig(strings.NewReader(o.ConfigJSON))
	if err != nil {
		t.Fatalf("apitest: config: %v", err)
	}
	pool := dbtest.NewPool(t)
	smtp := smtptest.Start(t)
	sender, err := notify.NewSender(smtp.URL())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	url := "http://" + ts.Listener.Addr().String()
	clock := &Clock{}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine, err := workflow.New(pool, workflow.Options{Org: org, BaseURL: url, Mailer: sender, Clock: clock, RetryBase: 20 * time.Millisecond, Logger: quiet, FetchPollInterval: 50 * time.Millisecond,
		Runners: o.Runners})
	if err != nil {
		t.Fatal(err)
	}
	so := api.Options{Engine: engine, PublicRate: o.PublicRate, PublicBurst: o.PublicBurst, Logger: quiet}
	if o.Server != nil {
		o.Server(&so)
	}
	srv, err := api.New(so)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = recordAPI(t, srv.Handler()) // for the OpenAPI contract test (record.go)
	if o.Observe != nil {
		h := ts.Config.Handler
		ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { o.Observe(r); h.ServeHTTP(w, r) })
	}
	ts.Start()
	ctx, cancel := context.WithCancel(context.Background())
	if err := engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ts.Close()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = engine.Stop(sctx)
		cancel()
	})
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Desk{URL: url, Pool: pool, SMTP: smtp, Engine: engine, Server: srv, Org: org, Clock: clock, Client: client}
}

// MailTo waits until n messages addressed to addr have arrived and returns
// them in order.
func (d *Desk) MailTo(t testing.TB, addr string, n int) []smtptest.Received {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got []smtptest.Received
		for _, m := range d.SMTP.Messages() {
			for _, to := range m.To {
				if strings.EqualFold(to, addr) {
					got = append(got, m)
				}
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("apitest: %d messages to %s after 20s, want %d", len(got), addr, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// MailWithSubject waits for a message to addr whose subject contains part
// (deliveries run concurrently, so arrival order is not creation order).
func (d *Desk) MailWithSubject(t testing.TB, addr, part string) smtptest.Received {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, m := range d.SMTP.Messages() {
			for _, to := range m.To {
				if strings.EqualFold(to, addr) && strings.Contains(m.Subject, part) {
					return m
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("apitest: no message to %s with subject containing %q after 20s", addr, part)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// LinkWith returns the first link in m's text containing part.
func LinkWith(t testing.TB, m smtptest.Received, part string) string {
	t.Helper()
	for _, l := range m.Links() {
		if strings.Contains(l, part) {
			return l
		}
	}
	t.Fatalf("apitest: no link containing %q in message %q:\n%s", part, m.Subject, m.Text)
	return ""
}

// RunDue advances the clock by d, makes every scheduled (or retryable) job
// now due under the fake clock available with River's JobRetry, and waits
// until River has worked them and what they enqueued. This is how tests
// move time: no sleeping until a deadline, no editing River's rows.
func (d *Desk) RunDue(t testing.TB, by time.Duration) {
	t.Helper()
	d.Clock.Advance(by)
	ctx := context.Background()
	rc := d.Engine.River()
	now := d.Clock.Now()
	var ids []int64
	params := river.NewJobListParams().States(rivertype.JobStateScheduled, rivertype.JobStateRetryable).
		OrderBy(river.JobListOrderByScheduledAt, river.SortOrderAsc).First(1000)
	for {
		res, err := rc.JobList(ctx, params)
		if err != nil {
			t.Fatalf("apitest: list due jobs: %v", err)
		}
		for _, j := range res.Jobs {
			if j.ScheduledAt.After(now) {
				d.WaitJobs(t, ids)
				return
			}
			if _, err := rc.JobRetry(ctx, j.ID); err != nil {
				// A job running meanwhile may have deleted this one (an
				// officer's verify removes the verification reminders).
				if errors.Is(err, rivertype.ErrNotFound) {
					continue
				}
				t.Fatalf("apitest: make job %d available: %v", j.ID, err)
			}
			ids = append(ids, j.ID)
		}
		if len(res.Jobs) < 1000 {
			break
		}
		params = params.After(res.LastCursor)
	}
	d.WaitJobs(t, ids)
}

// WaitJobs waits until the given jobs, and any job they enqueued, are no
// longer available or running (nor, for the given ones, retryable).
func (d *Desk) WaitJobs(t testing.TB, ids []int64) {
	t.Helper()
	ctx := context.Background()
	rc := d.Engine.River()
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The given jobs waiting for a retry first, then anything available
		// or running: a job moving from one to the other is seen.
		pending := 0
		if len(ids) > 0 {
			retrying, err := rc.JobList(ctx, river.NewJobListParams().IDs(ids...).States(rivertype.JobStateRetryable).First(1))
			if err != nil {
				t.Fatalf("apitest: wait jobs: %v", err)
			}
			pending = len(retrying.Jobs)
		}
		busy, err := rc.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateAvailable, rivertype.JobStateRunning).First(1))
		if err != nil {
			t.Fatalf("apitest: wait jobs: %v", err)
		}
		pending += len(busy.Jobs)
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("apitest: jobs still pending after 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// RunDueOnce is RunDue for jobs that may fail again: it advances the
// clock by d, makes every job then due available, and waits until each
// has been attempted once more — whether it succeeded or is waiting for
// its next retry — and nothing else is available or running. (RunDue
// waits for the retried jobs to leave the retryable state, so it would
// wait forever for a connector that answers an error again.)
func (d *Desk) RunDueOnce(t testing.TB, by time.Duration) {
	t.Helper()
	d.Clock.Advance(by)
	ctx := context.Background()
	rc := d.Engine.River()
	now := d.Clock.Now()
	before := map[int64]int{}
	res, err := rc.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateScheduled, rivertype.JobStateRetryable).First(10000))
	if err != nil {
		t.Fatalf("apitest: list due jobs: %v", err)
	}
	for _, j := range res.Jobs {
		if j.ScheduledAt.After(now) {
			continue
		}
		if _, err := rc.JobRetry(ctx, j.ID); err != nil {
			if errors.Is(err, rivertype.ErrNotFound) {
				continue
			}
			t.Fatalf("apitest: make job %d available: %v", j.ID, err)
		}
		before[j.ID] = j.Attempt
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		pending := 0
		for id, n := range before {
			j, err := rc.JobGet(ctx, id)
			if err != nil {
				if errors.Is(err, rivertype.ErrNotFound) {
					continue
				}
				t.Fatalf("apitest: wait jobs: %v", err)
			}
			if j.Attempt <= n || j.State == rivertype.JobStateAvailable || j.State == rivertype.JobStateRunning {
				pending++
			}
		}
		busy, err := rc.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateAvailable, rivertype.JobStateRunning).First(1))
		if err != nil {
			t.Fatalf("apitest: wait jobs: %v", err)
		}
		if pending+len(busy.Jobs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("apitest: jobs still pending after 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
