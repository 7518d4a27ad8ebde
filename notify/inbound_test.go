package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/dsrdesk/dsrdesk/notify"
)

// inboundSetup is a running inbound server whose store records messages
// (or fails while fail is set).
type inboundSetup struct {
	addr string
	srv  *smtp.Server

	mu   sync.Mutex
	got  []notify.InboundMessage
	fail error
}

func (s *inboundSetup) messages() []notify.InboundMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]notify.InboundMessage(nil), s.got...)
}

func (s *inboundSetup) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

// startInbound starts a server; configure, when set, changes it before
// it serves.
func startInbound(t *testing.T, configure func(*smtp.Server)) *inboundSetup {
	t.Helper()
	s := &inboundSetup{}
	accept := func(rcpt string) bool { return strings.EqualFold(rcpt, "privacy@testorg.example") }
	store := func(_ context.Context, m notify.InboundMessage) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.fail != nil {
			return s.fail
		}
		s.got = append(s.got, m)
		return nil
	}
	s.srv = notify.NewInboundServer("", "testorg.example", accept, store)
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	if configure != nil {
		configure(s.srv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go s.srv.Serve(l) //nolint:errcheck
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// deliver sends raw from → to over one SMTP session and returns the first
// error (RCPT or DATA), as an MTA would see it.
func deliver(t *testing.T, addr, from string, to []string, raw []byte) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("mx.sender.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func smtpCode(err error) (int, smtp.EnhancedCode) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code, se.EnhancedCode
	}
	return 0, smtp.EnhancedCode{}
}

const inboundRaw = "From: Ann <ann@example.com>\r\nTo: privacy@testorg.example\r\nSubject: Data\r\nMessage-ID: <1@example.com>\r\n\r\nPlease delete my data.\r\n"

func TestInboundServerDefaults(t *testing.T) {
	t.Parallel()
	srv := notify.NewInboundServer(":2525", "testorg.example", func(string) bool { return true }, func(context.Context, notify.InboundMessage) error { return nil })
	if srv.Addr != ":2525" || srv.Domain != "testorg.example" || srv.MaxMessageBytes != 25<<20 || srv.MaxRecipients != 5 ||
		srv.ReadTimeout != 60*time.Second || srv.WriteTimeout != 60*time.Second || srv.AllowInsecureAuth {
		t.Fatalf("server settings: addr %q domain %q max %d rcpts %d timeouts %s/%s", srv.Addr, srv.Domain, srv.MaxMessageBytes,
			srv.MaxRecipients, srv.ReadTimeout, srv.WriteTimeout)
	}
}

func TestInboundStoresMailForPrivacyAddress(t *testing.T) {
	t.Parallel()
	s := startInbound(t, nil)
	if err := deliver(t, s.addr, "bounce@example.com", []string{"Privacy@TestOrg.example"}, []byte(inboundRaw)); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	got := s.messages()
	if len(got) != 1 {
		t.Fatalf("%d messages stored", len(got))
	}
	m := got[0]
	if m.From != "bounce@example.com" || len(m.To) != 1 || m.To[0] != "Privacy@TestOrg.example" || m.RemoteIP != "127.0.0.1" ||
		m.Helo != "mx.sender.example" || !bytes.Equal(m.Raw, []byte(inboundRaw)) {
		t.Fatalf("stored %+v\nraw %q", m, m.Raw)
	}
}

func TestInboundRefusesOtherRecipients(t *testing.T) {
	t.Parallel()
	s := startInbound(t, nil)
	err := deliver(t, s.addr, "ann@example.com", []string{"sales@testorg.example"}, []byte(inboundRaw))
	if code, ec := smtpCode(err); code != 550 || ec != (smtp.EnhancedCode{5, 1, 1}) {
		t.Fatalf("unknown recipient: %v", err)
	}
	if n := len(s.messages()); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}

func TestInboundRecipientLimit(t *testing.T) {
	t.Parallel()
	s := startInbound(t, nil)
	to := make([]string, 6)
	for i := range to {
		to[i] = "privacy@testorg.example"
	}
	if code, _ := smtpCode(deliver(t, s.addr, "ann@example.com", to, []byte(inboundRaw))); code != 452 {
		t.Fatalf("6th recipient: code %d, want 452", code)
	}
}

func TestInboundTooLargeIs552AndNotStored(t *testing.T) {
	t.Parallel()
	s := startInbound(t, func(srv *smtp.Server) { srv.MaxMessageBytes = 4096 })
	big := inboundRaw + strings.Repeat("padding line of an oversized message\r\n", 200)
	err := deliver(t, s.addr, "ann@example.com", []string{"privacy@testorg.example"}, []byte(big))
	if code, ec := smtpCode(err); code != 552 || ec != (smtp.EnhancedCode{5, 3, 4}) {
		t.Fatalf("oversized: %v", err)
	}
	if n := len(s.messages()); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
	// A message within the limit still goes through on a new session.
	if err := deliver(t, s.addr, "ann@example.com", []string{"privacy@testorg.example"}, []byte(inboundRaw)); err != nil {
		t.Fatalf("small message after a big one: %v", err)
	}
}

func TestInboundStoreFailureIs451ThenRetrySucceeds(t *testing.T) {
	t.Parallel()
	s := startInbound(t, nil)
	s.setFail(errors.New("db: closed pool"))
	err := deliver(t, s.addr, "ann@example.com", []string{"privacy@testorg.example"}, []byte(inboundRaw))
	code, ec := smtpCode(err)
	if code != 451 || ec != (smtp.EnhancedCode{4, 3, 0}) || !strings.Contains(err.Error(), "try again later") || strings.Contains(err.Error(), "closed pool") {
		t.Fatalf("store failure: %v (the cause must not leak to the sender)", err)
	}
	s.setFail(nil)
	if err := deliver(t, s.addr, "ann@example.com", []string{"privacy@testorg.example"}, []byte(inboundRaw)); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(s.messages()); n != 1 {
		t.Fatalf("%d messages stored after the retry", n)
	}
}

// frozenClock is a limiter clock that moves only when told.
type frozenClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *frozenClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *frozenClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// deliverFrom is deliver from the loopback source address ip (127.0.0.x),
// so one test can be several clients.
func deliverFrom(t *testing.T, ip, addr, from string, raw []byte) error {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("mx.sender.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt("privacy@testorg.example", nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func rawFrom(from string, i int) []byte {
	return []byte(fmt.Sprintf("From: %s\r\nTo: privacy@testorg.example\r\nSubject: Data\r\nMessage-ID: <%d.%s>\r\n\r\nPlease delete my data.\r\n", from, i, from))
}

func wantRateLimited(t *testing.T, what string, err error) {
	t.Helper()
	if code, ec := smtpCode(err); code != 451 || ec != (smtp.EnhancedCode{4, 7, 1}) {
		t.Fatalf("%s: %v, want 451 4.7.1", what, err)
	}
}

// TestInboundRateLimitPerClientAddress: the default 20 messages a minute
// from one IP, whatever the sender domain; the 21st is 451 4.7.1 (the MTA
// retries) and not stored, and the next minute mail flows again.
func TestInboundRateLimitPerClientAddress(t *testing.T) {
	t.Parallel()
	clock := &frozenClock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	s := startInbound(t, func(srv *smtp.Server) {
		if err := notify.LimitInbound(srv, notify.InboundLimits{Now: clock.Now}); err != nil {
			t.Fatal(err)
		}
	})
	for i := 0; i < notify.DefaultInboundRate; i++ {
		from := fmt.Sprintf("sender%d@domain%d.example", i, i) // every domain its own
		if err := deliver(t, s.addr, from, []string{"privacy@testorg.example"}, rawFrom(from, i)); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	err := deliver(t, s.addr, "late@other.example", []string{"privacy@testorg.example"}, rawFrom("late@other.example", 99))
	wantRateLimited(t, "21st message from one address", err)
	if n := len(s.messages()); n != notify.DefaultInboundRate {
		t.Fatalf("%d messages stored, want %d", n, notify.DefaultInboundRate)
	}
	clock.Advance(time.Minute)
	if err := deliver(t, s.addr, "late@other.example", []string{"privacy@testorg.example"}, rawFrom("late@other.example", 99)); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
}

// TestInboundRateLimitPerSenderDomain: one sender domain is limited across
// client addresses, by MAIL FROM and by the From: header.
func TestInboundRateLimitPerSenderDomain(t *testing.T) {
	t.Parallel()
	clock := &frozenClock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	s := startInbound(t, func(srv *smtp.Server) {
		if err := notify.LimitInbound(srv, notify.InboundLimits{PerMinute: 3, Now: clock.Now}); err != nil {
			t.Fatal(err)
		}
	})
	// MAIL FROM @flood.example from four addresses: the fourth is refused.
	for i := 0; i < 3; i++ {
		if err := deliverFrom(t, fmt.Sprintf("127.0.0.%d", 10+i), s.addr, "x@flood.example", rawFrom("x@flood.example", i)); err != nil {
			t.Fatalf("flood %d: %v", i+1, err)
		}
	}
	wantRateLimited(t, "4th MAIL FROM flood.example", deliverFrom(t, "127.0.0.13", s.addr, "X@Flood.Example", rawFrom("x@flood.example", 3)))
	// Envelope senders vary, the From: header stays spoof.example.
	for i := 0; i < 3; i++ {
		env := fmt.Sprintf("bounce@relay%d.example", i)
		if err := deliverFrom(t, fmt.Sprintf("127.0.0.%d", 20+i), s.addr, env, rawFrom("ceo@spoof.example", 10+i)); err != nil {
			t.Fatalf("spoof %d: %v", i+1, err)
		}
	}
	wantRateLimited(t, "4th From: spoof.example", deliverFrom(t, "127.0.0.23", s.addr, "bounce@relay9.example", rawFrom("ceo@spoof.example", 13)))
	if n := len(s.messages()); n != 6 {
		t.Fatalf("%d messages stored, want 6", n)
	}
	// Other domains from the same addresses are not affected.
	if err := deliverFrom(t, "127.0.0.13", s.addr, "ann@example.com", rawFrom("ann@example.com", 20)); err != nil {
		t.Fatalf("another domain: %v", err)
	}
}
