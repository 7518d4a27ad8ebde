package notify

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	netmail "net/mail"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/time/rate"
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
	// DefaultInboundRate is how many messages a minute the inbound server
	// takes from one client IP address, and from one sender domain.
	DefaultInboundRate = 20
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

// ErrRateLimited is the answer to a client address or sender domain over
// its rate: temporary, so a legitimate MTA queues the message and retries.
var ErrRateLimited = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "too many messages, try again later"}

// errNoMailbox is the answer to a recipient we do not take mail for.
var errNoMailbox = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox here"}

// NewInboundServer returns an SMTP server (not started: call
// ListenAndServe, or Serve with a listener) that takes mail for the
// addresses accept approves and hands each message to store before
// answering 250. Recipients accept refuses get 550 5.1.1. Limits:
// MaxInboundBytes per message (552), MaxInboundRecipients (452),
// InboundTimeout per read and write, DefaultInboundRate messages a minute
// per client address and per sender domain (451 4.7.1; change it with
// LimitInbound). domain is the name the server greets with. It offers no AUTH and no TLS: put it behind the MX or a
// TLS-terminating proxy. Stop it with Shutdown (waits for sessions) or
// Close.
func NewInboundServer(addr, domain string, accept func(rcpt string) bool, store InboundStore) *smtp.Server {
	be := &inboundBackend{accept: accept, store: store}
	be.setLimits(InboundLimits{})
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

	now      func() time.Time
	byIP     *keyedLimiter // nil: no limit
	byDomain *keyedLimiter
}

// InboundLimits are the inbound server's rate limits.
type InboundLimits struct {
	// PerMinute is the most messages a minute accepted from one client IP
	// address (an IPv6 client: its /64), and separately from one sender
	// domain (the MAIL FROM domain, and the domain of the From: header
	// when it differs), each with a burst of as many. Over it, MAIL FROM (or DATA, for the From:
	// header) is answered 451 4.7.1 and nothing is stored. 0 means
	// DefaultInboundRate; a negative value turns the limits off.
	PerMinute int
	// Now is the limiters' clock; nil means time.Now. Tests stop it.
	Now func() time.Time
}

// LimitInbound sets the rate limits of srv, a server made by
// NewInboundServer, replacing the defaults and forgetting what was counted.
// It must be called before srv serves. Errors: srv was not made by
// NewInboundServer.
func LimitInbound(srv *smtp.Server, l InboundLimits) error {
	be, ok := srv.Backend.(*inboundBackend)
	if !ok {
		return errors.New("notify: LimitInbound: not an inbound server")
	}
	be.setLimits(l)
	return nil
}

func (b *inboundBackend) setLimits(l InboundLimits) {
	b.now = l.Now
	if b.now == nil {
		b.now = time.Now
	}
	n := l.PerMinute
	if n == 0 {
		n = DefaultInboundRate
	}
	if n < 0 {
		b.byIP, b.byDomain = nil, nil
		return
	}
	b.byIP, b.byDomain = newKeyedLimiter(n), newKeyedLimiter(n)
}

// allowDomain reports whether one more message from domain is within its
// rate; the null sender and an unknown domain are limited by address only.
func (b *inboundBackend) allowDomain(domain string) bool {
	return b.byDomain == nil || domain == "" || b.byDomain.allow(domain, b.now())
}

// clientKey is what the per-client limit counts by: the IPv4 address, or
// the /64 network of an IPv6 address (one host usually holds a whole /64,
// so counting single IPv6 addresses would limit nothing).
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// addressDomain is the lower-cased domain of an address, or "".
func addressDomain(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(addr[i+1:]), ">"))
}

// keyedLimiter is one token bucket per key (an IP address, a domain),
// PerMinute tokens a minute with a burst of as many. A bucket idle for a
// minute is full again, the same as a new one, so it is dropped: the map
// holds only the keys seen in the last minute or so.
type keyedLimiter struct {
	mu        sync.Mutex
	limit     rate.Limit
	burst     int
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

func newKeyedLimiter(perMinute int) *keyedLimiter {
	return &keyedLimiter{limit: rate.Limit(float64(perMinute) / 60), burst: perMinute, buckets: map[string]*bucket{}}
}

// allow takes one token from key's bucket at now, reporting whether there
// was one.
func (k *keyedLimiter) allow(key string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.lastSweep) >= time.Minute {
		for key, b := range k.buckets {
			if now.Sub(b.last) >= time.Minute {
				delete(k.buckets, key)
			}
		}
		k.lastSweep = now
	}
	b, ok := k.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(k.limit, k.burst)}
		k.buckets[key] = b
	}
	b.last = now
	return b.lim.AllowN(now, 1)
}

// size is the number of keys held, for tests of the expiry.
func (k *keyedLimiter) size() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
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

// Mail starts a message: one from the client's address and one from the
// sender's domain, each within its rate, else 451 4.7.1.
func (s *inboundSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from, s.to = "", nil
	if s.be.byIP != nil && !s.be.byIP.allow(clientKey(s.remoteIP), s.be.now()) {
		return ErrRateLimited
	}
	if !s.be.allowDomain(addressDomain(from)) {
		return ErrRateLimited
	}
	s.from = from
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
	// A flood may vary MAIL FROM and keep one From: domain: that domain
	// is limited too (counted once when both are the same).
	if d := headerFromDomain(raw); d != "" && d != addressDomain(s.from) && !s.be.allowDomain(d) {
		return ErrRateLimited
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

// headerFromDomain is the domain of the first From: address of raw, or ""
// when there is none that parses. Only the header is read.
func headerFromDomain(raw []byte) string {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	a, err := netmail.ParseAddress(msg.Header.Get("From"))
	if err != nil {
		return ""
	}
	return addressDomain(a.Address)
}
