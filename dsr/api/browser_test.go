package api_test

// Browser tests: a real headless Chromium walks the public pages of a whole
// desk (apitest.Start), with clicks and key presses only: the pages need no
// JavaScript. The tests need Debian's chromium package (CI installs it).
//
// Set DSR_SCREENSHOTS=1 to write docs/form.png and docs/status.png.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
)

const (
	browserTimeout     = 90 * time.Second // the whole browser session of a test
	browserStepTimeout = 30 * time.Second // one step: a navigation, a click, a query
)

// browserChromiumPath returns the Chromium executable, or "".
func browserChromiumPath() string {
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts headless Chromium in a fresh profile and returns its tab.
// The browser stops when t ends, before the desk does.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := browserChromiumPath()
	if path == "" {
		t.Fatal("browser tests need Chromium, but no chromium executable was found in PATH or at /usr/bin/chromium. " +
			"Install Debian's chromium package (apt-get install -y chromium); CI installs it.")
	}
	profile := t.TempDir() // removed after the browser has stopped (cleanups run last-in first-out)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // containers often have a 64 MB /dev/shm
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1200, 1600),
	)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	// The first Run starts the browser; it lives as long as bctx, so it must
	// not run under a step timeout.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	return bctx
}

// browserDo runs steps under a step timeout and fails t on error.
func browserDo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserStepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// browserRun runs one action under a step timeout and returns its value.
func browserRun[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserStepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// browserLoad runs steps that cause a page load (a navigation, a click on a submit
// button) and returns the HTTP status and URL of the document that loaded.
func browserLoad(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) (int, string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserStepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(sctx, steps...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return int(resp.Status), resp.URL
}

// browserScreenshot writes a full-page PNG to docs/<name> when DSR_SCREENSHOTS=1.
func browserScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("DSR_SCREENSHOTS") != "1" {
		return
	}
	png := browserRun(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100)) // quality 100 = PNG
	out := filepath.Join("..", "..", "docs", name)
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", out)
}

// browserLabelReport is what browserLabelCheckJS finds.
type browserLabelReport struct {
	Checked    int      `json:"checked"`
	Unlabelled []string `json:"unlabelled"`
	AboutYou   []string `json:"aboutYou"` // "id: label text" of the About you fieldset
}

// browserLabelCheckJS lists every visible form control without an accessible
// label (a <label for>, a wrapping <label>, aria-label or aria-labelledby),
// and the labels of the controls in the "About you" fieldset.
const browserLabelCheckJS = `(() => {
	const named = el => (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
	const r = {checked: 0, unlabelled: [], aboutYou: []};
	for (const el of document.querySelectorAll('input, select, textarea')) {
		if (el.type === 'hidden' || !el.checkVisibility()) continue;
		r.checked++;
		if (!named(el)) r.unlabelled.push(el.id || el.name || el.outerHTML.slice(0, 80));
	}
	const fs = [...document.querySelectorAll('fieldset')].find(f => f.querySelector('legend')?.textContent.trim() === 'About you');
	if (fs) for (const el of fs.querySelectorAll('input, select, textarea')) {
		r.aboutYou.push(el.id + ': ' + [...(el.labels || [])].map(l => l.textContent.trim()).join(' | '));
	}
	return r;
})()`

func browserCheckLabels(t *testing.T, ctx context.Context) {
	t.Helper()
	r := browserRun(t, ctx, "label check", chromedp.Evaluate[browserLabelReport](browserLabelCheckJS))
	if r.Checked < 10 {
		t.Errorf("label check saw only %d visible form controls; is the form there?", r.Checked)
	}
	if len(r.Unlabelled) > 0 {
		t.Errorf("form controls without a label: %v", r.Unlabelled)
	}
	for _, want := range []string{"email: Email address", "country: Country where you live"} {
		if !slices.ContainsFunc(r.AboutYou, func(s string) bool { return strings.HasPrefix(s, want) }) {
			t.Errorf("About you fieldset: no control %q; got %q", want, r.AboutYou)
		}
	}
}

// browserKindFieldsetsJS lists the classes of the kind-specific fieldsets
// that are rendered.
const browserKindFieldsetsJS = `[...document.querySelectorAll('fieldset.kf')].filter(f => f.checkVisibility()).map(f => f.className)`

var browserLongDate = regexp.MustCompile(`(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) \d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December) \d{4}`)

func TestBrowserRequesterJourney(t *testing.T) {
	desk := apitest.Start(t, apitest.Options{})
	ctx := newBrowser(t)

	// The form.
	if code, _ := browserLoad(t, ctx, "open the form", chromedp.Navigate(desk.URL+"/")); code != 200 {
		t.Fatalf("GET /: status %d", code)
	}
	browserDo(t, ctx, "wait for the form", chromedp.WaitVisible(chromedp.CSS(`form[action="/requests"]`)))
	if title := browserRun(t, ctx, "title", chromedp.Title()); !strings.Contains(title, "Make a privacy request") {
		t.Errorf("title = %q", title)
	}
	browserCheckLabels(t, ctx)
	browserScreenshot(t, ctx, "form.png")

	// Fill it in with clicks and keys, and send it with the button.
	browserDo(t, ctx, "fill in the form",
		chromedp.Click(chromedp.ID("kind-access")),
		chromedp.SendKeys(chromedp.ID("email"), "ana@example.com"),
		chromedp.SendKeys(chromedp.ID("name"), "Ana de Vries"),
		chromedp.SendKeys(chromedp.ID("country"), "Netherlands"), // type-ahead in the focused select
	)
	if v := browserRun(t, ctx, "country value", chromedp.Value(chromedp.ID("country"))); v != "NL" {
		t.Fatalf("typing Netherlands into #country chose %q, want NL", v)
	}
	if got := browserRun(t, ctx, "kind fieldsets", chromedp.Evaluate[[]string](browserKindFieldsetsJS)); !slices.Equal(got, []string{"kf kf-access"}) {
		t.Errorf("after choosing access, visible kind fieldsets = %q, want only kf-access", got)
	}
	code, _ := browserLoad(t, ctx, "send the form", chromedp.Click(chromedp.CSS(`form[action="/requests"] button[type=submit]`)))
	if code != 201 {
		body := browserRun(t, ctx, "page text", chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("POST /requests: status %d, want 201; page:\n%s", code, body)
	}
	received := browserRun(t, ctx, "received page", chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(strings.ToLower(received), "check your email") {
		t.Errorf("received page does not say to check email:\n%s", received)
	}
	ref := regexp.MustCompile(`DSR-\d+`).FindString(received)
	if ref == "" {
		t.Fatalf("received page shows no DSR- reference:\n%s", received)
	}

	// The verification email, its link and the Confirm button.
	msgs := desk.MailTo(t, "ana@example.com", 1)
	link := apitest.LinkWith(t, msgs[0], "/verify/")
	if code, _ := browserLoad(t, ctx, "open the verification link", chromedp.Navigate(link)); code != 200 {
		t.Fatalf("GET verification link: status %d", code)
	}
	button := chromedp.CSS(`form[action^="/verify/"] button[type=submit]`)
	browserDo(t, ctx, "wait for the Confirm button", chromedp.WaitVisible(button))
	if txt := browserRun(t, ctx, "button text", chromedp.Text(button)); strings.TrimSpace(txt) != "Confirm" {
		t.Errorf("verify button says %q, want Confirm", txt)
	}
	if txt := browserRun(t, ctx, "verify page", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(txt, ref) {
		t.Errorf("verify page does not show reference %s:\n%s", ref, txt)
	}
	code, url := browserLoad(t, ctx, "confirm", chromedp.Click(button))
	if code != 200 || !strings.Contains(url, "/status/") {
		t.Fatalf("after Confirm: status %d at %s, want 200 on the status page", code, url)
	}

	// The status page.
	browserDo(t, ctx, "wait for the status page", chromedp.WaitVisible(chromedp.ID("status")))
	if s := browserRun(t, ctx, "#status", chromedp.Text(chromedp.ID("status"))); strings.TrimSpace(s) != "Received" {
		t.Errorf("#status = %q, want Received", s)
	}
	due := strings.TrimSpace(browserRun(t, ctx, "#due", chromedp.Text(chromedp.ID("due"))))
	if d := browserLongDate.FindString(due); d == "" {
		t.Errorf("#due = %q, want a date like Monday 2 January 2006", due)
	} else if day, err := time.Parse("Monday 2 January 2006", d); err != nil || day.Before(time.Now()) {
		t.Errorf("#due = %q: not a future date (%v)", due, err)
	}
	if txt := browserRun(t, ctx, "status page", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(txt, ref) {
		t.Errorf("status page does not show reference %s:\n%s", ref, txt)
	}

	// The acknowledgement.
	msgs = desk.MailTo(t, "ana@example.com", 2)
	if !strings.Contains(msgs[1].Subject, "is being handled") {
		t.Errorf("second email subject = %q, want the acknowledgement (\"is being handled\")", msgs[1].Subject)
	}
	// Reload so that the history shows the acknowledgement too.
	if code, _ := browserLoad(t, ctx, "reload the status page", chromedp.Reload()); code != 200 {
		t.Fatalf("reload status page: status %d", code)
	}
	browserDo(t, ctx, "wait for the status page", chromedp.WaitVisible(chromedp.ID("status")))
	browserScreenshot(t, ctx, "status.png")
}

func TestBrowserFormShowsErrorsNextToFields(t *testing.T) {
	desk := apitest.Start(t, apitest.Options{})
	ctx := newBrowser(t)

	if code, _ := browserLoad(t, ctx, "open the form", chromedp.Navigate(desk.URL+"/")); code != 200 {
		t.Fatalf("GET /: status %d", code)
	}
	submit := chromedp.CSS(`form[action="/requests"] button[type=submit]`)
	code, _ := browserLoad(t, ctx, "send the empty form", chromedp.Click(submit))
	if code != 422 {
		t.Errorf("POST /requests with an empty form: status %d, want 422", code)
	}

	// The summary at the top, announced as an alert, linking to the field.
	browserDo(t, ctx, "wait for the error summary", chromedp.WaitVisible(chromedp.ID("errors")))
	if role := browserRun(t, ctx, "summary role", chromedp.AttributeValue(chromedp.ID("errors"), "role")); role.Value != "alert" {
		t.Errorf("error summary role = %q, want alert", role.Value)
	}
	summary := browserRun(t, ctx, "summary text", chromedp.Text(chromedp.ID("errors")))
	if !strings.Contains(summary, "Email address") {
		t.Errorf("error summary does not mention the email address:\n%s", summary)
	}
	browserDo(t, ctx, "summary links to #email", chromedp.Query(chromedp.CSS(`#errors a[href="#email"]`)))
	// Focus moves to the summary (no JavaScript: autofocus), the title says
	// Error, the fields in error say so, and the kind error links to the
	// first choice, a radio that can take focus.
	if id := browserRun(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.id`)); id != "errors" {
		t.Errorf("focus after the failed submit is on #%s, want #errors", id)
	}
	if title := browserRun(t, ctx, "title", chromedp.Title()); !strings.HasPrefix(title, "Error: ") {
		t.Errorf("title = %q, want it to start with Error: ", title)
	}
	if inv := browserRun(t, ctx, "#email aria-invalid", chromedp.Evaluate[string](`document.getElementById('email').getAttribute('aria-invalid') || ''`)); inv != "true" {
		t.Errorf("#email aria-invalid = %q, want true", inv)
	}
	if ok := browserRun(t, ctx, "kind link", chromedp.Evaluate[bool](`(() => {
		const a = [...document.querySelectorAll('#errors a')].find(a => a.textContent.startsWith('Request'));
		const first = document.querySelector('input[type=radio][name=kind]');
		return !!a && !!first && a.getAttribute('href') === '#' + first.id;
	})()`)); !ok {
		t.Error("the kind error does not link to the first kind radio")
	}

	// The message next to the field, tied to it with aria-describedby.
	browserDo(t, ctx, "wait for #email-error", chromedp.WaitVisible(chromedp.ID("email-error")))
	if msg := strings.TrimSpace(browserRun(t, ctx, "#email-error", chromedp.Text(chromedp.ID("email-error")))); msg == "" {
		t.Error("#email-error is empty")
	}
	next := browserRun(t, ctx, "error placement", chromedp.Evaluate[bool](`(() => {
		const e = document.getElementById('email'), m = document.getElementById('email-error');
		return !!e && !!m && e.closest('.field') === m.closest('.field')
			&& e.closest('.field').classList.contains('has-error')
			&& (e.getAttribute('aria-describedby') || '').split(/\s+/).includes('email-error');
	})()`))
	if !next {
		t.Error("#email-error is not in the email field's .field.has-error, or #email's aria-describedby does not name it")
	}
	browserCheckLabels(t, ctx) // the re-rendered form is labelled too

	// Kind-specific fieldsets: all shown while no kind is chosen, then only
	// the chosen kind's. This is CSS :has(), no JavaScript.
	all := browserRun(t, ctx, "kind fieldsets", chromedp.Evaluate[[]string](browserKindFieldsetsJS))
	if len(all) < 2 || !slices.Contains(all, "kf kf-rectification") || !slices.Contains(all, "kf kf-portability") {
		t.Fatalf("with no kind chosen, visible kind fieldsets = %q, want all of them", all)
	}
	browserDo(t, ctx, "choose rectification",
		chromedp.Click(chromedp.ID("kind-rectification")),
		chromedp.WaitVisible(chromedp.CSS("fieldset.kf-rectification")),
		chromedp.WaitNotVisible(chromedp.CSS("fieldset.kf-portability")),
	)
	if got := browserRun(t, ctx, "kind fieldsets", chromedp.Evaluate[[]string](browserKindFieldsetsJS)); !slices.Equal(got, []string{"kf kf-rectification"}) {
		t.Errorf("after choosing rectification, visible kind fieldsets = %q, want only kf-rectification", got)
	}
	browserDo(t, ctx, "choose portability",
		chromedp.Click(chromedp.ID("kind-portability")),
		chromedp.WaitVisible(chromedp.CSS("fieldset.kf-portability")),
		chromedp.WaitNotVisible(chromedp.CSS("fieldset.kf-rectification")),
	)
}
