package notify_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/dsrdesk/dsrdesk/notify"
	"github.com/dsrdesk/dsrdesk/notify/smtptest"
)

const waitTimeout = 5 * time.Second

// selfSignedTLS returns a server config with a fresh ECDSA P-256 certificate
// for 127.0.0.1 and localhost.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "smtptest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

func newSender(t *testing.T, rawURL string) *notify.Sender {
	t.Helper()
	s, err := notify.NewSender(rawURL)
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	return s
}

// withQuery appends a query string to a server URL.
func withQuery(u, q string) string { return u + "?" + q }

// withUser inserts user:pass@ into a server URL.
func withUser(u, user, pass string) string {
	scheme, rest, _ := strings.Cut(u, "://")
	return scheme + "://" + url.UserPassword(user, pass).String() + "@" + rest
}

func buildMessage(t *testing.T, html bool) (notify.Message, []byte) {
	t.Helper()
	m := baseMessage()
	if html {
		m.HTML = "<p>Hallo <b>Jürgen</b>, <a href=\"https://dsrdesk.example/r/abc\">Status</a></p>"
		m.MessageID = "req-42.2@dsrdesk.example"
	}
	raw, err := notify.BuildMIME(m)
	if err != nil {
		t.Fatal(err)
	}
	return m, raw
}

func send(t *testing.T, s *notify.Sender, raw []byte) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return s.Send(ctx, "bounces@dsrdesk.example", []string{"juergen@example.org"}, raw)
}

func mustSend(t *testing.T, s *notify.Sender, raw []byte) {
	t.Helper()
	if err := send(t, s, raw); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func TestSendRoundTrip(t *testing.T) {
	for _, html := range []bool{false, true} {
		t.Run(fmt.Sprintf("html=%v", html), func(t *testing.T) {
			srv := smtptest.Start(t)
			m, raw := buildMessage(t, html)
			mustSend(t, newSender(t, withQuery(srv.URL(), "helo=dsrdesk.test")), raw)

			got := srv.WaitFor(t, 1, waitTimeout)[0]
			if got.ParseErr != nil {
				t.Fatalf("ParseErr: %v", got.ParseErr)
			}
			if !bytes.Equal(got.Raw, raw) {
				t.Errorf("raw message changed in transit")
			}
			assertCRLF(t, got.Raw)
			if got.From != "bounces@dsrdesk.example" || len(got.To) != 1 || got.To[0] != "juergen@example.org" {
				t.Errorf("envelope = %q -> %q", got.From, got.To)
			}
			if got.Subject != subjectUTF8 || got.MessageID != m.MessageID {
				t.Errorf("Subject %q, Message-ID %q", got.Subject, got.MessageID)
			}
			wantText := m.Text
			if !html {
				wantText += "\n" // BuildMIME ends a single part with a line break
			}
			if lf(got.Text) != wantText || lf(got.HTML) != m.HTML {
				t.Errorf("bodies: text %q, html %q", got.Text, got.HTML)
			}
			if got.TLS || got.Hello != "dsrdesk.test" {
				t.Errorf("TLS = %v, Hello = %q; want plaintext, dsrdesk.test", got.TLS, got.Hello)
			}
			links := got.Links()
			if len(links) != 1 || links[0] != "https://dsrdesk.example/r/abc?x=1" {
				t.Errorf("Links = %q", links)
			}
		})
	}
}

func TestSendUTF8Envelope(t *testing.T) {
	srv := smtptest.Start(t)
	_, raw := buildMessage(t, false)
	err := newSender(t, srv.URL()).Send(context.Background(), "", []string{"jürgen@bücher.example"}, raw)
	if err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 1, waitTimeout)[0]
	if got.From != "" || got.To[0] != "jürgen@bücher.example" {
		t.Errorf("envelope = %q -> %q", got.From, got.To)
	}
}

func TestSendTemporaryFailureThenSuccess(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	_, raw := buildMessage(t, false)

	srv.FailNext(1, 451, "try again later")
	err := send(t, s, raw)
	if err == nil {
		t.Fatal("Send succeeded, want 451")
	}
	if !notify.Temporary(err) || notify.SMTPCode(err) != 451 {
		t.Errorf("err %v: Temporary = %v, SMTPCode = %d; want true, 451", err, notify.Temporary(err), notify.SMTPCode(err))
	}
	if strings.Contains(err.Error(), "juergen@example.org") {
		t.Errorf("error leaks the recipient: %v", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages accepted during failure", n)
	}

	mustSend(t, s, raw)
	srv.WaitFor(t, 1, waitTimeout)
	if got := srv.Attempts(); got != 2 {
		t.Errorf("Attempts = %d, want 2", got)
	}
}

func TestSendPermanentFailure(t *testing.T) {
	srv := smtptest.Start(t)
	_, raw := buildMessage(t, false)
	srv.FailNext(1, 550, "mailbox unavailable")
	err := send(t, newSender(t, srv.URL()), raw)
	if err == nil || notify.Temporary(err) || notify.SMTPCode(err) != 550 {
		t.Fatalf("err %v: Temporary = %v, SMTPCode = %d; want false, 550", err, notify.Temporary(err), notify.SMTPCode(err))
	}
}

func TestSendAuthPlain(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{Username: "dsrdesk", Password: "s3cr:t@pw"})
	_, raw := buildMessage(t, false)

	t.Run("correct", func(t *testing.T) {
		mustSend(t, newSender(t, withUser(srv.URL(), "dsrdesk", "s3cr:t@pw")), raw)
	})
	t.Run("wrong password", func(t *testing.T) {
		err := send(t, newSender(t, withUser(srv.URL(), "dsrdesk", "hunter2")), raw)
		if err == nil || notify.Temporary(err) || notify.SMTPCode(err) != 535 {
			t.Fatalf("err %v: Temporary = %v, SMTPCode = %d; want false, 535", err, notify.Temporary(err), notify.SMTPCode(err))
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		err := send(t, newSender(t, srv.URL()), raw)
		if err == nil || notify.Temporary(err) || notify.SMTPCode(err) != 502 {
			t.Fatalf("err %v: want permanent 502 (authentication required)", err)
		}
	})
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("accepted %d messages, want 1", n)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{
		TLSConfig: selfSignedTLS(t), ImplicitTLS: true,
		Username: "dsrdesk", Password: "pw",
	})
	if !strings.HasPrefix(srv.URL(), "smtps://") {
		t.Fatalf("URL = %q", srv.URL())
	}
	_, raw := buildMessage(t, true)

	t.Run("self-signed rejected by default", func(t *testing.T) {
		err := send(t, newSender(t, withUser(srv.URL(), "dsrdesk", "pw")), raw)
		if err == nil || notify.Temporary(err) || notify.SMTPCode(err) != 0 {
			t.Fatalf("err %v: want a permanent certificate error", err)
		}
	})
	t.Run("insecure_skip_verify", func(t *testing.T) {
		s := newSender(t, withQuery(withUser(srv.URL(), "dsrdesk", "pw"), "insecure_skip_verify=1"))
		mustSend(t, s, raw)
		if got := srv.WaitFor(t, 1, waitTimeout)[0]; !got.TLS {
			t.Errorf("message not received over TLS")
		}
	})
}

func TestSendSTARTTLS(t *testing.T) {
	srv := smtptest.StartWith(t, smtptest.Options{TLSConfig: selfSignedTLS(t)})
	_, raw := buildMessage(t, false)

	t.Run("upgrades", func(t *testing.T) {
		mustSend(t, newSender(t, withQuery(srv.URL(), "insecure_skip_verify=1&helo=dsrdesk.test")), raw)
		got := srv.WaitFor(t, 1, waitTimeout)[0]
		if !got.TLS || got.Hello != "dsrdesk.test" {
			t.Errorf("TLS = %v, Hello = %q; want true, dsrdesk.test", got.TLS, got.Hello)
		}
	})
	t.Run("no plaintext fallback on bad certificate", func(t *testing.T) {
		err := send(t, newSender(t, srv.URL()), raw)
		if err == nil || notify.Temporary(err) {
			t.Fatalf("err %v: want a permanent certificate error", err)
		}
		if n := srv.Attempts(); n != 1 {
			t.Errorf("Attempts = %d, want 1 (no plaintext retry)", n)
		}
	})
}

func TestSendCancelledContext(t *testing.T) {
	srv := smtptest.Start(t)
	_, raw := buildMessage(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err := newSender(t, srv.URL()).Send(ctx, "a@b.example", []string{"c@d.example"}, raw)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Send took %v", d)
	}
	if srv.Attempts() != 0 {
		t.Errorf("Attempts = %d, want 0", srv.Attempts())
	}
}

// silentServer accepts TCP connections and never sends the SMTP greeting.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "smtp://" + l.Addr().String()
}

func TestSendTimeouts(t *testing.T) {
	addr := silentServer(t)
	_, raw := buildMessage(t, false)

	t.Run("ctx deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := newSender(t, addr).Send(ctx, "a@b.example", []string{"c@d.example"}, raw)
		if !errors.Is(err, context.DeadlineExceeded) || !notify.Temporary(err) {
			t.Fatalf("err = %v, want temporary context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Send took %v", d)
		}
	})
	t.Run("command timeout", func(t *testing.T) {
		start := time.Now()
		err := newSender(t, withQuery(addr, "timeout=200ms")).Send(context.Background(), "a@b.example", []string{"c@d.example"}, raw)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !notify.Temporary(err) {
			t.Fatalf("err = %v, want a temporary timeout", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Send took %v", d)
		}
	})
}

func TestSendConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, raw := buildMessage(t, false)
	err = send(t, newSender(t, "smtp://"+addr), raw)
	if err == nil || !notify.Temporary(err) || notify.SMTPCode(err) != 0 {
		t.Fatalf("err = %v, want temporary network error", err)
	}
}

func TestSendConcurrent(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	_, raw := buildMessage(t, false)
	const n = 8
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if err := send(t, s, raw); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := len(srv.WaitFor(t, n, waitTimeout)); got != n {
		t.Errorf("got %d messages", got)
	}
}

func TestSendRejectsBadEnvelope(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	_, raw := buildMessage(t, false)
	cases := []struct {
		from string
		to   []string
		raw  []byte
	}{
		{"a@b.example", nil, raw},
		{"a@b.example", []string{"c@d.example"}, nil},
		{"a b@c.example", []string{"c@d.example"}, raw},
		{"a@b.example", []string{"c@d.example>\r\nRCPT TO:<x@y.example"}, raw},
		{"a@b.example", []string{"nodomain"}, raw},
	}
	for i, c := range cases {
		if err := s.Send(context.Background(), c.from, c.to, c.raw); err == nil || notify.Temporary(err) {
			t.Errorf("case %d: err = %v, want permanent error", i, err)
		}
	}
	if srv.Attempts() != 0 {
		t.Errorf("Attempts = %d, want 0", srv.Attempts())
	}
}

func TestNewSenderRejects(t *testing.T) {
	cases := map[string]string{
		"http://relay.example":                        "unsupported scheme",
		"relay.example:25":                            "scheme",
		"":                                            "missing scheme",
		"smtp:relay.example":                          "missing //",
		"smtp://":                                     "missing host",
		"smtps://:465":                                "missing host",
		"smtp://relay.example:0":                      "invalid port",
		"smtp://relay.example:70000":                  "invalid port",
		"smtp://relay.example:abc":                    "does not parse",
		"smtp://relay.example/inbox":                  "unexpected path",
		"smtp://relay.example#frag":                   "fragment",
		"smtp://user@relay.example":                   "without a password",
		"smtp://:hunter2@relay.example":               "without a user name",
		"smtp://relay.example?tls=on":                 "unknown query parameter \"tls\"",
		"smtp://relay.example?insecure_skip_verify=y": "not a boolean",
		"smtp://relay.example?timeout=-1s":            "positive duration",
		"smtp://relay.example?helo=":                  "helo",
		"smtp://u:hunter2@relay.example:x/":           "does not parse",
		"smtp://u:hunter2@relay.example/p":            "unexpected path",
	}
	for raw, want := range cases {
		s, err := notify.NewSender(raw)
		if err == nil {
			t.Errorf("NewSender(%q) = %v, want error", raw, s)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("NewSender(%q) error %q does not mention %q", raw, err, want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("NewSender(%q) error leaks the password: %v", raw, err)
		}
	}
}

func TestNewSenderAccepts(t *testing.T) {
	cases := map[string]string{
		"smtp://relay.example":                                "smtp://relay.example",
		"smtp://relay.example:587/":                           "smtp://relay.example:587/",
		"smtps://u%40x:hunter2@relay.example":                 "smtps://u%40x:xxxxx@relay.example",
		"SMTP://[::1]:2525?helo=dsrdesk.example&timeout=5s":   "smtp://[::1]:2525?helo=dsrdesk.example&timeout=5s",
		"smtp://relay.example?insecure_skip_verify=1":         "smtp://relay.example?insecure_skip_verify=1",
		"smtps://user:p%2Fw@relay.example:465?helo=a.example": "smtps://user:xxxxx@relay.example:465?helo=a.example",
	}
	for raw, want := range cases {
		s, err := notify.NewSender(raw)
		if err != nil {
			t.Errorf("NewSender(%q): %v", raw, err)
			continue
		}
		if got := s.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestTemporaryAndSMTPCode(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("outer: %w", err) }
	cases := []struct {
		err       error
		temporary bool
		code      int
	}{
		{nil, false, 0},
		{&smtp.SMTPError{Code: 421}, true, 421},
		{wrap(&smtp.SMTPError{Code: 452}), true, 452},
		{wrap(&smtp.SMTPError{Code: 554}), false, 554},
		{wrap(errors.Join(context.DeadlineExceeded, &smtp.SMTPError{Code: 550})), false, 550},
		{wrap(context.DeadlineExceeded), true, 0},
		{wrap(context.Canceled), true, 0},
		{wrap(io.ErrUnexpectedEOF), true, 0},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true, 0},
		{&net.DNSError{Err: "no such host", Name: "relay.example"}, true, 0},
		{wrap(&tls.CertificateVerificationError{Err: errors.New("x509: unknown authority")}), false, 0},
		{errors.New("something else"), false, 0},
	}
	for i, c := range cases {
		if got := notify.Temporary(c.err); got != c.temporary {
			t.Errorf("case %d Temporary(%v) = %v, want %v", i, c.err, got, c.temporary)
		}
		if got := notify.SMTPCode(c.err); got != c.code {
			t.Errorf("case %d SMTPCode(%v) = %d, want %d", i, c.err, got, c.code)
		}
	}
}
