package notify

import (
	"bufio"
	"bytes"
	"io"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode ISO-8859-*, Windows-125x, … bodies and headers
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Reading inbound mail: pure functions from the raw bytes of a message to
// what a request or a reply needs (sender, subject, thread references,
// body as plain text, attachments that pass the upload checks). No
// database, no network: DKIM (dkim.go) takes its DNS lookup as an
// argument. workflow decides what the message is and applies it.

// Limits of what ParseMail keeps of a message.
const (
	// MaxMailParts is the number of MIME parts looked at per message;
	// later parts are ignored.
	MaxMailParts = 100
	// MaxMailFiles is the number of attachments kept per message; later
	// ones are listed in ParsedMail.Rejected.
	MaxMailFiles = 10
	// MaxMailSubject is the length of the subject kept, in characters.
	MaxMailSubject = 500
)

// ParsedMail is what ParseMail reads from a raw message.
type ParsedMail struct {
	From, FromName, FromDomain string   // the first From: address, its cleaned display name, its domain in lower case
	Subject                    string   // cleaned, at most MaxMailSubject characters
	Refs                       []string // In-Reply-To then References, without angle brackets
	Text                       string   // the first body as plain text
	FromHTML                   bool     // Text was converted from an HTML-only body
	Files                      []dsr.File
	Rejected                   []string // "name (why)" of attachments not kept
	AutoSubmitted, Precedence  string   // raw header values (RFC 3834, bulk mail)
	Report                     bool     // multipart/report: a delivery status notification
	Problem                    string   // why the message cannot be used (no valid From:, does not parse), or ""
}

// ParseMail reads a raw message with go-message: sender, subject, thread
// references, the first text body (HTML converted when there is no plain
// text) and the attachments that pass the upload checks. It never fails:
// what it cannot use is noted in Problem or Rejected.
func ParseMail(raw []byte) *ParsedMail {
	p := &ParsedMail{}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) {
		p.Problem = "the message does not parse: " + err.Error()
		return p
	}
	defer mr.Close()
	h := mr.Header
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		p.From, p.FromName = CleanText(from[0].Address), CleanName(from[0].Name)
		if i := strings.LastIndexByte(p.From, '@'); i >= 0 {
			p.FromDomain = strings.ToLower(p.From[i+1:])
		}
	}
	if !dsr.ValidEmail(p.From) {
		p.Problem = "no valid From: address"
	}
	subject, _ := h.Subject()
	p.Subject = TruncateRunes(CleanText(subject), MaxMailSubject)
	for _, key := range []string{"In-Reply-To", "References"} {
		ids, _ := h.MsgIDList(key)
		p.Refs = append(p.Refs, ids...)
	}
	p.AutoSubmitted, p.Precedence = h.Get("Auto-Submitted"), h.Get("Precedence")
	if t, _, _ := h.ContentType(); t == "multipart/report" {
		p.Report = true
	}
	p.readParts(mr)
	return p
}

// HeaderMessageID returns the Message-ID of a raw message without angle
// brackets, or "" when it has none or the header does not parse.
func HeaderMessageID(raw []byte) string {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return ""
	}
	mh := mail.Header{Header: message.Header{Header: h}}
	id, err := mh.MessageID()
	if err != nil {
		return ""
	}
	return id
}

func (p *ParsedMail) readParts(mr *mail.Reader) {
	var plain, htmlBody string
	var havePlain, haveHTML bool
	for n := 0; n < MaxMailParts; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) {
			if p.Problem == "" && !havePlain && !haveHTML {
				p.Problem = "the message body does not parse: " + err.Error()
			}
			break
		}
		var ct, name string
		inline := false
		switch h := part.Header.(type) {
		case *mail.InlineHeader:
			var params map[string]string
			ct, params, _ = h.ContentType()
			name, inline = params["name"], true
		case *mail.AttachmentHeader:
			ct, _, _ = h.ContentType()
			name, _ = h.Filename()
		}
		switch {
		case inline && ct == "text/plain" && !havePlain:
			plain, havePlain = readText(part.Body), true
		case inline && ct == "text/html" && !haveHTML:
			htmlBody, haveHTML = readText(part.Body), true
		case inline && strings.HasPrefix(ct, "text/"):
			_, _ = io.Copy(io.Discard, part.Body) // further alternatives
		default:
			p.readFile(part.Body, name, ct)
		}
	}
	switch {
	case havePlain:
		p.Text = TidyText(plain)
	case haveHTML:
		p.Text, p.FromHTML = HTMLToText(htmlBody), true
	}
}

// readFile keeps an attachment that passes the same checks as uploads
// (PDF, PNG or JPEG by content, at most 10 MB); others are only listed.
func (p *ParsedMail) readFile(body io.Reader, name, ct string) {
	content, _ := io.ReadAll(io.LimitReader(body, dsr.MaxPermissionBytes+1))
	_, _ = io.Copy(io.Discard, body)
	label := "unnamed " + ct
	if strings.Trim(name, ". ") != "" {
		label = dsr.SafeFilename(CleanText(name), "")
	}
	f := dsr.File{Filename: CleanText(name), Content: content}
	switch {
	case len(content) > dsr.MaxPermissionBytes:
		p.Rejected = append(p.Rejected, label+" (larger than 10 MB)")
	case dsr.CheckPermissionFile(&f) != nil:
		p.Rejected = append(p.Rejected, label+" (not a PDF, PNG or JPEG)")
	case len(p.Files) >= MaxMailFiles:
		p.Rejected = append(p.Rejected, label+" (too many attachments)")
	default:
		p.Files = append(p.Files, f)
	}
}

func readText(r io.Reader) string {
	b, _ := io.ReadAll(r) // a broken encoding keeps what decoded
	return CleanText(string(b))
}

// CleanText makes s storable in PostgreSQL text: valid UTF-8, no NUL.
func CleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// CleanName makes a From: display name fit to be a requester's name: the
// encoded-word form lets a sender put line breaks and other control
// characters in it, which would make every mail to them undeliverable, so
// each becomes a space.
func CleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, CleanText(s))
	return strings.Join(strings.Fields(s), " ")
}

var (
	spaceRun = regexp.MustCompile(`[ \t\f\v\x{a0}]+`)
	anySpace = regexp.MustCompile(`\s+`)
) // blankLines is render.go's

// TidyText normalises line breaks, trims each line's trailing space and
// collapses runs of blank lines.
func TidyText(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

// HTMLToText turns an HTML body into plain text: the text of the
// document, block elements on their own lines, scripts, styles and the
// head dropped, entities decoded.
func HTMLToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			lines := strings.Split(b.String(), "\n")
			for i, l := range lines {
				lines[i] = strings.TrimSpace(spaceRun.ReplaceAllString(l, " "))
			}
			return TidyText(strings.Join(lines, "\n"))
		case html.TextToken:
			if skip == 0 {
				b.WriteString(anySpace.ReplaceAllString(string(z.Text()), " ")) // HTML: line breaks in text are spaces
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template:
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case atom.Body:
				skip = 0 // a head never closed does not hide the body
			case atom.Br:
				b.WriteByte('\n')
			case atom.Li:
				if tt == html.StartTagToken {
					b.WriteString("\n- ")
				}
			case atom.P, atom.Div, atom.Tr, atom.Table, atom.Ul, atom.Ol, atom.Blockquote, atom.Pre,
				atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Hr, atom.Section, atom.Article, atom.Header, atom.Footer:
				b.WriteString("\n\n")
			case atom.Td, atom.Th:
				b.WriteByte(' ')
			}
		}
	}
}

var replyHeaderLine = regexp.MustCompile(`(?m)^(On [^\n]*(\n[^\n]*)?wrote:[ \t]*$|-{2,}\s*Original Message\s*-{2,}|_{10,}[ \t]*$)`)

// StripQuoted keeps what the sender wrote in a reply: the text before
// "On … wrote:" (or an Outlook "Original Message" line), without lines
// quoted with ">".
func StripQuoted(s string) string {
	if loc := replyHeaderLine.FindStringIndex(s); loc != nil {
		s = s[:loc[0]]
	}
	var kept []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimLeft(l, " "), ">") {
			kept = append(kept, l)
		}
	}
	return TidyText(strings.Join(kept, "\n"))
}

// TruncateRunes returns the first n characters (runes) of s.
func TruncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
