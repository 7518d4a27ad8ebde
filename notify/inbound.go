package notify

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/emersion/go-smtp"
)

// Inbound SMTP limits.
const (
	// MaxInboundBytes is the largest message the inbound server accepts
	// (25 MB); larger ones get 552 5.3.4 and are not stored.
	MaxInboundBytes = 25 << 20
	// MaxInboundRecipients is the most RCPT TO accepted per message; more
	// get 452 4.5.3.
	MaxInboundRecipients = 5
	// InboundTimeout bounds each read and write on an inbound connection.
	InboundTimeout = 60 * time.Second
	// InboundStoreTimeout bounds one call of the store function.
	InboundStoreTimeout = 30 * time.Second
)

// InboundMessage is one message accepted by the inbound server, as handed
// to the store function: the envelope and the raw bytes, unparsed.
type InboundMessage struct {
	From     string   // envelope MAIL FROM; "" for the null sender <>
	To       []string // accepted RCPT TO, in order
	RemoteIP string   // the client's IP address
	Helo     string   // the client's EHLO/HELO name
	Raw      []byte   // the DATA as received (CRLF line endings)
}

// InboundStore persists an accepted message durably. It returns nil only
// once the message is safe (committed); a message it already has (same
// Message-ID) is not an error. Any error makes the server answer 451 so
// the sending MTA retries later; an *smtp.SMTPError is answered as is.
type InboundStore func(ctx context.Context, m InboundMessage) error

// ErrTryLater is the answer when the store fails: the sender keeps the
// message and retries.
var ErrTryLater = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}

// errNoMailbox is the answer to a recipient we do not take mail for.
var errNoMailbox = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox here"}

// NewInboundServer returns an SMTP server (not started: call
// ListenAndServe, or Serve with a listener) that takes mail for the
// addresses accept approves and hands each message to store before
// answering 250. Recipients accept refuses get 550 5.1.1. Limits:
// MaxInboundBytes per message (552), MaxInboundRecipients (452),
// InboundTimeout per read and write. domain is the name the server
// greets with. It offers no AUTH and no TLS: put it behind the MX or a
// TLS-terminating proxy. Stop it with Shutdown (waits for sessions) or
// Close.
func NewInboundServer(addr, domain string, accept func(rcpt string) bool, store InboundStore) *smtp.Server {
	be := &inboundBackend{accept: accept, store: store}
	srv := smtp.NewServer(be)
	srv.Addr = addr
	srv.Domain = domain
	srv.MaxMessageBytes = MaxInboundBytes
	srv.MaxRecipients = MaxInboundRecipients
	srv.ReadTimeout = InboundTimeout
	srv.WriteTimeout = InboundTimeout
	srv.EnableSMTPUTF8 = true
	be.limit = func() int64 { return srv.MaxMessageBytes }
	return srv
}

type inboundBackend struct {
	accept func(string) bool
	store  InboundStore
	limit  func() int64 // the server's MaxMessageBytes, read per message
}

func (b *inboundBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s := &inboundSession{be: b, helo: c.Hostname()}
	if c.Conn() != nil {
		if host, _, err := net.SplitHostPort(c.Conn().RemoteAddr().String()); err == nil {
			s.remoteIP = host
		}
	}
	return s, nil
}

type inboundSession struct {
	be       *inboundBackend
	remoteIP string
	helo     string
	from     string
	to       []string
}

func (s *inboundSession) Reset() { s.from, s.to = "", nil }

func (s *inboundSession) Logout() error { return nil }

func (s *inboundSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from, s.to = from, nil
	return nil
}

func (s *inboundSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !s.be.accept(to) {
		return errNoMailbox
	}
	s.to = append(s.to, to)
	return nil
}

// Data reads the whole message (bounded by the server's MaxMessageBytes)
// and stores it; 250 means it is committed.
func (s *inboundSession) Data(r io.Reader) error {
	limit := s.be.limit()
	if limit <= 0 {
		limit = MaxInboundBytes
	}
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return err // smtp.ErrDataTooLarge (552) or a broken connection
	}
	if int64(len(raw)) > limit {
		return smtp.ErrDataTooLarge
	}
	m := InboundMessage{From: s.from, To: append([]string(nil), s.to...), RemoteIP: s.remoteIP, Helo: s.helo, Raw: raw}
	ctx, cancel := context.WithTimeout(context.Background(), InboundStoreTimeout)
	defer cancel()
	if err := s.be.store(ctx, m); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se
		}
		return ErrTryLater
	}
	return nil
}
