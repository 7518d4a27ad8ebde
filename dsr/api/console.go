package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// consoleRoutes registers the officer console: session cookies, CSRF on
// every form, a role on every route.
func (s *Server) consoleRoutes() {
	// Bodies are already bounded (bodyLimiter). The session is checked
	// before the CSRF token, which is the session's own.
	open := s.e.Group("/console", s.anonCSRF)
	open.GET("/login", s.loginPage)
	open.POST("/login", s.login)

	g := s.e.Group("/console", s.sessionAuth, s.sessionCSRF)
	read, work, admin := requireRole(readRoles...), requireRole(workRoles...), requireRole(adminRoles...)
	g.POST("/logout", s.logout, read)
	g.GET("", s.queuePage, read)
	g.GET("/requests/:id", s.requestPage, read)
	g.GET("/requests/:id/attachments/:att", s.consoleAttachment, read)
	g.POST("/requests/:id/:action", s.consoleAction, work)
	g.POST("/requests/:id/inbound/:email/accept", s.consoleAcceptReply, work)
	g.POST("/bulk", s.consoleBulk, work)
	g.GET("/outbox", s.outboxPage, read)
	g.POST("/outbox/:id/retry", s.outboxRetry, work)
	s.userRoutes(g, admin)
	s.mountJobs(g, admin)
}

// today is the engine clock's date in the organisation's time zone.
func (s *Server) today() dsr.Date { return dsr.DateIn(s.engine.Now(), s.org.Location()) }

// consolePage is the base data of every console page.
func (s *Server) consolePage(c echo.Context) *pageData {
	d := s.page()
	d.User, d.CSRF = currentUser(c), csrfToken(c)
	d.CanWork = d.User != nil && d.User.Role != workflow.RoleViewer
	return d
}

type countItem struct {
	Value, Label string
	N            int
	Checked      bool
}

// countCache keeps the per-status counts for a few seconds: counting a
// million rows on every page view would dominate the queue's latency.
type countCache struct {
	mu     sync.Mutex
	at     time.Time
	counts map[dsr.Status]int
}

const countTTL = 10 * time.Second

func (cc *countCache) get(ctx context.Context, e *workflow.Engine) (map[dsr.Status]int, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	now := e.Now()
	if cc.counts != nil && now.Sub(cc.at) < countTTL && !now.Before(cc.at) {
		return cc.counts, nil
	}
	m, err := e.StatusCounts(ctx)
	if err != nil {
		return nil, err
	}
	cc.counts, cc.at = m, now
	return m, nil
}

type queueView struct {
	workflow.QueueRow
	Received, Due, DaysText, Assignee   string
	KindLabel, RegimeLabel, StatusLabel string
	Overdue                             bool
}

// queueFilter reads the queue filters shared by the console and the API.
func (s *Server) queueFilter(c echo.Context, u *workflow.User) (workflow.QueueFilter, error) {
	if err := checkQueryTexts(c); err != nil {
		return workflow.QueueFilter{}, err
	}
	f := workflow.QueueFilter{Kind: c.QueryParam("kind"), Regime: c.QueryParam("regime"), Search: c.QueryParam("q"),
		Overdue: c.QueryParam("overdue") != "", HasAgent: c.QueryParam("agent") != "",
		Today: s.today()}
	fe := dsr.FieldErrors{}
	if st := c.QueryParam("status"); st != "" {
		for _, one := range strings.Split(st, ",") {
			if !dsr.Status(one).Valid() {
				fe.Add("status", "unknown status "+one)
			}
			f.Statuses = append(f.Statuses, dsr.Status(one))
		}
	}
	if f.Kind != "" {
		if _, err := dsr.ParseKind(f.Kind); err != nil {
			fe.Add("kind", dsr.ErrorMessage(err))
		}
	}
	if f.Regime != "" {
		if _, err := dsr.LookupRegime(f.Regime); err != nil {
			fe.Add("regime", dsr.ErrorMessage(err))
		}
	}
	switch a := c.QueryParam("assignee"); {
	case a == "mine":
		f.Assignee = u.ID
	case a == "" || a == "unassigned":
		f.Assignee = a
	case isUUID(a):
		f.Assignee = a
	default:
		fe.Add("assignee", "use mine, unassigned or a user id")
	}
	if cur := c.QueryParam("cursor"); cur != "" {
		after, err := workflow.ParseQueueCursor(cur)
		if err != nil {
			fe.Add("cursor", "is not a cursor from a previous page")
		}
		f.After = after
	}
	if l := c.QueryParam("limit"); l != "" {
		var n int
		if _, err := fmt.Sscanf(l, "%d", &n); err != nil || n < 1 || n > 500 {
			fe.Add("limit", "must be a number from 1 to 500")
		}
		f.Limit = n
	}
	return f, fe.Err()
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if r != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// queuePage is the officer queue: open requests by effective due date.
func (s *Server) queuePage(c echo.Context) error {
	ctx := c.Request().Context()
	d := s.consolePage(c)
	f, err := s.queueFilter(c, d.User)
	if err != nil {
		return err
	}
	rows, next, err := s.engine.Queue(ctx, f)
	if err != nil {
		return err
	}
	counts, err := s.counts.get(ctx, s.engine)
	if err != nil {
		return err
	}
	for _, k := range []string{"status", "kind", "regime", "assignee", "q", "overdue", "agent"} {
		d.V[k] = c.QueryParam(k)
	}
	s.fillQueueOptions(ctx, d, counts)
	for _, r := range rows {
		d.Rows = append(d.Rows, s.queueRowView(r, f.Today))
	}
	if next != nil {
		q := c.QueryParams()
		q.Set("cursor", next.String())
		d.Next = "/console?" + q.Encode()
	}
	return c.Render(http.StatusOK, "console_queue.html", d)
}

func (s *Server) queueRowView(r workflow.QueueRow, today dsr.Date) queueView {
	v := queueView{QueueRow: r, Received: r.ReceivedOn.Human(), Due: r.DueOn.Human(), Assignee: r.AssigneeEmail,
		KindLabel: kindName(r.Kind), RegimeLabel: regimeName(r.Regime), StatusLabel: r.Status.Label()}
	v.DaysText, v.Overdue = daysText(today, r.DueOn)
	return v
}

func daysText(today, due dsr.Date) (string, bool) {
	n := today.DaysUntil(due)
	switch {
	case n < 0:
		return fmt.Sprintf("%d days overdue", -n), true
	case n == 0:
		return "due today", false
	case n == 1:
		return "1 day left", false
	}
	return fmt.Sprintf("%d days left", n), false
}

func (s *Server) fillQueueOptions(ctx context.Context, d *pageData, counts map[dsr.Status]int) {
	for _, st := range dsr.Statuses {
		d.StatusOptions = append(d.StatusOptions, choice{Value: string(st), Label: st.Label(), Checked: d.V["status"] == string(st)})
		if !st.Closed() || counts[st] > 0 {
			d.Counts = append(d.Counts, countItem{Value: string(st), Label: st.Label(), N: counts[st], Checked: d.V["status"] == string(st)})
		}
	}
	for _, k := range dsr.Kinds {
		d.KindOptions = append(d.KindOptions, choice{Value: string(k), Label: kindName(k), Checked: d.V["kind"] == string(k)})
	}
	for _, id := range s.org.Regimes {
		r, _ := dsr.LookupRegime(id)
		d.RegimeOptions = append(d.RegimeOptions, choice{Value: r.ID, Label: r.Short, Checked: d.V["regime"] == r.ID})
	}
	d.AssigneeOptions = []choice{{Value: "mine", Label: "Mine", Checked: d.V["assignee"] == "mine"},
		{Value: "unassigned", Label: "Unassigned", Checked: d.V["assignee"] == "unassigned"}}
	users, _ := s.engine.ActiveUsers(ctx, workflow.RoleOfficer, workflow.RoleAdmin)
	for _, u := range users {
		d.AssigneeOptions = append(d.AssigneeOptions, choice{Value: u.ID, Label: u.Email, Checked: d.V["assignee"] == u.ID})
	}
}

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

// consoleAction runs one action from the request page and shows the
// request again: a flash on success, the rule or field errors on refusal.
func (s *Server) consoleAction(c echo.Context) error {
	u := currentUser(c)
	in, err := actionInputFromForm(c)
	if err != nil {
		return err
	}
	msg, err := s.runAction(c.Request().Context(), c.Param("id"), c.Param("action"), u, in)
	if err != nil {
		de, ok := err.(*dsr.Error)
		if ok && (de.Code == dsr.EINVALID || de.Code == dsr.ECONFLICT) {
			errs := de.Fields
			if len(errs) == 0 {
				errs = map[string]string{"refused": de.Message + ruleSuffix(de.Rule)}
			}
			return s.renderRequest(c, statusOf[de.Code], errs, "")
		}
		return err
	}
	return s.redirectWithFlash(c, "/console/requests/"+c.Param("id"), msg)
}

func ruleSuffix(rule string) string {
	if rule == "" {
		return ""
	}
	return " (rule: " + rule + ")"
}

// actionInput is the union of the action parameters.
type actionInput struct {
	Assignee    string     `json:"assignee"`
	Method      string     `json:"method"`
	Note        string     `json:"note"`
	Reason      string     `json:"reason"`
	Explanation string     `json:"explanation"`
	Summary     string     `json:"summary"`
	Systems     string     `json:"systems"`
	Kind        string     `json:"kind"`   // triage
	Regime      string     `json:"regime"` // triage
	Exports     []dsr.File `json:"-"`
	ExportsJSON []apiFile  `json:"exports"`
}

type apiFile struct {
	Filename      string `json:"filename"`
	ContentBase64 string `json:"content_base64"`
}

func actionInputFromForm(c echo.Context) (actionInput, error) {
	form, err := readForm(c)
	if err != nil {
		return actionInput{}, err
	}
	get := func(k string) string {
		if v := form.Value[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	in := actionInput{Assignee: get("assignee"), Method: get("method"), Note: get("note"), Reason: get("reason"),
		Explanation: get("explanation"), Summary: get("summary"), Systems: get("systems"), Kind: get("kind"), Regime: get("regime")}
	for _, fh := range form.File["exports"] {
		f, err := readExport(fh)
		if err != nil {
			return in, err
		}
		if len(f.Content) > 0 {
			in.Exports = append(in.Exports, *f)
		}
	}
	return in, nil
}

func readExport(fh *multipart.FileHeader) (*dsr.File, error) {
	if fh.Size > workflow.MaxExportBytes {
		return nil, dsr.Errorf(dsr.ETOOLARGE, "An export file may be at most 50 MB.")
	}
	f, err := fh.Open()
	if err != nil {
		return nil, errBadRequest{"The file could not be read."}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, workflow.MaxExportBytes+1))
	if err != nil {
		return nil, errBadRequest{"The file could not be read."}
	}
	return &dsr.File{Filename: fh.Filename, Content: b, ContentType: http.DetectContentType(b)}, nil
}

// runAction dispatches one officer action; it is shared by the console and
// the admin API. It returns a message for the officer.
func (s *Server) runAction(ctx context.Context, id, action string, u *workflow.User, in actionInput) (string, error) {
	if !isUUID(id) {
		return "", dsr.Errorf(dsr.ENOTFOUND, "request not found")
	}
	if err := in.check(); err != nil {
		return "", err
	}
	e, actor := s.engine, workflow.Actor(u.ID)
	switch action {
	case "triage":
		if err := e.Triage(ctx, id, actor, dsr.Kind(in.Kind), in.Regime); err != nil {
			return "", err
		}
		req, err := e.Request(ctx, id)
		if err != nil {
			return "", err
		}
		if req.Status == dsr.StatusPendingVerification {
			return "Triaged: the sender was asked to confirm their email address.", nil
		}
		return "Triaged: the request is open and the requester was told.", nil
	case "not-a-request":
		return "Closed as not a request; the sender was not told.", e.NotARequest(ctx, id, actor, in.Reason)
	case "claim":
		return "Assigned to you.", e.Assign(ctx, id, actor, u.ID)
	case "assign":
		return "Assignment saved.", e.Assign(ctx, id, actor, in.Assignee)
	case "unassign":
		return "Unassigned.", e.Assign(ctx, id, actor, "")
	case "verify":
		return "Identity marked verified; the requester was told.", e.VerifyOther(ctx, id, actor, in.Method, in.Note)
	case "request-info":
		res, err := e.RequestInfo(ctx, id, actor, in.Note)
		if err != nil {
			return "", err
		}
		return "Question sent. " + res.Explanation, nil
	case "extend":
		due, err := e.Extend(ctx, id, actor, in.Reason)
		return "Extended to " + due.Human() + "; the requester was told why.", err
	case "note":
		return "Note added.", e.AddNote(ctx, id, actor, in.Note)
	case "complete":
		return "Completed; the requester was told.", e.CompleteWith(ctx, id, actor, workflow.Completion{Summary: in.Summary, Systems: in.Systems, Exports: in.Exports})
	case "deny":
		return "Denied; the requester was told.", e.Deny(ctx, id, actor, in.Reason, in.Explanation)
	case "withdraw":
		return "Withdrawn.", e.WithdrawFor(ctx, id, actor, in.Reason)
	}
	return "", dsr.Errorf(dsr.ENOTFOUND, "unknown action %q", action)
}

// consoleBulk assigns or denies-as-duplicate several requests.
func (s *Server) consoleBulk(c echo.Context) error {
	form, err := readForm(c)
	if err != nil {
		return err
	}
	ids := form.Value["ids"]
	if len(ids) == 0 {
		return c.Redirect(http.StatusSeeOther, "/console")
	}
	u := currentUser(c)
	var in actionInput
	action := ""
	if v := form.Value["action"]; len(v) > 0 {
		action = v[0]
	}
	switch action {
	case "assign":
		if v := form.Value["assignee"]; len(v) > 0 {
			in.Assignee = v[0]
		}
	case "deny_duplicate":
		action = "deny"
		in.Reason = "duplicate"
		dup := ""
		if v := form.Value["duplicate_of"]; len(v) > 0 {
			dup = strings.TrimSpace(v[0])
		}
		in.Explanation = "This request duplicates request " + dup + ", which we are handling."
		if dup == "" {
			return dsr.Errorf(dsr.EINVALID, "Give the reference of the original request.")
		}
	default:
		return errBadRequest{"Unknown bulk action."}
	}
	for _, id := range ids {
		if _, err := s.runAction(c.Request().Context(), id, action, u, in); err != nil {
			return err
		}
	}
	return c.Redirect(http.StatusSeeOther, "/console")
}

func (s *Server) outboxPage(c echo.Context) error {
	d := s.consolePage(c)
	msgs, err := s.engine.Outbox(c.Request().Context(), 200)
	if err != nil {
		return err
	}
	d.Messages, d.Flash = msgs, s.takeFlash(c)
	return c.Render(http.StatusOK, "console_outbox.html", d)
}

func (s *Server) outboxRetry(c echo.Context) error {
	if !isUUID(c.Param("id")) {
		return dsr.Errorf(dsr.ENOTFOUND, "message not found")
	}
	if err := s.engine.RetryMessage(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/console/outbox", "Message queued again.")
}
