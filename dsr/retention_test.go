package dsr

import (
	"strings"
	"testing"
	"time"
)

func retentionConfig(t *testing.T, retention string) (*Config, error) {
	t.Helper()
	js := `{"organisation": {"name": "O", "contact_email": "p@o.example"}, "mail": {"from": "p@o.example"},
		"time_zone": "Europe/Amsterdam", "regimes": ["gdpr"], "default_regime": "gdpr"` + retention + `}`
	return ParseConfig(strings.NewReader(js))
}

func TestRetentionDefaults(t *testing.T) {
	c, err := retentionConfig(t, "")
	if err != nil {
		t.Fatal(err)
	}
	r := c.Retention
	if r.RecordsMonths != 24 || r.DocumentsDays != 30 || r.InboundDays != 30 || r.MessageBodiesDays != 30 || r.TokensDays != 30 || !r.EraseOwnRecords() {
		t.Fatalf("defaults: %+v", r)
	}
	c, err = retentionConfig(t, `, "retention": {"records_months": 36, "erase_own_records_on_erasure": false}`)
	if err != nil || c.Retention.RecordsMonths != 36 || c.Retention.EraseOwnRecords() {
		t.Fatalf("set: %+v %v", c, err)
	}
}

func TestRetentionValidation(t *testing.T) {
	for _, tt := range []struct{ json, field string }{
		{`{"records_months": 12}`, "retention.records_months"},
		{`{"records_months": 121}`, "retention.records_months"},
		{`{"documents_days": -1}`, "retention.documents_days"},
		{`{"inbound_days": 4000}`, "retention.inbound_days"},
		{`{"message_bodies_days": -5}`, "retention.message_bodies_days"},
		{`{"tokens_days": 9999}`, "retention.tokens_days"},
		{`{"record_months": 24}`, "record_months"}, // a typo is an error
	} {
		_, err := retentionConfig(t, `, "retention": `+tt.json)
		if err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: %v, want an error naming %s", tt.json, err, tt.field)
		}
	}
}

func TestPurgeDue(t *testing.T) {
	c, err := retentionConfig(t, "")
	if err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	cut := c.PurgeCutoffs(asOf)
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	tests := []struct {
		name      string
		s         RecordState
		due, docs bool
	}{
		{"open", RecordState{Status: StatusOpen}, false, false},
		{"appealed, closed long ago", RecordState{Status: StatusAppealed, ClosedAt: at("2020-01-01T00:00:00Z")}, false, false},
		{"closed 24 months ago to the second", RecordState{Status: StatusCompleted, ClosedAt: at("2024-06-15T12:00:00Z")}, true, true},
		{"closed a second too late", RecordState{Status: StatusCompleted, ClosedAt: at("2024-06-15T12:00:01Z")}, false, true},
		{"denied 3 years ago", RecordState{Status: StatusDenied, ClosedAt: at("2023-01-01T00:00:00Z")}, true, true},
		{"held", RecordState{Status: StatusDenied, ClosedAt: at("2023-01-01T00:00:00Z"), HeldAt: at("2023-02-01T00:00:00Z")}, false, false},
		{"already purged", RecordState{Status: StatusExpired, ClosedAt: at("2023-01-01T00:00:00Z"), PurgedAt: at("2025-01-02T00:00:00Z")}, false, true},
		{"withdrawn 30 days ago", RecordState{Status: StatusWithdrawn, ClosedAt: at("2026-05-16T12:00:00Z")}, false, true},
		{"withdrawn 29 days ago", RecordState{Status: StatusWithdrawn, ClosedAt: at("2026-05-17T12:00:00Z")}, false, false},
	}
	for _, tt := range tests {
		if got := cut.PurgeDue(tt.s); got != tt.due {
			t.Errorf("%s: PurgeDue = %v, want %v", tt.name, got, tt.due)
		}
		if got := cut.DocumentsDue(tt.s); got != tt.docs {
			t.Errorf("%s: DocumentsDue = %v, want %v", tt.name, got, tt.docs)
		}
	}
	if cut.ExportsClosedBefore != asOf.Add(-14*24*time.Hour) || cut.InboundProcessedBefore != asOf.Add(-30*24*time.Hour) {
		t.Errorf("cutoffs %+v", cut)
	}
}

func TestPurgeAsOf(t *testing.T) {
	c, err := retentionConfig(t, "")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := ParseDate("2026-07-01")
	// The end of 1 July in Amsterdam (CEST, UTC+2) is 22:00 UTC.
	if got, want := c.PurgeAsOf(d), time.Date(2026, 7, 1, 22, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("PurgeAsOf = %v, want %v", got, want)
	}
}

func TestSplitEventData(t *testing.T) {
	tests := []struct {
		typ      EventType
		data     map[string]string
		personal []string
	}{
		{EventDenied, map[string]string{"reason": "exemption_applies", "reason_label": "Exempt", "explanation": "Dear Zoë"}, []string{"explanation"}},
		{EventExtended, map[string]string{"due": "2026-09-01", "reason": "Zoë's data is in 12 systems"}, []string{"reason"}},
		{EventCompleted, map[string]string{"outcome": "partial", "summary": "s", "systems": "CRM", "kept.0": "invoices — tax law"}, []string{"kept.0", "summary", "systems"}},
		{EventInfoRequested, map[string]string{"reason": "identity", "note": "Send your passport", "clock": "paused"}, []string{"note"}},
		{EventReceived, nil, nil},
	}
	for _, tt := range tests {
		st, pe := SplitEventData(tt.typ, tt.data)
		if len(st)+len(pe) != len(tt.data) {
			t.Errorf("%s: split %v + %v lost keys of %v", tt.typ, st, pe, tt.data)
		}
		if len(pe) != len(tt.personal) {
			t.Errorf("%s: personal %v, want keys %v", tt.typ, pe, tt.personal)
		}
		for _, k := range tt.personal {
			if _, ok := pe[k]; !ok {
				t.Errorf("%s: %s not personal", tt.typ, k)
			}
		}
		if tt.personal == nil && pe != nil {
			t.Errorf("%s: personal %v, want nil", tt.typ, pe)
		}
	}
}

func TestPlanLegalHold(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	c, h, err := PlanLegalHold(nil, false, "user:1", "  Litigation  ", now)
	if err != nil || h.Reason != "Litigation" || h.By != "user:1" || !h.At.Equal(now) ||
		len(c.Events) != 1 || c.Events[0].Type != EventLegalHoldPlaced || c.TouchesRequest() {
		t.Fatalf("hold: %+v %+v %v", c, h, err)
	}
	for _, tt := range []struct {
		cur    *LegalHold
		purged bool
		reason string
		code   string
	}{
		{nil, false, " ", EINVALID},
		{nil, false, strings.Repeat("x", MaxHoldReason+1), EINVALID},
		{&h, false, "again", ECONFLICT},
		{nil, true, "late", ECONFLICT},
	} {
		if _, _, err := PlanLegalHold(tt.cur, tt.purged, "user:1", tt.reason, now); ErrorCode(err) != tt.code {
			t.Errorf("hold %+v: %v, want %s", tt, err, tt.code)
		}
	}
	if _, err := PlanReleaseHold(nil, "user:1", now); ErrorCode(err) != ECONFLICT {
		t.Errorf("release without hold: %v", err)
	}
	if c, err := PlanReleaseHold(&h, "user:1", now); err != nil || c.Events[0].Type != EventLegalHoldReleased {
		t.Errorf("release: %+v %v", c, err)
	}
}

func TestWithOwnRecordsErasure(t *testing.T) {
	c, err := retentionConfig(t, "")
	if err != nil {
		t.Fatal(err)
	}
	done := Change{To: StatusCompleted}
	if got := WithOwnRecordsErasure(c, &Request{Kind: KindErasure}, done); len(got.Jobs) != 1 || got.Jobs[0].Kind != JobEraseOwnRecords {
		t.Errorf("erasure completed: %+v", got.Jobs)
	}
	if got := WithOwnRecordsErasure(c, &Request{Kind: KindAccess}, done); len(got.Jobs) != 0 {
		t.Errorf("access completed: %+v", got.Jobs)
	}
	if got := WithOwnRecordsErasure(c, &Request{Kind: KindErasure}, Change{To: StatusDenied}); len(got.Jobs) != 0 {
		t.Errorf("erasure denied: %+v", got.Jobs)
	}
	off := false
	c.Retention.EraseOwnRecordsOnErasure = &off
	if got := WithOwnRecordsErasure(c, &Request{Kind: KindErasure}, done); len(got.Jobs) != 0 {
		t.Errorf("configured off: %+v", got.Jobs)
	}
}
