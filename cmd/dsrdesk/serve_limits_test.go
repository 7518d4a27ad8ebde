package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db/dbtest"
)

// filler is an endless stream of 'a'.
type filler struct{}

func (filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// buildDsrdesk builds this command into a temporary directory.
func buildDsrdesk(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dsrdesk")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// peakRSSKiB is the high-water resident set of process pid (VmHWM).
func peakRSSKiB(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestPreAuthFloodOfLargeBodiesIsRefusedInBoundedMemory runs the real
// `dsrdesk serve` as a child process and sends it, per anonymous route,
// 16 parallel posts of 40 MB (with and without Content-Length). Every one
// must be refused with 413 and the server's peak RSS stay under 200 MB.
// Rate limits are lifted so that every post reaches the body limits.
func TestPreAuthFloodOfLargeBodiesIsRefusedInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	bin := buildDsrdesk(t)
	dbURL := dbtest.New(t)
	addr := freeAddr(t)
	base := "http://" + addr
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "DSR_CONFIG="+filepath.Join("..", "..", "examples", "us-ccpa.json"),
		"DSR_ADDR="+addr, "DSR_BASE_URL="+base, "DSR_PUBLIC_RATE=1000000", "DSR_PUBLIC_BURST=1000000", "DSR_SMTP_URL=", "DSR_SMTP_LISTEN=")

	// A bad DSR_TRUSTED_PROXIES stops serve at start, naming the variable.
	bad := exec.Command(bin, "serve")
	bad.Env = append(append([]string{}, env...), "DSR_TRUSTED_PROXIES=10.0.0.0/8,not-a-cidr")
	out, err := bad.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "DSR_TRUSTED_PROXIES") || !strings.Contains(string(out), "not-a-cidr") {
		t.Fatalf("serve with a bad DSR_TRUSTED_PROXIES: err %v, output:\n%s", err, out)
	}

	srv := exec.Command(bin, "serve")
	srv.Env = env
	logf, err := os.Create(filepath.Join(t.TempDir(), "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = srv.Process.Kill()
		}
		logf.Close()
	})
	ready := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ready = true
				break
			}
		}
	}
	if !ready {
		log, _ := os.ReadFile(logf.Name())
		t.Fatalf("dsrdesk serve not ready after 60s:\n%s", log)
	}
	idle := peakRSSKiB(t, srv.Process.Pid)

	const size = 40 << 20
	const boundary = "FlOoD"
	targets := []struct{ path, contentType, prefix, suffix string }{
		{"/console/login", "application/x-www-form-urlencoded", "email=a%40b.example&password=", ""},
		{"/gpc", "application/x-www-form-urlencoded", "email=", ""},
		{"/gpc", "multipart/form-data; boundary=" + boundary,
			"--" + boundary + "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.bin\"\r\n\r\n", "\r\n--" + boundary + "--\r\n"},
		{"/requests", "multipart/form-data; boundary=" + boundary,
			"--" + boundary + "\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\naccess\r\n--" + boundary +
				"\r\nContent-Disposition: form-data; name=\"permission\"; filename=\"p.pdf\"\r\n\r\n", "\r\n--" + boundary + "--\r\n"},
		{"/requests", "multipart/form-data; boundary=" + boundary,
			"--" + boundary + "\r\nContent-Disposition: form-data; name=\"details\"\r\n\r\n", "\r\n--" + boundary + "--\r\n"},
		{"/api/v1/requests", "application/json", `{"kind": "access", "details": "`, `"}`},
	}
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxConnsPerHost: 0, DisableKeepAlives: true}}
	type result struct {
		target  string
		chunked bool
		status  int
		err     error
	}
	for _, chunked := range []bool{false, true} {
		for _, tg := range targets {
			results := make(chan result, 16)
			var wg sync.WaitGroup
			for i := 0; i < 16; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := io.MultiReader(strings.NewReader(tg.prefix), io.LimitReader(filler{}, size), strings.NewReader(tg.suffix))
					req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+tg.path, io.NopCloser(body))
					req.ContentLength = int64(len(tg.prefix) + size + len(tg.suffix))
					if chunked {
						req.ContentLength = -1
					}
					req.Header.Set("Content-Type", tg.contentType)
					req.Header.Set("Sec-GPC", "1")
					resp, err := client.Do(req)
					r := result{target: tg.path, chunked: chunked, err: err}
					if err == nil {
						r.status = resp.StatusCode
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					results <- r
				}()
			}
			wg.Wait()
			close(results)
			answered := 0
			for r := range results {
				switch {
				case r.err != nil:
					// The server may close the connection right after its
					// 413, while the client is still sending; nothing was
					// accepted either way.
					t.Logf("POST %s (chunked %v): %v", r.target, r.chunked, r.err)
				case r.status != http.StatusRequestEntityTooLarge:
					t.Errorf("POST %s %s (chunked %v): %d, want 413", r.target, tg.contentType, r.chunked, r.status)
				default:
					answered++
				}
			}
			t.Logf("POST %s %s (chunked %v): %d answered 413, peak RSS now %d KiB", tg.path, tg.contentType, chunked, answered, peakRSSKiB(t, srv.Process.Pid))
			if answered < 8 {
				t.Errorf("POST %s %s (chunked %v): only %d of 16 read a 413", tg.path, tg.contentType, chunked, answered)
			}
		}
	}
	peak := peakRSSKiB(t, srv.Process.Pid)
	t.Logf("peak RSS: idle %d KiB, after the floods %d KiB", idle, peak)
	if peak >= 200*1024 {
		t.Errorf("peak RSS %d KiB, want under 200 MB", peak)
	}
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("server unhealthy after the floods: %v", err)
	}
}
