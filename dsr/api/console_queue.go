package api

import (
	"context"
	"fmt"
	"net/http"
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
		KindLabel: kindName(r.Kind), RegimeLabel: regimeName(r.Regime), StatusLabel: r.Status.OfficerLabel()}
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
