package dsr

import (
	"strings"
	"testing"
	"time"
)

func TestPackageSegmentKeepsFilesInsideTheirFolder(t *testing.T) {
	for in, want := range map[string]string{
		"customers":        "customers",
		"../../etc/passwd": "passwd",
		"/etc/shadow":      "shadow",
		`..\..\boot.ini`:   "boot.ini",
		"..":               "document",
		"":                 "document",
		".hidden":          "hidden",
		"a\x00b\nc":        "abc",
		"Pía's data.csv":   "Pía's data.csv",
	} {
		if got := PackageSegment(in); got != want || strings.ContainsAny(got, `/\`) {
			t.Errorf("PackageSegment(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAccessInformationFollowsTheRegime(t *testing.T) {
	gdpr, _ := LookupRegime("gdpr")
	ccpa, _ := LookupRegime("ccpa")
	if g := strings.Join(AccessInformation(gdpr), "\n"); !strings.Contains(g, "purposes") || !strings.Contains(g, "retention") || !strings.Contains(g, "supervisory authority") {
		t.Errorf("GDPR access information:\n%s", g)
	}
	if c := strings.Join(AccessInformation(ccpa), "\n"); !strings.Contains(c, "categories of sources") || strings.Contains(c, "retention") {
		t.Errorf("CCPA access information:\n%s", c)
	}
}

func TestPlanCompletePackageGivesTheSubjectALink(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	org := &Config{Downloads: Downloads{ValidDays: 14}}
	r := &Request{ID: "r1", Kind: KindPortability, Regime: "gdpr", Status: StatusInProgress, Subject: Person{Email: "s@example.com"}}
	c, err := PlanCompletePackage(org, r, "user:1", "Your data.", "", PackageHandOver{AttachmentID: "a1", Systems: 3}, Outcome{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.To != StatusCompleted || c.Outcome == nil || c.Outcome.Result != OutcomeFull || len(c.Attachments) != 0 {
		t.Fatalf("change: %+v", c)
	}
	if d := c.Events[0].Data; d["package"] != "a1" || d["package_systems"] != "3" || d["exports"] != "1" {
		t.Fatalf("event data %v", d)
	}
	links := 0
	for _, m := range c.Messages {
		if m.Download != nil {
			links++
			if m.Download.Holder != HolderSubject || !m.Download.Expires.Equal(now.Add(14*24*time.Hour)) {
				t.Fatalf("download grant %+v", m.Download)
			}
		}
	}
	if links == 0 {
		t.Fatal("no download link planned")
	}
}
