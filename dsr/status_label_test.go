package dsr_test

import (
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// TestOfficerLabel: the console speaks to the officer, never in the
// requester's words, and a status without a label of its own still reads
// as text.
func TestOfficerLabel(t *testing.T) {
	t.Parallel()
	want := map[dsr.Status]string{
		dsr.StatusAwaitingRequester:   "Waiting for the requester",
		dsr.StatusPendingVerification: "Identity not yet confirmed",
		dsr.StatusOpen:                "New, not started",
	}
	for st, w := range want {
		if got := st.OfficerLabel(); got != w {
			t.Errorf("%s.OfficerLabel() = %q, want %q", st, got, w)
		}
	}
	for _, st := range []dsr.Status{dsr.StatusPendingTriage, dsr.StatusPendingVerification, dsr.StatusOpen, dsr.StatusInProgress,
		dsr.StatusAwaitingRequester, dsr.StatusCompleted, dsr.StatusDenied, dsr.StatusWithdrawn, dsr.StatusExpired} {
		if l := st.OfficerLabel(); l == "" || l == string(st) || l == "Waiting for your answer" {
			t.Errorf("%s.OfficerLabel() = %q", st, l)
		}
	}
	if got := dsr.Status("appealed_later").OfficerLabel(); got != "appealed_later" {
		t.Errorf("unknown status reads %q", got)
	}
}
