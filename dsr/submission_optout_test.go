package dsr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// An opt-out filled in by the requester must choose from the opt-outs of
// the law where they live: CCPA sale and sharing are no GDPR opt-outs,
// GDPR direct marketing no CCPA one. The error names the field and the
// valid choices. Email and GPC intake keep what they read.
func TestValidateOptOutChoicesFitThePlace(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	eu := dsr.Person{Email: "ana@example.net", Country: "NL"}
	ca := dsr.Person{Email: "bo@example.net", Country: "US", State: "CA"}
	for _, tc := range []struct {
		name    string
		channel dsr.Channel
		subject dsr.Person
		choices string
		valid   string // "" when accepted, else the valid choices named
	}{
		{"eu sale over the API", dsr.ChannelAPI, eu, "sale", "direct_marketing, profiling"},
		{"eu sharing among valid ones", dsr.ChannelAPI, eu, "direct_marketing,sharing", "direct_marketing, profiling"},
		{"eu direct marketing", dsr.ChannelAPI, eu, "direct_marketing", ""},
		{"eu profiling from the form", dsr.ChannelWeb, eu, "profiling", ""},
		{"ca direct marketing over the API", dsr.ChannelAPI, ca, "direct_marketing", "sale, sharing, targeted_advertising, profiling"},
		{"ca sale and sharing", dsr.ChannelAPI, ca, "sale,sharing", ""},
		{"eu sale from the form", dsr.ChannelWeb, eu, "sale", "direct_marketing, profiling"},
		{"eu sale read from an email is kept", dsr.ChannelEmail, eu, "sale", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := dsr.Submission{Kind: dsr.KindOptOut, Channel: tc.channel, Subject: tc.subject, Fields: map[string]string{"opt_out_of": tc.choices}}
			_, err := s.ValidateAt(org, now)
			if tc.valid == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if codeOf(err) != dsr.EINVALID {
				t.Fatalf("err %v, want EINVALID", err)
			}
			msg := err.(*dsr.Error).Fields["fields.opt_out_of"]
			if !strings.Contains(msg, "valid choices: "+tc.valid+".") {
				t.Errorf("fields.opt_out_of %q does not name the valid choices %q (all: %v)", msg, tc.valid, err.(*dsr.Error).Fields)
			}
		})
	}
}
