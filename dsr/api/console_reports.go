package api

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// Reports for admins (the ccpa, gdpr and sla tables of `dsrdesk report`
// with CSV downloads), and the CSV exports of the queue and the audit log.

type reportsView struct {
	Year    int
	Period  string
	Years   []int
	Reports []namedReport
}

type namedReport struct {
	Name string // ccpa, gdpr, sla: the CSV link
	T    dsr.Table
}

// reportParams reads ?year= (default this year) and ?period= (default
// month). Errors: EINVALID with the field.
func (s *Server) reportParams(c echo.Context) (int, string, error) {
	if err := checkQueryTexts(c); err != nil {
		return 0, "", err
	}
	year := s.today().Time().Year()
	fe := dsr.FieldErrors{}
	if y := c.QueryParam("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || workflow.ValidReportYear(n) != nil {
			fe.Add("year", "must be a year from 2000 to 9999")
		}
		year = n
	}
	period := c.QueryParam("period")
	if period == "" {
		period = dsr.PeriodMonth
	}
	if period != dsr.PeriodMonth && period != dsr.PeriodQuarter {
		fe.Add("period", "must be month or quarter")
	}
	return year, period, fe.Err()
}

// report builds one report's table.
func (s *Server) report(ctx context.Context, which string, year int, period string) (dsr.Table, error) {
	switch which {
	case "ccpa":
		r, err := s.engine.CCPAReport(ctx, year)
		return r.Table(), err
	case "gdpr":
		r, err := s.engine.GDPRReport(ctx, year, period, nil)
		return r.Table(), err
	case "sla":
		r, err := s.engine.SLAReport(ctx, year)
		return r.Table(), err
	}
	return dsr.Table{}, dsr.Errorf(dsr.ENOTFOUND, "no such report")
}

// reportsPage shows the three reports of one year (admins).
func (s *Server) reportsPage(c echo.Context) error {
	year, period, err := s.reportParams(c)
	if err != nil {
		return err
	}
	v := &reportsView{Year: year, Period: period}
	this := s.today().Time().Year()
	for y := this; y >= this-4; y-- {
		v.Years = append(v.Years, y)
	}
	for _, which := range []string{"ccpa", "gdpr", "sla"} {
		t, err := s.report(c.Request().Context(), which, year, period)
		if err != nil {
			return err
		}
		v.Reports = append(v.Reports, namedReport{which, t})
	}
	d := s.consolePage(c)
	d.Reports = v
	return c.Render(http.StatusOK, "console_reports.html", d)
}

// reportCSV downloads one report as CSV (admins).
func (s *Server) reportCSV(c echo.Context) error {
	year, period, err := s.reportParams(c)
	if err != nil {
		return err
	}
	which := c.Param("which")
	t, err := s.report(c.Request().Context(), which, year, period)
	if err != nil {
		return err
	}
	return writeCSV(c, fmt.Sprintf("report-%s-%d.csv", which, year), t)
}

// queueCSVLimit bounds the queue export (the filters narrow it).
const queueCSVLimit = 100000

// queueCSV exports the queue with the console's current filters, every
// page, in due-date order, up to queueCSVLimit rows.
func (s *Server) queueCSV(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	f, err := s.queueFilter(c, u)
	if err != nil {
		return err
	}
	f.Limit, f.After, f.Offset = 500, nil, 0
	t := dsr.Table{Columns: []string{"ref", "requester", "kind", "law", "status", "received", "due", "days", "assignee", "agent"}}
	today := f.Today
	for len(t.Rows) < queueCSVLimit {
		rows, next, err := s.engine.Queue(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range rows {
			v := s.queueRowView(r, today)
			agent := ""
			if r.HasAgent {
				agent = "yes"
			}
			t.Rows = append(t.Rows, []string{v.Ref, v.Requester, v.KindLabel, v.RegimeLabel, v.StatusLabel, r.ReceivedOn.String(),
				r.DueOn.String(), v.DaysText, v.Assignee, agent})
		}
		if next == nil {
			break
		}
		f.After = next
	}
	return writeCSV(c, "queue-"+today.String()+".csv", t)
}

// auditCSV exports the audit log's events (?from=, ?to= as dates, default
// the last 30 days up to today, at most 366 days): when, which request,
// who and what — never the event data, which may hold personal data.
func (s *Server) auditCSV(c echo.Context) error {
	if err := checkQueryTexts(c); err != nil {
		return err
	}
	today := s.today()
	from, to := today.AddDays(-30), today
	fe := dsr.FieldErrors{}
	if v := c.QueryParam("from"); v != "" {
		d, err := dsr.ParseDate(v)
		if err != nil {
			fe.Add("from", "must be a date YYYY-MM-DD")
		}
		from = d
	}
	if v := c.QueryParam("to"); v != "" {
		d, err := dsr.ParseDate(v)
		if err != nil {
			fe.Add("to", "must be a date YYYY-MM-DD")
		}
		to = d
	}
	if err := fe.Err(); err != nil {
		return err
	}
	if to.Before(from) || from.DaysUntil(to) > 366 {
		return &dsr.Error{Code: dsr.EINVALID, Message: "invalid range", Fields: map[string]string{"to": "must be on or after from, at most 366 days later"}}
	}
	loc := s.org.Location()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", "audit-"+from.String()+"-"+to.String()+".csv"))
	h.Set("Cache-Control", "no-store")
	// Streamed: a year of events may not fit in memory. The header is
	// sent first, so a database failure mid-way truncates the file (the
	// last line then is not an event) rather than becoming an error page.
	c.Response().WriteHeader(http.StatusOK)
	cw := csv.NewWriter(c.Response())
	_ = cw.Write([]string{"event id", "at", "request", "kind", "law", "seq", "actor", "type", "public"})
	err := s.engine.AuditExport(c.Request().Context(), from.Start(loc), to.AddDays(1).Start(loc), func(r workflow.AuditExportRow) error {
		return cw.Write([]string{strconv.FormatInt(r.ID, 10), r.At.In(loc).Format(time.RFC3339), dsr.FormatRef(r.Ref), r.Kind, r.Regime,
			strconv.Itoa(r.Seq), r.Actor, r.Type, strconv.FormatBool(r.Public)})
	})
	if err != nil {
		_ = cw.Write([]string{"export failed: " + dsr.ErrorMessage(err)})
	}
	cw.Flush()
	return nil
}

// reportRoutes mounts the dashboard, the exports and the reports.
func (s *Server) reportRoutes(g *echo.Group, read, admin echo.MiddlewareFunc) {
	g.GET("/dashboard", s.dashboardPage, read)
	g.GET("/dashboard/csv/:table", s.dashboardCSV, read)
	g.GET("/queue.csv", s.queueCSV, read)
	g.GET("/audit.csv", s.auditCSV, admin)
	g.GET("/reports", s.reportsPage, admin)
	g.GET("/reports/:which/csv", s.reportCSV, admin)
}
