package api_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
)

// TestFirefoxSendsGPCToTheForm loads the form in Debian's firefox-esr,
// headless, with privacy.globalprivacycontrol.enabled set, and checks that
// the form page received Sec-GPC: 1 (the page then shows the signal as
// honoured, as TestFormHonoursOnlyTheExactGPCSignal checks).
func TestFirefoxSendsGPCToTheForm(t *testing.T) {
	t.Parallel()
	ff, err := exec.LookPath("firefox-esr")
	if err != nil {
		t.Fatal("firefox-esr not found: install Debian's firefox-esr package (.ci/run does)")
	}
	var mu sync.Mutex
	var formGPC [][]string
	d := apitest.Start(t, apitest.Options{Observe: func(r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/" {
			mu.Lock()
			formGPC = append(formGPC, r.Header.Values("Sec-GPC"))
			mu.Unlock()
		}
	}})
	home := t.TempDir()
	profile := filepath.Join(home, "profile")
	if err := os.MkdirAll(profile, 0o700); err != nil {
		t.Fatal(err)
	}
	prefs := `user_pref("privacy.globalprivacycontrol.enabled", true);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("app.update.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("extensions.update.enabled", false);
`
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs), 0o600); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(home, "form.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ff, "--headless", "--no-remote", "--profile", profile, "--window-size=1200,1600", "--screenshot", shot, d.URL+"/")
	cmd.Env = append(os.Environ(), "HOME="+home, "MOZ_HEADLESS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("firefox-esr: %v\n%s", err, out)
	}
	if _, err := os.Stat(shot); err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(formGPC) == 0 {
		t.Fatal("firefox never requested the form page")
	}
	for _, v := range formGPC {
		if !slices.Equal(v, []string{"1"}) {
			t.Fatalf("form page got Sec-GPC %q, want [\"1\"]", v)
		}
	}
}
