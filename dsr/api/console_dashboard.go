package api

import (
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// The officer dashboard: what needs attention now, and charts over the
// last weeks drawn as server-rendered SVG, each beside a table of the
// same figures with a CSV download (no JavaScript).

type dashboardView struct {
	D      workflow.Dashboard
	Charts []chartView
	// The dashboard's tables (each also a CSV download).
	ByKind, ByLaw, Weeks dsr.Table
	NowTables            []namedTable // by kind, by law
	WeekTable            namedTable
}

// namedTable is a table and the name of its CSV download.
type namedTable struct {
	Name string
	T    dsr.Table
}

// chartView is one bar chart: geometry computed here, drawn by the
// template.
type chartView struct {
	ID, Title, Desc, CSV string
	Width, Height        int
	BaseY, LabelY        int // the x axis line and its labels
	Bars                 []chartBar
	Max                  string // the value of the top grid line
	Table                dsr.Table
}

type chartBar struct {
	X, Y, W, H int
	Label      string // the week, for the x axis
	Value      string // the figure, in the bar's tooltip
	ShowLabel  bool
}

const (
	chartW, chartH, chartTop, chartBottom, chartLeft = 480, 200, 12, 36, 8
)

// barChart lays out one bar per value (nil: no bar) on a 0..max scale.
func barChart(id, title, desc, csv string, labels []string, values []*float64, unit string, t dsr.Table) chartView {
	max := 0.0
	for _, v := range values {
		if v != nil && *v > max {
			max = *v
		}
	}
	if max == 0 {
		max = 1
	}
	max = niceCeil(max)
	c := chartView{ID: id, Title: title, Desc: desc, CSV: csv, Width: chartW, Height: chartH, BaseY: chartH - chartBottom, LabelY: chartH - chartBottom + 18, Max: fmtNum(max) + unit, Table: t}
	plotH := chartH - chartTop - chartBottom
	step := (chartW - chartLeft) / len(values)
	for i, v := range values {
		b := chartBar{X: chartLeft + i*step + step/8, W: step * 3 / 4, Label: labels[i], ShowLabel: i%3 == 0 || i == len(values)-1}
		if v == nil {
			b.Value = "no data"
			b.Y = chartTop + plotH
		} else {
			b.H = int(math.Round(*v / max * float64(plotH)))
			b.Y = chartTop + plotH - b.H
			b.Value = fmtNum(*v) + unit
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(v float64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0")
}

func fptr(v float64) *float64 { return &v }

func (s *Server) dashboardView(d workflow.Dashboard) *dashboardView {
	v := &dashboardView{D: d}
	countTable := func(title string, col string, cs []workflow.DashboardCount) dsr.Table {
		t := dsr.Table{Title: title, Columns: []string{col, "open", "due this week", "overdue"}}
		for _, c := range cs {
			t.Rows = append(t.Rows, []string{c.Label, fmt.Sprint(c.Open), fmt.Sprint(c.DueThisWeek), fmt.Sprint(c.Overdue)})
		}
		return t
	}
	v.ByKind = countTable("Open requests by kind", "kind", d.ByKind)
	v.ByLaw = countTable("Open requests by law", "law", d.ByLaw)
	v.Weeks = dsr.Table{Title: "Requests by week received", Columns: []string{"week of", "received", "answered", "answered on time", "on-time rate (%)", "median days"}}
	v.NowTables = []namedTable{{"kind", v.ByKind}, {"law", v.ByLaw}}
	var labels []string
	var received, rate, median []*float64
	for _, w := range d.Weeks {
		r := w.OnTimeRate()
		rs := ""
		if r != nil {
			rs = fmtNum(*r)
		}
		ms := ""
		if w.MedianDays != nil {
			ms = fmtNum(*w.MedianDays)
		}
		v.Weeks.Rows = append(v.Weeks.Rows, []string{w.Week.String(), fmt.Sprint(w.Received), fmt.Sprint(w.Answered), fmt.Sprint(w.OnTime), rs, ms})
		labels = append(labels, w.Week.Time().Format("2 Jan"))
		received = append(received, fptr(float64(w.Received)))
		rate = append(rate, r)
		median = append(median, w.MedianDays)
	}
	v.WeekTable = namedTable{"weeks", v.Weeks} // with its rows
	span := ""
	if len(d.Weeks) > 0 {
		span = fmt.Sprintf(" for the %d weeks from %s", len(d.Weeks), d.Weeks[0].Week.Human())
	}
	v.Charts = []chartView{
		barChart("received", "Requests received per week", "Bar chart of the requests received each week"+span+"; the table beside it has the figures.", "weeks", labels, received, "", v.Weeks),
		barChart("ontime", "On-time rate", "Bar chart of the share of each week's answered requests answered by their due date"+span+".", "weeks", labels, rate, "%", v.Weeks),
		barChart("median", "Median days to answer", "Bar chart of the median calendar days from receipt to answer of each week's requests"+span+".", "weeks", labels, median, " d", v.Weeks),
	}
	return v
}

// dashboardPage is the officer dashboard.
func (s *Server) dashboardPage(c echo.Context) error {
	dash, err := s.engine.Dashboard(c.Request().Context())
	if err != nil {
		return err
	}
	d := s.consolePage(c)
	d.Dash = s.dashboardView(dash)
	return c.Render(http.StatusOK, "console_dashboard.html", d)
}

// dashboardCSV downloads one dashboard table: kind, law or weeks.
func (s *Server) dashboardCSV(c echo.Context) error {
	dash, err := s.engine.Dashboard(c.Request().Context())
	if err != nil {
		return err
	}
	v := s.dashboardView(dash)
	var t dsr.Table
	switch c.Param("table") {
	case "kind":
		t = v.ByKind
	case "law":
		t = v.ByLaw
	case "weeks":
		t = v.Weeks
	default:
		return dsr.Errorf(dsr.ENOTFOUND, "no such table")
	}
	return writeCSV(c, "dashboard-"+c.Param("table")+"-"+dash.Today.String()+".csv", t)
}

// writeCSV sends t as a CSV attachment.
func writeCSV(c echo.Context, filename string, t dsr.Table) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", filename))
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	return t.WriteCSV(c.Response())
}
