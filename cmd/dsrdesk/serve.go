package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api"
	"github.com/dsrdesk/dsrdesk/notify"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// serve runs the HTTP server and the River workers until SIGINT/SIGTERM,
// then shuts down in order: stop taking HTTP requests (finishing those in
// flight), stop River (finishing running jobs), close the pool.
func serve(ctx context.Context, logger *slog.Logger) error {
	path := getenv("DSR_CONFIG", "")
	if path == "" {
		return errors.New("DSR_CONFIG is not set: point it at the organisation config, e.g. DSR_CONFIG=examples/eu-saas.json")
	}
	cfg, err := dsr.LoadConfig(path)
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
	pool, err := db.Open(ctx, getenv("DATABASE_URL", db.DefaultURL))
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := db.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		logger.Info("migrations applied", "migrations", applied)
	}
	baseURL := strings.TrimRight(getenv("DSR_BASE_URL", "http://localhost:8080"), "/")
	engine, err := workflow.New(pool, workflow.Options{Org: cfg, BaseURL: baseURL, Mailer: mailer, Logger: logger})
	if err != nil {
		return err
	}
	srv, err := api.New(api.Options{Engine: engine, Pool: pool, Logger: logger, Secure: strings.HasPrefix(baseURL, "https://")})
	if err != nil {
		return err
	}
	if n, err := db.CountUsers(ctx, pool); err == nil && n == 0 {
		logger.Warn("no console users yet: create the first admin with `dsrdesk user add --email you@example.com --role admin`")
	}
	if err := engine.Start(ctx); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	addr := getenv("DSR_ADDR", ":8080")
	errc := make(chan error, 1)
	go func() { errc <- srv.Start(addr) }()
	logger.Info("dsrdesk serving", "addr", addr, "organisation", cfg.Organisation.Name)

	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			_ = engine.Stop(context.Background())
			return fmt.Errorf("http: %w", err)
		}
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Error("http shutdown", "error", err)
	}
	if err := engine.Stop(sctx); err != nil {
		logger.Error("jobs shutdown", "error", err)
	}
	logger.Info("stopped")
	return nil
}
