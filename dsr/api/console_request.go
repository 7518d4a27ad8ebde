package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// The request page: the request, its dates, timeline and documents.

// requestDetail is everything the request page shows.
type requestDetail struct {
	Request       *dsr.Request
	AssigneeEmail string
	Ledger        []dsr.LedgerEntry
	Timeline      []timelineItem
	Attachments   []workflow.Attachment
	Messages      []*workflow.Message
	Events        []dsr.Event
	Overdue       bool
	DaysText      string
	KindLabel     string
	RegimeLabel   string
	CountryName   string
	CanExtend     bool
	NoExtension   string
	HeldReplies   []*workflow.HeldReply // replies from strangers, for officers to accept
	Outcome       dsr.Outcome           // a completed request's outcome
	KeptRows      []int                 // blank kept rows of the complete form
	PromiseDue    bool                  // the due date is the organisation's promise
	// Appeals are the request's appeals, with the appeal entries of the
	// ledger.
	Appeals      []appealView
	AppealLedger []dsr.LedgerEntry
	Letters      []workflow.Letter // messages to a requester without email, to print and post
	// Fee is the fee the request waits for; Repeat the warning that the
	// same person filed the same kind within 12 months (see fillFees).
	Fee    *dsr.Fee
	Repeat *repeatWarning
	// Retention is the request's legal hold and purge (retention.go).
	Retention workflow.Retention
	// Package is the export package built from the systems' data (#15).
	Package workflow.PackageState
	Tasks   []taskView // the systems' tasks (tasks.go)
}

type timelineItem struct {
	At          time.Time
	Title, Text string
}

func (s *Server) loadDetail(ctx context.Context, id string) (*requestDetail, error) {
	if !isUUID(id) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "request not found")
	}
	rd, err := s.engine.RequestDetail(ctx, id)
	if err != nil {
		return nil, err
	}
	req, today := rd.Request, s.today()
	d := &requestDetail{Request: req, AssigneeEmail: rd.AssigneeEmail, Ledger: rd.Ledger, Events: rd.Events,
		Messages: rd.Messages, Attachments: rd.Attachments, HeldReplies: rd.HeldReplies, Outcome: rd.Outcome, KeptRows: []int{1, 2, 3}}
	d.DaysText, d.Overdue = daysText(today, req.DueOn)
	d.Appeals, d.AppealLedger = s.appealViews(ctx, rd)
	if req.Status.Closed() {
		d.DaysText, d.Overdue = "closed", false
	}
	d.PromiseDue = !req.PolicyDue.IsZero() && req.DueOn == req.PolicyDue && req.PolicyDue.Before(req.LegalDue)
	if stopped := dsr.ClockStoppedText(req, s.org.Location()); stopped != "" {
		// A stopped clock does not count down: say so, not "34 days left".
		d.DaysText, d.Overdue = stopped, false
	}
	d.KindLabel, d.RegimeLabel, d.CountryName = kindName(req.Kind), regimeName(req.Regime), dsr.CountryName(req.Subject.Country)
	if err := s.fillFees(ctx, d); err != nil {
		return nil, err
	}
	if d.Retention, err = s.engine.RequestRetention(ctx, id); err != nil {
		return nil, err
	}
	if req.Kind == dsr.KindAccess || req.Kind == dsr.KindPortability {
		if d.Package, err = s.engine.ExportPackageState(ctx, id); err != nil {
			return nil, err
		}
	}
	if reg, err := dsr.LookupRegime(req.Regime); err == nil {
		if err := dsr.CheckExtension(reg, req, today); err != nil {
			d.NoExtension = dsr.ErrorMessage(err)
		} else {
			d.CanExtend = true
		}
	}
	if req.Subject.PostalAddress != "" {
		if d.Letters, err = s.engine.Letters(ctx, id); err != nil {
			return nil, err
		}
	}
	if d.Tasks, err = s.taskViews(ctx, req); err != nil {
		return nil, err
	}
	names, err := s.userNames(ctx)
	if err != nil {
		return nil, err
	}
	d.Timeline = timeline(d.Events, d.Messages, rd.Notes, names)
	return d, nil
}

// userNames maps event actors "user:<id>" to the user's name (the email
// when the user has none).
func (s *Server) userNames(ctx context.Context) (map[string]string, error) {
	users, err := s.engine.ActiveUsers(ctx, workflow.RoleAdmin, workflow.RoleOfficer, workflow.RoleViewer)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, u := range users {
		m[workflow.Actor(u.ID)] = u.Email
		if n := strings.TrimSpace(u.Name); n != "" {
			m[workflow.Actor(u.ID)] = n
		}
	}
	return m, nil
}

// actorName says who an event actor is, for a sentence: an officer by
// name, the requester, the agent, or the system.
func actorName(actor string, names map[string]string) string {
	switch actor {
	case dsr.ActorRequester, dsr.HolderSubject:
		return "The requester"
	case dsr.ActorAgent: // also the agent's notes' author
		return "The agent"
	case dsr.ActorSystem, "":
		return "DSR Desk"
	}
	if n, ok := names[actor]; ok {
		return n
	}
	return "A former user"
}

// humanDate shows a stored date ("2026-12-02") as the console does, or
// the text as it is when it is no date.
func humanDate(s string) string {
	if d, err := dsr.ParseDate(s); err == nil {
		return d.Human()
	}
	return s
}

// eventSentence tells an event as a sentence with names ("Olga assigned
// it to Piet"), and the details that do not fit the sentence. An event
// type without a sentence of its own reads as its description.
func eventSentence(e dsr.Event, names map[string]string) (title, text string) {
	who := actorName(e.Actor, names)
	user := func(id string) string {
		if id == "" {
			return "nobody"
		}
		return actorName(workflow.Actor(id), names)
	}
	d := e.Data
	switch dsr.EventType(e.Type) {
	case dsr.EventReceived:
		if strings.HasPrefix(e.Actor, "user:") {
			return fmt.Sprintf("%s entered the request (%s)", who, strings.ReplaceAll(d["channel"], "_", " ")), "due " + humanDate(d["due"])
		}
		return fmt.Sprintf("The request was received (%s)", d["channel"]), "due " + humanDate(d["due"])
	case dsr.EventAssigned:
		if workflow.Actor(d["to"]) == e.Actor {
			return who + " took the request", ""
		}
		return fmt.Sprintf("%s assigned it to %s", who, user(d["to"])), ""
	case dsr.EventUnassigned:
		return fmt.Sprintf("%s unassigned it from %s", who, user(d["from"])), ""
	case dsr.EventInProgress:
		return who + " started work on it", ""
	case dsr.EventVerified:
		if e.Actor == dsr.ActorRequester {
			return "The requester confirmed the email address", d["agent_authority"]
		}
		return fmt.Sprintf("%s verified the identity (%s)", who, d["method"]), ""
	case dsr.EventVerifyOtherMeans:
		return "No confirmation link could be sent: verify the identity another way", d["reason"]
	case dsr.EventInfoRequested:
		return who + " asked the requester for more information", d["note"]
	case dsr.EventExtended:
		return fmt.Sprintf("%s extended the deadline to %s", who, humanDate(d["due"])), d["reason"]
	case dsr.EventCompleted:
		return who + " completed the request", ""
	case dsr.EventDenied:
		return who + " refused the request", d["reason"]
	case dsr.EventNoteAdded:
		return who + " added an internal note", ""
	case dsr.EventLetterPosted:
		return fmt.Sprintf("%s posted the letter (%s)", who, strings.ReplaceAll(d["letter"], "_", " ")), ""
	case dsr.EventReminderSent:
		return fmt.Sprintf("Officers were reminded: due %s, %s day(s) left", humanDate(d["due"]), d["days_before"]), ""
	case dsr.EventOverdueEscalated:
		return fmt.Sprintf("Escalated to the admins: %s day(s) overdue", d["days_overdue"]), ""
	case dsr.EventAcknowledgmentSent:
		if late := d["late_by_days"]; late != "" {
			return "The acknowledgment of receipt was sent, " + late + " day(s) late", d["rule"]
		}
		return "The acknowledgment of receipt was sent", d["rule"]
	}
	title = dsr.EventType(e.Type).Description()
	if title == "" {
		title = strings.ReplaceAll(e.Type, "_", " ")
	}
	title = strings.TrimSuffix(title, ".")
	var parts []string
	for k, v := range d {
		if k == "from" || k == "to" || k == "attachment" || k == "message" || k == "task" {
			continue // ids say nothing to a reader
		}
		parts = append(parts, strings.ReplaceAll(k, "_", " ")+": "+v)
	}
	sort.Strings(parts)
	text = strings.Join(parts, "; ")
	if e.Actor != dsr.ActorSystem && e.Actor != "" {
		text = strings.TrimSuffix("by "+who+"; "+text, "; ")
	}
	return title, text
}

// timeline merges events (as sentences with names), messages (emails
// with their delivery status, letters) and notes.
func timeline(evs []dsr.Event, msgs []*workflow.Message, notes []workflow.Note, names map[string]string) []timelineItem {
	var out []timelineItem
	for _, e := range evs {
		title, text := eventSentence(e, names)
		out = append(out, timelineItem{At: e.At, Title: title, Text: text})
	}
	for _, m := range msgs {
		if m.ToEmail == "" && m.Subject == "" { // redacted by the retention purge: only the record is left
			out = append(out, timelineItem{At: m.CreatedAt, Title: "message " + m.Event,
				Text: fmt.Sprintf("to the %s — %s (text erased after the retention period)", m.RecipientRole, m.Status)})
			continue
		}
		if m.ToEmail == "" && m.RecipientRole == "subject" {
			out = append(out, timelineItem{At: m.CreatedAt, Title: "letter " + m.Event,
				Text: fmt.Sprintf("to %s by post: %q", m.ToName, m.Subject)})
			continue
		}
		out = append(out, timelineItem{At: m.CreatedAt, Title: "email " + m.Event,
			Text: fmt.Sprintf("to %s (%s): %q — %s, %d attempt(s)", m.ToEmail, m.RecipientRole, m.Subject, m.Status, m.Attempts)})
	}
	for _, n := range notes {
		title := "Requester's answer"
		if n.Internal {
			title = "Internal note"
		}
		out = append(out, timelineItem{At: n.At, Title: title, Text: "by " + actorName(n.Author, names) + ": " + n.Body})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

func (s *Server) requestPage(c echo.Context) error {
	return s.renderRequest(c, http.StatusOK, nil, s.takeFlash(c))
}

func (s *Server) renderRequest(c echo.Context, code int, errs map[string]string, flash string) error {
	ctx := c.Request().Context()
	detail, err := s.loadDetail(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	d := s.consolePage(c)
	d.Detail, d.Errors, d.Flash = detail, errs, flash
	s.fillQueueOptions(ctx, d, nil)
	// Triage may only choose a kind the organisation offers (the queue's
	// filter lists every kind, as old requests may have any).
	offered := d.KindOptions[:0:0]
	for _, k := range d.KindOptions {
		if s.org.OffersKind(dsr.Kind(k.Value)) {
			offered = append(offered, k)
		}
	}
	d.KindOptions = offered
	keys := make([]string, 0, len(workflow.DenyReasons))
	for k := range workflow.DenyReasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d.DenyReasons = append(d.DenyReasons, choice{Value: k, Label: workflow.DenyReasons[k]})
	}
	return c.Render(code, "console_request.html", d)
}

// consoleAttachment shows a stored document (permission, answer, export).
func (s *Server) consoleAttachment(c echo.Context) error {
	if !isUUID(c.Param("id")) {
		return dsr.Errorf(dsr.ENOTFOUND, "not found")
	}
	f, err := s.engine.OpenAttachment(c.Request().Context(), c.Param("id"), c.Param("att"))
	if err != nil {
		return err
	}
	defer f.Body.Close()
	s.securityLog(c, "download", slog.String("dsr_request_id", c.Param("id")), slog.String("attachment_id", c.Param("att")))
	return streamFile(c, f, f.ContentType == "application/pdf" || strings.HasPrefix(f.ContentType, "image/"))
}

func sendFile(c echo.Context, f *dsr.File, inline bool) error {
	disp := "attachment"
	if inline {
		disp = "inline"
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", fmt.Sprintf("%s; filename=%q", disp, f.Filename))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "sandbox")
	return c.Blob(http.StatusOK, f.ContentType, f.Content)
}
