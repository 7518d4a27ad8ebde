package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// metricsServer is the listener of DSR_METRICS_ADDR: GET /metrics without
// authentication, for a Prometheus scraper on a private address (e.g.
// 127.0.0.1:9090). Nil when DSR_METRICS_ADDR is unset (the metrics are
// then on the main address, to admin API tokens only).
type metricsServer struct {
	srv *http.Server
	l   net.Listener
}

// listenMetrics opens DSR_METRICS_ADDR, if set, serving h at /metrics (and
// 404 elsewhere). Errors: the address cannot be listened on.
func listenMetrics(addr string, h http.Handler) (*metricsServer, error) {
	if addr == "" {
		return nil, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("DSR_METRICS_ADDR: %w", err)
	}
	return &metricsServer{l: l, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}}, nil
}

// serve runs until shutdown; a failure is logged (the desk goes on
// without its metrics rather than stopping).
func (m *metricsServer) serve(logger *slog.Logger) {
	if m == nil {
		return
	}
	logger.Info("metrics served without authentication", "addr", m.l.Addr().String())
	go func() {
		if err := m.srv.Serve(m.l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener stopped", "error", err)
		}
	}()
}

// shutdown stops the listener, finishing scrapes in flight up to ctx.
func (m *metricsServer) shutdown(ctx context.Context) {
	if m != nil {
		_ = m.srv.Shutdown(ctx)
		_ = m.l.Close() // when Serve never ran
	}
}
