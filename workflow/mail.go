package workflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/notify"
)

// Mail events: one template each under templates/mail/<locale>/ (the
// planners in dsr name them; these are the same values).
const (
	MailReceived       = dsr.MailReceived       // to the subject: confirm your email
	MailAgentConfirm   = dsr.MailAgentConfirm   // to the subject: confirm the agent's authority
	MailReceivedAgent  = dsr.MailReceivedAgent  // to the agent: we got what you filed
	MailAcknowledged   = dsr.MailAcknowledged   // open, with the due date
	MailEmailReceived  = dsr.MailEmailReceived  // an emailed request awaits triage (meets an acknowledgment duty)
	MailVerifyReminder = dsr.MailVerifyReminder // to the subject: still unconfirmed
	MailExpired        = dsr.MailExpired
	MailInfoNeeded     = dsr.MailInfoNeeded
	MailAnswerReceived = dsr.MailAnswerReceived
	MailExtended       = dsr.MailExtended
	MailCompleted      = dsr.MailCompleted
	MailDenied         = dsr.MailDenied
	MailWithdrawn      = dsr.MailWithdrawn
)

// mailExtra carries what only some events show.
type mailExtra struct {
	note        string
	reason      string
	actionURL   string
	actionLabel string
	linkExpires time.Time
	download    string
	clockPaused bool
	outcome     string
	kept        []dsr.Kept
	promise     string
}

// mailAll sends event to the data subject and, where there is one, the
// agent: the same news to both, each with their own status link.
func (e *Engine) mailAll(ctx context.Context, tx pgx.Tx, req *dsr.Request, event string, x mailExtra) error {
	if err := e.mailOne(ctx, tx, req, db.HolderSubject, event, x); err != nil {
		return err
	}
	if req.Agent == nil {
		return nil
	}
	// An export's download link goes to the data subject only, and so
	// does the officer's completion summary: it may describe the
	// subject's data.
	x.download = ""
	if event == MailCompleted {
		x.note, x.linkExpires = "", time.Time{}
	}
	return e.mailOne(ctx, tx, req, db.HolderAgent, event, x)
}

// mailOne renders event for one holder, records the message and, when a
// relay is configured, inserts its delivery job in the same transaction.
func (e *Engine) mailOne(ctx context.Context, tx pgx.Tx, req *dsr.Request, holder, event string, x mailExtra) error {
	if holder == db.HolderSubject && req.Subject.Email == "" {
		return nil // a GPC opt-out from a browser without an email address
	}
	status, err := e.issueStatusToken(ctx, tx, req, holder, e.now())
	if err != nil {
		return err
	}
	data := e.mailData(req, holder, x)
	data.StatusURL = e.link("/status/" + status)
	r, err := e.renderer.Render(e.org.Locale, event, data)
	if err != nil {
		return dsr.Internal(err)
	}
	m := &db.Message{RequestID: req.ID, Event: event, Locale: e.org.Locale, RecipientRole: holder,
		ToName: req.Subject.Name, ToEmail: req.Subject.Email, Subject: r.Subject, TextBody: r.Text, HTMLBody: r.HTML}
	if holder == db.HolderAgent {
		m.ToName, m.ToEmail = req.Agent.Name, req.Agent.Email
	}
	return e.recordMessage(ctx, tx, m)
}

// recordMessage stores m and, when a relay is configured, inserts its
// delivery job in the same transaction. The stored bodies are the record
// of what was said with every link token replaced by [link]; the live
// bodies are sealed for the delivery job (and, with no relay, stay
// sealed: unreadable without DSR_SECRET_KEY).
func (e *Engine) recordMessage(ctx context.Context, tx pgx.Tx, m *db.Message) error {
	if err := e.prepareMessage(m, e.now()); err != nil {
		return err
	}
	id, err := db.InsertMessage(ctx, tx, m)
	if err != nil {
		return err
	}
	if e.mailer == nil {
		return nil
	}
	if err := e.enqueue(ctx, tx, DeliverArgs{MessageID: id}, nil); err != nil {
		return dsr.Internalf("insert deliver job: %w", err)
	}
	return nil
}

// prepareMessage fills in what every recorded message carries (sender,
// Message-ID, time, status) and, when its bodies hold links, seals the
// live bodies and keeps only redacted ones in the clear.
func (e *Engine) prepareMessage(m *db.Message, now time.Time) error {
	m.FromEmail, m.MessageID, m.CreatedAt = e.org.Mail.From, e.newMessageID(), now
	text, textLinks := redactLinks(m.TextBody)
	html, htmlLinks := redactLinks(m.HTMLBody)
	if textLinks || htmlLinks {
		sealed, err := sealMail(e.sealKey, m.MessageID, m.TextBody, m.HTMLBody)
		if err != nil {
			return dsr.Internalf("seal message: %w", err)
		}
		m.TextBody, m.HTMLBody, m.Sealed = text, html, sealed
	}
	m.Status = db.MessageCaptured
	if e.mailer != nil {
		m.Status = db.MessageQueued
	}
	return nil
}

// renderPlanned renders a planned message for req, as message id, with
// its raw links (the holder's status link, and the action and download
// links when there are some) into the row to record, prepared as
// recordMessage prepares it.
func (e *Engine) renderPlanned(req *dsr.Request, pm dsr.Message, id, statusRaw, actionRaw, downloadRaw string, now time.Time) (*db.Message, error) {
	x := mailExtra{note: pm.Note, reason: pm.Reason, actionLabel: pm.ActionLabel, linkExpires: pm.LinkExpires, clockPaused: pm.ClockPaused,
		outcome: pm.Outcome, kept: pm.Kept, promise: pm.PromiseMissed}
	if actionRaw != "" {
		x.actionURL = e.link("/" + pm.Action.Purpose + "/" + actionRaw)
	}
	if downloadRaw != "" {
		x.download = e.link("/download/" + downloadRaw)
	}
	data := e.mailData(req, pm.Holder, x)
	data.StatusURL = e.link("/status/" + statusRaw)
	data.AppealText = pm.Appeal
	if pm.AppealLink && !pm.Letter {
		data.AppealURL = data.StatusURL + "/appeal"
	}
	if pm.Letter {
		data.StatusURL = e.letterStatusLine(req)
		data.ByPost, data.WriteToUs = true, e.org.WriteToUs()
	}
	r, err := e.renderer.Render(e.org.Locale, pm.Event, data)
	if err != nil {
		return nil, dsr.Internal(err)
	}
	m := &db.Message{ID: id, RequestID: req.ID, Event: pm.Event, Locale: e.org.Locale, RecipientRole: pm.Holder,
		ToName: req.Subject.Name, ToEmail: req.Subject.Email, Subject: r.Subject, TextBody: r.Text, HTMLBody: r.HTML}
	if pm.Holder == db.HolderAgent {
		m.ToName, m.ToEmail = req.Agent.Name, req.Agent.Email
	}
	if pm.Letter {
		return m, e.prepareLetter(m, req, now)
	}
	return m, e.prepareMessage(m, now)
}

func (e *Engine) mailData(req *dsr.Request, holder string, x mailExtra) notify.MailData {
	reg, _ := dsr.LookupRegime(req.Regime)
	d := notify.MailData{
		Locale: e.org.Locale, OrgName: e.org.Organisation.Name, ContactEmail: e.org.Organisation.ContactEmail,
		Ref: req.RefString(), KindShort: req.Kind.Short(), KindVerb: req.Kind.KindVerb(),
		ReceivedOn: req.ReceivedOn.Long(), DueOn: req.DueOn.Long(),
		DueSentence:       fmt.Sprintf("We will respond by %s at the latest.", req.DueOn.Long()),
		SubjectName:       req.Subject.Name,
		ToAgent:           holder == db.HolderAgent,
		NeedsVerification: req.Status == dsr.StatusPendingVerification,
		ClockPaused:       x.clockPaused,
		ActionURL:         x.actionURL, ActionLabel: x.actionLabel,
		DownloadURL: x.download, Note: x.note, ReasonLabel: x.reason,
	}
	// With no name the greeting is "Hello," and an agent's mail speaks of
	// "the person you act for"; the kind is said to the reader about the
	// person concerned.
	d.KindVerb = kindVerb(req, reg, d.ToAgent)
	d.KindParagraph = e.org.KindParagraph(req.Kind)
	if req.Agent != nil {
		d.AgentName, d.AgentEmail = req.Agent.Name, req.Agent.Email
	}
	if !x.linkExpires.IsZero() {
		d.LinkExpires = dsr.DateIn(x.linkExpires, e.org.Location()).Long()
	}
	if reg != nil {
		d.RegimeSentence = fmt.Sprintf("Your request is handled under the %s.", reg.Name)
		if d.ToAgent {
			d.RegimeSentence = fmt.Sprintf("The request is handled under the %s.", reg.Name)
		}
		// The organisation's complaint authority, recourse, representatives
		// and DPO where its config names them; else the law's text. The
		// regime's complaint routes (CPPA, Attorney General) are listed
		// beside them.
		d.ComplaintSentence = strings.Join(e.org.ComplaintTexts(reg), "\n\n")
		for _, cr := range reg.ComplaintRoutes {
			d.ComplaintRoutes = append(d.ComplaintRoutes, cr.Name+": "+cr.URL)
		}
	}
	d.Outcome, d.PromiseMissed = x.outcome, x.promise
	for _, k := range x.kept {
		d.Kept = append(d.Kept, notify.KeptLine{Data: k.Data, Basis: k.Basis})
	}
	return d
}

// optOutPhrases say each opt_out_of choice as what we stop doing to the
// data (%s).
var optOutPhrases = map[string]string{
	"sale": "selling %s", "sharing": "sharing %s for cross-context behavioural advertising",
	"targeted_advertising": "using %s for targeted advertising", "profiling": "using %s for profiling",
	"direct_marketing": "using %s for direct marketing",
}

// KindVerb is kindVerb for pages: what req asks of the organisation, said
// to the data subject or (toAgent) to their agent.
func KindVerb(req *dsr.Request, toAgent bool) string {
	reg, _ := dsr.LookupRegime(req.Regime)
	return kindVerb(req, reg, toAgent)
}

// kindVerb says what the request asks of us, for "the request to …": to
// the data subject about "your" data; to an agent about the person they
// act for ("give Jan Jansen a copy of their personal data"). An opt-out
// names what was opted out of (the choices follow the regime), or, with
// none recorded, the regime's opt-out: objection to direct marketing under
// a GDPR-style law, sale and sharing under US laws.
func kindVerb(req *dsr.Request, reg *dsr.Regime, toAgent bool) string {
	who, their, data := "you", "your", "your personal data"
	if toAgent {
		who, their, data = "the person you act for", "their", "the personal data of the person you act for"
		if req.Subject.Name != "" {
			who = notify.Quoted(req.Subject.Name)
			data = who + "'s personal data"
		}
	}
	switch req.Kind {
	case dsr.KindAccess:
		return "give " + who + " a copy of " + their + " personal data"
	case dsr.KindRectification:
		return "correct " + data
	case dsr.KindErasure:
		return "delete " + data
	case dsr.KindPortability:
		return "give " + who + " " + their + " personal data in a portable format"
	case dsr.KindRestriction:
		return "restrict the processing of " + data
	case dsr.KindObjection:
		return "stop processing " + data + " as objected to"
	case dsr.KindWithdrawConsent:
		consenter := "you"
		if toAgent {
			consenter = "they"
		}
		return "stop the processing of " + data + " that " + consenter + " withdrew " + their + " consent for"
	case dsr.KindAutomatedDecision:
		return automatedDecisionVerb(req.Fields["wants"], who, their)
	case dsr.KindOptOut:
		var choices []string
		if f := req.Fields["opt_out_of"]; f != "" {
			choices = strings.Split(f, ",")
		} else if reg != nil && reg.MonthRule != "" {
			choices = []string{"direct_marketing"}
		} else {
			choices = []string{"sale", "sharing"}
		}
		var parts []string
		for _, c := range choices {
			p, ok := optOutPhrases[strings.TrimSpace(c)]
			if !ok {
				continue
			}
			obj := "it"
			if len(parts) == 0 {
				obj = data
			}
			parts = append(parts, fmt.Sprintf(p, obj))
		}
		if len(parts) > 0 {
			return "stop " + joinAnd(parts)
		}
	}
	return req.Kind.KindVerb()
}

// automatedDecisionPhrases say each GDPR Art. 22(3) safeguard asked for
// (the wants field) as what we do; %[1]s is who, %[2]s their.
var automatedDecisionPhrases = map[string]string{
	"human_review": "have a person review it", "express_view": "hear %[2]s view on it", "contest": "let %[1]s contest it",
}

// automatedDecisionVerb says what an automated_decision request asks for,
// from the safeguards in wants (comma-separated); with none recorded, all
// three.
func automatedDecisionVerb(wants, who, their string) string {
	if wants == "" {
		wants = "human_review,express_view,contest"
	}
	var parts []string
	for _, w := range strings.Split(wants, ",") {
		if p, ok := automatedDecisionPhrases[strings.TrimSpace(w)]; ok {
			parts = append(parts, strings.ReplaceAll(strings.ReplaceAll(p, "%[1]s", who), "%[2]s", their))
		}
	}
	obj := "you"
	if who != "you" {
		obj = who
	}
	return "reconsider the automated decision about " + obj + ": " + joinAnd(parts)
}

func joinAnd(parts []string) string {
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func (e *Engine) newMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	domain := "dsrdesk.local"
	if i := strings.LastIndexByte(e.org.Mail.From, '@'); i >= 0 {
		domain = e.org.Mail.From[i+1:]
	}
	return hex.EncodeToString(b) + "@" + domain
}

// DeliverArgs asks for one recorded message to be sent. IDs only: the
// message row holds the content.
type DeliverArgs struct {
	MessageID string `json:"message_id" river:"unique"`
}

// Kind is the River job kind.
func (DeliverArgs) Kind() string { return "deliver_message" }

// InsertOpts puts deliveries on the email queue, unique per message, with
// 12 attempts (about a day and a half with the default backoff).
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEmail, MaxAttempts: 12, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// shareSummaryWithAgent puts the officer's completion summary into the
// agent's completion mail of c, which dsr.MailAll leaves without it: used
// only when the officer ticked "share with the agent". The download link
// stays the data subject's.
func shareSummaryWithAgent(c *dsr.Change, summary string) {
	for i := range c.Messages {
		if m := &c.Messages[i]; m.Event == MailCompleted && m.Holder == dsr.HolderAgent {
			m.Note = strings.TrimSpace(summary)
		}
	}
}
