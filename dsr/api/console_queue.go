package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// The officer queue: filters, keyset pages, per-status counts.

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
	// The engine clock, as everywhere on the console; a clock set back
	// (a test's) refreshes the counts rather than keeping them.
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
	Requester                           string // name, else email, else "" (shown as not given)
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

// queuePage is the officer queue: open requests by effective due date.
func (s *Server) queuePage(c echo.Context) error {
	ctx := c.Request().Context()
	d := s.consolePage(c)
	f, err := s.queueFilter(c, d.User)
	if err != nil {
		return err
	}
	pg, err := s.queuePageNumber(c, &f)
	if err != nil {
		return err
	}
	rows, next, err := s.engine.Queue(ctx, f)
	if err != nil {
		return err
	}
	if f.After == nil {
		total, err := s.engine.QueueCount(ctx, f)
		if err != nil {
			return err
		}
		d.Pages = pageLinks(c, pg, f.Limit, total)
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
	if next != nil && f.After != nil {
		// A cursor page (a link from before page numbers): keep walking.
		q := c.QueryParams()
		q.Set("cursor", next.String())
		d.Next = "/console?" + q.Encode()
	}
	return c.Render(http.StatusOK, "console_queue.html", d)
}

func (s *Server) queueRowView(r workflow.QueueRow, today dsr.Date) queueView {
	v := queueView{QueueRow: r, Received: r.ReceivedOn.Human(), Due: r.DueOn.Human(), Assignee: r.AssigneeEmail, Requester: r.RequesterName,
		KindLabel: kindName(r.Kind), RegimeLabel: regimeName(r.Regime), StatusLabel: r.Status.OfficerLabel()}
	if v.Requester == "" {
		v.Requester = r.RequesterEmail
	}
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
		d.StatusOptions = append(d.StatusOptions, choice{Value: string(st), Label: st.OfficerLabel(), Checked: d.V["status"] == string(st)})
		if !st.Closed() || counts[st] > 0 {
			d.Counts = append(d.Counts, countItem{Value: string(st), Label: st.OfficerLabel(), N: counts[st], Checked: d.V["status"] == string(st)})
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

// queuePerPage is the console queue's page size when no limit is asked.
const queuePerPage = 50

// queuePageNumber reads the console's page number (?page=, from 1) into
// f's offset. Errors: EINVALID on field "page".
func (s *Server) queuePageNumber(c echo.Context, f *workflow.QueueFilter) (int, error) {
	if f.Limit == 0 {
		f.Limit = queuePerPage
	}
	p := c.QueryParam("page")
	if p == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 100000 {
		return 0, dsr.InvalidField("page", "must be a page number from 1")
	}
	f.Offset = (n - 1) * f.Limit
	return n, nil
}

// queuePages is the page-number navigation of the queue: where we are of
// how many, and the links around.
type queuePages struct {
	Page, Last, Total, From, To int
	More                        bool // more than Total rows (the count stops at workflow.QueueCountCap)
	Prev, Next                  string
	Links                       []pageLink
}

type pageLink struct {
	N       int
	URL     string
	Current bool
	Gap     bool // an ellipsis before this link
}

// pageLinks builds the navigation for page pg of total rows, per rows a
// page: the first and last pages, and two on each side of the current one.
func pageLinks(c echo.Context, pg, per, total int) *queuePages {
	more := total > workflow.QueueCountCap
	total = min(total, workflow.QueueCountCap)
	last := max(1, (total+per-1)/per)
	p := &queuePages{Page: pg, Last: last, Total: total, More: more, From: min(total, (pg-1)*per+1), To: min(total, pg*per)}
	url := func(n int) string {
		q := c.QueryParams()
		q.Del("cursor")
		q.Set("page", strconv.Itoa(n))
		return "/console?" + q.Encode()
	}
	if pg > 1 {
		p.Prev = url(pg - 1)
	}
	if pg < last {
		p.Next = url(pg + 1)
	}
	prev := 0
	for n := 1; n <= last; n++ {
		if n != 1 && n != last && (n < pg-2 || n > pg+2) {
			continue
		}
		p.Links = append(p.Links, pageLink{N: n, URL: url(n), Current: n == pg, Gap: prev != 0 && n > prev+1})
		prev = n
	}
	return p
}
