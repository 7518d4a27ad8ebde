package notify_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/dsrdesk/dsrdesk/notify"
	"github.com/dsrdesk/dsrdesk/notify/smtptest"
)

// envelopes returns n messages to rcpt0@example.org … rcpt{n-1}.
func envelopes(t *testing.T, n int) []notify.Envelope {
	t.Helper()
	_, raw := buildMessage(t, false)
	msgs := make([]notify.Envelope, n)
	for i := range msgs {
		msgs[i] = notify.Envelope{From: "bounces@dsrdesk.example", To: []string{fmt.Sprintf("rcpt%d@example.org", i)}, Raw: raw}
	}
	return msgs
}

func sendMany(t *testing.T, s *notify.Sender, msgs []notify.Envelope) []error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	errs := s.SendMany(ctx, msgs)
	if len(errs) != len(msgs) {
		t.Fatalf("SendMany returned %d errors for %d messages", len(errs), len(msgs))
	}
	return errs
}

// perSend is how many connections one Send opens to srv (two on a
// plaintext sink: the STARTTLS probe, then the plaintext session).
func perSend(t *testing.T, srv *smtptest.Server, s *notify.Sender) int {
	t.Helper()
	before := srv.Connections()
	_, raw := buildMessage(t, false)
	mustSend(t, s, raw)
	return srv.Connections() - before
}

func TestSendManyUsesOneSession(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	one := perSend(t, srv, s)
	before := srv.Connections()
	for i, err := range sendMany(t, s, envelopes(t, 20)) {
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if got := srv.Connections() - before; got != one {
		t.Fatalf("20 messages opened %d connections, want %d (as many as one Send)", got, one)
	}
	got := srv.WaitFor(t, 21, waitTimeout)[1:]
	for i, m := range got {
		if want := fmt.Sprintf("rcpt%d@example.org", i); len(m.To) != 1 || m.To[0] != want {
			t.Fatalf("message %d went to %v, want %s", i, m.To, want)
		}
	}
}

// A refused message is reported as such and the others still go, over
// the same connection; a malformed envelope fails only its own message.
func TestSendManyRefusalDoesNotAbortTheOthers(t *testing.T) {
	t.Parallel()
	for _, code := range []int{451, 550} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t)
			s := newSender(t, srv.URL())
			one := perSend(t, srv, s)
			msgs := envelopes(t, 4)
			msgs[2].To = []string{"not an address"}
			srv.FailNext(1, code, "refused")
			before := srv.Connections()
			errs := sendMany(t, s, msgs)
			if notify.SMTPCode(errs[0]) != code || notify.Temporary(errs[0]) != (code < 500) {
				t.Fatalf("message 0: %v, want SMTP %d", errs[0], code)
			}
			if errs[1] != nil || errs[3] != nil {
				t.Fatalf("messages after the refusal: %v, %v", errs[1], errs[3])
			}
			if errs[2] == nil || notify.Temporary(errs[2]) {
				t.Fatalf("malformed envelope: %v, want a permanent error", errs[2])
			}
			if got := srv.Connections() - before; got != one {
				t.Fatalf("%d connections, want %d", got, one)
			}
			got := srv.WaitFor(t, 3, waitTimeout)
			if len(got) != 3 || got[1].To[0] != "rcpt1@example.org" || got[2].To[0] != "rcpt3@example.org" {
				t.Fatalf("delivered %d messages: %+v", len(got), got)
			}
		})
	}
}

// A relay that cannot be reached fails every message with a temporary
// error, after a single dial.
func TestSendManyRelayDown(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for i, err := range sendMany(t, newSender(t, "smtp://"+addr), envelopes(t, 3)) {
		if err == nil || !notify.Temporary(err) || notify.SMTPCode(err) != 0 {
			t.Fatalf("message %d: %v, want a temporary network error", i, err)
		}
	}
}

func TestSendManyCancelledContext(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i, err := range newSender(t, srv.URL()).SendMany(ctx, envelopes(t, 2)) {
		if err == nil || !notify.Temporary(err) {
			t.Fatalf("message %d: %v, want a temporary error", i, err)
		}
	}
	if n := srv.Connections(); n != 0 {
		t.Fatalf("%d connections with a cancelled context", n)
	}
}

// A 421 ends the session: the message that got it fails temporarily and
// the next one goes over a new connection.
func TestSendManyReconnectsAfter421(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	one := perSend(t, srv, s)
	srv.FailRcpt("rcpt1@example.org", 421, "closing, too many messages")
	before := srv.Connections()
	errs := sendMany(t, s, envelopes(t, 3))
	if errs[0] != nil || errs[2] != nil {
		t.Fatalf("messages around the 421: %v, %v", errs[0], errs[2])
	}
	if notify.SMTPCode(errs[1]) != 421 || !notify.Temporary(errs[1]) {
		t.Fatalf("message 1: %v, want a temporary 421", errs[1])
	}
	if got := srv.Connections() - before; got != 2*one {
		t.Fatalf("%d connections, want %d (a second session after the 421)", got, 2*one)
	}
	if got := srv.WaitFor(t, 3, waitTimeout); got[2].To[0] != "rcpt2@example.org" {
		t.Fatalf("last delivered to %v", got[2].To)
	}
}

// A 5xx at RCPT fails only that message; the session goes on after RSET.
func TestSendManyRcptRefusalResetsTheTransaction(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	one := perSend(t, srv, s)
	srv.FailRcpt("rcpt0@example.org", 550, "no such user")
	before := srv.Connections()
	errs := sendMany(t, s, envelopes(t, 2))
	if notify.SMTPCode(errs[0]) != 550 || notify.Temporary(errs[0]) || errs[1] != nil {
		t.Fatalf("errors %v, %v; want 550 then nil", errs[0], errs[1])
	}
	if got := srv.Connections() - before; got != one {
		t.Fatalf("%d connections, want %d", got, one)
	}
	if got := srv.WaitFor(t, 2, waitTimeout); len(got[1].To) != 1 || got[1].To[0] != "rcpt1@example.org" {
		t.Fatalf("delivered to %v", got[1].To)
	}
}
