package dsr_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
)

func TestNameProblem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"Zoë Ångström", true},
		{"", true},
		{strings.Repeat("é", 200), true},
		{strings.Repeat("é", 201), false},
		{"Ann\r\nBcc: x@example.com", false},
		{"Ann\nB", false},
		{"Ann\tB", false},
		{"Ann\x00B", false},
		{"Ann\x7fB", false},
		{"Ann\u0085B", false}, // NEL
		{"Ann\u2028B", false}, // line separator
		{"Ann\xffB", false},
	} {
		if got := dsr.NameProblem(tc.name) == ""; got != tc.ok {
			t.Errorf("NameProblem(%q) accepts %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestTextProblem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text string
		ok   bool
	}{
		{"line one\nline two\ttab", true},
		{"日本語", true},
		{"a\x00b", false},
		{"a\xc3", false},
	} {
		msg := dsr.TextProblem(tc.text)
		if (msg == "") != tc.ok || strings.Contains(msg, tc.text) && tc.text != "" {
			t.Errorf("TextProblem(%q) = %q, want ok %v and no quote", tc.text, msg, tc.ok)
		}
	}
	err := dsr.CheckTexts(map[string]string{"note": "fine", "reason": "x\x00"})
	var de *dsr.Error
	if !errors.As(err, &de) || de.Code != dsr.EINVALID || de.Fields["reason"] == "" || de.Fields["note"] != "" {
		t.Fatalf("CheckTexts: %v", err)
	}
}

// TestValidateRefusesUnstorableAndControlText: every text field of a
// submission is checked for NUL and broken UTF-8, and names for control
// characters, each with its own field error.
func TestValidateRefusesUnstorableAndControlText(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfigString(configJSON(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	perm := &dsr.File{Filename: "p.pdf", Content: []byte("%PDF-1.4\n%%EOF\n")}
	base := func() dsr.Submission {
		return dsr.Submission{Kind: dsr.KindAccess, Subject: dsr.Person{Email: "a@example.com", Name: "Ann", Country: "NL"}, Channel: dsr.ChannelAPI}
	}
	for _, tc := range []struct {
		field string
		edit  func(*dsr.Submission)
	}{
		{"subject.name", func(s *dsr.Submission) { s.Subject.Name = "Ann\r\nBcc: x@example.com" }},
		{"subject.name", func(s *dsr.Submission) { s.Subject.Name = strings.Repeat("a", 201) }},
		{"subject.name", func(s *dsr.Submission) { s.Subject.Name = "A\x00" }},
		{"details", func(s *dsr.Submission) { s.Details = "bad \xff byte" }},
		{"subject.email", func(s *dsr.Submission) { s.Subject.Email = "a\x00@example.com" }},
		{"fields.scope", func(s *dsr.Submission) { s.Fields = map[string]string{"scope": "copy\x00"} }},
		{"agent.name", func(s *dsr.Submission) {
			s.Agent = &dsr.Agent{Name: "Agent\nCo", Email: "agent@example.org", Permission: perm}
		}},
		{"agent.name", func(s *dsr.Submission) {
			s.Agent = &dsr.Agent{Name: strings.Repeat("x", 201), Email: "agent@example.org", Permission: perm}
		}},
	} {
		s := base()
		tc.edit(&s)
		_, err := s.Validate(cfg)
		var de *dsr.Error
		if !errors.As(err, &de) || de.Code != dsr.EINVALID || de.Fields[tc.field] == "" {
			t.Errorf("%s: %v, want a field error", tc.field, err)
		}
	}
	s := base()
	s.Agent = &dsr.Agent{Name: "Agent Co", Email: "agent@example.org", Permission: perm}
	if _, err := s.Validate(cfg); err != nil {
		t.Fatalf("valid agent submission: %v", err)
	}
}
