package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	dto "github.com/prometheus/client_model/go"

	"github.com/dsrdesk/dsrdesk/dsr/api"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// scrape fetches url with the bearer token (none when "") and parses the
// Prometheus text exposition.
func scrape(t *testing.T, d *apitest.Desk, url, token string) (int, map[string]*dto.MetricFamily, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, b := do(t, d, req)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, string(b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("parse metrics: %v\n%s", err, b)
	}
	return resp.StatusCode, fams, string(b)
}

// sample returns the value of the series name{labels} (a gauge or counter
// value, a histogram's count) and whether it is there.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetricsOnMainAddressAdminOnly: GET /metrics needs an admin API
// token (401 without, 403 for an officer) and then shows the request
// counts by status/kind/regime, the due and overdue counts on the engine
// clock, the outbox, the job histograms by kind and the HTTP latency by
// route pattern, never by raw path (no token in a label).
func TestMetricsOnMainAddressAdminOnly(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, admin := staff(t, d, "ada@testorg.example", workflow.RoleAdmin)
	_, officer := staff(t, d, "otto@testorg.example", workflow.RoleOfficer)

	if code, _, _ := scrape(t, d, d.URL+"/metrics", ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", code)
	}
	if code, _, _ := scrape(t, d, d.URL+"/metrics", "not-a-token"); code != http.StatusUnauthorized {
		t.Fatalf("bad token: %d, want 401", code)
	}
	if code, _, _ := scrape(t, d, d.URL+"/metrics", officer); code != http.StatusForbidden {
		t.Fatalf("officer token: %d, want 403", code)
	}

	rc := newRequest(t, d, "access", "mia@example.com", "NL", "")
	newRequest(t, d, "opt_out", "cal@example.com", "US", "CA")
	// The verification mail is delivered by a job of kind deliver: wait
	// for it, then for River's event to reach the histogram.
	d.MailTo(t, "mia@example.com", 1)
	// A status page under its token: the label must be the pattern.
	statusLink := rc.StatusURL
	if resp, _ := get(t, d, statusLink); resp.StatusCode != http.StatusOK {
		t.Fatalf("status page: %d", resp.StatusCode)
	}

	var fams map[string]*dto.MetricFamily
	var text string
	deadline := time.Now().Add(20 * time.Second)
	for {
		var code int
		code, fams, text = scrape(t, d, d.URL+"/metrics", admin)
		if code != http.StatusOK {
			t.Fatalf("admin token: %d, want 200: %s", code, text)
		}
		if _, ok := sample(fams, "dsrdesk_job_duration_seconds", map[string]string{"kind": "deliver_message"}); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dsrdesk_job_duration_seconds{kind=deliver_message} after 20s:\n%s", grepLines(text, "dsrdesk_job"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"dsrdesk_requests", map[string]string{"status": "pending_verification", "kind": "access", "regime": "gdpr"}, 1},
		{"dsrdesk_requests_overdue", nil, 0},
		{"dsrdesk_outbox_failed_messages", nil, 0},
		{"dsrdesk_metrics_database_errors", nil, 0},
		{"dsrdesk_http_request_duration_seconds", map[string]string{"route": "/api/v1/requests", "method": "POST", "code": "201"}, 2},
		{"dsrdesk_http_request_duration_seconds", map[string]string{"route": "/status/:token", "method": "GET", "code": "200"}, 1},
		{"dsrdesk_http_request_duration_seconds", map[string]string{"route": "/metrics", "method": "GET", "code": "403"}, 1},
		{"dsrdesk_http_request_duration_seconds", map[string]string{"route": "/metrics", "method": "GET", "code": "401"}, 2},
	}
	for _, w := range want {
		got, ok := sample(fams, w.name, w.labels)
		if !ok || got != w.value {
			t.Errorf("%s%v = %v (present %v), want %v\n%s", w.name, w.labels, got, ok, w.value, grepLines(text, w.name))
		}
	}
	// The opt-out under the CCPA needs no verification: some other status,
	// but counted under its kind and regime.
	var optOuts float64
	for _, m := range fams["dsrdesk_requests"].GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		if l["kind"] == "opt_out" && l["regime"] == "ccpa" {
			optOuts += m.GetGauge().GetValue()
		}
	}
	if optOuts != 1 {
		t.Errorf("opt_out/ccpa requests = %v, want 1\n%s", optOuts, grepLines(text, "dsrdesk_requests{"))
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go collector series (go_goroutines)")
	}
	token := statusLink[strings.LastIndex(statusLink, "/")+1:]
	if strings.Contains(text, token) || strings.Contains(text, admin) {
		t.Error("a token appears in the metrics")
	}

	// Six weeks on (engine clock), the unverified GDPR request is overdue
	// and no longer due within the week.
	d.Clock.Advance(42 * 24 * time.Hour)
	_, fams, text = scrape(t, d, d.URL+"/metrics", admin)
	if got, _ := sample(fams, "dsrdesk_requests_overdue", nil); got < 1 {
		t.Errorf("overdue after six weeks = %v, want ≥ 1\n%s", got, grepLines(text, "dsrdesk_requests_"))
	}
	if got, _ := sample(fams, "dsrdesk_requests_due_within_7_days", nil); got != 0 {
		t.Errorf("due within 7 days after six weeks = %v, want 0", got)
	}
}

// TestMetricsOnOwnAddress: with the metrics on their own listener
// (DSR_METRICS_ADDR), the main address has no /metrics and the handler
// answers without authentication.
func TestMetricsOnOwnAddress(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{Server: func(o *api.Options) { o.MetricsOwnAddr = true }})
	_, admin := staff(t, d, "ada@testorg.example", workflow.RoleAdmin)
	if code, _, _ := scrape(t, d, d.URL+"/metrics", admin); code != http.StatusNotFound {
		t.Fatalf("main address /metrics: %d, want 404", code)
	}
	own := httptest.NewServer(d.Server.MetricsHandler())
	t.Cleanup(own.Close)
	newRequest(t, d, "erasure", "eve@example.com", "DE", "")
	code, fams, text := scrape(t, d, own.URL+"/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("own address: %d: %s", code, text)
	}
	if got, _ := sample(fams, "dsrdesk_requests", map[string]string{"kind": "erasure", "regime": "gdpr", "status": "pending_verification"}); got != 1 {
		t.Errorf("erasure/gdpr pending_verification = %v, want 1\n%s", got, grepLines(text, "dsrdesk_requests"))
	}
	if _, ok := fams["dsrdesk_outbox_queued_messages"]; !ok {
		t.Error("no dsrdesk_outbox_queued_messages")
	}
}

// grepLines returns the lines of text containing part (for failure output).
func grepLines(text, part string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, part) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestMetricsCountFailedDelivery: a verification mail the relay refuses
// for good (550) is a failed message in the outbox gauge and a job error
// of kind deliver_message.
func TestMetricsCountFailedDelivery(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, admin := staff(t, d, "ada@testorg.example", workflow.RoleAdmin)
	d.SMTP.FailNext(1, 550, "no such mailbox")
	newRequest(t, d, "access", "gone@example.com", "NL", "")
	// The job error is counted when River reports the job (not cached).
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, fams, text := scrape(t, d, d.URL+"/metrics", admin)
		if errs, _ := sample(fams, "dsrdesk_job_errors_total", map[string]string{"kind": "deliver_message"}); errs == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no deliver_message job error after 20s\n%s", grepLines(text, "dsrdesk_job_errors"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The database gauges are read again once 15 s have passed on the
	// engine clock; the message was recorded failed before its job ended.
	d.Clock.Advance(16 * time.Second)
	_, fams, text := scrape(t, d, d.URL+"/metrics", admin)
	failed, _ := sample(fams, "dsrdesk_outbox_failed_messages", nil)
	queued, ok := sample(fams, "dsrdesk_outbox_queued_messages", nil)
	if failed != 1 || !ok || queued != 0 {
		t.Errorf("failed %v, queued %v (present %v), want 1 and 0\n%s", failed, queued, ok, grepLines(text, "dsrdesk_outbox"))
	}
}
