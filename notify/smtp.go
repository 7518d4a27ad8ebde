package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// DefaultTimeout bounds dialing, the TLS handshake and every SMTP command
// (including the reply after the final dot) unless the relay URL sets
// ?timeout=.
const DefaultTimeout = 30 * time.Second

// DefaultHelo is the name sent in EHLO unless the relay URL sets ?helo=.
const DefaultHelo = "localhost"

// Sender delivers raw messages to one relay given by a URL:
//
//	smtp://host[:port]   plaintext; upgrades with STARTTLS when the server offers it (default port 25; use 587 for submission)
//	smtps://host[:port]  implicit TLS (default port 465)
//
// Optional user:pass@ in the URL enables AUTH PLAIN. Credentials are only
// sent over TLS (implicit or STARTTLS) unless the host is loopback
// ("localhost", 127.0.0.0/8, ::1); characters such as @ : / in them must be
// percent-encoded.
//
// Query parameters:
//
//	insecure_skip_verify=1  accept any server certificate; for test relays with self-signed certificates only, never in production
//	helo=name               name sent in EHLO after connecting (default "localhost"; see DefaultHelo)
//	timeout=30s             dial/handshake/per-command timeout as a Go duration (default DefaultTimeout)
//
// STARTTLS on smtp:// is opportunistic: go-smtp has no public way to upgrade
// an open session, so Send first tries go-smtp's STARTTLS client and, only if
// the relay does not offer STARTTLS, reconnects once and continues in
// plaintext (the message then travels unencrypted; credentials are still
// withheld from non-loopback hosts). A relay that offers STARTTLS but fails
// the handshake or certificate check is an error, never a plaintext retry.
// The pre-TLS EHLO always says "localhost" (also a go-smtp limit); helo is
// used for the EHLO inside TLS, which is the one relays evaluate.
//
// A Sender is immutable and safe for concurrent use; each Send opens its own
// connection, and SendMany sends several messages over one.
type Sender struct {
	u           *url.URL // as given; only printed redacted
	addr        string   // host:port
	host        string
	implicitTLS bool
	username    string
	password    string
	helo        string
	timeout     time.Duration
	insecure    bool
	tlsConfig   *tls.Config // built once by NewSender; never mutated
}

// NewSender parses and validates rawURL (see Sender). The error names what is
// wrong: scheme other than smtp/smtps, missing host, bad port, a path or
// fragment, a user without password, or an unknown or malformed query
// parameter. Errors never contain the password.
func NewSender(rawURL string) (*Sender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error would print the URL, password included
		}
		return nil, fmt.Errorf("notify: relay URL does not parse: %v", err)
	}
	s := &Sender{u: u, helo: DefaultHelo, timeout: DefaultTimeout}
	steps := []func(*url.URL) error{s.parseScheme, s.parseHost, s.parseUser, s.parseQuery}
	for _, step := range steps {
		if err := step(u); err != nil {
			return nil, fmt.Errorf("notify: relay URL %s: %w", u.Redacted(), err)
		}
	}
	s.tlsConfig = &tls.Config{
		ServerName:         s.host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: s.insecure,
	}
	return s, nil
}

func (s *Sender) parseScheme(u *url.URL) error {
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.implicitTLS = true
	case "":
		return errors.New("missing scheme, want smtp:// or smtps://")
	default:
		return fmt.Errorf("unsupported scheme %q, want smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" {
		return errors.New("want scheme://host[:port], missing //")
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("unexpected path %q", u.Path)
	}
	if u.Fragment != "" {
		return errors.New("unexpected #fragment")
	}
	return nil
}

func (s *Sender) parseHost(u *url.URL) error {
	s.host = u.Hostname()
	if s.host == "" {
		return errors.New("missing host")
	}
	port := u.Port()
	if port == "" {
		port = "25"
		if s.implicitTLS {
			port = "465"
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("invalid port %q", port)
	}
	s.addr = net.JoinHostPort(s.host, port)
	return nil
}

func (s *Sender) parseUser(u *url.URL) error {
	if u.User == nil {
		return nil
	}
	pass, ok := u.User.Password()
	switch {
	case u.User.Username() == "":
		return errors.New("credentials given without a user name")
	case !ok:
		return errors.New("user given without a password (want user:pass@host)")
	}
	s.username, s.password = u.User.Username(), pass
	return nil
}

func (s *Sender) parseQuery(u *url.URL) error {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fmt.Errorf("malformed query: %v", err)
	}
	for key, vals := range q {
		v := vals[len(vals)-1]
		if err := s.setParam(key, v); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sender) setParam(key, v string) error {
	switch key {
	case "insecure_skip_verify":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("insecure_skip_verify=%q is not a boolean (use 1 or 0)", v)
		}
		s.insecure = b
	case "helo":
		if v == "" || !isPrintableASCII(v) {
			return fmt.Errorf("helo=%q must be a non-empty host name", v)
		}
		s.helo = v
	case "timeout":
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("timeout=%q is not a positive duration such as 30s", v)
		}
		s.timeout = d
	default:
		return fmt.Errorf("unknown query parameter %q (known: insecure_skip_verify, helo, timeout)", key)
	}
	return nil
}

// String returns the relay URL with the password replaced by "xxxxx".
func (s *Sender) String() string { return s.u.Redacted() }

// Send delivers raw (an RFC 5322 message, e.g. from BuildMIME) to the relay
// with envelope sender from and recipients to. An empty from sends the null
// reverse-path "<>".
//
// ctx bounds the whole exchange: its deadline is applied to the connection
// and cancelling it closes the connection. Dialing, the TLS handshake and
// each command are also bounded by the Sender's timeout (default 30s).
// A cancelled ctx fails before dialing.
//
// The message counts as delivered once the relay accepts the data; a
// failing QUIT afterwards is ignored so that callers do not send it twice.
//
// Errors wrap *smtp.SMTPError for relay replies; classify them with
// Temporary and SMTPCode. Errors do not contain addresses or the message,
// except for whatever text the relay put in its reply.
func (s *Sender) Send(ctx context.Context, from string, to []string, raw []byte) error {
	if err := checkEnvelope(from, to, raw); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("notify: smtp %s: not sending: %w", s.addr, err)
	}
	c, secure, err := s.connect(ctx)
	if err != nil {
		return s.fail(ctx, "connect", err)
	}
	defer c.Close()
	if stage, err := s.deliver(c, secure, from, to, raw); err != nil {
		return s.fail(ctx, stage, err)
	}
	return nil
}

// fail wraps err with the relay address and stage, and with ctx's error
// when the context ended the exchange.
func (s *Sender) fail(ctx context.Context, stage string, err error) error {
	if ctxErr := contextErr(ctx); ctxErr != nil {
		return fmt.Errorf("notify: smtp %s: %s: %w: %w", s.addr, stage, ctxErr, err)
	}
	return fmt.Errorf("notify: smtp %s: %s: %w", s.addr, stage, err)
}

// contextErr is ctx.Err(), except that it already reports DeadlineExceeded
// once the deadline has passed: the connection deadline, which equals it,
// may fire a moment before ctx's own timer.
func contextErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// checkEnvelope rejects envelopes that could never be sent. It never echoes
// an address.
func checkEnvelope(from string, to []string, raw []byte) error {
	if len(to) == 0 {
		return errors.New("notify: send: no recipients")
	}
	if len(raw) == 0 {
		return errors.New("notify: send: empty message")
	}
	if from != "" && !isEnvelopeAddr(from) {
		return errors.New("notify: send: malformed envelope sender")
	}
	for i, rcpt := range to {
		if !isEnvelopeAddr(rcpt) {
			return fmt.Errorf("notify: send: malformed recipient #%d", i+1)
		}
	}
	return nil
}

// isEnvelopeAddr accepts local@domain without whitespace, controls or
// angle brackets (UTF-8 is allowed; SMTPUTF8 is requested when needed).
func isEnvelopeAddr(a string) bool {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 {
		return false
	}
	for _, r := range a {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' {
			return false
		}
	}
	return true
}

// connect dials the relay and returns a client on which EHLO has not yet
// been sent by us. secure reports whether the session is encrypted.
func (s *Sender) connect(ctx context.Context) (c *smtp.Client, secure bool, err error) {
	if s.implicitTLS {
		c, err = s.dialImplicitTLS(ctx)
		return c, err == nil, err
	}
	conn, err := s.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	c, err = smtp.NewClientStartTLS(conn, s.tlsConfig) // closes conn on error
	if err == nil {
		s.setTimeouts(c)
		return c, true, nil
	}
	if !isNoStartTLS(err) {
		return nil, false, err
	}
	// The relay does not offer STARTTLS: reconnect and stay in plaintext.
	conn, err = s.dial(ctx)
	if err != nil {
		return nil, false, err
	}
	return s.newClient(conn), false, nil
}

// isNoStartTLS recognises go-smtp's (unexported) "server doesn't support
// STARTTLS" error from NewClientStartTLS. Covered by TestSendPlainSink.
func isNoStartTLS(err error) bool {
	var se *smtp.SMTPError
	return !errors.As(err, &se) && strings.Contains(err.Error(), "doesn't support STARTTLS")
}

func (s *Sender) dialImplicitTLS(ctx context.Context) (*smtp.Client, error) {
	conn, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(conn, s.tlsConfig)
	conn.SetDeadline(time.Now().Add(s.timeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return s.newClient(tc), nil
}

func (s *Sender) newClient(conn net.Conn) *smtp.Client {
	c := smtp.NewClient(conn)
	s.setTimeouts(c)
	return c
}

// setTimeouts replaces go-smtp's 5 and 12 minute defaults. guardedConn
// already clamps them; this keeps the client's own view consistent.
func (s *Sender) setTimeouts(c *smtp.Client) {
	c.CommandTimeout = s.timeout
	c.SubmissionTimeout = s.timeout
}

// dial opens a TCP connection whose deadlines are clamped to the timeout and
// ctx's deadline, and which is closed when ctx is done.
func (s *Sender) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: s.timeout}
	raw, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, err
	}
	gc := &guardedConn{Conn: raw, timeout: s.timeout}
	gc.limit, _ = ctx.Deadline()
	gc.stop = context.AfterFunc(ctx, func() { raw.Close() })
	if err := raw.SetDeadline(gc.limit); err != nil {
		gc.Close()
		return nil, err
	}
	return gc, nil
}

// deliver runs EHLO, optional AUTH and one mail transaction on c. It returns
// the failing stage for the error message.
func (s *Sender) deliver(c *smtp.Client, secure bool, from string, to []string, raw []byte) (string, error) {
	if stage, err := s.greet(c, secure); err != nil {
		return stage, err
	}
	if stage, err := transact(c, from, to, raw); err != nil {
		return stage, err
	}
	_ = c.Quit() // accepted already; see Send
	return "", nil
}

// greet sends EHLO and, with credentials, AUTH. It returns the failing
// stage for the error message.
func (s *Sender) greet(c *smtp.Client, secure bool) (string, error) {
	if err := c.Hello(s.helo); err != nil {
		return "EHLO", err
	}
	if s.username != "" {
		if err := s.auth(c, secure); err != nil {
			return "AUTH", err
		}
	}
	return "", nil
}

// transact runs one mail transaction (MAIL FROM, RCPT TO, DATA) on a
// greeted client. It returns the failing stage for the error message.
func transact(c *smtp.Client, from string, to []string, raw []byte) (string, error) {
	opts := &smtp.MailOptions{Size: int64(len(raw)), UTF8: !isASCII(from) || !allASCII(to)}
	if err := c.Mail(from, opts); err != nil {
		return "MAIL FROM", err
	}
	for i, rcpt := range to {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return fmt.Sprintf("RCPT TO #%d", i+1), err
		}
	}
	if err := writeData(c, raw); err != nil {
		return "DATA", err
	}
	return "", nil
}

// Envelope is one message for SendMany: envelope sender (empty for the
// null reverse-path), recipients and the raw RFC 5322 message.
type Envelope struct {
	From string
	To   []string
	Raw  []byte
}

// SendMany delivers msgs over one connection to the relay, one mail
// transaction each, and returns one error per message, in order (nil:
// the relay accepted it). A refusal of one message (4xx or 5xx) does not
// abort the others: the transaction is reset (RSET) and the next message
// goes on the same connection. When the connection breaks (a network
// error, a timeout, or a 421 reply) the next message opens a new one, but
// only if the broken one had delivered something: a relay that cannot be
// reached fails every remaining message with the same error instead of
// being dialled once per message. A malformed envelope fails only its own
// message (see Send).
//
// ctx bounds the whole exchange as for Send; once it ends, the messages
// not yet sent fail with its error. Errors are classified with Temporary
// and SMTPCode, as Send's.
func (s *Sender) SendMany(ctx context.Context, msgs []Envelope) []error {
	errs := make([]error, len(msgs))
	var (
		c         *smtp.Client
		connErr   error // why the connection could not be (re)opened
		delivered bool  // the current connection delivered a message
	)
	closeConn := func() {
		if c != nil {
			c.Close()
			c = nil
		}
	}
	defer func() {
		if c != nil {
			_ = c.Quit() // every message was answered already; see Send
		}
		closeConn()
	}()
	for i, m := range msgs {
		if err := checkEnvelope(m.From, m.To, m.Raw); err != nil {
			errs[i] = err
			continue
		}
		if err := ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("notify: smtp %s: not sending: %w", s.addr, err)
			continue
		}
		if connErr != nil {
			errs[i] = connErr
			continue
		}
		if c == nil {
			var stage string
			var err error
			if c, stage, err = s.session(ctx); err != nil {
				connErr = s.fail(ctx, stage, err)
				errs[i] = connErr
				continue
			}
			delivered = false
		}
		stage, err := transact(c, m.From, m.To, m.Raw)
		if err == nil {
			delivered = true
			continue
		}
		errs[i] = s.fail(ctx, stage, err)
		// A refused transaction leaves the session usable once reset (a
		// successful one needs no RSET: the next MAIL FROM starts anew).
		if !sessionBroken(err) && c.Reset() == nil {
			continue
		}
		closeConn()
		if !delivered {
			connErr = errs[i]
		}
	}
	return errs
}

// session connects and greets the relay. It returns the failing stage.
func (s *Sender) session(ctx context.Context) (*smtp.Client, string, error) {
	c, secure, err := s.connect(ctx)
	if err != nil {
		return nil, "connect", err
	}
	if stage, err := s.greet(c, secure); err != nil {
		c.Close()
		return nil, stage, err
	}
	return c, "", nil
}

// sessionBroken reports whether err leaves no usable SMTP session: any
// error that is not a relay reply (network, timeout, protocol), and 421,
// with which a relay announces that it closes the connection.
func sessionBroken(err error) bool {
	var se *smtp.SMTPError
	return !errors.As(err, &se) || se.Code == 421
}

func (s *Sender) auth(c *smtp.Client, secure bool) error {
	if !secure && !isLoopback(s.host) {
		return errTLSRequired
	}
	if !c.SupportsAuth(sasl.Plain) {
		return errNoAuthPlain
	}
	return c.Auth(sasl.NewPlainClient("", s.username, s.password))
}

func writeData(c *smtp.Client, raw []byte) error {
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, bytes.NewReader(raw)); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

var (
	errTLSRequired = errors.New("relay offers no TLS; refusing to send credentials in plaintext to a non-loopback host")
	errNoAuthPlain = errors.New("relay does not offer AUTH PLAIN")
)

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func allASCII(ss []string) bool {
	for _, s := range ss {
		if !isASCII(s) {
			return false
		}
	}
	return true
}

// guardedConn clamps every deadline go-smtp sets (it uses 5 and 12 minutes)
// to the Sender's timeout and to the context deadline, and stops the
// context watcher when closed.
type guardedConn struct {
	net.Conn
	timeout time.Duration
	limit   time.Time // ctx deadline; zero if none
	stop    func() bool
}

// SetDeadline implements net.Conn. A zero t (go-smtp's "no deadline" between
// commands) becomes the context deadline.
func (g *guardedConn) SetDeadline(t time.Time) error {
	if !t.IsZero() {
		if max := time.Now().Add(g.timeout); t.After(max) {
			t = max
		}
	}
	if !g.limit.IsZero() && (t.IsZero() || t.After(g.limit)) {
		t = g.limit
	}
	return g.Conn.SetDeadline(t)
}

// Close implements net.Conn.
func (g *guardedConn) Close() error {
	g.stop()
	return g.Conn.Close()
}

// Temporary reports whether err is worth retrying: 4xx SMTP replies, network
// errors (including DNS failures and connections dropped mid-exchange),
// timeouts, and context cancellation or deadline (the usual cause is a
// shutdown or a slow relay). 5xx replies are permanent, as are TLS
// certificate failures, invalid input and every unrecognised error.
// Temporary(nil) is false.
func Temporary(err error) bool {
	if err == nil {
		return false
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code >= 400 && se.Code < 500
	}
	var cve *tls.CertificateVerificationError
	var rhe tls.RecordHeaderError
	if errors.As(err, &cve) || errors.As(err, &rhe) {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// SMTPCode returns the reply code of the *smtp.SMTPError wrapped in err, or
// 0 when err carries no SMTP reply.
func SMTPCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}
