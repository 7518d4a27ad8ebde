package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

func TestFormHonoursOnlyTheExactGPCSignal(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	for _, tc := range []struct {
		name   string
		values []string
		want   bool
	}{
		{"1", []string{"1"}, true}, {"0", []string{"0"}, false}, {"true", []string{"true"}, false},
		{"spaces", []string{" 1 "}, true}, {"two fields 1 1", []string{"1", "1"}, true},
		{"two fields 1 0", []string{"1", "0"}, false}, {"absent", nil, false},
	} {
		req, _ := http.NewRequest(http.MethodGet, d.URL+"/", nil)
		for _, v := range tc.values {
			req.Header.Add("Sec-GPC", v)
		}
		resp, body := do(t, d, req)
		if got := strings.Contains(string(body), `id="gpc-notice"`); resp.StatusCode != 200 || got != tc.want {
			t.Errorf("%s: notice shown %v, want %v", tc.name, got, tc.want)
		}
	}
	resp, body := get(t, d, d.URL+"/.well-known/gpc.json")
	if resp.StatusCode != 200 || !strings.Contains(body, `"gpc":true`) || !strings.Contains(body, `"lastUpdate":"`) {
		t.Fatalf("gpc.json: %d %s", resp.StatusCode, body)
	}
}

func gpcPost(t *testing.T, d *apitest.Desk, body string, signal bool) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/api/v1/gpc", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if signal {
		req.Header.Set("Sec-GPC", "1")
	}
	return do(t, d, req)
}

func TestGPCOptOutIsRecordedWithoutVerificationAndFed(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	if resp, _ := gpcPost(t, d, `{"device_id": "dev-123"}`, false); resp.StatusCode != 422 {
		t.Fatalf("without the signal: %d", resp.StatusCode)
	}
	if resp, _ := gpcPost(t, d, `{}`, true); resp.StatusCode != 422 {
		t.Fatalf("without an identifier: %d", resp.StatusCode)
	}
	resp, b := gpcPost(t, d, `{"device_id": "dev-123"}`, true)
	if resp.StatusCode != http.StatusAccepted || string(b) != `{"status":"recorded","regime":"ccpa","opt_out_of":"sale,sharing"}`+"\n" {
		t.Fatalf("GPC answer %d %q", resp.StatusCode, b)
	}
	var rc receipt
	if err := d.Pool.QueryRow(ctx, `SELECT id FROM requests WHERE fields ->> 'device_id' = 'dev-123'`).Scan(&rc.ID); err != nil {
		t.Fatal(err)
	}
	req, err := d.Engine.Request(ctx, rc.ID)
	if err != nil {
		t.Fatal(err)
	}
	ccpa, _ := dsr.LookupRegime("ccpa")
	cal, _ := dsr.LookupCalendar("US")
	want, _ := dsr.ComputeDeadlines(dsr.DeadlineInput{Regime: ccpa, Kind: dsr.KindOptOut, Received: req.ReceivedOn, Calendar: cal})
	if req.Status != dsr.StatusOpen || req.Channel != dsr.ChannelGPC || req.Regime != "ccpa" || req.DueOn != want.Due || req.Fields["opt_out_of"] != "sale,sharing" {
		t.Fatalf("GPC request: status %s channel %s regime %s due %s (want %s) fields %v", req.Status, req.Channel, req.Regime, req.DueOn, want.Due, req.Fields)
	}
	if resp, again := gpcPost(t, d, `{"device_id": "dev-123"}`, true); resp.StatusCode != http.StatusAccepted || string(again) != string(b) {
		t.Fatalf("repeat from the same device: %d %s, want the same 202 answer", resp.StatusCode, again)
	}
	var n int
	_ = d.Pool.QueryRow(ctx, `SELECT count(*) FROM requests WHERE channel = 'gpc'`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d GPC requests after a repeat, want 1", n)
	}
	// A form opt-out lands in the same feed.
	form := newRequest(t, d, "opt_out", "formy@example.com", "US", "CA")
	_, tok := staff(t, d, "feed@testorg.example", workflow.RoleOfficer)
	code, out := adminCall(t, d, tok, "GET", "/api/v1/admin/opt-outs?since=2000-01-01", nil)
	feed := mustJSON(out["data"])
	if code != 200 || !strings.Contains(feed, rc.ID) || !strings.Contains(feed, form.ID) || !strings.Contains(feed, `"channel":"gpc"`) || !strings.Contains(feed, "dev-123") {
		t.Fatalf("feed: %d %s", code, feed)
	}
	if code, _ := adminCall(t, d, tok, "POST", "/api/v1/admin/opt-outs/"+rc.ID+"/applied", map[string]string{"system": "Ad Tech!"}); code != 422 {
		t.Fatalf("bad system name: %d", code)
	}
	if code, _ := adminCall(t, d, tok, "POST", "/api/v1/admin/opt-outs/"+rc.ID+"/applied", map[string]string{"system": "adtech"}); code != 200 {
		t.Fatalf("mark applied: %d", code)
	}
	_, out = adminCall(t, d, tok, "GET", "/api/v1/admin/opt-outs?since=2000-01-01&system=adtech", nil)
	if f := mustJSON(out["data"]); strings.Contains(f, rc.ID) || !strings.Contains(f, form.ID) {
		t.Fatalf("feed for adtech still lists the applied opt-out: %s", f)
	}
	if code, _ := adminCall(t, d, tok, "GET", "/api/v1/admin/opt-outs?since=yesterday", nil); code != 422 {
		t.Fatalf("bad since: %d", code)
	}
	// The form on a GPC browser records it too, identified by a cookie.
	jar := &http.Client{}
	req2, _ := http.NewRequest(http.MethodPost, d.URL+"/gpc", strings.NewReader(url.Values{"email": {""}}.Encode()))
	req2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req2.Header.Set("Sec-GPC", "1")
	resp2, err := jar.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusOK || !strings.Contains(resp2.Header.Get("Set-Cookie"), "dsr_device=") {
		t.Fatalf("form GPC: %d %q", resp2.StatusCode, resp2.Header.Get("Set-Cookie"))
	}
}
