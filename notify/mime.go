// Package notify renders outgoing emails and delivers them to an SMTP relay.
//
// BuildMIME turns a Message into RFC 5322 bytes; Sender hands those bytes to
// one relay. Errors returned by Sender.Send can be classified with Temporary
// and SMTPCode so that a job queue can retry 4xx replies and network failures
// and give up on 5xx replies.
//
// Nothing in this package logs. Errors never contain the message body or the
// envelope addresses, but an error that wraps a relay's reply carries the
// relay's text verbatim, and relays sometimes quote the recipient there.
package notify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
)

// Address is a display name plus email address.
type Address struct{ Name, Email string }

// Message is one rendered outgoing email.
type Message struct {
	From      Address
	To        []Address
	ReplyTo   *Address // optional
	Subject   string
	Text      string // text/plain body, required
	HTML      string // text/html body, optional; when set, multipart/alternative (text first, HTML last)
	MessageID string // without angle brackets, e.g. "abc@dsrdesk.example"; required
	InReplyTo string // optional, without angle brackets
	Date      time.Time
	Headers   map[string]string // extra headers, e.g. "Auto-Submitted": "auto-generated"
}

// reservedHeaders are set by BuildMIME itself and may not appear in
// Message.Headers (keys in canonical lower case).
var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "reply-to": true,
	"subject": true, "date": true, "message-id": true, "in-reply-to": true,
	"references": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "content-disposition": true,
}

// BuildMIME renders m as RFC 5322 bytes with CRLF line endings using
// go-message/mail. Bodies are UTF-8 and quoted-printable encoded; non-ASCII
// header text is RFC 2047 encoded. A message without HTML is a single
// text/plain part; with HTML it is multipart/alternative with the text part
// first and the HTML part last.
//
// Defaults: a zero m.Date means time.Now(). When m.InReplyTo is set, it is
// written as both In-Reply-To and References. A text-only body that does not
// end in a line break gets one, so the message ends with CRLF. Bare LF line
// breaks in the bodies become CRLF.
//
// It returns an error when From, To, MessageID or Text is empty, when an
// address, message ID, subject or extra header is malformed (including any
// CR or LF, which would allow header injection), or when m.Headers names a
// header that BuildMIME sets itself (From, To, Subject, Content-Type, ...).
func BuildMIME(m Message) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	h := m.header()
	var buf bytes.Buffer
	var err error
	if m.HTML == "" {
		err = writeSingle(&buf, h, m.Text)
	} else {
		err = writeAlternative(&buf, h, m.Text, m.HTML)
	}
	if err != nil {
		return nil, fmt.Errorf("notify: render message: %w", err)
	}
	return buf.Bytes(), nil
}

// validate checks m without echoing any address or body in its errors.
func (m Message) validate() error {
	switch {
	case m.From.Email == "":
		return errors.New("notify: message has no From address")
	case len(m.To) == 0:
		return errors.New("notify: message has no To address")
	case m.MessageID == "":
		return errors.New("notify: message has no Message-ID")
	case m.Text == "":
		return errors.New("notify: message has no text body")
	}
	if err := checkAddress("From", m.From); err != nil {
		return err
	}
	for i, a := range m.To {
		if err := checkAddress(fmt.Sprintf("To[%d]", i), a); err != nil {
			return err
		}
	}
	if m.ReplyTo != nil {
		if err := checkAddress("Reply-To", *m.ReplyTo); err != nil {
			return err
		}
	}
	if hasCRLF(m.Subject) {
		return errors.New("notify: Subject contains a line break")
	}
	if err := checkMsgID("Message-ID", m.MessageID); err != nil {
		return err
	}
	if m.InReplyTo != "" {
		if err := checkMsgID("In-Reply-To", m.InReplyTo); err != nil {
			return err
		}
	}
	return checkExtraHeaders(m.Headers)
}

// CheckRecipient reports whether a can be written as a recipient header:
// nil when BuildMIME would accept it, otherwise an error that quotes
// neither the name nor the address. Callers check before they count a
// message as sent (a name with a line break can never be delivered).
func CheckRecipient(a Address) error { return checkAddress("To", a) }

// checkAddress rejects an email that net/mail would not round-trip and a
// display name with line breaks. field names the header for the error.
func checkAddress(field string, a Address) error {
	if a.Email == "" {
		return fmt.Errorf("notify: %s has an empty email address", field)
	}
	if hasCRLF(a.Name) {
		return fmt.Errorf("notify: %s display name contains a line break", field)
	}
	p, err := netmail.ParseAddress("<" + a.Email + ">")
	if err != nil || p.Address != a.Email {
		return fmt.Errorf("notify: %s email address is malformed", field)
	}
	return nil
}

// checkMsgID accepts "left@right" without angle brackets or whitespace.
func checkMsgID(field, id string) error {
	at := strings.IndexByte(id, '@')
	if at <= 0 || at == len(id)-1 || strings.ContainsAny(id, "<> \t\r\n") || !isPrintableASCII(id) {
		return fmt.Errorf("notify: %s %q is not of the form left@right (no angle brackets)", field, id)
	}
	return nil
}

// checkExtraHeaders validates the names and values in Message.Headers.
func checkExtraHeaders(hs map[string]string) error {
	for k, v := range hs {
		if !isFieldName(k) {
			return fmt.Errorf("notify: extra header name %q is not a valid field name", k)
		}
		if reservedHeaders[strings.ToLower(k)] {
			return fmt.Errorf("notify: extra header %q is set by BuildMIME and cannot be overridden", k)
		}
		if hasCRLF(v) {
			return fmt.Errorf("notify: extra header %q value contains a line break", k)
		}
	}
	return nil
}

// header assembles the top-level header of a validated message.
func (m Message) header() mail.Header {
	var h mail.Header
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	h.SetDate(date)
	h.SetAddressList("From", []*mail.Address{mailAddr(m.From)})
	to := make([]*mail.Address, len(m.To))
	for i, a := range m.To {
		to[i] = mailAddr(a)
	}
	h.SetAddressList("To", to)
	if m.ReplyTo != nil {
		h.SetAddressList("Reply-To", []*mail.Address{mailAddr(*m.ReplyTo)})
	}
	h.SetSubject(m.Subject)
	h.SetMessageID(m.MessageID)
	if m.InReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{m.InReplyTo})
		h.SetMsgIDList("References", []string{m.InReplyTo})
	}
	keys := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic output
	for _, k := range keys {
		h.SetText(k, m.Headers[k])
	}
	return h
}

func mailAddr(a Address) *mail.Address {
	return &mail.Address{Name: a.Name, Address: a.Email}
}

// textHeader returns the inline part header for a UTF-8 text subtype.
func textHeader(subtype string) mail.InlineHeader {
	var h mail.InlineHeader
	h.SetContentType("text/"+subtype, map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	return h
}

// writeSingle writes a single-part text/plain message.
func writeSingle(w io.Writer, h mail.Header, text string) error {
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	bw, err := mail.CreateSingleInlineWriter(w, h)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n" // end the message with CRLF, as SMTP DATA would
	}
	return writeAndClose(bw, text)
}

// writeAlternative writes a multipart/alternative message, text then HTML.
func writeAlternative(w io.Writer, h mail.Header, text, html string) error {
	iw, err := mail.CreateInlineWriter(w, h)
	if err != nil {
		return err
	}
	for _, p := range []struct{ subtype, body string }{{"plain", text}, {"html", html}} {
		pw, err := iw.CreatePart(textHeader(p.subtype))
		if err != nil {
			return err
		}
		if err := writeAndClose(pw, p.body); err != nil {
			return err
		}
	}
	return iw.Close()
}

func writeAndClose(wc io.WriteCloser, body string) error {
	if _, err := io.WriteString(wc, body); err != nil {
		wc.Close()
		return err
	}
	return wc.Close()
}

func hasCRLF(s string) bool { return strings.ContainsAny(s, "\r\n") }

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// isFieldName reports whether s is an RFC 5322 field name: printable
// US-ASCII except colon.
func isFieldName(s string) bool {
	return s != "" && isPrintableASCII(s) && !strings.Contains(s, ":")
}
