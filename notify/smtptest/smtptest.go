// Package smtptest runs an in-process SMTP server (go-smtp, real protocol,
// loopback, random port) that records the messages it accepts, for tests in
// any package that sends email.
//
//	srv := smtptest.Start(t)
//	sender, _ := notify.NewSender(srv.URL())
//	... code under test sends ...
//	msgs := srv.WaitFor(t, 1, 5*time.Second)
package smtptest

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 parts
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configures StartWith. The zero value is a plaintext sink without
// authentication, like Start.
type Options struct {
	// TLSConfig, when set, makes the server offer STARTTLS, or, with
	// ImplicitTLS, speak TLS from the first byte (URL becomes smtps://).
	TLSConfig   *tls.Config
	ImplicitTLS bool
	// Username, when set, makes the server offer AUTH PLAIN (also without
	// TLS, as it listens on loopback) and require it before MAIL FROM.
	// Wrong credentials get 535 5.7.8.
	Username, Password string
}

// Server is a running test SMTP server. All methods are safe for concurrent
// use.
type Server struct {
	// Addr is the listening address, "127.0.0.1:PORT".
	Addr string

	opts Options
	srv  *smtp.Server

	mu       sync.Mutex
	msgs     []Received
	attempts int
	conns    int
	changed  chan struct{} // closed and replaced whenever msgs grows
	failN    int
	failCode int
	failMsg  string
	rcptFail map[string]error // by recipient, see FailRcpt
}

// Received is one message accepted by the server, parsed with
// go-message/mail.
type Received struct {
	From      string      // envelope MAIL FROM ("" for <>)
	To        []string    // envelope RCPT TO, in order
	Raw       []byte      // the DATA as received (CRLF line endings)
	Subject   string      // decoded
	Text      string      // decoded first text/plain part
	HTML      string      // decoded first text/html part
	MessageID string      // without angle brackets
	Header    mail.Header // shared between copies; treat as read-only
	TLS       bool        // whether the session was encrypted (STARTTLS or implicit)
	Hello     string      // the client's EHLO/HELO name
	ParseErr  error       // non-nil when Raw did not parse as a mail message
}

// Start starts a plaintext sink without authentication on 127.0.0.1:0. It is
// closed in t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts a server configured by opts on 127.0.0.1:0. It is closed
// in t.Cleanup. Listening failures fail the test.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.ImplicitTLS && opts.TLSConfig == nil {
		t.Fatal("smtptest: ImplicitTLS needs a TLSConfig")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s := &Server{Addr: l.Addr().String(), opts: opts, changed: make(chan struct{})}
	s.srv = s.newSMTPServer()
	if opts.ImplicitTLS {
		l = tls.NewListener(l, opts.TLSConfig)
	}
	go s.srv.Serve(l)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

func (s *Server) newSMTPServer() *smtp.Server {
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 32 << 20
	srv.AllowInsecureAuth = true // loopback only
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = log.New(io.Discard, "", 0) // never log after the test ends
	if !s.opts.ImplicitTLS {
		srv.TLSConfig = s.opts.TLSConfig // offers STARTTLS when set
	}
	return srv
}

// URL returns "smtp://127.0.0.1:PORT", or "smtps://..." with ImplicitTLS.
// It carries no credentials or query parameters.
func (s *Server) URL() string {
	if s.opts.ImplicitTLS {
		return "smtps://" + s.Addr
	}
	return "smtp://" + s.Addr
}

// FailNext makes the next n DATA commands answer with code (e.g. 451 or 550)
// and msg instead of accepting the message. They still count as attempts.
// A later call replaces an earlier one; n <= 0 cancels.
func (s *Server) FailNext(n int, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode, s.failMsg = n, code, msg
}

// FailRcpt makes RCPT TO for addr answer with code (e.g. 421 or 550) and
// msg, every time, until FailRcpt(addr, 0, "") clears it. (With 421 a
// real relay would also close the connection; this one leaves that to
// the client, which must not use the session after a 421.)
func (s *Server) FailRcpt(addr string, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rcptFail == nil {
		s.rcptFail = map[string]error{}
	}
	if code == 0 {
		delete(s.rcptFail, addr)
		return
	}
	s.rcptFail[addr] = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: msg}
}

// Messages returns a copy of the accepted messages so far, in order.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// Attempts returns how many DATA commands the server has seen, accepted or
// refused by FailNext.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// Connections returns how many SMTP connections clients have opened.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// WaitFor blocks until at least n messages have been accepted and returns a
// copy of them. It fails the test (t.Fatalf) after timeout.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.msgs), s.changed
		if got >= n {
			msgs := append([]Received(nil), s.msgs...)
			s.mu.Unlock()
			return msgs
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("smtptest: got %d message(s) within %v, want at least %d (attempts: %d)",
				got, timeout, n, s.Attempts())
			return nil
		}
	}
}

// takeFailure counts a DATA attempt and returns the error to answer with, if
// FailNext asked for one.
func (s *Server) takeFailure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if s.failN <= 0 {
		return nil
	}
	s.failN--
	return &smtp.SMTPError{
		Code:         s.failCode,
		EnhancedCode: smtp.EnhancedCode{s.failCode / 100, 0, 0},
		Message:      s.failMsg,
	}
}

func (s *Server) record(r Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, r)
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.conns++
	s.mu.Unlock()
	sess := &session{srv: s, conn: c}
	if s.opts.Username != "" {
		return &authSession{session: sess}, nil
	}
	return sess, nil
}

// session implements smtp.Session for one connection.
type session struct {
	srv    *Server
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.srv.opts.Username != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from, ss.to = from, nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.srv.mu.Lock()
	err := ss.srv.rcptFail[to]
	ss.srv.mu.Unlock()
	if err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

// Data reads the whole message before answering, as go-smtp requires.
func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.srv.takeFailure(); err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	rec := parse(raw)
	rec.From, rec.To = ss.from, append([]string(nil), ss.to...)
	rec.TLS, rec.Hello = isTLS, ss.conn.Hostname()
	ss.srv.record(rec)
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// authSession adds AUTH PLAIN (smtp.AuthSession) to session.
type authSession struct{ *session }

func (as *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (as *authSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		o := as.srv.opts
		if (identity != "" && identity != user) || user != o.Username || pass != o.Password {
			return smtp.ErrAuthFailed
		}
		as.authed = true
		return nil
	}), nil
}

// parse fills the parsed fields of a Received from raw.
func parse(raw []byte) Received {
	rec := Received{Raw: raw}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) {
		rec.ParseErr = err
		return rec
	}
	rec.Header = mr.Header
	rec.Subject, _ = mr.Header.Subject()
	rec.MessageID, _ = mr.Header.MessageID()
	rec.ParseErr = readBodies(mr, &rec)
	return rec
}

// readBodies stores the first text/plain and text/html inline parts.
func readBodies(mr *mail.Reader, rec *Received) error {
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil && !message.IsUnknownCharset(err) {
			return err
		}
		h, ok := p.Header.(*mail.InlineHeader)
		if !ok {
			continue
		}
		ct, _, _ := h.ContentType()
		body, err := io.ReadAll(p.Body)
		if err != nil {
			return fmt.Errorf("read %s part: %w", ct, err)
		}
		switch {
		case ct == "text/plain" && rec.Text == "":
			rec.Text = string(body)
		case ct == "text/html" && rec.HTML == "":
			rec.HTML = string(body)
		}
	}
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"'` + "`" + `]+`)

// Links returns every http(s) URL in the text body, in order of appearance
// and with duplicates, without trailing sentence punctuation.
func (r Received) Links() []string {
	var links []string
	for _, m := range linkRE.FindAllString(r.Text, -1) {
		links = append(links, trimLink(m))
	}
	return links
}

// trimLink drops punctuation that ends a sentence rather than the URL, and a
// closing parenthesis without a matching opening one.
func trimLink(u string) string {
	for len(u) > 0 {
		last := u[len(u)-1]
		switch {
		case strings.IndexByte(".,;:!?", last) >= 0:
			u = u[:len(u)-1]
		case last == ')' && strings.Count(u, "(") < strings.Count(u, ")"):
			u = u[:len(u)-1]
		default:
			return u
		}
	}
	return u
}
