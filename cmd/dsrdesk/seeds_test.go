package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfigSeeds runs check-config over every seed config derived
// from the five policies in examples/seeds.
func TestCheckConfigSeeds(t *testing.T) {
	t.Setenv("DSR_CONFIG", "")
	files, err := filepath.Glob("../../examples/seeds/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 {
		t.Fatalf("seed configs: %v, want 5", files)
	}
	for _, f := range files {
		code, stdout, stderr := runCLI(t, "check-config", f)
		if code != 0 || !strings.Contains(stdout, ": ok (") {
			t.Errorf("check-config %s: exit %d, stdout %q, stderr %q", f, code, stdout, stderr)
		}
	}
}
