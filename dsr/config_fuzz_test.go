package dsr_test

import (
	"os"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// FuzzParseConfig: the config loader never panics; it returns a config
// that resolves places, or an error that names what is wrong.
func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"../examples/eu-saas.json", "../examples/us-ccpa.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(`{"organisation": {"name": "x"}}`)
	f.Add(`{"promises": [{"kind": "erasure", "days": -1}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := dsr.ParseConfig(strings.NewReader(s))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid: config") && !strings.HasPrefix(err.Error(), "config:") {
				t.Fatalf("error does not say it is about the config: %v", err)
			}
			return
		}
		_, _ = cfg.RegimeFor("NL", "", dsr.NewDate(2026, 3, 2))
		_, _ = cfg.RegimeFor("US", "CA", dsr.NewDate(2026, 3, 2))
		if cfg.Location() == nil {
			t.Fatal("nil location")
		}
	})
}
