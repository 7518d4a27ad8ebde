package api

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dsrdesk/dsrdesk/workflow"
)

// metrics is the server's Prometheus registry (its own, not the global
// one: two servers in one test process must not share series) and the
// HTTP latency histogram.
type metrics struct {
	reg  *prometheus.Registry
	http *prometheus.HistogramVec
}

func newMetrics(engine *workflow.Engine) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(),
		http: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: workflow.MetricsNamespace, Name: "http_request_duration_seconds",
			Help: "HTTP request latency by route pattern (never the raw path: it may hold a token), method and status code.",
			// Uploads of export files take seconds; pages take milliseconds.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "code"}),
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), m.http)
	m.reg.MustRegister(engine.MetricsCollectors()...)
	return m
}

// MetricsHandler serves the Prometheus exposition of every dsrdesk_
// series plus the Go and process collectors, without authentication: for
// the separate listener of DSR_METRICS_ADDR (see cmd/dsrdesk).
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{Registry: s.metrics.reg})
}

// metricsRoute serves GET /metrics on the main address to admin API
// tokens only (401 without a valid token, 403 for another role), unless
// the metrics have their own listener.
func (s *Server) metricsRoute(ownAddr bool) {
	if ownAddr {
		return
	}
	h := echo.WrapHandler(s.MetricsHandler())
	s.e.GET("/metrics", h, s.bearerAuth, requireRole(adminRoles...))
}

// httpMetrics observes each request's latency under its route pattern
// (c.Path(), bounded by the route table) and final status code. It sits
// outside the request logger, which has already handed any error to the
// error handler, so the response status is the one sent; an error that
// reached here unhandled is classified as the error handler would.
func (s *Server) httpMetrics() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			timer := prometheus.NewTimer(nil)
			err := next(c)
			code := c.Response().Status
			if err != nil && !c.Response().Committed {
				code, _ = classify(err)
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			s.metrics.http.WithLabelValues(route, metricMethod(c.Request().Method), strconv.Itoa(code)).
				Observe(timer.ObserveDuration().Seconds())
			return err
		}
	}
}

// metricMethod keeps the method label to the standard methods: a client
// may send any token as a method, and each would be a new series.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}
