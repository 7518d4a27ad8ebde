package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// The export package (issue #15 §3): seed one system's task with about
// -package-mb of section rows (random text, so deflate cannot shrink it
// much; the portability package holds it twice, as JSON and CSV), build the package in this process as the build_export job
// does, hand it over with the officer's complete, and download it through
// the HTTP handler (the subject's link). Peak RSS is this process's
// VmHWM, reset just before the build (/proc/self/clear_refs), so it
// covers the build and the download only. Target: ≤ 100 MB for 1 GB.

const packageConfig = `{
  "organisation": {"name": "Bench B.V.", "contact_email": "privacy@bench.example"},
  "time_zone": "Europe/Amsterdam",
  "regimes": ["gdpr"],
  "default_regime": "gdpr",
  "mail": {"from": "privacy@bench.example"},
  "systems": [{"name": "warehouse", "description": "Event warehouse", "kinds": ["portability"], "connector": {"type": "manual"},
               "holds": {"purposes": ["analytics"], "retention": "2 years"}}]
}`

func (b *bench) exportPackage(ctx context.Context) error {
	org, err := dsr.ParseConfig(strings.NewReader(packageConfig))
	if err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := workflow.New(b.pool, workflow.Options{Org: org, Logger: quiet})
	if err != nil {
		return err
	}
	srv, err := api.New(api.Options{Engine: e, Logger: quiet})
	if err != nil {
		return err
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	rc, err := e.Submit(ctx, dsr.Submission{Kind: dsr.KindPortability, Channel: dsr.ChannelAPI, Fields: map[string]string{"format": "json"},
		Subject: dsr.Person{Email: "bench-package@example.com", Name: "Bench", Country: "NL"}}, "")
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	const actor = "user:00000000-0000-0000-0000-000000000001"
	if err := e.VerifyOther(ctx, rc.ID, actor, "bench", "benchmark request"); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	task, err := dbtest.SeedTask(ctx, b.pool, rc.ID, "warehouse", "portability", "done", "")
	if err != nil {
		return err
	}
	t0 := time.Now()
	want := int64(b.o.packageMB) << 20
	rows, err := dbtest.SeedBigSection(ctx, b.pool, task, "events", want, 900, 1000)
	if err != nil {
		return err
	}
	fmt.Printf("  seeded %d rows (about %d MB of section JSON) in %s\n", rows, b.o.packageMB, time.Since(t0).Round(time.Second))
	_, _ = b.pool.Exec(ctx, `VACUUM ANALYZE task_sections`)

	resetPeakRSS()
	t0 = time.Now()
	pkg, err := e.BuildExportPackage(ctx, rc.ID)
	if err != nil || pkg == nil {
		return fmt.Errorf("build: %v %v", pkg, err)
	}
	build := time.Since(t0)
	if err := e.CompleteWith(ctx, rc.ID, actor, workflow.Completion{Summary: "Your data."}); err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	// The subject's raw link is only in the (sealed) mail: issue a
	// download link of the same kind for this client.
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	token := hex.EncodeToString(raw)
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := db.InsertToken(ctx, tx, rc.ID, db.TokenDownload, dsr.HolderSubject, dsr.ScopeFull, workflow.HashToken(token), time.Now().Add(24*time.Hour)); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	t0 = time.Now()
	resp, err := http.Get(ts.URL + "/download/" + token + "/" + pkg.AttachmentID)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || n != pkg.Size {
		return fmt.Errorf("download: %d, %d of %d bytes, %v", resp.StatusCode, n, pkg.Size, err)
	}
	download := time.Since(t0)
	var stored []byte
	if err := b.pool.QueryRow(ctx, `SELECT sha256 FROM attachments WHERE id = $1`, pkg.AttachmentID).Scan(&stored); err != nil {
		return err
	}
	if hex.EncodeToString(stored) != hex.EncodeToString(h.Sum(nil)) {
		return fmt.Errorf("download: bytes differ from the stored package")
	}
	peak := selfPeakRSS()
	mb := float64(pkg.Size) / (1 << 20)
	b.add(fmt.Sprintf("export package build, %d rows", rows), fmt.Sprintf("%.1f s for %.0f MB (%.0f MB/s)", build.Seconds(), mb, mb/build.Seconds()), "")
	b.add("export package download through the HTTP handler", fmt.Sprintf("%.1f s (%.0f MB/s)", download.Seconds(), mb/download.Seconds()), "")
	b.add("peak RSS of this process, build + download", fmt.Sprintf("%.1f MB", float64(peak)/1024), "≤ 100 MB")
	return nil
}

// resetPeakRSS resets this process's VmHWM to its current RSS (Linux 4.0+).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// selfPeakRSS reads this process's VmHWM in KiB.
func selfPeakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%d", &kb)
			return kb
		}
	}
	return 0
}
