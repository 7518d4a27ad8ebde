package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr/api"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// logBuffer collects slog output from the server's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines returns the log lines containing all of parts.
func (l *logBuffer) lines(parts ...string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		ok := line != ""
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

func trustLoopback(t *testing.T) func(*api.Options) {
	nets, err := api.ParseTrustedProxies("127.0.0.1/32, ::1")
	if err != nil {
		t.Fatal(err)
	}
	return func(o *api.Options) { o.TrustedProxies = nets }
}

// postFrom posts a JSON intake request claiming (in headers) to come from
// a client behind a proxy.
func postFrom(t *testing.T, d *apitest.Desk, header map[string]string) int {
	t.Helper()
	resp, _ := postJSON(t, d, `{"kind": "access", "subject": {"email": "xff@example.com", "country": "NL"}}`, header)
	return resp.StatusCode
}

func TestForwardedHeadersAreIgnoredByDefault(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{PublicRate: 0.001, PublicBurst: 2})
	var codes []int
	for _, ip := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		codes = append(codes, postFrom(t, d, map[string]string{"X-Forwarded-For": ip, "X-Real-IP": ip}))
	}
	if codes[0] != 201 || codes[1] != 201 || codes[2] != http.StatusTooManyRequests {
		t.Fatalf("codes %v, want [201 201 429]: without trusted proxies the peer address is the client", codes)
	}
}

func TestTrustedProxyNamesTheClient(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{PublicRate: 0.001, PublicBurst: 2, Server: trustLoopback(t)})
	xff := func(v string) map[string]string { return map[string]string{"X-Forwarded-For": v} }
	got := []int{
		postFrom(t, d, xff("203.0.113.1")),
		postFrom(t, d, xff("203.0.113.1")),
		postFrom(t, d, xff("203.0.113.2")), // another client: its own bucket
		postFrom(t, d, xff("203.0.113.1")), // the first client's bucket is empty
		// A client behind the proxy forging a leftmost hop is still
		// itself: the rightmost untrusted hop counts.
		postFrom(t, d, xff("198.51.100.7, 203.0.113.1")),
		postFrom(t, d, map[string]string{"X-Real-IP": "203.0.113.9"}),
	}
	want := []int{201, 201, 201, 429, 429, 201}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("codes %v, want %v", got, want)
		}
	}
}

func TestParseTrustedProxies(t *testing.T) {
	t.Parallel()
	nets, err := api.ParseTrustedProxies(" 10.0.0.0/8,192.0.2.1 , ::1 ,")
	if err != nil || len(nets) != 3 || nets[1].String() != "192.0.2.1/32" || nets[2].String() != "::1/128" {
		t.Fatalf("ParseTrustedProxies: %v %v", nets, err)
	}
	if nets, err := api.ParseTrustedProxies(""); err != nil || len(nets) != 0 {
		t.Fatalf("empty: %v %v", nets, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.0/8;1.2.3.4"} {
		if _, err := api.ParseTrustedProxies(bad); err == nil || !strings.Contains(err.Error(), "CIDR") {
			t.Errorf("%q: %v, want an error", bad, err)
		}
	}
}

// signIn posts the login form from a client at ip (behind the trusted
// proxy) and returns the status.
func signIn(t *testing.T, d *apitest.Desk, ip, email, password string) int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, d: d, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	b.get("/console/login")
	form := url.Values{"email": {email}, "password": {password}, "_csrf": {b.csrf}}
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/console/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSignInIsLimitedPerAccountAcrossAddresses(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{Server: trustLoopback(t)})
	staff(t, d, "target@testorg.example", workflow.RoleAdmin)
	staff(t, d, "bystander@testorg.example", workflow.RoleOfficer)
	for i := 0; i < 10; i++ {
		if code := signIn(t, d, "198.51.100."+itoa(i+1), "target@testorg.example", "guess "+itoa(i)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, code)
		}
	}
	// The 11th guess, from yet another address, is refused; so is the
	// right password while the account is limited.
	if code := signIn(t, d, "198.51.100.99", "target@testorg.example", "guess 11"); code != http.StatusTooManyRequests {
		t.Fatalf("11th guess from a new address: %d, want 429", code)
	}
	if code := signIn(t, d, "198.51.100.98", "TARGET@testorg.example", testPassword); code != http.StatusTooManyRequests {
		t.Fatalf("right password on the limited account: %d, want 429", code)
	}
	// Another account from one of the same addresses is not affected.
	if code := signIn(t, d, "198.51.100.1", "bystander@testorg.example", testPassword); code != http.StatusSeeOther {
		t.Fatalf("other account: %d, want 303", code)
	}
}

func TestSuccessfulSignInsDoNotUseUpTheAddress(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	staff(t, d, "office@testorg.example", workflow.RoleOfficer)
	for i := 0; i < 20; i++ {
		if code := signIn(t, d, "", "office@testorg.example", testPassword); code != http.StatusSeeOther {
			t.Fatalf("sign-in %d from the shared address: %d, want 303", i+1, code)
		}
	}
	// Failures still count against the address: 5, then 429.
	var codes []int
	for i := 0; i < 6; i++ {
		codes = append(codes, signIn(t, d, "", "nobody-"+itoa(i)+"@testorg.example", "x"))
	}
	if codes[0] != http.StatusUnauthorized || codes[4] != http.StatusUnauthorized || codes[5] != http.StatusTooManyRequests {
		t.Fatalf("failures from one address: %v, want 401×5 then 429", codes)
	}
}

func TestEverySignInPaysOnePasswordVerification(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{PublicRate: 1000, PublicBurst: 1000, Server: trustLoopback(t)})
	u, _ := staff(t, d, "gone@testorg.example", workflow.RoleOfficer)
	staff(t, d, "here@testorg.example", workflow.RoleOfficer)
	if _, err := d.Pool.Exec(context.Background(), `UPDATE users SET disabled_at = now() WHERE id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, email, password string
		want                  int
	}{
		{"unknown account", "nobody@testorg.example", testPassword, http.StatusUnauthorized},
		{"disabled account, right password", "gone@testorg.example", testPassword, http.StatusUnauthorized},
		{"disabled account, wrong password", "gone@testorg.example", "wrong", http.StatusUnauthorized},
		{"wrong password", "here@testorg.example", "wrong", http.StatusUnauthorized},
		{"right password", "here@testorg.example", testPassword, http.StatusSeeOther},
	}
	for i, tc := range cases {
		before := api.PasswordChecks(d.Server)
		if code := signIn(t, d, "192.0.2."+itoa(i+1), tc.email, tc.password); code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.want)
		}
		if n := api.PasswordChecks(d.Server) - before; n != 1 {
			t.Errorf("%s: %d password verifications, want exactly 1 (every path costs the same)", tc.name, n)
		}
	}
}

func TestSecurityEventsAreLoggedWithoutSecrets(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	trust := trustLoopback(t)
	d := apitest.Start(t, apitest.Options{Server: func(o *api.Options) {
		trust(o)
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}})
	u, token := staff(t, d, "sec@testorg.example", workflow.RoleAdmin)
	const secret = "Tr0ub4dor&3-not-for-logs"
	if code := signIn(t, d, "203.0.113.50", "sec@testorg.example", secret); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	if code := signIn(t, d, "203.0.113.51", "stranger@example.com", secret); code != http.StatusUnauthorized {
		t.Fatalf("unknown account: %d", code)
	}
	if code := signIn(t, d, "203.0.113.52", "sec@testorg.example", testPassword); code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", code)
	}
	if status, _ := adminCall(t, d, token, http.MethodGet, "/api/v1/admin/requests", nil); status != 200 {
		t.Fatalf("api call: %d", status)
	}
	for _, want := range [][]string{
		{"event=security", "action=login_failed", "ip=203.0.113.50", "user_id=" + u.ID, "reason=wrong_password"},
		{"event=security", "action=login_failed", "ip=203.0.113.51", "reason=unknown_account"},
		{"event=security", "action=login_succeeded", "ip=203.0.113.52", "user_id=" + u.ID},
		{"event=security", "action=api_token_used", "user_id=" + u.ID},
	} {
		if len(logs.lines(want...)) == 0 {
			t.Errorf("no log line with %v in:\n%s", want, logs)
		}
	}
	all := logs.String()
	for _, leak := range []string{secret, testPassword, token, "stranger@example.com", "sec@testorg.example"} {
		if strings.Contains(all, leak) {
			t.Errorf("the log holds %q:\n%s", leak, all)
		}
	}
}

func TestErrorLogsDoNotQuoteTheInput(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	d := apitest.Start(t, apitest.Options{Server: func(o *api.Options) { o.Logger = slog.New(slog.NewTextHandler(logs, nil)) }})
	api.AddFailingQueryRoute(d.Server, d.Pool)
	const input = "Jane Doe, 12 Secret Lane"
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/test/fail", strings.NewReader(url.Values{"text": {input}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := do(t, d, req)
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(string(body), input) {
		t.Fatalf("failing query: %d %s", resp.StatusCode, body)
	}
	if len(logs.lines("internal error", "sqlstate=42P01")) == 0 || len(logs.lines("status=500", "sqlstate=42P01")) == 0 {
		t.Errorf("the 500 is not logged with its kind:\n%s", logs)
	}
	if strings.Contains(logs.String(), "Secret Lane") {
		t.Errorf("the log quotes the submitted text:\n%s", logs)
	}
}

func TestHSTSOnlyForHTTPS(t *testing.T) {
	t.Parallel()
	plain := apitest.Start(t, apitest.Options{})
	secure := apitest.Start(t, apitest.Options{Server: func(o *api.Options) { o.Secure = true }})
	resp, _ := get(t, plain, plain.URL+"/healthz")
	if h := resp.Header.Get("Strict-Transport-Security"); h != "" {
		t.Errorf("http base URL: HSTS %q, want none", h)
	}
	resp, _ = get(t, secure, secure.URL+"/healthz")
	if h := resp.Header.Get("Strict-Transport-Security"); h != "max-age=31536000; includeSubDomains" {
		t.Errorf("https base URL: HSTS %q", h)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestParallelGuessesCannotOutrunTheLimits(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{Server: trustLoopback(t)})
	staff(t, d, "rush@testorg.example", workflow.RoleOfficer)
	// Each guess holds its tokens from before the (slow) password check, so
	// 30 guesses in parallel get no more checks than 30 in a row.
	count := func(ipOf func(i int) string) (tried, limited int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := 0; i < 30; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code := signIn(t, d, ipOf(i), "rush@testorg.example", "guess")
				mu.Lock()
				defer mu.Unlock()
				switch code {
				case http.StatusUnauthorized:
					tried++
				case http.StatusTooManyRequests:
					limited++
				default:
					t.Errorf("guess: %d", code)
				}
			}()
		}
		wg.Wait()
		return tried, limited
	}
	// The buckets refill (one guess per 12 s per address, one per 90 s per
	// account); a slow machine may earn a refill while the test runs.
	start := time.Now()
	tried, limited := count(func(int) string { return "203.0.113.77" })
	if most := 5 + int(time.Since(start)/(12*time.Second)); tried < 5 || tried > most || tried+limited != 30 {
		t.Errorf("30 parallel guesses from one address: %d checked, %d refused; want 5 (at most %d) checked", tried, limited, most)
	}
	tried, limited = count(func(i int) string { return "198.51.100." + itoa(i+1) })
	if most := 5 + int(time.Since(start)/(90*time.Second)); tried < 5 || tried > most || tried+limited != 30 {
		t.Errorf("30 parallel guesses from 30 addresses: %d checked, %d refused; want the account's remaining 5 (at most %d)", tried, limited, most)
	}
}
