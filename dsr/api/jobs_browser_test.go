package api_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// TestBrowserRiverUICancelsAndRetriesJobs signs an admin in with headless
// Chromium, opens River UI and calls its JSON API from the page exactly as
// River UI's frontend does (fetch, a JSON string body, Accept only, no
// CSRF token): cancel and retry must work.
func TestBrowserRiverUICancelsAndRetriesJobs(t *testing.T) {
	d := apitest.Start(t, apitest.Options{})
	staff(t, d, "ada@testorg.example", workflow.RoleAdmin)
	newRequest(t, d, "access", "riverui@example.com", "US", "CA")
	id := jobIDs(t, d, 1)[0]

	// Chromium reaches the desk as http://dsr.test:<port>, a plain-http
	// origin that is not localhost: like a desk on an office network, it
	// is not a secure context, so the browser sends no Sec-Fetch-* headers
	// and the Origin header is the only proof of where a call comes from.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(d.URL, "http://"))
	base := "http://dsr.test:" + port
	ctx := newBrowserWith(t, chromedp.Flag("host-resolver-rules", "MAP dsr.test 127.0.0.1"))
	browserLoad(t, ctx, "open the sign-in page", chromedp.Navigate(base+"/console/login"))
	browserDo(t, ctx, "fill in the sign-in form",
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "ada@testorg.example"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
	)
	if code, url := browserLoad(t, ctx, "sign in", chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type=submit]`))); code != http.StatusOK || url != base+"/console/dashboard" {
		t.Fatalf("sign in: %d at %s", code, url)
	}
	if code, _ := browserLoad(t, ctx, "open River UI", chromedp.Navigate(base+"/console/jobs")); code != http.StatusOK {
		t.Fatalf("GET /console/jobs: %d", code)
	}
	call := func(action string) int {
		js := `fetch('/console/jobs/api/jobs/` + action + `', {method: 'POST', headers: {Accept: 'application/json'}, body: JSON.stringify({ids: ['` + id + `']})}).then(r => r.status)`
		return browserRun(t, ctx, action, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
	}
	if code := call("cancel"); code != http.StatusOK {
		t.Fatalf("cancel from River UI: %d, want 200", code)
	}
	if st := jobState(t, d, id); st != "cancelled" {
		t.Fatalf("job %s after cancel: %s", id, st)
	}
	if code := call("retry"); code != http.StatusOK {
		t.Fatalf("retry from River UI: %d, want 200", code)
	}
	if st := jobState(t, d, id); strings.HasPrefix(st, "cancel") {
		t.Fatalf("job %s after retry: %s", id, st)
	}
}

// newBrowserWith is newBrowser with extra Chromium options.
func newBrowserWith(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := browserChromiumPath()
	if path == "" {
		t.Fatal("browser tests need Chromium (apt-get install -y chromium)")
	}
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1200, 1600),
	}, extra...)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	return bctx
}
