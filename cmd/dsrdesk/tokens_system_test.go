package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
)

func TestSystemTokenCommands(t *testing.T) {
	pool := cliDatabase(t)
	t.Setenv("DSR_CONFIG", "")
	code, stdout, stderr := runCLI(t, "token", "create", "--system", "newsletter", "--name", "callbacks")
	if code != 0 || !strings.Contains(stdout, "system newsletter") {
		t.Fatalf("token create --system: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	raw := ""
	for _, line := range strings.Split(stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "token: "); ok {
			raw = v
		}
	}
	system, err := db.SystemByAPIToken(context.Background(), pool, db.APITokenHash(raw), time.Now())
	if err != nil || system != "newsletter" {
		t.Fatalf("the printed token: system %q, %v", system, err)
	}
	if _, err := db.UserByAPIToken(context.Background(), pool, db.APITokenHash(raw), time.Now()); err == nil {
		t.Error("a system token authenticates as a user")
	}
	if code, out, _ := runCLI(t, "token", "list"); code != 0 || !strings.Contains(out, "system:newsletter") || strings.Contains(out, raw) {
		t.Errorf("token list: exit %d\n%s", code, out)
	}
	if code, _, stderr := runCLI(t, "token", "create", "--system", "newsletter", "--email", "a@example.com"); code != 2 {
		t.Errorf("--system with --email: exit %d %q", code, stderr)
	}
	if code, out, stderr := runCLI(t, "token", "revoke", "--system", "newsletter", "--name", "callbacks"); code != 0 || !strings.Contains(out, "revoked 1") {
		t.Errorf("token revoke --system: exit %d %q %q", code, out, stderr)
	}
	if _, err := db.SystemByAPIToken(context.Background(), pool, db.APITokenHash(raw), time.Now()); err == nil {
		t.Error("a revoked system token still works")
	}
}

func TestCheckConfigNamesSystemErrorsAndSecrets(t *testing.T) {
	dir := t.TempDir()
	good := writeSystemsConfig(t, dir, "good.json", `{"name": "crm", "kinds": ["erasure"], "connector": {"type": "webhook", "url": "https://crm.internal/dsr"}}`)
	t.Setenv("DSR_SYSTEM_CRM_SECRET", "")
	code, stdout, _ := runCLI(t, "check-config", good)
	if code != 0 || !strings.Contains(stdout, "DSR_SYSTEM_CRM_SECRET") {
		t.Errorf("check-config: exit %d, stdout %q, want the missing secret named", code, stdout)
	}
	bad := writeSystemsConfig(t, dir, "bad.json", `{"name": "crm", "kinds": ["erasure"], "connector": {"type": "webhook", "url": "http://crm.internal/dsr"}}`)
	if code, _, stderr := runCLI(t, "check-config", bad); code != 2 || !strings.Contains(stderr, "systems[0].connector.url") {
		t.Errorf("check-config of a bad system: exit %d, stderr %q", code, stderr)
	}
}

// writeSystemsConfig writes examples/eu-saas.json with one system.
func writeSystemsConfig(t *testing.T, dir, name, system string) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/eu-saas.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var sys any
	if err := json.Unmarshal([]byte(system), &sys); err != nil {
		t.Fatal(err)
	}
	m["systems"] = []any{sys}
	out, _ := json.Marshal(m)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
