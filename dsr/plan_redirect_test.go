package dsr_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

func TestPlanRedirect(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	processor, err := parseConfigString(configJSON(t, func(m map[string]any) {
		m["processor"] = map[string]any{"notice": "We process data for clients.", "instructions": "  Contact the client that controls your data.  "}
	}))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := parseConfigString(configJSON(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		cfg       *dsr.Config
		in        dsr.RedirectInput
		code      string
		field     string
		wantInstr string
	}{
		{"ok", processor, dsr.RedirectInput{Email: " piet@example.com ", Client: "Acme Bank"}, "", "", "Contact the client that controls your data."},
		{"no email", processor, dsr.RedirectInput{}, dsr.EINVALID, "processor.email", ""},
		{"bad email", processor, dsr.RedirectInput{Email: "piet"}, dsr.EINVALID, "processor.email", ""},
		{"client with a line break", processor, dsr.RedirectInput{Email: "piet@example.com", Client: "Acme\r\nBcc: x"}, dsr.EINVALID, "processor.client", ""},
		{"client too long", processor, dsr.RedirectInput{Email: "piet@example.com", Client: strings.Repeat("a", 201)}, dsr.EINVALID, "processor.client", ""},
		{"no processor notice", plain, dsr.RedirectInput{Email: "piet@example.com"}, dsr.ENOTFOUND, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := dsr.PlanRedirect(tt.cfg, tt.in, now)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if rd.Email != "piet@example.com" || rd.Client != "Acme Bank" || rd.Instructions != tt.wantInstr || !rd.ReceivedAt.Equal(now) || rd.ID == "" {
					t.Fatalf("redirect = %+v", rd)
				}
				return
			}
			var de *dsr.Error
			if !errors.As(err, &de) || de.Code != tt.code {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
			if tt.field != "" && de.Fields[tt.field] == "" {
				t.Fatalf("fields = %v, want %s", de.Fields, tt.field)
			}
		})
	}
}
