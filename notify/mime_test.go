package notify_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/dsrdesk/dsrdesk/notify"
)

const subjectUTF8 = "Ürün – ü"

func baseMessage() notify.Message {
	return notify.Message{
		From:      notify.Address{Name: "DSR Desk Privacy Team", Email: "privacy@dsrdesk.example"},
		To:        []notify.Address{{Name: "Jürgen Müller", Email: "juergen@example.org"}},
		Subject:   subjectUTF8,
		Text:      "Hallo Jürgen,\nIhre Anfrage ist eingegangen: https://dsrdesk.example/r/abc?x=1.\n\n" + strings.Repeat("lange Zeile ü ", 20),
		MessageID: "req-42.1@dsrdesk.example",
		Date:      time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC),
	}
}

// lf normalises line endings so decoded bodies compare with the input.
func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func assertCRLF(t *testing.T, raw []byte) {
	t.Helper()
	for i, b := range raw {
		if b == '\n' && (i == 0 || raw[i-1] != '\r') {
			t.Fatalf("bare LF at byte %d: %q", i, raw[max(0, i-40):i+1])
		}
	}
	if !bytes.HasSuffix(raw, []byte("\r\n")) {
		t.Errorf("message does not end with CRLF")
	}
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line %d is %d octets long", i, len(line))
		}
	}
}

type part struct{ contentType, body string }

// parseParts reads raw back with go-message/mail.
func parseParts(t *testing.T, raw []byte) (mail.Header, []part) {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("CreateReader: %v", err)
	}
	var parts []part
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		ih, ok := p.Header.(*mail.InlineHeader)
		if !ok {
			t.Fatalf("unexpected attachment part")
		}
		ct, params, _ := ih.ContentType()
		if params["charset"] != "utf-8" {
			t.Errorf("%s charset = %q, want utf-8", ct, params["charset"])
		}
		b, _ := io.ReadAll(p.Body)
		parts = append(parts, part{ct, string(b)})
	}
	return mr.Header, parts
}

func checkCommonHeader(t *testing.T, h mail.Header, m notify.Message) {
	t.Helper()
	if got, _ := h.Subject(); got != m.Subject {
		t.Errorf("Subject = %q, want %q", got, m.Subject)
	}
	if got, _ := h.MessageID(); got != m.MessageID {
		t.Errorf("Message-ID = %q, want %q", got, m.MessageID)
	}
	if got, _ := h.Date(); !got.Equal(m.Date) {
		t.Errorf("Date = %v, want %v", got, m.Date)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != m.From.Email || from[0].Name != m.From.Name {
		t.Errorf("From = %v (%v), want %+v", from, err, m.From)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != len(m.To) || to[0].Address != m.To[0].Email || to[0].Name != m.To[0].Name {
		t.Errorf("To = %v (%v), want %+v", to, err, m.To)
	}
	if h.Get("Mime-Version") != "1.0" {
		t.Errorf("MIME-Version = %q", h.Get("Mime-Version"))
	}
}

func TestBuildMIMETextOnly(t *testing.T) {
	m := baseMessage()
	raw, err := notify.BuildMIME(m)
	if err != nil {
		t.Fatal(err)
	}
	assertCRLF(t, raw)
	h, parts := parseParts(t, raw)
	checkCommonHeader(t, h, m)
	if ct, _, _ := h.ContentType(); ct != "text/plain" {
		t.Errorf("top-level Content-Type = %q, want text/plain", ct)
	}
	if len(parts) != 1 || parts[0].contentType != "text/plain" {
		t.Fatalf("parts = %+v, want one text/plain", parts)
	}
	if got := lf(parts[0].body); got != m.Text+"\n" {
		t.Errorf("text body = %q, want %q", got, m.Text)
	}
	for _, absent := range []string{"In-Reply-To", "References", "Reply-To"} {
		if h.Has(absent) {
			t.Errorf("unexpected %s header", absent)
		}
	}
}

func TestBuildMIMEAlternative(t *testing.T) {
	m := baseMessage()
	m.HTML = "<p>Hallo <b>Jürgen</b></p>\n<p><a href=\"https://dsrdesk.example/r/abc\">Status</a></p>"
	m.ReplyTo = &notify.Address{Name: "Datenschutz", Email: "dpo@dsrdesk.example"}
	m.InReplyTo = "CAF00@mail.example.org"
	m.Headers = map[string]string{"Auto-Submitted": "auto-generated", "X-DSR-Ref": "Anfrage Nr. 42 – ü"}

	raw, err := notify.BuildMIME(m)
	if err != nil {
		t.Fatal(err)
	}
	assertCRLF(t, raw)
	h, parts := parseParts(t, raw)
	checkCommonHeader(t, h, m)
	if ct, _, _ := h.ContentType(); ct != "multipart/alternative" {
		t.Errorf("top-level Content-Type = %q, want multipart/alternative", ct)
	}
	if len(parts) != 2 || parts[0].contentType != "text/plain" || parts[1].contentType != "text/html" {
		t.Fatalf("parts = %+v, want text/plain then text/html", parts)
	}
	if lf(parts[0].body) != m.Text || lf(parts[1].body) != m.HTML {
		t.Errorf("bodies did not round-trip: %+v", parts)
	}
	if ids, _ := h.MsgIDList("In-Reply-To"); len(ids) != 1 || ids[0] != m.InReplyTo {
		t.Errorf("In-Reply-To = %v", ids)
	}
	if ids, _ := h.MsgIDList("References"); len(ids) != 1 || ids[0] != m.InReplyTo {
		t.Errorf("References = %v", ids)
	}
	if rt, _ := h.AddressList("Reply-To"); len(rt) != 1 || rt[0].Address != "dpo@dsrdesk.example" {
		t.Errorf("Reply-To = %v", rt)
	}
	if got := h.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", got)
	}
	if got, _ := h.Text("X-DSR-Ref"); got != "Anfrage Nr. 42 – ü" {
		t.Errorf("X-DSR-Ref = %q", got)
	}
}

func TestBuildMIMEDefaultsDate(t *testing.T) {
	m := baseMessage()
	m.Date = time.Time{}
	raw, err := notify.BuildMIME(m)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := parseParts(t, raw)
	if d, _ := h.Date(); time.Since(d) > time.Minute || time.Since(d) < -time.Minute {
		t.Errorf("Date = %v, want about now", d)
	}
}

func TestBuildMIMEErrors(t *testing.T) {
	cases := map[string]func(*notify.Message){
		"empty From":         func(m *notify.Message) { m.From.Email = "" },
		"empty To":           func(m *notify.Message) { m.To = nil },
		"empty To email":     func(m *notify.Message) { m.To = []notify.Address{{Name: "x"}} },
		"empty MessageID":    func(m *notify.Message) { m.MessageID = "" },
		"empty Text":         func(m *notify.Message) { m.Text = "" },
		"bad From":           func(m *notify.Message) { m.From.Email = "not an address" },
		"To injection":       func(m *notify.Message) { m.To[0].Email = "a@b.example>\r\nBcc: <c@d.example" },
		"name with CRLF":     func(m *notify.Message) { m.To[0].Name = "x\r\nBcc: c@d.example" },
		"bad Reply-To":       func(m *notify.Message) { m.ReplyTo = &notify.Address{Email: "nope"} },
		"subject with LF":    func(m *notify.Message) { m.Subject = "a\nBcc: c@d.example" },
		"bracketed ID":       func(m *notify.Message) { m.MessageID = "<a@b>" },
		"ID without @":       func(m *notify.Message) { m.MessageID = "abc" },
		"bad InReplyTo":      func(m *notify.Message) { m.InReplyTo = "x y@z" },
		"reserved header":    func(m *notify.Message) { m.Headers = map[string]string{"content-type": "text/html"} },
		"bad header name":    func(m *notify.Message) { m.Headers = map[string]string{"X Bad": "1"} },
		"header value CRLF":  func(m *notify.Message) { m.Headers = map[string]string{"X-A": "1\r\nBcc: c@d.example"} },
		"header name colon":  func(m *notify.Message) { m.Headers = map[string]string{"X-A:": "1"} },
		"empty header name":  func(m *notify.Message) { m.Headers = map[string]string{"": "1"} },
		"reserved Reply-To":  func(m *notify.Message) { m.Headers = map[string]string{"Reply-To": "a@b.example"} },
		"reserved MessageID": func(m *notify.Message) { m.Headers = map[string]string{"Message-Id": "<a@b>"} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := baseMessage()
			mutate(&m)
			if raw, err := notify.BuildMIME(m); err == nil {
				t.Fatalf("BuildMIME succeeded:\n%s", raw)
			} else if strings.Contains(err.Error(), "juergen@example.org") {
				t.Errorf("error leaks an address: %v", err)
			}
		})
	}
}
