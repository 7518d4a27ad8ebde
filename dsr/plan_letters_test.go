package dsr_test

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// A request entered from a letter without email: no confirmation mail or
// jobs, an event asking for verification by other means, the scan kept
// as an attachment; a scan must be a document, and only officers attach
// one.
func TestPlanIntakeLetterWithoutEmail(t *testing.T) {
	t.Parallel()
	org := planConfig(t)
	now := time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)
	png, _ := base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
	sub := func(ch dsr.Channel, scan []byte) dsr.Submission {
		s := dsr.Submission{Kind: dsr.KindAccess, Channel: ch, ReceivedAt: now.Add(-48 * time.Hour), EnteredBy: "user:1",
			Subject: dsr.Person{Name: "Lou", Country: "NL", PostalAddress: "Dam 1\nAmsterdam"}}
		if scan != nil {
			s.Letter = &dsr.File{Filename: "../scan.png", Content: scan}
		}
		return s
	}
	in, err := dsr.PlanIntake(org, sub(dsr.ChannelLetter, png), now, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := in.Change
	if in.Request.Status != dsr.StatusPendingVerification || len(c.Messages) != 0 || in.Request.VerificationSent != nil {
		t.Fatalf("status %s, %d messages, verification sent %v", in.Request.Status, len(c.Messages), in.Request.VerificationSent)
	}
	for _, j := range c.Jobs {
		if j.Kind == dsr.JobVerification || j.Kind == dsr.JobVerificationFromNow {
			t.Errorf("a confirmation job (%s) for a request that cannot be confirmed by email", j.Kind)
		}
	}
	other := false
	for _, ev := range c.Events {
		other = other || ev.Type == dsr.EventVerifyOtherMeans
	}
	if !other || len(c.Attachments) != 1 || c.Attachments[0].Purpose != "letter" || c.Attachments[0].File.ContentType != "image/png" ||
		c.Attachments[0].File.Filename != "scan.png" {
		t.Fatalf("events %+v, attachments %+v", c.Events, c.Attachments)
	}
	// Once open, every message is a letter without links.
	after := *in.Request
	after.Status = dsr.StatusOpen
	msgs := dsr.MailAll(&after, dsr.MailAcknowledged, now, dsr.Message{Download: &dsr.TokenGrant{Purpose: dsr.TokenDownload}})
	if len(msgs) != 1 || !msgs[0].Letter || msgs[0].Download != nil || msgs[0].Status.Purpose != "" {
		t.Fatalf("messages to a requester without email: %+v", msgs)
	}

	for _, tc := range []struct {
		name string
		ch   dsr.Channel
		scan []byte
	}{{"not a document", dsr.ChannelLetter, []byte("hello, this is text")}, {"from the public API", dsr.ChannelAPI, png}} {
		s := sub(tc.ch, tc.scan)
		s.ReceivedAt, s.EnteredBy = time.Time{}, ""
		_, err := dsr.PlanIntake(org, s, now, nil)
		var de *dsr.Error
		if !errors.As(err, &de) || de.Fields["letter"] == "" {
			t.Errorf("%s: %v, want a letter field error", tc.name, err)
		}
	}
}
