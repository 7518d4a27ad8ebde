package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// BenchmarkConsoleQueue renders the officer queue (full HTML over HTTP,
// signed in) with DSR_BENCH_REQUESTS requests (default 1,000,000) in the
// database and reports p50/p95 per page in milliseconds.
//
//	go test ./dsr/api -run '^$' -bench ConsoleQueue -benchtime 1x -timeout 30m
func BenchmarkConsoleQueue(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("DSR_BENCH_REQUESTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	d := apitest.Start(b, apitest.Options{})
	start := time.Now()
	if err := dbtest.SeedRequests(context.Background(), d.Pool, n); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d requests in %s", n, time.Since(start).Round(time.Second))
	client := benchLogin(b, d)
	pages := []struct{ name, query string }{
		{"first_page", ""},
		{"kind_access", "?kind=access"},
		{"unassigned_overdue", "?assignee=unassigned&overdue=1"},
		{"has_agent", "?agent=1"},
		{"search_email", "?q=seed42@example.com"},
		{"status_awaiting", "?status=awaiting_requester&regime=uk_gdpr"},
	}
	const samples = 200
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range pages {
			lat := make([]time.Duration, 0, samples)
			for j := 0; j < samples+10; j++ {
				t0 := time.Now()
				resp, err := client.Get(d.URL + "/console" + p.query)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(body), "DSR-") {
					b.Fatalf("%s: %d", p.name, resp.StatusCode)
				}
				if j >= 10 { // warm-up excluded
					lat = append(lat, time.Since(t0))
				}
			}
			sort.Slice(lat, func(a, c int) bool { return lat[a] < lat[c] })
			b.ReportMetric(ms(lat[len(lat)/2]), p.name+"_p50_ms")
			b.ReportMetric(ms(lat[len(lat)*95/100]), p.name+"_p95_ms")
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func benchLogin(b *testing.B, d *apitest.Desk) *http.Client {
	hash, _ := dsr.HashPassword(testPassword)
	if err := d.Engine.AddUser(context.Background(), &workflow.User{Email: "bench@testorg.example", Role: workflow.RoleOfficer, PasswordHash: hash}); err != nil {
		b.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(d.URL + "/console/login")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		b.Fatal("no CSRF token on the login page")
	}
	resp, err = c.PostForm(d.URL+"/console/login", url.Values{"email": {"bench@testorg.example"}, "password": {testPassword}, "_csrf": {string(m[1])}})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("login: %d", resp.StatusCode)
	}
	return c
}
