package notify_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/notify"
)

// eml reads testdata/inbound/name, replacing {{KEY}} placeholders from
// pairs.
func eml(t *testing.T, name string, pairs ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "inbound", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, "{{"+pairs[i]+"}}", pairs[i+1])
	}
	return []byte(s)
}

func TestParseMail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file     string
		pairs    []string
		want     notify.ParsedMail // Files compared by name only
		files    []string
		kind     dsr.Kind // what dsr.GuessKind makes of subject and text
		optOutOf string
	}{
		{file: "plain.eml", kind: dsr.KindErasure, want: notify.ParsedMail{From: "ann@example.com", FromName: "Ann Example", FromDomain: "example.com",
			Subject: "My account", Text: "Hello,\n\nPlease delete my data. I no longer use your service.\n\nThanks,\nAnn"}},
		{file: "html_only.eml", kind: dsr.KindOptOut, optOutOf: "sale", want: notify.ParsedMail{From: "bo@example.com", FromName: "Bo Lee", FromDomain: "example.com",
			Subject: "Hi there", FromHTML: true, // title, style and script dropped, entities decoded, blocks on their own lines
			Text: "Hello,\n\nI want to opt out of the sale of my personal information & stop selling it.\n\nBo Lee"}},
		{file: "latin1.eml", kind: dsr.KindErasure, want: notify.ParsedMail{From: "juergen@example.de", FromName: "Jürgen Müller", FromDomain: "example.de",
			Subject: "Löschung meiner Daten",
			Text:    "Sehr geehrte Damen und Herren,\n\nbitte löschen Sie meine Daten (please erase my data).\n\nMit freundlichen Grüßen\nJürgen Müller"}},
		{file: "utf8.eml", kind: dsr.KindAccess, want: notify.ParsedMail{From: "zoe@example.se", FromName: "Zoë Ångström", FromDomain: "example.se",
			Subject: "Anfrage – subject access request", Text: "Hej! Jag vill ha en kopia av mina uppgifter. Grüße, 日本語 — Zoë Ångström"}},
		{file: "multipart_attachments.eml", kind: dsr.KindAccess, files: []string{"id-card.pdf"}, want: notify.ParsedMail{From: "cy@example.com", FromName: "Cy Park",
			FromDomain: "example.com", Subject: "Subject access request", Text: "Please send me a copy of my data. My ID is attached.", // the plain alternative wins
			Rejected: []string{"tool.exe (not a PDF, PNG or JPEG)"}}},
		{file: "auto_reply.eml", kind: dsr.KindErasure, want: notify.ParsedMail{From: "dee@example.com", FromName: "Dee Away", FromDomain: "example.com",
			Subject: "Out of office: delete my data", Text: "I am out of the office until Monday.", AutoSubmitted: "auto-replied"}},
		{file: "reply.eml", pairs: []string{"FROM", "olu@example.com", "IN_REPLY_TO", "ask-1@testorg.example"}, kind: dsr.KindAccess, files: []string{"screenshot.png"},
			want: notify.ParsedMail{From: "olu@example.com", FromName: "Olu Test", FromDomain: "example.com", Subject: "Re: We need more information",
				Refs: []string{"ask-1@testorg.example", "older@mail.example.com", "ask-1@testorg.example"},
				Text: "The shop account, please. A screenshot is attached.\n\nOn Mon, 2 Mar 2026 at 09:00, Testorg Privacy <privacy@testorg.example>\nwrote:\n> Which accounts do you mean?"}},
		{file: "reply.eml", kind: dsr.KindAccess, files: []string{"screenshot.png"}, // placeholders left: no valid From:
			want: notify.ParsedMail{Subject: "Re: We need more information", Refs: []string{"older@mail.example.com"}, Problem: "no valid From: address",
				Text: "The shop account, please. A screenshot is attached.\n\nOn Mon, 2 Mar 2026 at 09:00, Testorg Privacy <privacy@testorg.example>\nwrote:\n> Which accounts do you mean?"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := notify.ParseMail(eml(t, tc.file, tc.pairs...))
			var names []string
			for _, f := range got.Files {
				if len(f.Content) == 0 {
					t.Errorf("file %s kept without content", f.Filename)
				}
				names = append(names, f.Filename)
			}
			if !reflect.DeepEqual(names, tc.files) {
				t.Errorf("files %v, want %v", names, tc.files)
			}
			got.Files = nil
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("ParseMail:\n got %#v\nwant %#v", *got, tc.want)
			}
			if k, rule := dsr.GuessKind(got.Subject, got.Text); k != tc.kind {
				t.Errorf("GuessKind = %s (%s), want %s", k, rule, tc.kind)
			}
			if tc.optOutOf != "" {
				if o := dsr.GuessOptOutOf(got.Subject + "\n" + got.Text); o != tc.optOutOf {
					t.Errorf("GuessOptOutOf = %q, want %q", o, tc.optOutOf)
				}
			}
		})
	}
}

func TestParseMailUnusable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, raw, problem string // problem: its start
		report             bool
		precedence         string
	}{
		{"not a message", "\x00\x01garbage without a header end", "the message does not parse: ", false, ""},
		{"no From", "To: privacy@testorg.example\r\nSubject: hi\r\n\r\nDelete my data\r\n", "no valid From: address", false, ""},
		{"bad From", "From: not an address\r\n\r\nDelete my data\r\n", "no valid From: address", false, ""},
		{"bounce", "From: MAILER-DAEMON@mx.example.com\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nUndeliverable\r\n--b--\r\n", "", true, ""},
		{"bulk", "From: news@shop.example\r\nPrecedence: bulk\r\n\r\nSale!\r\n", "", false, "bulk"},
	} {
		got := notify.ParseMail([]byte(tc.raw))
		if !strings.HasPrefix(got.Problem, tc.problem) || (tc.problem == "") != (got.Problem == "") || got.Report != tc.report || got.Precedence != tc.precedence {
			t.Errorf("%s: problem %q report %v precedence %q, want %q %v %q", tc.name, got.Problem, got.Report, got.Precedence, tc.problem, tc.report, tc.precedence)
		}
	}
}

func TestParseMailLimits(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("From: a@example.com\r\nSubject: " + strings.Repeat("é", 600) + "\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
	b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nhello \x00 \xff there\r\n")
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n%%EOF\n"))
	for i := range notify.MaxMailFiles + 2 {
		b.WriteString("--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"f" + string(rune('a'+i)) + ".pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + pdf + "\r\n")
	}
	b.WriteString("--b--\r\n")
	got := notify.ParseMail([]byte(b.String()))
	if n := len([]rune(got.Subject)); n != notify.MaxMailSubject {
		t.Errorf("subject of %d characters, want %d", n, notify.MaxMailSubject)
	}
	if got.Text != "hello  \uFFFD there" {
		t.Errorf("text %q: want NUL removed and invalid UTF-8 replaced", got.Text)
	}
	if len(got.Files) != notify.MaxMailFiles || len(got.Rejected) != 2 || got.Rejected[0] != "fk.pdf (too many attachments)" {
		t.Errorf("%d files kept, rejected %v", len(got.Files), got.Rejected)
	}
}

func TestHeaderMessageID(t *testing.T) {
	t.Parallel()
	if id := notify.HeaderMessageID(eml(t, "plain.eml")); id != "plain-1@mail.example.com" {
		t.Errorf("Message-ID %q", id)
	}
	if id := notify.HeaderMessageID([]byte("From: a@example.com\r\n\r\nno id\r\n")); id != "" {
		t.Errorf("Message-ID of a message without one: %q", id)
	}
}

func TestHTMLToText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"<p>One</p><p>Two</p>", "One\n\nTwo"},
		{"a<br>b<br/>c", "a\nb\nc"},
		{"<ul><li>x</li><li>y</li></ul>", "- x\n- y"},
		{"<table><tr><td>a</td><td>b</td></tr></table>", "a b"},
		{"<head><title>t</title><style>p{}</style></head><body>text<script>x()</script></body>", "text"},
		{"<head><style>p{}</style><body>shown", "shown"}, // a head never closed does not hide the body
		{"Tom &amp; Jerry&nbsp;&lt;3", "Tom & Jerry <3"},
		{"line\nbreaks   in\ttext", "line breaks in text"},
	} {
		if got := notify.HTMLToText(tc.in); got != tc.want {
			t.Errorf("HTMLToText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStripQuoted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Yes please.\n\nOn Mon, 2 Mar 2026, Testorg <p@t.example> wrote:\n> Which one?", "Yes please."},
		{"Yes.\nOn Mon, 2 Mar 2026 at 09:00, Testorg Privacy <p@t.example>\nwrote:\n> Which one?", "Yes."}, // header wrapped over two lines
		{"Mine.\n-----Original Message-----\nFrom: us", "Mine."},
		{"Mine.\n________________________________\nFrom: us", "Mine."},
		{"> quoted first\nanswer below\n  > indented quote", "answer below"},
		{"no quote at all\n\n\n\nsecond paragraph  ", "no quote at all\n\nsecond paragraph"},
	} {
		if got := notify.StripQuoted(tc.in); got != tc.want {
			t.Errorf("StripQuoted(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCleanName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Ann Example":               "Ann Example",
		"Ann\r\nBcc: x@example.com": "Ann Bcc: x@example.com",
		"  Ann\tB\u2028C  ":         "Ann B C",
		"A\x00nn":                   "Ann",
	} {
		if got := notify.CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

// signed returns a message from alice@<from> signed by domain with key.
func signed(t *testing.T, key *rsa.PrivateKey, domain, from, body string) []byte {
	t.Helper()
	raw := "From: Alice <alice@" + from + ">\r\nTo: privacy@testorg.example\r\nSubject: Request\r\nMessage-ID: <s@" + from + ">\r\n" +
		"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body + "\r\n"
	var out bytes.Buffer
	if err := dkim.Sign(&out, strings.NewReader(raw), &dkim.SignOptions{Domain: domain, Selector: "s1", Signer: key, Hash: crypto.SHA256}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestCheckDKIM(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	record := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)
	// An in-process resolver: example.org publishes the key, dns-down.example
	// times out, everything else does not exist.
	lookup := func(name string) ([]string, error) {
		switch name {
		case "s1._domainkey.example.org":
			return []string{record}, nil
		case "s1._domainkey.dns-down.example":
			return nil, &net.DNSError{Err: "i/o timeout", Name: name, IsTimeout: true, IsTemporary: true}
		}
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	good := signed(t, key, "example.org", "example.org", "Please delete my data.")
	for _, tc := range []struct {
		name, fromDomain string
		raw              []byte
		result, domain   string
	}{
		{"signed by the From: domain", "example.org", good, notify.DKIMPass, "example.org"},
		{"signed by a parent domain", "mail.example.org", signed(t, key, "example.org", "mail.example.org", "Hi"), notify.DKIMPass, "example.org"},
		{"tampered body", "example.org", bytes.Replace(good, []byte("Please delete"), []byte("Please export"), 1), notify.DKIMFail, "example.org"},
		{"signed by another domain", "example.com", signed(t, key, "example.org", "example.com", "Hi"), notify.DKIMNone, ""},
		{"unsigned", "example.org", eml(t, "plain.eml"), notify.DKIMNone, ""},
		{"no key published", "nokey.example", signed(t, key, "nokey.example", "nokey.example", "Hi"), notify.DKIMFail, "nokey.example"},
		{"key lookup times out", "dns-down.example", signed(t, key, "dns-down.example", "dns-down.example", "Hi"), notify.DKIMTempError, "dns-down.example"},
	} {
		result, domain := notify.CheckDKIM(tc.raw, tc.fromDomain, lookup)
		if result != tc.result || domain != tc.domain {
			t.Errorf("%s: CheckDKIM = %q %q, want %q %q", tc.name, result, domain, tc.result, tc.domain)
		}
	}
	// A lookup that is never called for an unsigned message.
	called := false
	if r, _ := notify.CheckDKIM(eml(t, "plain.eml"), "example.com", func(string) ([]string, error) { called = true; return nil, errors.New("x") }); r != notify.DKIMNone || called {
		t.Errorf("unsigned message: %q, lookup called %v", r, called)
	}
}
