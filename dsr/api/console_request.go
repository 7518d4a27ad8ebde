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
	Letters       []workflow.Letter     // messages to a requester without email, to print and post
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
		Messages: rd.Messages, Attachments: rd.Attachments, HeldReplies: rd.HeldReplies}
	d.DaysText, d.Overdue = daysText(today, req.DueOn)
	if req.Status.Closed() {
		d.DaysText, d.Overdue = "closed", false
	}
	d.KindLabel, d.RegimeLabel, d.CountryName = kindName(req.Kind), regimeName(req.Regime), dsr.CountryName(req.Subject.Country)
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
	names, err := s.userNames(ctx)
	if err != nil {
		return nil, err
	}
	d.Timeline = timeline(d.Events, d.Messages, rd.Notes, names)
	return d, nil
}

// userNames maps event actors "user:<id>" to the user's email.
func (s *Server) userNames(ctx context.Context) (map[string]string, error) {
	users, err := s.engine.ActiveUsers(ctx, workflow.RoleAdmin, workflow.RoleOfficer, workflow.RoleViewer)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, u := range users {
		m[workflow.Actor(u.ID)] = u.Email
	}
	return m, nil
}

// timeline merges events, emails (with delivery status) and notes.
func timeline(evs []dsr.Event, msgs []*workflow.Message, notes []workflow.Note, names map[string]string) []timelineItem {
	who := func(actor string) string {
		if n, ok := names[actor]; ok {
			return n
		}
		return actor
	}
	var out []timelineItem
	for _, e := range evs {
		var parts []string
		for k, v := range e.Data {
			parts = append(parts, k+"="+v)
		}
		sort.Strings(parts)
		out = append(out, timelineItem{At: e.At, Title: strings.ReplaceAll(e.Type, "_", " "), Text: "by " + who(e.Actor) + " " + strings.Join(parts, " ")})
	}
	for _, m := range msgs {
		out = append(out, timelineItem{At: m.CreatedAt, Title: "email " + m.Event,
			Text: fmt.Sprintf("to %s (%s): %q — %s, %d attempt(s)", m.ToEmail, m.RecipientRole, m.Subject, m.Status, m.Attempts)})
	}
	for _, n := range notes {
		title := "requester answer"
		if n.Internal {
			title = "internal note"
		}
		out = append(out, timelineItem{At: n.At, Title: title, Text: "by " + who(n.Author) + ": " + n.Body})
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
	f, err := s.engine.Attachment(c.Request().Context(), c.Param("id"), c.Param("att"))
	if err != nil {
		return err
	}
	s.securityLog(c, "download", slog.String("dsr_request_id", c.Param("id")), slog.String("attachment_id", c.Param("att")))
	return sendFile(c, f, f.ContentType == "application/pdf" || strings.HasPrefix(f.ContentType, "image/"))
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
