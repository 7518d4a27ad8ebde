package dsr_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
)

func TestConfigTextsErrorsNameTheField(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"complaint for a regime not offered", func(m map[string]any) {
			m["complaints"] = map[string]any{"ccpa": map[string]any{"name": "CPPA"}}
		}, `complaints.ccpa: "ccpa" is not in regimes`},
		{"complaint without name", func(m map[string]any) {
			m["complaints"] = map[string]any{"uk_gdpr": map[string]any{"url": "https://ico.org.uk/"}}
		}, "complaints.uk_gdpr.name: is required"},
		{"complaint url not https", func(m map[string]any) {
			m["complaints"] = map[string]any{"uk_gdpr": map[string]any{"name": "ICO", "url": "ico.org.uk"}}
		}, "complaints.uk_gdpr.url: must be an https:// URL"},
		{"recourse regime", func(m map[string]any) {
			m["recourse"] = []any{map[string]any{"name": "JAMS", "regimes": []any{"ccpa"}}}
		}, `recourse[0].regimes[0]: "ccpa" is not in regimes`},
		{"representative region", func(m map[string]any) {
			m["representatives"] = []any{map[string]any{"region": "DE", "name": "DP-Dock GmbH", "postal_address": "Hamburg"}}
		}, `representatives[0].region: must be EU or UK, not "DE"`},
		{"representative address", func(m map[string]any) {
			m["representatives"] = []any{map[string]any{"region": "EU", "name": "DP-Dock GmbH"}}
		}, "representatives[0].postal_address: is required"},
		{"dpo email", func(m map[string]any) {
			m["dpo"] = map[string]any{"name": "Jan", "email": "nope"}
		}, "dpo.email: must be an email address"},
		{"processor instructions", func(m map[string]any) {
			m["processor"] = map[string]any{"notice": "We are a processor."}
		}, "processor.instructions: is required"},
		{"kind paragraph kind", func(m map[string]any) {
			m["kind_paragraphs"] = map[string]any{"erase": "x"}
		}, `kind_paragraphs.erase: unknown kind "erase"`},
		{"kind paragraph not offered", func(m map[string]any) {
			m["kinds"] = []any{"access"}
			m["kind_paragraphs"] = map[string]any{"erasure": "x"}
		}, `kind_paragraphs.erasure: "erasure" is not in kinds`},
		{"unknown field inside complaints", func(m map[string]any) {
			m["complaints"] = map[string]any{"uk_gdpr": map[string]any{"name": "ICO", "adress": "x"}}
		}, `unknown field "adress"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfigString(configJSON(t, tt.edit))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestComplaintTextsUseTheOrganisationsAuthority(t *testing.T) {
	t.Parallel()
	c, err := parseConfigString(configJSON(t, func(m map[string]any) {
		m["comment"] = "derived from the policy"
		m["complaints"] = map[string]any{"uk_gdpr": map[string]any{
			"name": "the Information Commissioner's Office (ICO)", "url": "https://ico.org.uk/make-a-complaint/",
			"postal_address": "Wycliffe House\nWater Lane, Wilmslow SK9 5AF", "comment": "policy: complaints to the UK authority"}}
		m["representatives"] = []any{
			map[string]any{"region": "EU", "name": "DP-Dock GmbH", "postal_address": "Ballindamm 39, 20095 Hamburg, Germany"},
			map[string]any{"region": "UK", "name": "DP Data Protection Services UK Ltd.", "postal_address": "16 Great Queen Street, London WC2B 5AH"},
		}
		m["recourse"] = []any{map[string]any{"name": "JAMS", "url": "https://www.jamsadr.com/DPF-Dispute-Resolution", "regimes": []any{"gdpr"}}}
		m["dpo"] = map[string]any{"email": "dpo@testorg.example"}
	}))
	if err != nil {
		t.Fatal(err)
	}
	uk, _ := dsr.LookupRegime("uk_gdpr")
	gdpr, _ := dsr.LookupRegime("gdpr")
	ukText := strings.Join(c.ComplaintTexts(uk), "\n")
	for _, want := range []string{"Information Commissioner's Office (ICO) (https://ico.org.uk/make-a-complaint/), Wycliffe House Water Lane, Wilmslow SK9 5AF.",
		"Our representative in the UK (Art. 27 UK GDPR): DP Data Protection Services UK Ltd.", "dpo@testorg.example"} {
		if !strings.Contains(ukText, want) {
			t.Errorf("uk_gdpr texts lack %q:\n%s", want, ukText)
		}
	}
	if strings.Contains(ukText, "DP-Dock") || strings.Contains(ukText, "JAMS") || strings.Contains(ukText, "a supervisory authority") {
		t.Errorf("uk_gdpr texts name the EU representative, JAMS or the law's default:\n%s", ukText)
	}
	euText := strings.Join(c.ComplaintTexts(gdpr), "\n")
	if !strings.HasPrefix(euText, gdpr.Complaint) || !strings.Contains(euText, "DP-Dock GmbH") || !strings.Contains(euText, "Independent recourse: JAMS") {
		t.Errorf("gdpr texts: want the law's default, the EU representative and JAMS:\n%s", euText)
	}
}

func TestComplaintTextsFallBackToTheDPOEmail(t *testing.T) {
	t.Parallel()
	c, err := parseConfigString(configJSON(t, func(m map[string]any) {
		m["organisation"] = map[string]any{"name": "Testorg B.V.", "contact_email": "privacy@testorg.example", "dpo_email": "dpo@testorg.example"}
	}))
	if err != nil {
		t.Fatal(err)
	}
	gdpr, _ := dsr.LookupRegime("gdpr")
	ca, _ := dsr.LookupRegime("ccpa")
	if got := c.ComplaintTexts(gdpr); len(got) != 2 || got[0] != gdpr.Complaint || got[1] != "Our data protection officer: dpo@testorg.example." {
		t.Errorf("gdpr texts = %q", got)
	}
	if got := c.ComplaintTexts(ca); len(got) != 1 || got[0] != ca.Complaint {
		t.Errorf("ccpa texts = %q (no DPO under US laws)", got)
	}
}

func TestOptOutChoicesFollowTheRegime(t *testing.T) {
	t.Parallel()
	eu, err := parseConfigString(configJSON(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(eu.OptOutChoicesOffered(), ","); got != "profiling,direct_marketing" {
		t.Errorf("EU-only org choices = %s", got)
	}
	ca, _ := dsr.LookupRegime("ccpa")
	if got := strings.Join(dsr.OptOutChoices(ca), ","); got != "sale,sharing,targeted_advertising,profiling" {
		t.Errorf("ccpa choices = %s", got)
	}
}

// TestSeedConfigsPassCheck parses every seed config as check-config does.
func TestSeedConfigsPassCheck(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../examples/seeds/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 {
		t.Fatalf("want the 5 seed configs, found %v", files)
	}
	for _, f := range files {
		if _, err := dsr.LoadConfig(f); err != nil {
			t.Errorf("%v", err)
		}
		if b, _ := os.ReadFile(f); !strings.Contains(string(b), `"comment"`) {
			t.Errorf("%s: cite the policy in comment fields", f)
		}
	}
}
