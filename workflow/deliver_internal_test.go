package workflow

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/notify"
	"github.com/dsrdesk/dsrdesk/notify/smtptest"
)

// testClock is real time moved by an offset.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

type deliverSetup struct {
	e     *Engine
	pool  *pgxpool.Pool
	smtp  *smtptest.Server
	clock *testClock
	// perSend is how many connections one notify.Sender.Send opens to
	// smtp (measured; one message, "baseline@example.org", arrived).
	perSend int
}

// setupDeliver builds an engine with one email worker (so which job
// claims what is deterministic) that is not started yet.
func setupDeliver(t *testing.T) *deliverSetup {
	t.Helper()
	org, err := dsr.ParseConfig(strings.NewReader(`{
  "organisation": {"name": "Testorg B.V.", "contact_email": "privacy@testorg.example"},
  "time_zone": "Europe/Amsterdam", "regimes": ["gdpr"],
  "jurisdictions": [{"countries": ["EEA"], "regime": "gdpr"}],
  "mail": {"from": "privacy@testorg.example", "from_name": "Testorg Privacy"}}`))
	if err != nil {
		t.Fatal(err)
	}
	pool := dbtest.NewPool(t)
	srv := smtptest.Start(t)
	sender, err := notify.NewSender(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if err := sender.Send(context.Background(), "privacy@testorg.example", []string{"baseline@example.org"}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
	e, err := New(pool, Options{Org: org, BaseURL: "https://desk.example", Mailer: sender, Clock: clock, RetryBase: 20 * time.Millisecond,
		Workers: 1, FetchPollInterval: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return &deliverSetup{e: e, pool: pool, smtp: srv, clock: clock, perSend: srv.Connections()}
}

func (s *deliverSetup) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = s.e.Stop(sctx)
		cancel()
	})
}

// record records n messages with a live status link each, with their
// delivery jobs, in one transaction, and returns their ids in order.
func (s *deliverSetup) record(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	err := s.e.inTx(context.Background(), func(tx pgx.Tx) error {
		for i := range n {
			link := fmt.Sprintf("https://desk.example/status/%043d", i)
			m := &db.Message{Event: "test", Locale: "en", RecipientRole: "subject", ToEmail: fmt.Sprintf("to%d@example.org", i),
				Subject: fmt.Sprintf("Message %d", i), TextBody: "Your link: " + link + "\n", HTMLBody: `<a href="` + link + `">status</a>`}
			if err := s.e.recordMessage(context.Background(), tx, m); err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

type msgRow struct {
	status, lastError  string
	attempts           int
	sealed, claimed    bool
	sentAt, nextAttmpt *time.Time
}

func (s *deliverSetup) row(t *testing.T, id string) msgRow {
	t.Helper()
	var r msgRow
	err := s.pool.QueryRow(context.Background(), `SELECT status, last_error, attempts, sealed IS NOT NULL, claimed_until IS NOT NULL, sent_at, next_attempt_at
		FROM messages WHERE id = $1`, id).Scan(&r.status, &r.lastError, &r.attempts, &r.sealed, &r.claimed, &r.sentAt, &r.nextAttmpt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// jobState returns the state of a message's delivery job and whether it
// has run.
func (s *deliverSetup) jobState(t *testing.T, id string) (rivertype.JobState, bool) {
	t.Helper()
	var state rivertype.JobState
	var ran bool
	err := s.pool.QueryRow(context.Background(), `SELECT state, attempted_at IS NOT NULL FROM river_job
		WHERE kind = 'deliver_message' AND args ->> 'message_id' = $1`, id).Scan(&state, &ran)
	if err != nil {
		t.Fatal(err)
	}
	return state, ran
}

// waitJobs waits until every delivery job of ids has reached a state in
// want.
func (s *deliverSetup) waitJobs(t *testing.T, ids []string, want ...rivertype.JobState) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range ids {
		for {
			state, _ := s.jobState(t, id)
			if strings.Contains(fmt.Sprint(want), string(state)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery job of %s is %s, want one of %v", id, state, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// byMessageID counts the delivered copies of each message (the baseline
// message excluded).
func (s *deliverSetup) byMessageID() map[string]int {
	n := map[string]int{}
	for _, m := range s.smtp.Messages()[1:] {
		n[m.MessageID]++
	}
	return n
}

func (s *deliverSetup) messageID(t *testing.T, id string) string {
	t.Helper()
	m, err := db.GetMessage(context.Background(), s.pool, id, false)
	if err != nil {
		t.Fatal(err)
	}
	return m.MessageID
}

// Thirty queued messages leave over ONE SMTP session, each once, with its
// live link, and one statement marks them sent at the engine clock's time.
func TestDeliveryBatchesOverOneConnection(t *testing.T) {
	t.Parallel()
	s := setupDeliver(t)
	ids := s.record(t, 30)
	s.clock.Advance(72 * time.Hour)
	before := time.Now()
	s.start(t)
	got := s.smtp.WaitFor(t, 31, 20*time.Second)[1:]
	s.waitJobs(t, ids, rivertype.JobStateCompleted)
	if conns := s.smtp.Connections() - s.perSend; conns != s.perSend {
		t.Fatalf("30 messages opened %d connections, want %d (as many as one Send)", conns, s.perSend)
	}
	copies := s.byMessageID()
	for i, id := range ids {
		if n := copies[s.messageID(t, id)]; n != 1 {
			t.Fatalf("message %d delivered %d times", i, n)
		}
		r := s.row(t, id)
		if r.status != db.MessageSent || r.attempts != 1 || r.sealed || r.claimed || r.lastError != "" {
			t.Fatalf("message %d after delivery: %+v", i, r)
		}
		if r.sentAt == nil || r.sentAt.Before(before.Add(72*time.Hour)) {
			t.Fatalf("message %d sent_at %v, want the engine clock's time (after %v)", i, r.sentAt, before.Add(72*time.Hour))
		}
	}
	for _, m := range got {
		if !strings.Contains(m.Text, "/status/000") || strings.Contains(m.Text, "[link]") {
			t.Fatalf("delivered text has no live link: %q", m.Text)
		}
	}
}

// A 4xx for one message of a batch does not hold up the others; that
// message keeps its own retry time and is delivered once, on its second
// attempt.
func TestDeliveryBatchRetriesARefusedMessageAlone(t *testing.T) {
	t.Parallel()
	s := setupDeliver(t)
	ids := s.record(t, 5)
	s.smtp.FailNext(1, 451, "try again later")
	s.start(t)
	s.smtp.WaitFor(t, 6, 20*time.Second)
	s.waitJobs(t, ids, rivertype.JobStateCompleted)
	if n := s.smtp.Attempts(); n != 1+6 {
		t.Fatalf("SMTP saw %d DATA commands, want 6 (and the baseline)", n-1)
	}
	retried := 0
	copies := s.byMessageID()
	for i, id := range ids {
		r := s.row(t, id)
		if r.status != db.MessageSent || r.sealed || r.claimed || copies[s.messageID(t, id)] != 1 {
			t.Fatalf("message %d: %+v, delivered %d times", i, r, copies[s.messageID(t, id)])
		}
		switch r.attempts {
		case 1:
		case 2:
			retried++
		default:
			t.Fatalf("message %d took %d attempts", i, r.attempts)
		}
	}
	if retried != 1 {
		t.Fatalf("%d messages retried, want 1", retried)
	}
}

// A 5xx for one message of a batch fails that message only (its job is
// cancelled, its sealed copy kept for an officer's retry); the others go.
func TestDeliveryBatchFailsARejectedMessageAlone(t *testing.T) {
	t.Parallel()
	s := setupDeliver(t)
	ids := s.record(t, 5)
	s.smtp.FailNext(1, 550, "no such user")
	s.start(t)
	s.smtp.WaitFor(t, 5, 20*time.Second)
	s.waitJobs(t, ids, rivertype.JobStateCompleted, rivertype.JobStateCancelled)
	failed := 0
	for i, id := range ids {
		r := s.row(t, id)
		state, _ := s.jobState(t, id)
		switch r.status {
		case db.MessageSent:
			if state != rivertype.JobStateCompleted {
				t.Fatalf("message %d sent, job %s", i, state)
			}
		case db.MessageFailed:
			failed++
			if !strings.Contains(r.lastError, "550") || !r.sealed || r.claimed || r.attempts != 1 || state != rivertype.JobStateCancelled {
				t.Fatalf("failed message %d: %+v, job %s", i, r, state)
			}
		default:
			t.Fatalf("message %d: %+v", i, r)
		}
	}
	if failed != 1 || len(s.smtp.Messages()) != 1+4 {
		t.Fatalf("%d failed, %d delivered; want 1 and 4", failed, len(s.smtp.Messages())-1)
	}
}

// A message another run holds is not sent by its own job (no deliberate
// duplicate); once that claim lapses (its holder died) the job sends it,
// once.
func TestDeliveryLeavesClaimedMessagesToTheirClaimant(t *testing.T) {
	t.Parallel()
	s := setupDeliver(t)
	ids := s.record(t, 2)
	ctx := context.Background()
	now := s.e.now()
	claimed, err := db.ClaimMessages(ctx, s.pool, ids[0], 1, now, now.Add(deliveryLease))
	if err != nil || len(claimed) != 1 || claimed[0].ID != ids[0] {
		t.Fatalf("claim: %v, %d messages", err, len(claimed))
	}
	s.start(t)
	s.smtp.WaitFor(t, 2, 20*time.Second) // the other message
	deadline := time.Now().Add(20 * time.Second)
	for {
		// It ran and waits for the claim: snoozed, to run again later.
		var waiting bool
		err := s.pool.QueryRow(ctx, `SELECT attempted_at IS NOT NULL AND state IN ('scheduled', 'available') AND scheduled_at > now()
			FROM river_job WHERE kind = 'deliver_message' AND args ->> 'message_id' = $1`, ids[0]).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			state, ran := s.jobState(t, ids[0])
			t.Fatalf("job of the claimed message: %s, ran %v", state, ran)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := s.byMessageID()[s.messageID(t, ids[0])]; n != 0 {
		t.Fatalf("the claimed message was sent %d times by another job", n)
	}
	if r := s.row(t, ids[0]); r.status != db.MessageQueued || r.attempts != 0 {
		t.Fatalf("claimed message: %+v", r)
	}
	// The claimant died: its lease runs out.
	s.clock.Advance(deliveryLease)
	var jobID int64
	if err := s.pool.QueryRow(ctx, `SELECT id FROM river_job WHERE kind = 'deliver_message' AND args ->> 'message_id' = $1`, ids[0]).Scan(&jobID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.e.river.JobRetry(ctx, jobID); err != nil {
		t.Fatal(err)
	}
	s.smtp.WaitFor(t, 3, 20*time.Second)
	s.waitJobs(t, ids[:1], rivertype.JobStateCompleted)
	if n := s.byMessageID()[s.messageID(t, ids[0])]; n != 1 {
		t.Fatalf("delivered %d times, want once", n)
	}
	if r := s.row(t, ids[0]); r.status != db.MessageSent || r.attempts != 1 {
		t.Fatalf("after the lapsed claim: %+v", r)
	}
}

// The retry time comes from the engine clock, not the machine's.
func TestDeliveryRetryTimeFollowsTheEngineClock(t *testing.T) {
	t.Parallel()
	clock := &testClock{}
	clock.Advance(30 * 24 * time.Hour)
	e := &Engine{clock: clock, retry: time.Second}
	w := &deliverWorker{e: e}
	at := w.NextRetry(&river.Job[DeliverArgs]{JobRow: &rivertype.JobRow{Attempt: 3}})
	want := e.now().Add(9 * time.Second)
	if d := at.Sub(want); d < -time.Second || d > time.Second {
		t.Fatalf("NextRetry = %v, want the engine clock's now + 9s (%v)", at, want)
	}
	if e.backoff(1000) != time.Hour {
		t.Fatalf("backoff is not capped at an hour: %v", e.backoff(1000))
	}
}
