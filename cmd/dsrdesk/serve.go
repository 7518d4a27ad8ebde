package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api"
	"github.com/dsrdesk/dsrdesk/notify"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// serve runs the HTTP server, the River workers and, with
// DSR_SMTP_LISTEN, the inbound SMTP server until SIGINT/SIGTERM, then
// shuts down in order: stop taking HTTP requests (finishing those in
// flight), stop taking mail, stop River (finishing running jobs), close
// the pool.
func serve(ctx context.Context, logger *slog.Logger) error {
	path := getenv("DSR_CONFIG", "")
	if path == "" {
		return errors.New("DSR_CONFIG is not set: point it at the organisation config, e.g. DSR_CONFIG=examples/eu-saas.json")
	}
	cfg, err := dsr.LoadConfig(path)
	if err != nil {
		return err
	}
	if miss := cfg.MissingSecrets(func(k string) string { return getenv(k, "") }); len(miss) > 0 {
		return fmt.Errorf("systems: set %s (a system's DSN or signing secret comes from the environment, never the config file)", strings.Join(miss, ", "))
	}
	secret, err := secretKey(logger)
	if err != nil {
		return err
	}
	var mailer workflow.Mailer
	if u := getenv("DSR_SMTP_URL", ""); u != "" {
		s, err := notify.NewSender(u)
		if err != nil {
			return fmt.Errorf("DSR_SMTP_URL: %w", err)
		}
		mailer = s
		logger.Info("mail relay configured", "relay", s.String())
	} else {
		logger.Info("no DSR_SMTP_URL: outgoing mail is captured in the database only")
	}
	pool, applied, err := openMigrated(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	if len(applied) > 0 {
		logger.Info("migrations applied", "migrations", applied)
	}
	baseURL := strings.TrimRight(getenv("DSR_BASE_URL", "http://localhost:8080"), "/")
	retry, err := time.ParseDuration(getenv("DSR_MAIL_RETRY_BASE", "30s"))
	if err != nil || retry <= 0 {
		return fmt.Errorf("DSR_MAIL_RETRY_BASE must be a duration such as 30s")
	}
	rescue, err := time.ParseDuration(getenv("DSR_RESCUE_STUCK_AFTER", "15m"))
	if err != nil || rescue <= 0 {
		return fmt.Errorf("DSR_RESCUE_STUCK_AFTER must be a duration such as 15m")
	}
	idle, err := time.ParseDuration(getenv("DSR_SESSION_IDLE_TIMEOUT", workflow.DefaultSessionIdleTimeout.String()))
	if err != nil || idle <= 0 {
		return fmt.Errorf("DSR_SESSION_IDLE_TIMEOUT must be a duration such as 30m")
	}
	runners, err := openRunners(cfg.Systems, func(k string) string { return getenv(k, "") })
	if err != nil {
		return err
	}
	defer closeRunners(runners)
	taskRetry, err := time.ParseDuration(getenv("DSR_TASK_RETRY_BASE", "1m"))
	if err != nil || taskRetry <= 0 {
		return fmt.Errorf("DSR_TASK_RETRY_BASE must be a duration such as 1m")
	}
	engine, err := workflow.New(pool, workflow.Options{Org: cfg, BaseURL: baseURL, Mailer: mailer, Logger: logger,
		RetryBase: retry, RescueAfter: rescue, SessionIdleTimeout: idle, SecretKey: secret,
		Runners: runners, TaskRetryBase: taskRetry})
	if err != nil {
		return err
	}
	rate, burst, err := publicRate()
	if err != nil {
		return err
	}
	// DSR_TRUSTED_PROXIES: comma-separated CIDRs of the reverse proxies
	// whose X-Forwarded-For / X-Real-IP name the client; default none.
	// Secure (an https DSR_BASE_URL) also turns on HSTS.
	proxies, err := api.ParseTrustedProxies(getenv("DSR_TRUSTED_PROXIES", ""))
	if err != nil {
		return fmt.Errorf("DSR_TRUSTED_PROXIES: %w", err)
	}
	srv, err := api.New(api.Options{Engine: engine, Logger: logger, Secure: strings.HasPrefix(baseURL, "https://"),
		PublicRate: rate, PublicBurst: burst, TrustedProxies: proxies, MetricsOwnAddr: getenv("DSR_METRICS_ADDR", "") != ""})
	if err != nil {
		return err
	}
	metricsSrv, err := listenMetrics(getenv("DSR_METRICS_ADDR", ""), srv.MetricsHandler())
	if err != nil {
		return err
	}
	defer metricsSrv.shutdown(context.Background())
	if n, err := db.CountUsers(ctx, pool); err == nil && n == 0 {
		logger.Warn("no console users yet: create the first admin with `dsrdesk user add --email you@example.com --role admin`")
	}
	inbound, inboundL, err := listenInbound(cfg, engine, logger)
	if err != nil {
		return err
	}
	if err := engine.Start(ctx); err != nil {
		if inboundL != nil {
			inboundL.Close()
		}
		return fmt.Errorf("start jobs: %w", err)
	}
	addr := getenv("DSR_ADDR", ":8080")
	errc := make(chan error, 1)
	go func() { errc <- srv.Start(addr) }()
	metricsSrv.serve(logger)
	smtpErrc := make(chan error, 1)
	if inbound != nil {
		go func() { smtpErrc <- inbound.Serve(inboundL) }()
		logger.Info("taking requests by email", "addr", inboundL.Addr().String(), "domain", inbound.Domain)
	}
	logger.Info("dsrdesk serving", "addr", addr, "organisation", cfg.Organisation.Name)

	var failure error
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			if inbound != nil {
				inbound.Close()
			}
			_ = engine.Stop(context.Background())
			return fmt.Errorf("http: %w", err)
		}
	case err := <-smtpErrc:
		failure = fmt.Errorf("inbound smtp: %w", err)
		logger.Error("inbound smtp stopped", "error", err)
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Error("http shutdown", "error", err)
	}
	metricsSrv.shutdown(sctx)
	if inbound != nil {
		// Sessions get 10s to finish; a sender cut off before our 250
		// retries later, and the Message-ID keeps the resend from doubling.
		mctx, mcancel := context.WithTimeout(sctx, 10*time.Second)
		if err := inbound.Shutdown(mctx); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			inbound.Close()
		}
		mcancel()
	}
	if err := engine.Stop(sctx); err != nil {
		logger.Error("jobs shutdown", "error", err)
	}
	logger.Info("stopped")
	return failure
}

// listenInbound opens the inbound SMTP listener when DSR_SMTP_LISTEN is set
// (e.g. ":2525"); it takes mail for the config's mail.privacy_addresses
// only, at most DSR_SMTP_RATE messages a minute per client address and per
// sender domain. It returns nils when DSR_SMTP_LISTEN is unset. Errors: no
// privacy address, a bad DSR_SMTP_RATE, the address cannot be listened on.
func listenInbound(cfg *dsr.Config, engine *workflow.Engine, logger *slog.Logger) (*smtp.Server, net.Listener, error) {
	addr := getenv("DSR_SMTP_LISTEN", "")
	if addr == "" {
		return nil, nil, nil
	}
	if len(cfg.Mail.PrivacyAddresses) == 0 {
		return nil, nil, errors.New("DSR_SMTP_LISTEN is set but the config has no mail.privacy_addresses to take mail for")
	}
	srv := notify.NewInboundServer(addr, engine.InboundDomain(), engine.AcceptsInbound, engine.StoreInbound)
	srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	// DSR_SMTP_RATE: messages a minute per client address and per sender
	// domain (default 20; 0 turns the limits off, e.g. behind a relay that
	// limits already). Over it senders get 451 4.7.1 and retry later.
	perMinute, err := strconv.Atoi(getenv("DSR_SMTP_RATE", strconv.Itoa(notify.DefaultInboundRate)))
	if err != nil || perMinute < 0 {
		return nil, nil, fmt.Errorf("DSR_SMTP_RATE must be a whole number of messages a minute (0 turns the limit off)")
	}
	if perMinute == 0 {
		perMinute = -1
		logger.Warn("DSR_SMTP_RATE=0: the inbound SMTP listener does not limit senders")
	}
	if err := notify.LimitInbound(srv, notify.InboundLimits{PerMinute: perMinute}); err != nil {
		return nil, nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("DSR_SMTP_LISTEN: %w", err)
	}
	return srv, l, nil
}

// publicRate reads DSR_PUBLIC_RATE (public POSTs per second per client IP,
// default 0.2) and DSR_PUBLIC_BURST (default 10).
func publicRate() (float64, int, error) {
	r, err := strconv.ParseFloat(getenv("DSR_PUBLIC_RATE", "0.2"), 64)
	if err != nil || r <= 0 {
		return 0, 0, fmt.Errorf("DSR_PUBLIC_RATE must be a positive number")
	}
	b, err := strconv.Atoi(getenv("DSR_PUBLIC_BURST", "10"))
	if err != nil || b < 1 {
		return 0, 0, fmt.Errorf("DSR_PUBLIC_BURST must be a positive integer")
	}
	return r, b, nil
}
