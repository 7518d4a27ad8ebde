package notify

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"regexp"
	"strings"
	texttemplate "text/template"
	"unicode/utf8"
)

// MailData is everything a mail template may show. Strings are already
// formatted for people; the templates only arrange them.
type MailData struct {
	Locale            string
	OrgName           string
	ContactEmail      string
	Ref               string
	KindShort         string // "access", "opt-out"
	KindVerb          string // "give you a copy of your personal data"
	ReceivedOn        string
	DueOn             string
	DueSentence       string
	RegimeSentence    string
	ComplaintSentence string // the complaint route and, where the organisation has them, recourse, representatives, DPO (paragraphs)
	KindParagraph     string // the organisation's extra paragraph for this kind
	SubjectName       string // empty when none was given: greet with "Hello,"
	AgentName         string
	AgentEmail        string
	ClientName        string // the processor path: the client the requester named, if any
	ToAgent           bool
	NeedsVerification bool
	ClockPaused       bool
	ActionURL         string
	ActionLabel       string
	StatusURL         string
	DownloadURL       string
	LinkExpires       string
	Note              string
	ReasonLabel       string
	// Completion outcome (full, partial, no_data), what a partial one
	// kept with its basis, and the complaint routes of the regime.
	Outcome         string
	Kept            []KeptLine
	ComplaintRoutes []string
	// PromiseMissed says which promise an extension breaks ("" when it
	// breaks none).
	PromiseMissed string
	// AppealText says how to appeal a refusal or where to complain;
	// AppealURL is the holder's appeal form (empty: no appeal).
	AppealText string
	AppealURL  string
	// ByPost: the message is a letter (no email address, no links);
	// WriteToUs says where to write ("write to us at <org>, <address>").
	ByPost    bool
	WriteToUs string
	// Officer mails.
	RecipientName string
	ConsoleURL    string
	DaysLeft      int
	Overdue       bool
	Lines         []string
}

// KeptLine is data a partial completion kept, and the legal basis.
type KeptLine struct{ Data, Basis string }

// Rendered is one email ready to become a MIME message.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

// Renderer renders mail bodies from mail/<locale>/<event>.txt templates
// (first line "Subject: …", a blank line, then the text body) and wraps the
// text in mail/layout.html for the HTML part, so both parts always say the
// same thing.
type Renderer struct {
	text   map[string]*texttemplate.Template // "en/received"
	layout *htmltemplate.Template
}

// NewRenderer parses every mail template in fsys once. Errors: a template
// that does not parse or lacks its Subject line.
func NewRenderer(fsys fs.FS) (*Renderer, error) {
	r := &Renderer{text: map[string]*texttemplate.Template{}}
	files, err := fs.Glob(fsys, "mail/*/*.txt")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		if !bytes.HasPrefix(b, []byte("Subject: ")) {
			return nil, fmt.Errorf("notify: %s: first line must be \"Subject: …\"", f)
		}
		key := path.Base(path.Dir(f)) + "/" + strings.TrimSuffix(path.Base(f), ".txt")
		t, err := texttemplate.New(key).Option("missingkey=error").Parse(string(b))
		if err != nil {
			return nil, fmt.Errorf("notify: %s: %w", f, err)
		}
		r.text[key] = t
	}
	r.layout, err = htmltemplate.ParseFS(fsys, "mail/layout.html")
	if err != nil {
		return nil, fmt.Errorf("notify: mail/layout.html: %w", err)
	}
	return r, nil
}

// Render renders event in locale (falling back to "en"). Errors: unknown
// event or a template execution error.
func (r *Renderer) Render(locale, event string, d MailData) (Rendered, error) {
	t, ok := r.text[locale+"/"+event]
	if !ok {
		if t, ok = r.text["en/"+event]; !ok {
			return Rendered{}, fmt.Errorf("notify: no mail template for event %q", event)
		}
	}
	// Names are what a requester or agent typed, and an agent chooses
	// whose inbox they reach: keep them short in every mail.
	d.SubjectName = truncateQuoted(d.SubjectName)
	d.AgentName = truncateQuoted(d.AgentName)
	d.RecipientName = truncateQuoted(d.RecipientName)
	d.ClientName = truncateQuoted(d.ClientName)
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return Rendered{}, fmt.Errorf("notify: render %s: %w", event, err)
	}
	first, body, _ := strings.Cut(buf.String(), "\n")
	subject := strings.Join(strings.Fields(strings.TrimPrefix(first, "Subject: ")), " ")
	text := tidy(body)
	html, err := r.html(subject, text, d)
	if err != nil {
		return Rendered{}, err
	}
	return Rendered{Subject: subject, Text: text, HTML: html}, nil
}

var blankLines = regexp.MustCompile(`\n{3,}`)

// tidy trims the body and collapses runs of blank lines left by template
// conditionals.
func tidy(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return blankLines.ReplaceAllString(strings.TrimSpace(s), "\n\n") + "\n"
}

// MaxQuotedRunes is how much of a name typed by a requester or agent a
// mail shows; longer names are cut with an ellipsis.
const MaxQuotedRunes = 80

// Quoted cuts a name typed by a requester or agent to MaxQuotedRunes, as
// Render does with the name fields, for sentences built before rendering.
func Quoted(s string) string { return truncateQuoted(s) }

func truncateQuoted(s string) string {
	if utf8.RuneCountInString(s) <= MaxQuotedRunes {
		return s
	}
	return string([]rune(s)[:MaxQuotedRunes-1]) + "…"
}

var urlPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

func (r *Renderer) html(subject, text string, d MailData) (string, error) {
	// Only the links we made become links: a URL inside text that someone
	// typed (an agent's "name") stays plain text.
	own := map[string]bool{}
	for _, u := range []string{d.ActionURL, d.StatusURL, d.DownloadURL, d.ConsoleURL} {
		if u != "" {
			own[u] = true
		}
	}
	var paras []htmltemplate.HTML
	for _, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		paras = append(paras, paragraphHTML(p, own))
	}
	label := d.ActionLabel
	if label == "" {
		label = "Open"
	}
	data := map[string]any{
		"Locale": d.Locale, "Subject": subject, "OrgName": d.OrgName, "Paragraphs": paras,
		"ActionURL": d.ActionURL, "ActionLabel": label,
		"Footer": d.OrgName + " · " + d.ContactEmail,
	}
	var buf bytes.Buffer
	if err := r.layout.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		return "", fmt.Errorf("notify: render html: %w", err)
	}
	return buf.String(), nil
}

// paragraphHTML escapes one text paragraph, keeps its line breaks and
// turns the URLs in own (ours, exactly) into links; any other URL stays
// text.
func paragraphHTML(p string, own map[string]bool) htmltemplate.HTML {
	var b strings.Builder
	last := 0
	for _, m := range urlPattern.FindAllStringIndex(p, -1) {
		end := m[1]
		for end > m[0] && !own[p[m[0]:end]] && strings.ContainsRune(".,;:!?)'", rune(p[end-1])) {
			end-- // "…/status/abc." ends a sentence
		}
		if !own[p[m[0]:end]] {
			continue
		}
		m[1] = end
		b.WriteString(htmltemplate.HTMLEscapeString(p[last:m[0]]))
		u := htmltemplate.HTMLEscapeString(p[m[0]:m[1]])
		fmt.Fprintf(&b, `<a href="%s" style="color:#1d4ed8;">%s</a>`, u, linkText(p[m[0]:m[1]]))
		last = m[1]
	}
	b.WriteString(htmltemplate.HTMLEscapeString(p[last:]))
	return htmltemplate.HTML(strings.ReplaceAll(b.String(), "\n", "<br>\n")) //nolint:gosec // escaped above
}

// linkText is the short text of one of our links in an HTML mail: what
// it opens, not the raw token URL (long, unreadable, and read out in full
// by screen readers). The text version keeps the URL itself.
func linkText(u string) string {
	switch {
	case strings.Contains(u, "/verify/"):
		return "Confirm your request"
	case strings.Contains(u, "/status/"):
		return "See the status of your request"
	case strings.Contains(u, "/download/"):
		return "Download your data"
	case strings.Contains(u, "/console/"):
		return "Open the request in the console"
	}
	return "Open the link"
}
