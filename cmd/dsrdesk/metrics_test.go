package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
)

// TestListenMetrics: DSR_METRICS_ADDR unset opens nothing; set, it serves
// GET /metrics without authentication and nothing else; an address that
// cannot be listened on is an error naming the variable.
func TestListenMetrics(t *testing.T) {
	t.Parallel()
	if m, err := listenMetrics("", http.NotFoundHandler()); m != nil || err != nil {
		t.Fatalf("unset: %v %v, want nil nil", m, err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "dsrdesk_up 1\n") })
	m, err := listenMetrics("127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	m.serve(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { m.shutdown(context.Background()) })
	base := "http://" + m.l.Addr().String()
	for path, want := range map[string]int{"/metrics": http.StatusOK, "/": http.StatusNotFound, "/api/v1/admin/requests": http.StatusNotFound} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
		if want == http.StatusOK && string(b) != "dsrdesk_up 1\n" {
			t.Errorf("GET %s: %q", path, b)
		}
	}
	if _, err := listenMetrics(m.l.Addr().String(), h); err == nil {
		t.Error("listening twice on one address: no error")
	}
}
