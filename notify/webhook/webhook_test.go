package webhook_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/notify/webhook"
)

func newSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

func work() dsr.Work {
	return dsr.Work{
		TaskID: "tsk_01", RequestID: "req_01", System: "newsletter", Kind: dsr.KindErasure,
		Regime: "gdpr", Due: dsr.NewDate(2026, 12, 20), Email: "Ada@Example.com",
	}
}

func system(url string) dsr.System {
	return dsr.System{Name: "newsletter", Kinds: []dsr.Kind{dsr.KindErasure},
		Connector: dsr.Connector{Type: dsr.ConnectorWebhook, URL: url}}
}

// delivery is one request the receiver saw.
type delivery struct {
	header   http.Header
	body     []byte
	verified error
}

// receiver is an in-process system that verifies each delivery with the
// Standard Webhooks library and answers from a script.
type receiver struct {
	t       *testing.T
	verify  *standardwebhooks.Webhook
	mu      sync.Mutex
	got     []delivery
	answers []func(w http.ResponseWriter)
}

func newReceiver(t *testing.T, secret string, answers ...func(w http.ResponseWriter)) (*receiver, *httptest.Server) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{t: t, verify: wh, answers: answers}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	err := rc.verify.Verify(body, r.Header)
	rc.mu.Lock()
	n := len(rc.got)
	rc.got = append(rc.got, delivery{header: r.Header.Clone(), body: body, verified: err})
	rc.mu.Unlock()
	if err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if n < len(rc.answers) {
		rc.answers[n](w)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func status(code int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

func TestWebhookRetriesUntilAccepted(t *testing.T) {
	secret := newSecret(t)
	rc, srv := newReceiver(t, secret,
		status(http.StatusServiceUnavailable, "down for maintenance"),
		status(http.StatusServiceUnavailable, ""),
		status(http.StatusOK, `{"ok":true}`))
	r, err := webhook.New(system(srv.URL+"/dsr"), secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := work()
	w.Kind = dsr.KindRectification
	w.Correction = map[string]string{"name": "Ada Lovelace"}
	for i := 0; i < 2; i++ {
		_, err := r.Run(context.Background(), w)
		if err == nil || !strings.Contains(err.Error(), "503") {
			t.Fatalf("attempt %d: err = %v, want a 503 error", i+1, err)
		}
	}
	rep, err := r.Run(context.Background(), w)
	if err != nil {
		t.Fatalf("attempt 3: %v", err)
	}
	if rep.Status != dsr.TaskWaiting {
		t.Fatalf("status = %q, want waiting", rep.Status)
	}
	if len(rc.got) != 3 {
		t.Fatalf("receiver saw %d deliveries, want 3", len(rc.got))
	}
	id := rc.got[0].header.Get("webhook-id")
	for i, d := range rc.got {
		if d.verified != nil {
			t.Errorf("delivery %d: signature did not verify: %v", i+1, d.verified)
		}
		if got := d.header.Get("webhook-id"); got != id || got == "" {
			t.Errorf("delivery %d: webhook-id %q, want the stable %q", i+1, got, id)
		}
		if !strings.HasPrefix(d.header.Get("webhook-signature"), "v1,") {
			t.Errorf("delivery %d: webhook-signature %q", i+1, d.header.Get("webhook-signature"))
		}
	}
	var p map[string]any
	if err := json.Unmarshal(rc.got[2].body, &p); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"task_id": "tsk_01", "request_id": "req_01", "kind": "rectification", "regime": "gdpr",
		"due": "2026-12-20", "callback": "/api/v1/tasks/tsk_01",
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("body %s = %v, want %v", k, p[k], v)
		}
	}
	ident, _ := p["identity"].(map[string]any)
	if ident["email"] != "Ada@Example.com" || ident["email_sha256"] != dsr.EmailSHA256("ada@example.com") {
		t.Errorf("identity = %v", ident)
	}
	if c, _ := p["correction"].(map[string]any); c["name"] != "Ada Lovelace" {
		t.Errorf("correction = %v", p["correction"])
	}
}

func TestWebhookBadSecretAndTamperedBodyFailVerification(t *testing.T) {
	secret := newSecret(t)
	rc, srv := newReceiver(t, secret)
	r, err := webhook.New(system(srv.URL), newSecret(t), nil) // not the receiver's secret
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(context.Background(), work())
	if err == nil || !strings.Contains(err.Error(), "the system refused the request: 401 Unauthorized: bad signature") {
		t.Fatalf("err = %v, want the receiver's 401", err)
	}
	if len(rc.got) != 1 || rc.got[0].verified == nil {
		t.Fatalf("the receiver accepted a delivery signed with another secret")
	}

	// A correctly signed delivery with its body changed in transit.
	good, err := webhook.New(system(srv.URL), secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.Run(context.Background(), work()); err != nil {
		t.Fatalf("correct secret: %v", err)
	}
	d := rc.got[1]
	if d.verified != nil {
		t.Fatalf("correct delivery did not verify: %v", d.verified)
	}
	tampered := bytes.Replace(d.body, []byte("Ada@Example.com"), []byte("Eve@Example.com"), 1)
	if bytes.Equal(tampered, d.body) {
		t.Fatal("test body did not change")
	}
	if err := rc.verify.Verify(tampered, d.header); err == nil {
		t.Fatal("a tampered body verified")
	}
}

func TestWebhookRedirectNotFollowed(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/internal", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	// Even a caller's client that follows redirects is not followed.
	follow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	r, err := webhook.New(system(srv.URL), newSecret(t), follow)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(context.Background(), work())
	if err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("err = %v, want a redirect error", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("the redirect target was fetched %d times", hits.Load())
	}
}

func TestWebhookAnswerBounded(t *testing.T) {
	secret := newSecret(t)
	var written atomic.Int64
	const total = 64 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for written.Load() < total {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	r, err := webhook.New(system(srv.URL), secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(context.Background(), work())
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want the answer-too-large error", err)
	}
	srv.CloseClientConnections()
	srv.Close() // waits for the handler: its write fails once the client is gone
	if written.Load() >= total {
		t.Fatalf("the whole %d-byte answer was sent; the read is not bounded", total)
	}
}

func TestWebhookRefusalMessage(t *testing.T) {
	secret := newSecret(t)
	long := strings.Repeat("e", 500)
	_, srv := newReceiver(t, secret, status(http.StatusBadRequest, "unknown\nkind for ada@example.com "+long))
	r, err := webhook.New(system(srv.URL), secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(context.Background(), work())
	if err == nil {
		t.Fatal("no error for a 400")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "the system refused the request: 400 Bad Request: unknown kind for [email] eee") {
		t.Fatalf("err = %q", msg)
	}
	if len(msg) > 300 {
		t.Fatalf("error holds %d bytes of the body, want at most 200", len(msg))
	}
}

func TestWebhookAnswerIsReport(t *testing.T) {
	secret := newSecret(t)
	_, srv := newReceiver(t, secret,
		status(http.StatusOK, `{"status":"done","data":{"subscriptions":[{"list":"weekly","since":"2024-01-02"},{"list":"offers"}]}}`),
		status(http.StatusOK, `{"status":"kept","basis":"tax law"}`),
		status(http.StatusOK, `{"status":"kept"}`),
		status(http.StatusOK, `{"status":"exploded"}`),
		status(http.StatusOK, `not json at all`))
	r, err := webhook.New(system(srv.URL), secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Run(context.Background(), work())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != dsr.TaskDone || rep.Count != 2 || len(rep.Sections) != 1 {
		t.Fatalf("report = %+v", rep)
	}
	s := rep.Sections[0]
	if s.Name != "subscriptions" || strings.Join(s.Columns, ",") != "list,since" || s.Rows[0]["list"] != "weekly" {
		t.Fatalf("section = %+v", s)
	}
	if rep, err := r.Run(context.Background(), work()); err != nil || rep.Status != dsr.TaskKept || rep.Basis != "tax law" {
		t.Fatalf("kept: %+v, %v", rep, err)
	}
	if _, err := r.Run(context.Background(), work()); err == nil || !strings.Contains(err.Error(), "basis") {
		t.Fatalf("kept without basis: err = %v", err)
	}
	if _, err := r.Run(context.Background(), work()); err == nil || !strings.Contains(err.Error(), "unknown status") {
		t.Fatalf("unknown status: err = %v", err)
	}
	if rep, err := r.Run(context.Background(), work()); err != nil || rep.Status != dsr.TaskWaiting {
		t.Fatalf("plain text acceptance: %+v, %v", rep, err)
	}
}

func TestWebhookUnreachableIsError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	r, err := webhook.New(system(url), newSecret(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background(), work()); err == nil || !strings.Contains(err.Error(), "could not be reached") {
		t.Fatalf("err = %v", err)
	}
}

func TestWebhookNewValidates(t *testing.T) {
	for _, tc := range []struct{ url, secret, field string }{
		{"ftp://x/", newSecret(t), "systems.newsletter.connector.url"},
		{"/relative", newSecret(t), "systems.newsletter.connector.url"},
		{"https://u:p@x/", newSecret(t), "systems.newsletter.connector.url"},
		{"https://x/", "", "systems.newsletter.secret"},
		{"https://x/", "whsec_!!notbase64", "systems.newsletter.secret"},
	} {
		_, err := webhook.New(system(tc.url), tc.secret, nil)
		var de *dsr.Error
		if !errors.As(err, &de) || de.Code != dsr.EINVALID || de.Fields[tc.field] == "" {
			t.Errorf("New(%q, %q) = %v, want EINVALID on %s", tc.url, tc.secret, err, tc.field)
		}
		if err != nil && tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
			t.Errorf("the error quotes the secret: %v", err)
		}
	}
}

func TestWebhookAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // hang until the client gives up (or the test ends)
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	r, err := webhook.New(system(srv.URL), newSecret(t), &http.Client{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(context.Background(), work())
	if err == nil || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Fatalf("err = %v, want the attempt timeout", err)
	}
}
