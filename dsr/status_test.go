package dsr_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// statusTable is the intended state machine, written out independently of
// the code: from → allowed targets. Anything not listed is refused.
var statusTable = map[dsr.Status][]dsr.Status{
	dsr.StatusPendingTriage:       {dsr.StatusPendingVerification, dsr.StatusOpen, dsr.StatusWithdrawn, dsr.StatusDenied},
	dsr.StatusPendingVerification: {dsr.StatusOpen, dsr.StatusDenied, dsr.StatusWithdrawn, dsr.StatusExpired},
	dsr.StatusOpen:                {dsr.StatusInProgress, dsr.StatusAwaitingRequester, dsr.StatusCompleted, dsr.StatusDenied, dsr.StatusWithdrawn},
	dsr.StatusInProgress:          {dsr.StatusAwaitingRequester, dsr.StatusCompleted, dsr.StatusDenied, dsr.StatusWithdrawn},
	dsr.StatusAwaitingRequester:   {dsr.StatusInProgress, dsr.StatusCompleted, dsr.StatusDenied, dsr.StatusWithdrawn},
	dsr.StatusCompleted:           {dsr.StatusAppealed}, // only with outcome partial: PlanAppeal checks
	dsr.StatusDenied:              {dsr.StatusAppealed},
	dsr.StatusWithdrawn:           nil,
	dsr.StatusExpired:             nil,
	dsr.StatusAppealed:            {dsr.StatusInProgress, dsr.StatusOpen, dsr.StatusDenied, dsr.StatusCompleted, dsr.StatusWithdrawn},
}

func statusAllowed(from, to dsr.Status) bool {
	for _, s := range statusTable[from] {
		if s == to {
			return true
		}
	}
	return false
}

func TestStatusesAreTheNineKnown(t *testing.T) {
	t.Parallel()
	if len(dsr.Statuses) != len(statusTable) {
		t.Fatalf("dsr.Statuses has %d statuses, want %d", len(dsr.Statuses), len(statusTable))
	}
	seen := map[dsr.Status]bool{}
	for _, s := range dsr.Statuses {
		if _, ok := statusTable[s]; !ok {
			t.Errorf("unexpected status %q", s)
		}
		if seen[s] {
			t.Errorf("status %q listed twice", s)
		}
		seen[s] = true
		if !s.Valid() {
			t.Errorf("%q.Valid() = false", s)
		}
		if s.Label() == "" || s.Label() == string(s) {
			t.Errorf("%q.Label() = %q, want plain English", s, s.Label())
		}
	}
	for _, s := range []dsr.Status{"", "closed", "OPEN", "in-progress"} {
		if s.Valid() {
			t.Errorf("%q.Valid() = true, want false", s)
		}
	}
}

// TestStatusTransitions checks every (from, to) pair of dsr.Statuses,
// including self-transitions.
func TestStatusTransitions(t *testing.T) {
	t.Parallel()
	for _, from := range dsr.Statuses {
		for _, to := range dsr.Statuses {
			want := statusAllowed(from, to)
			name := string(from) + "→" + string(to)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				if got := from.CanTransition(to); got != want {
					t.Errorf("CanTransition = %v, want %v", got, want)
				}
				err := from.Transition(to)
				if want {
					if err != nil {
						t.Errorf("Transition = %v, want nil", err)
					}
					return
				}
				if err == nil {
					t.Fatal("Transition = nil, want an error")
				}
				if code := dsr.ErrorCode(err); code != dsr.ECONFLICT {
					t.Errorf("ErrorCode = %q, want %q", code, dsr.ECONFLICT)
				}
				var e *dsr.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %T is not a *dsr.Error", err)
				}
				if strings.TrimSpace(e.Rule) == "" {
					t.Error("refused transition has an empty Rule")
				}
				if !strings.Contains(e.Message, string(from)) {
					t.Errorf("message %q does not name the current status %q", e.Message, from)
				}
			})
		}
	}
}

func TestStatusUnknownTransitions(t *testing.T) {
	t.Parallel()
	tests := []struct{ from, to dsr.Status }{
		{"", dsr.StatusOpen},
		{"bogus", dsr.StatusOpen},
		{dsr.StatusOpen, ""},
		{dsr.StatusOpen, "bogus"},
		{dsr.StatusPendingVerification, "closed"},
		{dsr.StatusPendingTriage, "triaged"},
	}
	for _, tt := range tests {
		if tt.from.CanTransition(tt.to) {
			t.Errorf("%q→%q allowed", tt.from, tt.to)
		}
		if err := tt.from.Transition(tt.to); dsr.ErrorCode(err) != dsr.ECONFLICT {
			t.Errorf("%q→%q: Transition = %v, want ECONFLICT", tt.from, tt.to, err)
		}
	}
}

func TestStatusClosedAndOpenStatuses(t *testing.T) {
	t.Parallel()
	closed := map[dsr.Status]bool{
		dsr.StatusCompleted: true, dsr.StatusDenied: true, dsr.StatusWithdrawn: true, dsr.StatusExpired: true,
	}
	inOpen := map[dsr.Status]bool{}
	for _, s := range dsr.OpenStatuses {
		if inOpen[s] {
			t.Errorf("OpenStatuses lists %q twice", s)
		}
		inOpen[s] = true
		if !s.Valid() {
			t.Errorf("OpenStatuses holds unknown status %q", s)
		}
	}
	for _, s := range dsr.Statuses {
		if got := s.Closed(); got != closed[s] {
			t.Errorf("%q.Closed() = %v, want %v", s, got, closed[s])
		}
		// Exactly the non-closed statuses are in the officer queue, except
		// appeals, which have their own queue filter (status=appealed).
		if s != dsr.StatusAppealed && inOpen[s] == s.Closed() {
			t.Errorf("%q: in OpenStatuses = %v but Closed() = %v", s, inOpen[s], s.Closed())
		}
		// Closed statuses go nowhere (but a refusal may be appealed);
		// open ones have somewhere to go.
		hasExit := false
		for _, to := range dsr.Statuses {
			hasExit = hasExit || (s.CanTransition(to) && to != dsr.StatusAppealed)
		}
		if hasExit == s.Closed() {
			t.Errorf("%q: has a way out = %v, Closed() = %v", s, hasExit, s.Closed())
		}
	}
	if len(dsr.OpenStatuses)+len(closed)+1 != len(dsr.Statuses) { // + appealed
		t.Errorf("OpenStatuses (%d) + closed (%d) != Statuses (%d)", len(dsr.OpenStatuses), len(closed), len(dsr.Statuses))
	}
	// Every open status can eventually reach a closed one.
	for _, s := range dsr.OpenStatuses {
		if !s.CanTransition(dsr.StatusWithdrawn) {
			t.Errorf("%q cannot be withdrawn", s)
		}
	}
}

// A request by email waits for triage at the head of the workflow: it is
// open (in the officer queue) and can go on as any new request, or be
// dismissed.
func TestStatusPendingTriage(t *testing.T) {
	t.Parallel()
	s := dsr.StatusPendingTriage
	if dsr.Statuses[0] != s || dsr.OpenStatuses[0] != s {
		t.Errorf("Statuses[0] = %q, OpenStatuses[0] = %q, want %q first", dsr.Statuses[0], dsr.OpenStatuses[0], s)
	}
	if s.Closed() || !s.Valid() || s.Label() != "Needs triage" {
		t.Errorf("%q: Closed %v Valid %v Label %q", s, s.Closed(), s.Valid(), s.Label())
	}
	for _, to := range []dsr.Status{dsr.StatusInProgress, dsr.StatusAwaitingRequester, dsr.StatusCompleted, dsr.StatusExpired} {
		if s.CanTransition(to) {
			t.Errorf("%q→%q allowed: an untriaged request cannot be worked, completed or expire", s, to)
		}
	}
	for _, from := range dsr.Statuses {
		if from.CanTransition(s) {
			t.Errorf("%q→%q allowed: nothing goes back to triage", from, s)
		}
	}
}
