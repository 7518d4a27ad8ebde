package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// hookReceiver is the "newsletter" system of the fault checks: a webhook
// receiver that verifies each delivery's Standard Webhooks signature and
// answers with a done report, so a task ends with its first delivery
// that gets through. It can be taken down and brought back on the same
// address.
type hookReceiver struct {
	addr, secret string
	wh           *standardwebhooks.Webhook

	mu      sync.Mutex
	srv     *http.Server
	seen    map[string]int // task id → verified deliveries
	refused int            // deliveries whose signature did not verify
}

func newHookReceiver() (*hookReceiver, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, err
	}
	return &hookReceiver{addr: fmt.Sprintf("127.0.0.1:%d", port), secret: secret, wh: wh, seen: map[string]int{}}, nil
}

// config adds the receiver as a webhook system taking opt-outs to an
// organisation config (a JSON object).
func (h *hookReceiver) config(cfg string) string {
	sys := fmt.Sprintf(`"systems": [{"name": "newsletter", "description": "Mailing list", "kinds": ["opt_out"],
    "connector": {"type": "webhook", "url": "http://%s/dsr"}}],
  "time_zone"`, h.addr)
	return strings.Replace(cfg, `"time_zone"`, sys, 1)
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	if err := h.wh.Verify(body, r.Header); err != nil {
		h.mu.Lock()
		h.refused++
		h.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var task struct {
		TaskID string `json:"task_id"`
	}
	_ = json.Unmarshal(body, &task)
	h.mu.Lock()
	h.seen[task.TaskID]++
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status": "done", "count": 1, "note": "unsubscribed"}`)
}

func (h *hookReceiver) start() error {
	l, err := net.Listen("tcp", h.addr)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	srv := h.srv
	h.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
	return nil
}

func (h *hookReceiver) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.srv != nil {
		_ = h.srv.Close()
		h.srv = nil
	}
}

// tally returns the tasks delivered, the repeated deliveries and the
// refused ones.
func (h *hookReceiver) tally() (tasks, repeats, refused int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.seen {
		tasks++
		repeats += n - 1
	}
	return tasks, repeats, h.refused
}

// faultWebhookDown files opt-outs (no verification under CCPA, so each
// gets its webhook task at once) while the system's receiver is down,
// keeps it down for a minute, brings it back, and checks that every
// accepted request's task was delivered and finished: none lost.
func (b *bench) faultWebhookDown(ctx context.Context) error {
	const down = time.Minute
	fmt.Printf("webhook receiver down for %s under opt-out load, then back\n", down)
	b.hook.stop()
	stop := make(chan struct{})
	var ids []string
	done := make(chan struct{})
	go func() { ids, _ = b.loadOptOuts(4, stop); close(done) }()
	time.Sleep(5 * time.Second)
	close(stop)
	<-done
	time.Sleep(down - 5*time.Second)
	var failing int
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE request_id = ANY($1::uuid[]) AND status IN ('pending', 'running') AND attempts > 0`, ids).Scan(&failing); err != nil {
		return err
	}
	fmt.Printf("  %d opt-outs accepted while the receiver was down; %d tasks retrying after %s\n", len(ids), failing, down)
	if err := b.hook.start(); err != nil {
		return err
	}
	if err := b.checkAccepted(ctx, ids); err != nil {
		return err
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var total, finished, missing int
		if err := b.pool.QueryRow(ctx, `SELECT
			count(t.id), count(t.id) FILTER (WHERE t.status = 'done'), count(*) FILTER (WHERE t.id IS NULL)
			FROM unnest($1::uuid[]) AS a(id) LEFT JOIN tasks t ON t.request_id = a.id`, ids).Scan(&total, &finished, &missing); err != nil {
			return err
		}
		if missing > 0 {
			return fmt.Errorf("%d accepted opt-outs have no task", missing)
		}
		if finished == total {
			tasks, repeats, refused := b.hook.tally()
			fmt.Printf("  all %d tasks done after the receiver came back; %d delivered (%d repeated deliveries, %d refused signatures)\n", total, tasks, repeats, refused)
			if tasks < total || refused > 0 {
				return fmt.Errorf("the receiver saw %d of %d tasks, %d bad signatures", tasks, total, refused)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d tasks still not done 3 minutes after the receiver came back", total-finished, total)
		}
		time.Sleep(time.Second)
	}
}

// loadOptOuts posts CCPA opt-outs from c clients until stop is closed and
// returns the ids answered 201, and how many calls failed otherwise.
func (b *bench) loadOptOuts(c int, stop <-chan struct{}) (ids []string, failed int) {
	return loadRequests(c, stop, []string{b.baseURL}, func(n int64) map[string]any {
		return map[string]any{"kind": "opt_out",
			"subject": map[string]any{"email": fmt.Sprintf("optout%d@example.com", n), "country": "US", "state": "CA"},
			"fields":  map[string]any{"opt_out_of": "sale"}}
	})
}
