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

// moreCache remembers, for countTTL, which queue filters select more than
// workflow.QueueCountCap requests, so that their page numbers ("more
// than 10000") need no count on every view.
type moreCache struct {
	mu sync.Mutex
	at map[string]time.Time // filter key → when it was counted as more
}

// moreCacheSize bounds moreCache: past it, the remembered filters are
// forgotten at once (filters are few; a full cache means odd traffic).
const moreCacheSize = 1000

// known reports whether key was counted as more than the cap less than
// countTTL before now (a clock set back forgets it, as countCache does).
func (mc *moreCache) known(key string, now time.Time) bool {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	at, ok := mc.at[key]
	return ok && now.Sub(at) < countTTL && !now.Before(at)
}

// remember records that key selected more than the cap at now.
func (mc *moreCache) remember(key string, now time.Time) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if mc.at == nil || len(mc.at) >= moreCacheSize {
		mc.at = map[string]time.Time{}
	}
	mc.at[key] = now
}

// queueFilterKey identifies what f selects, whatever its page.
func queueFilterKey(f workflow.QueueFilter) string {
	today := ""
	if f.Overdue {
		today = f.Today.String()
	}
	return fmt.Sprintf("%q|%q|%q|%q|%v|%s|%v|%q", f.Statuses, f.Kind, f.Regime, f.Assignee, f.Overdue, today, f.HasAgent, strings.TrimSpace(f.Search))
}

// statusOnlyMore reports whether f selects by status alone (the open
// statuses when it names none) and counts says those statuses hold more
// than workflow.QueueCountCap requests.
func statusOnlyMore(f workflow.QueueFilter, counts map[dsr.Status]int) bool {
	if f.Kind != "" || f.Regime != "" || f.Assignee != "" || f.Overdue || f.HasAgent || strings.TrimSpace(f.Search) != "" {
		return false
	}
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = dsr.OpenStatuses
	}
	seen, n := map[dsr.Status]bool{}, 0
	for _, st := range statuses {
		if !seen[st] {
			seen[st], n = true, n+counts[st]
		}
	}
	return n > workflow.QueueCountCap
}

// queueTotal is the number of requests f selects, for the page numbers:
// exact up to workflow.QueueCountCap, and above it any number over the
// cap (the page says "more than 10000").
//
// The count reads up to QueueCountCap+1 index entries, about 5 ms at
// 1,000,000 requests, so it is skipped when the answer is known to be
// "more": for a filter by status alone (the unfiltered first page), the
// per-status counts the page shows anyway say so; for other filters, a
// count over the cap is remembered for countTTL. A total at or under the
// cap is always counted afresh, so a small queue's page numbers are exact.
// The price: for up to countTTL after a queue falls under the cap, its
// pages may still say "more than" (as the status counts lag by as much).
// Errors: those of Engine.QueueCount.
func (s *Server) queueTotal(ctx context.Context, f workflow.QueueFilter, counts map[dsr.Status]int) (int, error) {
	if statusOnlyMore(f, counts) {
		return workflow.QueueCountCap + 1, nil
	}
	key, now := queueFilterKey(f), s.engine.Now()
	if s.more.known(key, now) {
		return workflow.QueueCountCap + 1, nil
	}
	n, err := s.engine.QueueCount(ctx, f)
	if err != nil {
		return 0, err
	}
	if n > workflow.QueueCountCap {
		s.more.remember(key, now)
	}
	return n, nil
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
	counts, err := s.counts.get(ctx, s.engine)
	if err != nil {
		return err
	}
	if f.After == nil {
		total, err := s.queueTotal(ctx, f, counts)
		if err != nil {
			return err
		}
		d.Pages = pageLinks(c, pg, f.Limit, total)
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
