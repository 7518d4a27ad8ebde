package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
)

// dsrdesk purge: --dry-run counts and changes nothing; --as-of a date
// after the record period purges; the JSON names every category; bad
// flags exit 2; audit verify passes after.
func TestPurgeCommand(t *testing.T) {
	ctx := context.Background()
	pool := cliDatabase(t)
	t.Setenv("DSR_CONFIG", filepath.Join("..", "..", "examples", "eu-saas.json"))
	id := cliAuditRequest(t, pool, "received", "completed")
	if _, err := pool.Exec(ctx, `UPDATE requests SET status = 'completed', closed_at = '2024-01-10T12:00:00Z', details = 'my details' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, map[string]any, string) {
		t.Helper()
		code, stdout, stderr := runCLIInput(t, nil, append([]string{"purge"}, args...)...)
		var out map[string]any
		if code == 0 {
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatalf("purge %v: not JSON: %q", args, stdout)
			}
		}
		return code, out, stderr
	}
	counts := func(out map[string]any) map[string]any { return out["counts"].(map[string]any) }

	code, out, stderr := run("--as-of", "2026-01-09", "--dry-run")
	if code != 0 || counts(out)["requests"] != 0.0 || out["dry_run"] != true {
		t.Fatalf("before 24 months: %d %v %s", code, out, stderr)
	}
	code, out, stderr = run("--as-of", "2026-01-10", "--dry-run")
	if code != 0 || counts(out)["requests"] != 1.0 {
		t.Fatalf("dry run at 24 months: %d %v %s", code, out, stderr)
	}
	for _, k := range []string{"requests", "requesters", "documents", "exports", "inbound_emails", "message_bodies", "tokens", "held_requests_due"} {
		if _, ok := counts(out)[k]; !ok {
			t.Errorf("no %q in %v", k, counts(out))
		}
	}
	var details string
	if err := pool.QueryRow(ctx, `SELECT details FROM requests WHERE id = $1`, id).Scan(&details); err != nil || details != "my details" {
		t.Fatalf("the dry run changed the request: %q %v", details, err)
	}
	code, out, stderr = run("--as-of", "2026-01-10")
	if code != 0 || counts(out)["requests"] != 1.0 || out["dry_run"] != false {
		t.Fatalf("purge: %d %v %s", code, out, stderr)
	}
	if err := pool.QueryRow(ctx, `SELECT details FROM requests WHERE id = $1 AND purged_at IS NOT NULL`, id).Scan(&details); err != nil || details != "" {
		t.Fatalf("not purged: %q %v", details, err)
	}
	if code, stdout, stderr := runCLIInput(t, nil, "audit", "verify"); code != 0 {
		t.Fatalf("audit after purge: %d %s %s", code, stdout, stderr)
	}
	if code, _, _ := run("--as-of", "10/01/2026"); code != 2 {
		t.Errorf("bad date: exit %d, want 2", code)
	}
	if code, _, _ := run("--bogus"); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
}
