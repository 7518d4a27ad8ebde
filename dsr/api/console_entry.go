package api

import (
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// Enter a request: the console form for a request that came by letter,
// by phone or in person. It goes through the one intake path
// (dsr.PlanIntake) as the admin API's officer entry does; without an
// email address every message the request sends is a letter.

// entryForm is what the entry page shows besides the field values.
type entryForm struct {
	Channels []choice
	Kinds    []choice
}

// entryFields are the form's fields in page order, with their labels for
// the error summary; each links to its field's id.
var entryFields = []struct{ Field, ID, Label string }{
	{"channel", "e-channel-letter", "How it came"},
	{"received_at", "e-received", "Date received"},
	{"kind", "e-kind", "What they ask for"},
	{"subject.name", "e-name", "Name"},
	{"subject.email", "e-email", "Email"},
	{"subject.postal_address", "e-address", "Postal address"},
	{"subject.country", "e-country", "Country"},
	{"subject.state", "e-state", "US state"},
	{"details", "e-details", "What the letter or call says"},
	{"letter", "e-letter", "Scanned letter"},
}

func (s *Server) entryPage(c echo.Context) error {
	return s.renderEntry(c, http.StatusOK, map[string]string{"channel": "letter", "received_at": s.today().String()}, nil)
}

func (s *Server) renderEntry(c echo.Context, code int, v map[string]string, errs map[string]string) error {
	d := s.consolePage(c)
	d.V, d.Errors = v, errs
	d.Countries, d.States = dsr.Countries(), dsr.USStates
	f := &entryForm{}
	for _, ch := range []struct{ v, l string }{{"letter", "Letter"}, {"phone", "Phone call"}, {"in_person", "In person"}} {
		f.Channels = append(f.Channels, choice{Value: ch.v, Label: ch.l, Checked: v["channel"] == ch.v})
	}
	for _, k := range dsr.Kinds {
		if s.org.OffersKind(k) {
			f.Kinds = append(f.Kinds, choice{Value: string(k), Label: kindName(k), Checked: v["kind"] == string(k)})
		}
	}
	d.Entry = f
	known := map[string]bool{}
	for _, ef := range entryFields {
		known[ef.Field] = true
		if msg := errs[ef.Field]; msg != "" {
			d.ErrorList = append(d.ErrorList, errorItem{ID: ef.ID, Label: ef.Label, Message: msg})
		}
	}
	var other []string
	for k := range errs {
		if !known[k] {
			other = append(other, k)
		}
	}
	sort.Strings(other)
	for _, k := range other {
		d.ErrorList = append(d.ErrorList, errorItem{ID: "e-details", Label: k, Message: errs[k]})
	}
	return c.Render(code, "console_entry.html", d)
}

// entrySubmit enters the request: POST /console/requests/new (multipart:
// the scanned letter is a file part). 303 to the new request's page; 422
// with the form and its field errors.
func (s *Server) entrySubmit(c echo.Context) error {
	form, err := readForm(c)
	if err != nil {
		return err
	}
	v := map[string]string{}
	for k, vals := range form.Value {
		if len(vals) > 0 {
			v[k] = vals[0]
		}
	}
	fe := dsr.FieldErrors{}
	ch, err := dsr.ParseOfficerChannel(v["channel"])
	if err != nil || ch == dsr.ChannelOfficer {
		fe.Add("channel", "Choose letter, phone call or in person.")
	}
	received, rerr := s.entryReceivedAt(v["received_at"])
	if rerr != "" {
		fe.Add("received_at", rerr)
	}
	sub := &dsr.Submission{Kind: dsr.Kind(strings.TrimSpace(v["kind"])), Details: v["details"], Fields: map[string]string{},
		Subject: dsr.Person{Name: v["name"], Email: v["email"], Country: v["country"], State: v["state"], PostalAddress: v["postal_address"]},
		Channel: ch, ReceivedAt: received, EnteredBy: workflow.Actor(currentUser(c).ID)}
	if fhs := form.File["letter"]; len(fhs) > 0 && fhs[0].Size > 0 {
		f, err := readUpload(fhs[0])
		if err != nil {
			fe.Add("letter", err.Error())
		}
		sub.Letter = f
	}
	if len(fe) > 0 {
		return s.renderEntry(c, http.StatusUnprocessableEntity, v, fe)
	}
	rc, err := s.engine.Submit(c.Request().Context(), *sub, "")
	if err != nil {
		var de *dsr.Error
		if errors.As(err, &de) && de.Code == dsr.EINVALID {
			errs := de.Fields
			if len(errs) == 0 {
				errs = map[string]string{"details": de.Message}
			}
			return s.renderEntry(c, http.StatusUnprocessableEntity, v, errs)
		}
		return err
	}
	return s.redirectWithFlash(c, "/console/requests/"+rc.ID, "Request "+rc.Ref+" entered. Dates count from "+rc.ReceivedAt.In(s.org.Location()).Format("2 Jan 2006")+".")
}

// entryReceivedAt turns the date received (YYYY-MM-DD, the organisation's
// calendar) into the receipt time: noon that day, or now when that is
// earlier (a letter opened this morning). It returns the problem, or "".
func (s *Server) entryReceivedAt(v string) (time.Time, string) {
	day, err := dsr.ParseDate(strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, "Enter the date received, like 2026-11-02."
	}
	loc := s.org.Location()
	at, now := day.Start(loc).Add(12*time.Hour), s.engine.Now()
	if at.After(now) {
		at = now
	}
	if day.After(dsr.DateIn(now, loc)) {
		return time.Time{}, "The date received cannot be in the future."
	}
	return at, ""
}
