package workflow

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// MetricsNamespace prefixes every DSR Desk series.
const MetricsNamespace = "dsrdesk"

// requestCountsTTL is how long a reading of the database gauges is kept:
// the grouped count scans the requests table, so a scraper polling every
// second must not run it every second.
const requestCountsTTL = 15 * time.Second

// metricsQueryTimeout bounds the database reads of one scrape (below
// Prometheus's default scrape timeout of 10 s; a million open requests
// take about 2 s).
const metricsQueryTimeout = 8 * time.Second

// jobMetrics are the job histograms, fed by River's job events.
type jobMetrics struct {
	duration *prometheus.HistogramVec
	wait     *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

func newJobMetrics() *jobMetrics {
	return &jobMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "job_duration_seconds",
			Help:    "Time River jobs spent running, by job kind (River's RunDuration), whatever the result.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"kind"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "job_queue_wait_seconds",
			Help:    "Time River jobs waited as available before a worker took them, by job kind (River's QueueWaitDuration).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"kind"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "job_errors_total",
			Help: "River job runs that failed (to be retried or discarded) or were cancelled (given up for good), by job kind.",
		}, []string{"kind"}),
	}
}

// watch subscribes to the River client's job events and feeds the
// histograms until the client stops (River then closes the channel).
// River drops events when the subscriber falls 1000 behind; observing a
// histogram is far quicker than a job, so that does not happen in
// practice, and a dropped event would only make a count low.
func (m *jobMetrics) watch(rc *river.Client[pgx.Tx]) {
	events, _ := rc.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
		river.EventKindJobCancelled, river.EventKindJobSnoozed)
	go func() {
		for ev := range events {
			m.observe(ev)
		}
	}()
}

func (m *jobMetrics) observe(ev *river.Event) {
	if ev == nil || ev.Job == nil {
		return
	}
	kind := ev.Job.Kind
	if ev.JobStats != nil {
		m.duration.WithLabelValues(kind).Observe(ev.JobStats.RunDuration.Seconds())
		m.wait.WithLabelValues(kind).Observe(ev.JobStats.QueueWaitDuration.Seconds())
	}
	// A cancelled job is one whose worker gave up on it (river.JobCancel,
	// e.g. a mail refused for good) or one cancelled by hand.
	if ev.Kind == river.EventKindJobFailed || ev.Kind == river.EventKindJobCancelled {
		m.errors.WithLabelValues(kind).Inc()
	}
}

// dbCollector reads the request, deadline and outbox gauges from the
// database at scrape time.
type dbCollector struct {
	e *Engine

	requests  *prometheus.Desc
	dueInWeek *prometheus.Desc
	overdue   *prometheus.Desc
	queued    *prometheus.Desc
	failed    *prometheus.Desc
	scrapeErr *prometheus.Desc

	mu   sync.Mutex
	snap *dbSnapshot // the last complete reading
}

func newDBCollector(e *Engine) *dbCollector {
	name := func(n string) string { return prometheus.BuildFQName(MetricsNamespace, "", n) }
	return &dbCollector{e: e,
		requests: prometheus.NewDesc(name("requests"),
			"Requests by status, kind and regime (the database gauges are read at most every 15 s).", []string{"status", "kind", "regime"}, nil),
		dueInWeek: prometheus.NewDesc(name("requests_due_within_7_days"),
			"Open requests due from today to 7 days ahead (the organisation's time zone).", nil, nil),
		overdue: prometheus.NewDesc(name("requests_overdue"),
			"Open requests whose due date is before today (the organisation's time zone).", nil, nil),
		queued: prometheus.NewDesc(name("outbox_queued_messages"),
			"Outgoing messages waiting for delivery (the outbox backlog).", nil, nil),
		failed: prometheus.NewDesc(name("outbox_failed_messages"),
			"Outgoing messages whose delivery failed for good.", nil, nil),
		scrapeErr: prometheus.NewDesc(name("metrics_database_errors"),
			"1 when this scrape could not read some of the database gauges (they are then missing), else 0.", nil, nil),
	}
}

// Describe sends the descriptors of every gauge.
func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.dueInWeek, c.overdue, c.queued, c.failed, c.scrapeErr} {
		ch <- d
	}
}

// Collect sends the gauges. A failed read leaves its gauges out of this
// scrape and sets dsrdesk_metrics_database_errors to 1 (Prometheus would
// otherwise drop the whole scrape on an error).
func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.read()
	for _, rc := range snap.counts {
		ch <- prometheus.MustNewConstMetric(c.requests, prometheus.GaugeValue, float64(rc.N), string(rc.Status), string(rc.Kind), rc.Regime)
	}
	if snap.due != nil {
		ch <- prometheus.MustNewConstMetric(c.dueInWeek, prometheus.GaugeValue, float64(snap.due.DueInWeek))
		ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(snap.due.Overdue))
	}
	if snap.outbox != nil {
		ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(snap.outbox.Queued))
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, float64(snap.outbox.Failed))
	}
	failed := 0.0
	if snap.counts == nil || snap.due == nil || snap.outbox == nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErr, prometheus.GaugeValue, failed)
}

// dbSnapshot is one reading of the database gauges; a nil part failed.
type dbSnapshot struct {
	counts []db.RequestCount
	due    *db.DueCounts
	outbox *db.OutboxCounts
	at     time.Time // engine clock
}

// read returns the gauges, read again when the last complete reading is
// older than requestCountsTTL on the engine clock: at a million open
// requests the reads take seconds (see BENCHMARKS.md), so a scraper
// polling often must not run them each time. The lock also keeps
// concurrent scrapes from reading twice. A reading with a failed part is
// not kept.
func (c *dbCollector) read() dbSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.e.now()
	if c.snap != nil && now.Sub(c.snap.at) < requestCountsTTL && !now.Before(c.snap.at) {
		return *c.snap
	}
	ctx, cancel := context.WithTimeout(context.Background(), metricsQueryTimeout)
	defer cancel()
	snap := dbSnapshot{at: now}
	if counts, err := db.RequestCounts(ctx, c.e.pool); err == nil {
		snap.counts = append([]db.RequestCount{}, counts...)
	}
	if due, err := db.CountDue(ctx, c.e.pool, dsr.DateIn(now, c.e.org.Location())); err == nil {
		snap.due = &due
	}
	if out, err := db.CountOutbox(ctx, c.e.pool); err == nil {
		snap.outbox = &out
	}
	if snap.counts != nil && snap.due != nil && snap.outbox != nil {
		c.snap = &snap
	}
	return snap
}

// MetricsCollectors returns the engine's Prometheus collectors: the
// database gauges (dsrdesk_requests{status,kind,regime},
// dsrdesk_requests_due_within_7_days, dsrdesk_requests_overdue,
// dsrdesk_outbox_queued_messages, dsrdesk_outbox_failed_messages) and the
// job series (dsrdesk_job_duration_seconds{kind},
// dsrdesk_job_queue_wait_seconds{kind}, dsrdesk_job_errors_total{kind}).
// Register them on one registry only.
func (e *Engine) MetricsCollectors() []prometheus.Collector {
	return []prometheus.Collector{newDBCollector(e), e.jobs.duration, e.jobs.wait, e.jobs.errors}
}
