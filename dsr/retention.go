package dsr

import (
	"strings"
	"time"
)

// Retention is how long DSR Desk keeps its own personal data (issue #14
// §1): the storage-limitation principle (GDPR Art. 5(1)(e)) against the
// duty to keep proof (CCPA §7101: records of each request and its answer
// for at least 24 months). The defaults satisfy the strictest regime an
// organisation applies; every period counts from an instant stored with
// the data.
type Retention struct {
	// RecordsMonths: months after a request closes that its personal
	// data is kept; then it becomes its record form (kind, regime,
	// channel, dates, outcome, denial basis, ledger, event types).
	// Default 24 (CCPA §7101), 24–120.
	RecordsMonths int `json:"records_months"`
	// DocumentsDays: days after a request closes that the documents the
	// requester or agent sent (identity documents, agent permissions,
	// answers, scanned letters) are kept. Default 30, 1–3650.
	DocumentsDays int `json:"documents_days"`
	// InboundDays: days after an inbound email was processed that its
	// raw message and headers are kept. Default 30, 1–3650.
	InboundDays int `json:"inbound_days"`
	// MessageBodiesDays: days after an outgoing message was written that
	// its recipient address, name, subject and bodies are kept; then only
	// the record that it went (event, recipient role, status, sent_at)
	// stays. Default 30, 1–3650. Messages still waiting to be delivered,
	// and letters of an open request, are kept until they are not.
	MessageBodiesDays int `json:"message_bodies_days"`
	// TokensDays: days after a link token was used or expired that its
	// row is kept (it holds only a hash; the row says the link existed).
	// Default 30, 1–3650. Closed console sessions are deleted at once.
	TokensDays int `json:"tokens_days"`
	// EraseOwnRecordsOnErasure: when an erasure request completes, the
	// same requester's (same email, case-insensitive) earlier closed
	// requests are purged to their record form at once, whatever their
	// age (not those on legal hold). Default true.
	EraseOwnRecordsOnErasure *bool  `json:"erase_own_records_on_erasure"`
	Comment                  string `json:"comment"`
}

// Retention defaults.
const (
	DefaultRecordsMonths     = 24
	DefaultDocumentsDays     = 30
	DefaultInboundDays       = 30
	DefaultMessageBodiesDays = 30
	DefaultTokensDays        = 30
)

// EraseOwnRecords reports whether a completed erasure also purges the
// requester's earlier closed requests.
func (r Retention) EraseOwnRecords() bool {
	return r.EraseOwnRecordsOnErasure == nil || *r.EraseOwnRecordsOnErasure
}

func (r *Retention) applyDefaults() {
	if r.RecordsMonths == 0 {
		r.RecordsMonths = DefaultRecordsMonths
	}
	if r.DocumentsDays == 0 {
		r.DocumentsDays = DefaultDocumentsDays
	}
	if r.InboundDays == 0 {
		r.InboundDays = DefaultInboundDays
	}
	if r.MessageBodiesDays == 0 {
		r.MessageBodiesDays = DefaultMessageBodiesDays
	}
	if r.TokensDays == 0 {
		r.TokensDays = DefaultTokensDays
	}
}

// validateRetention applies the defaults and checks the ranges. Records
// may not be kept for less than 24 months: CCPA §7101 requires them, and
// the record form holds no personal data, so nothing is gained.
func (c *Config) validateRetention(add addFunc) {
	r := &c.Retention
	r.applyDefaults()
	if r.RecordsMonths < 24 || r.RecordsMonths > 120 {
		add("retention.records_months", "must be between 24 (CCPA §7101) and 120")
	}
	days := map[string]int{
		"retention.documents_days":      r.DocumentsDays,
		"retention.inbound_days":        r.InboundDays,
		"retention.message_bodies_days": r.MessageBodiesDays,
		"retention.tokens_days":         r.TokensDays,
	}
	for f, d := range days {
		if d < 1 || d > 3650 {
			add(f, "must be between 1 and 3650")
		}
	}
}

// PurgeCutoffs are the instants before which each category of personal
// data is due for purge, as of one moment: the answer to "what is due
// as of D". Data whose clock instant is at or before the cutoff goes.
type PurgeCutoffs struct {
	AsOf time.Time `json:"as_of"`
	// RequestsClosedBefore: closed requests become their record form.
	RequestsClosedBefore time.Time `json:"requests_closed_before"`
	// DocumentsClosedBefore: documents of requests closed by then go.
	DocumentsClosedBefore time.Time `json:"documents_closed_before"`
	// ExportsClosedBefore: export files (and what systems returned for
	// them) of requests closed a download period ago go, once no download
	// link of the request is live.
	ExportsClosedBefore time.Time `json:"exports_closed_before"`
	// InboundProcessedBefore: raw inbound emails processed by then go.
	InboundProcessedBefore time.Time `json:"inbound_processed_before"`
	// MessagesCreatedBefore: message bodies written by then are redacted.
	MessagesCreatedBefore time.Time `json:"messages_created_before"`
	// TokensEndedBefore: tokens used or expired by then are deleted.
	TokensEndedBefore time.Time `json:"tokens_ended_before"`
}

// PurgeCutoffs works out the cutoffs as of asOf. Months are calendar
// months in UTC (time.AddDate); days are 24-hour periods.
func (c *Config) PurgeCutoffs(asOf time.Time) PurgeCutoffs {
	r := c.Retention
	r.applyDefaults()
	asOf = asOf.UTC()
	days := func(n int) time.Time { return asOf.Add(-time.Duration(n) * 24 * time.Hour) }
	downloads := c.Downloads.ValidDays
	if downloads == 0 {
		downloads = 14
	}
	return PurgeCutoffs{
		AsOf:                   asOf,
		RequestsClosedBefore:   asOf.AddDate(0, -r.RecordsMonths, 0),
		DocumentsClosedBefore:  days(r.DocumentsDays),
		ExportsClosedBefore:    days(downloads),
		InboundProcessedBefore: days(r.InboundDays),
		MessagesCreatedBefore:  days(r.MessageBodiesDays),
		TokensEndedBefore:      days(r.TokensDays),
	}
}

// PurgeAsOf is the instant a `--as-of YYYY-MM-DD` date stands for: the
// end of that day in the organisation's time zone (the start of the
// next), so that everything due on D is purged "as of D".
func (c *Config) PurgeAsOf(d Date) time.Time {
	return d.AddDays(1).Start(c.Location()).UTC()
}

// RecordState is what the purge decision needs to know of a request.
type RecordState struct {
	Status   Status
	ClosedAt *time.Time
	HeldAt   *time.Time // legal hold, nil when none
	PurgedAt *time.Time
}

// PurgeDue reports whether a request in state s is due to become its
// record form under cut: closed (finally: an appealed refusal is a live
// case), closed at or before the cutoff, not on legal hold, not purged.
func (cut PurgeCutoffs) PurgeDue(s RecordState) bool {
	return s.Status.Closed() && s.ClosedAt != nil && !s.ClosedAt.After(cut.RequestsClosedBefore) &&
		s.HeldAt == nil && s.PurgedAt == nil
}

// DocumentsDue reports whether the documents of a request in state s are
// due for deletion under cut (same rules, the documents' period).
func (cut PurgeCutoffs) DocumentsDue(s RecordState) bool {
	return s.Status.Closed() && s.ClosedAt != nil && !s.ClosedAt.After(cut.DocumentsClosedBefore) && s.HeldAt == nil
}

// DocumentPurposes are the attachment purposes that are documents the
// requester or agent sent: deleted DocumentsDays after the close.
var DocumentPurposes = []string{"permission", "answer", "inbound", "unverified", "appeal", "letter"}

// ExportPurposes are the attachment purposes of files made for the
// requester: deleted when their download link has expired.
var ExportPurposes = []string{"export", "task"}

// Event types of the retention.
const (
	EventLegalHoldPlaced   EventType = "legal_hold_placed"
	EventLegalHoldReleased EventType = "legal_hold_released"
	// EventPurged: the request became its record form (data "as_of").
	EventPurged EventType = "purged"
	// EventOwnRecordsErased: a completed erasure purged the requester's
	// earlier requests (data "requests": how many).
	EventOwnRecordsErased EventType = "own_records_erased"
)

// JobEraseOwnRecords schedules, with a completed erasure, the purge of
// the requester's earlier closed requests (Retention.EraseOwnRecords).
const JobEraseOwnRecords JobKind = "erase_own_records"

// WithOwnRecordsErasure adds the erase-own-records job to c when c
// completes an erasure request and the organisation purges its own
// records on erasure.
func WithOwnRecordsErasure(org *Config, r *Request, c Change) Change {
	if r.Kind == KindErasure && c.To == StatusCompleted && org.Retention.EraseOwnRecords() {
		c.Jobs = append(c.Jobs, Job{Kind: JobEraseOwnRecords})
	}
	return c
}

// LegalHold is an officer's hold on a request: while it stands, nothing
// of the request is purged.
type LegalHold struct {
	At     time.Time
	By     string // event actor of the officer
	Reason string
}

// MaxHoldReason bounds a hold reason, in bytes.
const MaxHoldReason = 2000

// PlanLegalHold places a legal hold on a request (current is its hold,
// nil when none) with the officer's reason. Errors: EINVALID (no reason,
// or longer than MaxHoldReason), ECONFLICT (already held, or already
// purged: a purged request has nothing left to hold).
func PlanLegalHold(current *LegalHold, purged bool, actor, reason string, now time.Time) (Change, LegalHold, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return Change{}, LegalHold{}, &Error{Code: EINVALID, Message: "Give the reason for the legal hold.", Fields: FieldErrors{"reason": "is required"}}
	case len(reason) > MaxHoldReason:
		return Change{}, LegalHold{}, &Error{Code: EINVALID, Message: "The reason is too long.", Fields: FieldErrors{"reason": "must be at most 2000 bytes"}}
	case purged:
		return Change{}, LegalHold{}, Errorf(ECONFLICT, "This request was purged to its record form; there is no personal data left to hold.")
	case current != nil:
		return Change{}, LegalHold{}, Errorf(ECONFLICT, "This request is already on legal hold.")
	}
	h := LegalHold{At: now, By: actor, Reason: reason}
	return Change{Events: []NewEvent{{Type: EventLegalHoldPlaced, Actor: actor, Data: map[string]string{"reason": reason}}}}, h, nil
}

// PlanReleaseHold releases a request's legal hold (current nil: none).
// The purge then applies its periods again, counted as before (from the
// close). Errors: ECONFLICT (no hold).
func PlanReleaseHold(current *LegalHold, actor string, now time.Time) (Change, error) {
	if current == nil {
		return Change{}, Errorf(ECONFLICT, "This request is not on legal hold.")
	}
	return Change{Events: []NewEvent{{Type: EventLegalHoldReleased, Actor: actor,
		Data: map[string]string{"held_since": current.At.UTC().Format(time.RFC3339)}}}}, nil
}

// personalEventKeys are event data keys that hold free text written by
// people (an officer's summary, explanation, question or reason), which
// may name or describe the data subject.
var personalEventKeys = map[string]bool{
	"note": true, "summary": true, "explanation": true, "systems": true, "on_behalf": true,
}

// reasonIsText are the event types whose "reason" is free text; in the
// others it is a code (a denial basis, a fee reason) the record keeps.
var reasonIsText = map[EventType]bool{
	EventExtended: true, EventAppealExtended: true, EventLegalHoldPlaced: true,
}

// PersonalEventData reports whether data[key] of an event of type typ is
// personal: stored outside the hashed part of the event (only its digest
// is hashed) so that the purge can erase it and the chain still verifies.
func PersonalEventData(typ EventType, key string) bool {
	return personalEventKeys[key] || strings.HasPrefix(key, "kept.") || (key == "reason" && reasonIsText[typ])
}

// SplitEventData splits an event's data into its structural part (hashed
// as it is, kept for ever) and its personal part (nil when none).
func SplitEventData(typ EventType, data map[string]string) (structural, personal map[string]string) {
	structural = map[string]string{}
	for k, v := range data {
		if PersonalEventData(typ, k) {
			if personal == nil {
				personal = map[string]string{}
			}
			personal[k] = v
		} else {
			structural[k] = v
		}
	}
	return structural, personal
}

func init() {
	for t, d := range map[EventType]string{
		EventLegalHoldPlaced:   "An officer placed a legal hold on the request, with the reason: nothing of it is purged while the hold stands.",
		EventLegalHoldReleased: "An officer released the legal hold: the retention periods apply again.",
		EventPurged:            "The retention period ended: the request's personal data was erased and its record form kept.",
		EventOwnRecordsErased:  "The requester's completed erasure request also erased DSR Desk's records of their earlier requests.",
	} {
		eventDescriptions[t] = d
	}
}
