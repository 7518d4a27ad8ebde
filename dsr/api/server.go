// Package api is the HTTP side of DSR Desk: the public intake form and
// JSON API, verification and status pages (and, later, the officer console
// and admin API). Handlers decode, validate, call the workflow and
// respond; one error handler maps dsr error codes to HTTP.
package api

import (
	"context"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/templates"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// Options configure the server.
type Options struct {
	Engine *workflow.Engine
	Logger *slog.Logger
	// Secure marks cookies Secure and sends HSTS (set when the public URL
	// is https).
	Secure bool
	// PublicRate is the sustained number of public POSTs per second allowed
	// per client IP (default 0.2, i.e. 12 a minute) with PublicBurst
	// (default 10).
	PublicRate  float64
	PublicBurst int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Real-IP headers name the client (see ParseTrustedProxies); empty
	// (the default) means the peer address is the client and those headers
	// are ignored.
	TrustedProxies []*net.IPNet
	// MetricsOwnAddr leaves GET /metrics off this server: the metrics are
	// served by MetricsHandler on their own address (DSR_METRICS_ADDR).
	MetricsOwnAddr bool
}

// Server is the Echo application.
type Server struct {
	e      *echo.Echo
	engine *workflow.Engine
	org    *dsr.Config
	log    *slog.Logger
	pages  *pages
	secure bool // cookies only over HTTPS (DSR_BASE_URL is https)
	counts *countCache
	// more remembers the queue filters that select more than the count cap.
	more *moreCache
	// loginLimit counts failed sign-ins per address and per account.
	loginLimit *loginLimiter
	// passwordChecks counts argon2id verifications (for tests).
	passwordChecks atomic.Int64
	metrics        *metrics // Prometheus registry (metrics.go)
}

// New builds the server and its routes.
func New(o Options) (*Server, error) {
	p, err := newPages(templates.FS)
	if err != nil {
		return nil, err
	}
	s := &Server{e: echo.New(), engine: o.Engine, org: o.Engine.Org(), log: o.Logger, pages: p,
		secure: o.Secure, counts: &countCache{}, more: &moreCache{}, loginLimit: newLoginLimiter()}
	s.metrics = newMetrics(o.Engine)
	if s.log == nil {
		s.log = slog.Default()
	}
	e := s.e
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = clientIPExtractor(o.TrustedProxies)
	e.Renderer = p
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.Recover())
	e.Use(middleware.RequestID())
	e.Use(s.httpMetrics())
	e.Use(s.requestLog())
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		ContentSecurityPolicy: "default-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
		ReferrerPolicy:        "no-referrer", // links carry tokens
	}))
	if s.secure {
		e.Use(hsts)
	}
	e.Use(middleware.ContextTimeout(30 * time.Second))
	// Before any group or route middleware (CSRF, session, rate limits)
	// and before any handler reads the body.
	e.Use(s.bodyLimiter())
	s.routes(s.limiter(o))
	s.metricsRoute(o.MetricsOwnAddr)
	s.openAPIRoute()
	return s, nil
}

func (s *Server) limiter(o Options) echo.MiddlewareFunc {
	r, b := o.PublicRate, o.PublicBurst
	if r == 0 {
		r = 0.2
	}
	if b == 0 {
		b = 10
	}
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Limit(r), Burst: b, ExpiresIn: 10 * time.Minute}),
		IdentifierExtractor: func(c echo.Context) (string, error) { return c.RealIP(), nil },
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			return dsr.Errorf(dsr.ERATELIMIT, "Too many requests from your address. Please wait a few minutes and try again.")
		},
		ErrorHandler: func(c echo.Context, err error) error {
			return dsr.Errorf(dsr.EFORBIDDEN, "Your address could not be determined.")
		},
	})
}

func (s *Server) routes(limit echo.MiddlewareFunc) {
	e := s.e
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	static, _ := fs.Sub(templates.FS, "static")
	e.StaticFS("/static", static)

	e.GET("/", s.formPage)
	e.HEAD("/", s.formPage)
	e.GET("/favicon.ico", s.favicon)
	e.GET("/requests/new", s.formPage)
	e.POST("/requests", s.formSubmit, limit)
	e.POST("/requests/processor", s.processorSubmit, limit)
	e.GET("/verify/:token", s.verifyPage)
	e.POST("/verify/:token", s.verifySubmit, limit)
	e.GET("/status/:token", s.statusPage)
	e.GET("/status/:token/withdraw", s.withdrawPage)
	e.POST("/status/:token/withdraw", s.withdrawSubmit, limit)
	e.POST("/status/:token/answer", s.answerSubmit, limit)

	e.POST("/api/v1/requests", s.apiCreateRequest, limit)
	e.GET("/.well-known/gpc.json", s.gpcWellKnown)
	e.POST("/gpc", s.gpcForm, limit)
	e.POST("/api/v1/gpc", s.apiGPC, limit)
	e.GET("/download/:token", s.downloadPage)
	e.GET("/download/:token/:file", s.downloadFile)

	s.consoleRoutes()
	s.adminRoutes()
	s.appealRoutes(limit)
	e.POST("/api/v1/tasks/:id", s.apiTaskCallback, s.systemAuth)
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.e }

// Echo returns the Echo instance (for the route-table test and mounting).
func (s *Server) Echo() *echo.Echo { return s.e }

// Start serves on addr until Shutdown.
func (s *Server) Start(addr string) error {
	s.e.Server.ReadHeaderTimeout = 10 * time.Second
	s.e.Server.ReadTimeout = 60 * time.Second
	s.e.Server.WriteTimeout = 60 * time.Second
	s.e.Server.IdleTimeout = 120 * time.Second
	return s.e.Start(addr)
}

// Shutdown finishes in-flight requests, up to ctx.
func (s *Server) Shutdown(ctx context.Context) error { return s.e.Shutdown(ctx) }

// favicon serves the site icon (browsers ask for /favicon.ico whatever
// the page links; without it every page view logs a 404).
func (s *Server) favicon(c echo.Context) error {
	b, err := templates.FS.ReadFile("static/favicon.ico")
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	return c.Blob(http.StatusOK, "image/x-icon", b)
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports whether the database answers.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.engine.Ping(ctx); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// requestLog logs method, route (never the raw path: it may hold a
// token), status, latency and client address; for a 5xx the kind of
// error, never its text.
func (s *Server) requestLog() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogMethod: true, LogRoutePath: true, LogLatency: true, LogRequestID: true, LogError: true,
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			attrs := []slog.Attr{slog.String("method", v.Method), slog.String("route", v.RoutePath),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency), slog.String("request_id", v.RequestID),
				slog.String("ip", c.RealIP())}
			if v.Error != nil && v.Status >= 500 {
				// Never err.Error(): a database or parse error can quote
				// what the client sent.
				attrs = append(attrs, errorKind(v.Error)...)
			}
			s.log.LogAttrs(c.Request().Context(), level, "http", attrs...)
			return nil
		},
	})
}

// hsts tells browsers to use https only, for a year, subdomains included.
// It is set only when the public URL is https (Options.Secure); browsers
// ignore it on plain http, so it is sent whether or not the TLS proxy in
// front says X-Forwarded-Proto.
func hsts(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderStrictTransportSecurity, "max-age=31536000; includeSubDomains")
		return next(c)
	}
}
