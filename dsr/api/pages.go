package api

import (
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// pages renders web/<name>.html inside web/layout.html. Each page is
// parsed once at start, with the layout, into its own template set.
type pages struct {
	set map[string]*htmltemplate.Template
}

func newPages(fsys fs.FS) (*pages, error) {
	files, err := fs.Glob(fsys, "web/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{set: map[string]*htmltemplate.Template{}}
	for _, f := range files {
		name := path.Base(f)
		if name == "layout.html" {
			continue
		}
		t, err := htmltemplate.New(name).Funcs(htmltemplate.FuncMap{"ledgerLabel": ledgerLabel}).ParseFS(fsys, "web/layout.html", f)
		if err != nil {
			return nil, fmt.Errorf("api: template %s: %w", name, err)
		}
		p.set[name] = t
	}
	return p, nil
}

// Render implements echo.Renderer.
func (p *pages) Render(w io.Writer, name string, data any, _ echo.Context) error {
	t, ok := p.set[name]
	if !ok {
		return fmt.Errorf("api: no page %q", name)
	}
	return t.ExecuteTemplate(w, "layout", data)
}

// pageData is what every page gets: the organisation, field errors and
// form values, plus the fields of the page at hand.
type pageData struct {
	Org    dsr.Organisation
	Errors map[string]string
	V      map[string]string
	loc    *time.Location
	org    *dsr.Config

	Title, Message, Flash, Token, DueLong, Unavailable string

	Receipt *workflow.Receipt
	Request *dsr.Request
	View    *workflow.RequestView

	Kinds, OptOutChoices, RestrictionChoices []choice
	AutomatedDecisionChoices                 []choice
	Countries                                []dsr.Country
	States                                   []string
	ErrorList                                []errorItem

	GPC    bool
	GPCRef string
	// GPCLaws names the laws that require honouring the signal today
	// ("CCPA and CPA require it"), for the form's notice.
	GPCLaws string

	// Processor is the organisation's processor notice (nil: none);
	// Redirected is the answer on its path.
	Processor  *dsr.ProcessorNotice
	Redirected *workflow.Redirected

	// Console.
	User                                                       *workflow.User
	CSRF                                                       string
	CanWork                                                    bool
	Counts                                                     []countItem
	StatusOptions, KindOptions, RegimeOptions, AssigneeOptions []choice
	DenyReasons                                                []choice
	Rows                                                       []queueView
	Next                                                       string
	Detail                                                     *requestDetail
	Messages                                                   []*workflow.Message
	Download                                                   *workflow.Download
	Users                                                      []workflow.User
	Letter                                                     *workflow.Letter
	Pages                                                      *queuePages
	Entry                                                      *entryForm
	Redirects                                                  *redirectList
	Dash                                                       *dashboardView // console_dashboard.go
	Reports                                                    *reportsView   // console_reports.go
}

type choice struct {
	Value, Label string
	Checked      bool
	Hint         string // the organisation's paragraph for a kind
}

type errorItem struct{ ID, Label, Message string }

func (s *Server) page() *pageData {
	return &pageData{Org: s.org.Organisation, V: map[string]string{}, loc: s.org.Location(), org: s.org}
}

// RequestVerb says what the viewed request asks of us, to whoever holds
// the link: "delete your personal data", or to an agent "delete Jan
// Jansen's personal data"; an opt-out names what was opted out of.
// Offers reports whether the form lists kind k, so that a kind's own
// fieldset appears only when the organisation takes that kind.
func (d *pageData) Offers(k string) bool {
	for _, c := range d.Kinds {
		if c.Value == k {
			return true
		}
	}
	return false
}

func (d *pageData) RequestVerb() string {
	if d.View == nil || d.View.Request == nil {
		return ""
	}
	return workflow.KindVerb(d.View.Request, d.View.Holder == dsr.HolderAgent)
}

// ComplaintTexts are the paragraphs on where the requester may turn under
// the viewed request's regime: the organisation's configured authority,
// recourse, representatives and DPO, else the law's text.
func (d *pageData) ComplaintTexts() []string {
	if d.View == nil || d.View.Regime == nil || d.org == nil {
		return nil
	}
	return d.org.ComplaintTexts(d.View.Regime)
}

// Err returns the error message of a field, or "".
func (d *pageData) Err(field string) string { return d.Errors[field] }

// Local formats an instant in the organisation's time zone.
func (d *pageData) Local(t time.Time) string { return t.In(d.loc).Format("2 Jan 2006 15:04 MST") }

var ledgerLabels = map[string]string{
	dsr.LedgerReceived: "Received", dsr.LedgerAckDue: "Acknowledge by", dsr.LedgerAckSafeTarget: "Acknowledge (safe target)",
	dsr.LedgerLegalDue: "Legal due date", dsr.LedgerPolicyDue: "Promised by", dsr.LedgerDue: "Due (effective)",
	dsr.LedgerExtendedDue: "Latest with extension", dsr.LedgerExtensionNoticeBy: "Extension notice by",
	dsr.LedgerTriaged: "Triaged", dsr.LedgerPaused: "Clock stopped", dsr.LedgerResumed: "Clock restarted", dsr.LedgerExtended: "Extended to",
	dsr.LedgerVoluntary: "Offered voluntarily (policy)", dsr.LedgerPromiseBroken: "Promise broken",
}

// ledgerLabel names a ledger entry for people.
func ledgerLabel(what string) string {
	if l, ok := ledgerLabels[what]; ok {
		return l
	}
	return what
}

// kindName is a kind's short name for officers ("Opt-out").
func kindName(k dsr.Kind) string {
	s := k.Short()
	return strings.ToUpper(s[:1]) + s[1:]
}

func regimeName(id string) string {
	if r, err := dsr.LookupRegime(id); err == nil {
		return r.Short
	}
	return id
}
