package api_test

// A browser test of a letter: an officer enters a request that came by
// post with no email address (and the scanned letter), verifies the
// identity, prints the acknowledgment letter and marks it posted.

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// onePixelPNG is a valid 1×1 PNG: the "scanned letter".
const onePixelPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

func TestBrowserLetterEntryPrintAndPost(t *testing.T) {
	d := apitest.Start(t, apitest.Options{})
	staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	ctx := newBrowser(t)
	browserLoad(t, ctx, "open the sign-in page", chromedp.Navigate(d.URL+"/console/login"))
	browserDo(t, ctx, "fill in the sign-in form",
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "olga@testorg.example"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword))
	if code, url := browserLoad(t, ctx, "sign in", chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type=submit]`))); code != 200 || url != d.URL+"/console/dashboard" {
		t.Fatalf("sign in: %d at %s", code, url)
	}
	if code, url := browserLoad(t, ctx, "open the queue", chromedp.Navigate(d.URL+"/console")); code != 200 {
		t.Fatalf("GET /console: %d at %s", code, url)
	}
	if code, url := browserLoad(t, ctx, "open Enter a request", chromedp.Click(chromedp.ID("enter-request"))); code != 200 || url != d.URL+"/console/requests/new" {
		t.Fatalf("enter-request link: %d at %s", code, url)
	}

	// A submit without name, email or address: the errors, focused.
	browserDo(t, ctx, "choose a kind", chromedp.WaitVisible(chromedp.ID("e-kind")), chromedp.SetValue(chromedp.ID("e-kind"), "access"),
		chromedp.SetValue(chromedp.ID("e-country"), "NL"))
	if code, _ := browserLoad(t, ctx, "submit incomplete", chromedp.Click(chromedp.ID("e-submit"))); code != http.StatusUnprocessableEntity {
		t.Fatalf("incomplete entry: %d, want 422", code)
	}
	if title := browserRun(t, ctx, "title", chromedp.Title()); !strings.HasPrefix(title, "Error: ") {
		t.Errorf("title after a failed submit = %q, want it to start with Error: ", title)
	}
	if id := browserRun(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.id`)); id != "error-summary" {
		t.Errorf("focus after a failed submit is on #%s, want #error-summary", id)
	}
	if inv := browserRun(t, ctx, "aria-invalid", chromedp.Evaluate[string](`document.getElementById('e-address').getAttribute('aria-invalid') || ''`)); inv != "true" {
		t.Errorf("#e-address aria-invalid = %q, want true", inv)
	}

	// The letter, entered properly, with its scan.
	scan := filepath.Join(t.TempDir(), "letter.png")
	png, _ := base64.StdEncoding.DecodeString(onePixelPNG)
	if err := os.WriteFile(scan, png, 0o644); err != nil {
		t.Fatal(err)
	}
	browserDo(t, ctx, "fill in the letter",
		chromedp.SendKeys(chromedp.ID("e-name"), "Lou Letter"),
		chromedp.SendKeys(chromedp.ID("e-address"), "Keizersgracht 1\n1015 AA Amsterdam"),
		chromedp.SendKeys(chromedp.ID("e-details"), "Please send me a copy of my data."),
		chromedp.SetUploadFiles(chromedp.ID("e-letter"), []string{scan}))
	code, url := browserLoad(t, ctx, "enter the letter", chromedp.Click(chromedp.ID("e-submit")))
	if code != 200 || !strings.HasPrefix(url, d.URL+"/console/requests/") {
		t.Fatalf("enter: %d at %s; page:\n%s", code, url, browserRun(t, ctx, "page", chromedp.Text(chromedp.CSS("main"))))
	}
	id := strings.TrimPrefix(url, d.URL+"/console/requests/")
	main := browserRun(t, ctx, "request page", chromedp.Text(chromedp.CSS("main")))
	for _, want := range []string{"Keizersgracht 1", "none (letters by post)", "letter.png", "entered the request (letter)", "Identity not yet confirmed"} {
		if !strings.Contains(main, want) {
			t.Errorf("request page lacks %q:\n%s", want, main)
		}
	}

	// The officer verifies the identity; the acknowledgment is a letter.
	browserRun(t, ctx, "open Mark identity verified", chromedp.Evaluate[bool](`document.querySelector('form[action$="/verify"]').closest('details').open = true`))
	browserDo(t, ctx, "verify",
		chromedp.WaitVisible(chromedp.ID("v-method")),
		chromedp.SendKeys(chromedp.ID("v-method"), "signed letter"),
		chromedp.SendKeys(chromedp.ID("v-note"), "Signature matches the contract on file."))
	if code, _ := browserLoad(t, ctx, "mark verified", chromedp.Click(chromedp.CSS(`form[action$="/verify"] button[type=submit]`))); code != 200 {
		t.Fatalf("verify: %d", code)
	}
	letter := chromedp.CSS(`#letters li.letter a`)
	browserDo(t, ctx, "wait for the letters", chromedp.WaitVisible(letter))
	if code, url := browserLoad(t, ctx, "open the letter", chromedp.Click(letter)); code != 200 || !strings.Contains(url, "/console/requests/"+id+"/letters/") {
		t.Fatalf("print view: %d at %s", code, url)
	}
	to := browserRun(t, ctx, "#letter-to", chromedp.Text(chromedp.ID("letter-to")))
	body := browserRun(t, ctx, "#letter-body", chromedp.Text(chromedp.ID("letter-body")))
	if !strings.Contains(to, "Lou Letter") || !strings.Contains(to, "1015 AA Amsterdam") || !strings.Contains(body, "quoting reference") || strings.Contains(body, "/status/") {
		t.Fatalf("letter to %q:\n%s", to, body)
	}
	if code, url := browserLoad(t, ctx, "mark posted", chromedp.Click(chromedp.ID("mark-posted"))); code != 200 || url != d.URL+"/console/requests/"+id {
		t.Fatalf("mark posted: %d at %s", code, url)
	}
	if f := browserRun(t, ctx, "#flash", chromedp.Text(chromedp.ID("flash"))); !strings.Contains(f, "posted") {
		t.Errorf("#flash = %q", f)
	}
	if p := browserRun(t, ctx, "posted", chromedp.Evaluate[string](`document.querySelector('#letters li.letter').dataset.posted`)); p != "yes" {
		t.Errorf("letter data-posted = %q after marking it posted", p)
	}
	if tl := browserRun(t, ctx, "timeline", chromedp.Text(chromedp.ID("timeline"))); !strings.Contains(tl, "olga posted the letter (acknowledged)") {
		t.Errorf("timeline lacks the posting:\n%s", tl)
	}

	// At 320 px (a phone, or 400% zoom) neither the queue nor the request
	// page scrolls sideways: the columns stack and the tables scroll in
	// their labelled regions.
	browserDo(t, ctx, "a 320 px viewport", chromedp.EmulateViewport(320, 800))
	for _, path := range []string{"/console", "/console/requests/" + id} {
		browserLoad(t, ctx, "open "+path, chromedp.Navigate(d.URL+path))
		browserDo(t, ctx, "wait for "+path, chromedp.WaitVisible(chromedp.CSS("main")))
		if w := browserRun(t, ctx, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 320 {
			wide := browserRun(t, ctx, "wide elements", chromedp.Evaluate[[]string](`[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 321 && !e.closest('[role=region]')).slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))`))
			t.Errorf("%s at 320 px is %d px wide: it scrolls sideways; too wide: %q", path, w, wide)
		}
		if ok := browserRun(t, ctx, "table regions", chromedp.Evaluate[bool](`[...document.querySelectorAll('main table')].every(t => {
			const r = t.closest('[role=region]');
			return !!r && !!r.getAttribute('aria-label') && r.tabIndex === 0;
		})`)); !ok {
			t.Errorf("%s: a table is not inside a labelled, focusable region", path)
		}
	}
}
