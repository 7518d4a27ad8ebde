package db

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// AuditReport is the result of VerifyChains.
type AuditReport struct {
	Requests int         // requests checked
	Events   int         // events checked
	Broken   *BrokenLink // the first broken link, nil when every chain is intact
}

// BrokenLink names the first event, in (request id, seq) order, whose link
// in its request's hash chain does not hold.
type BrokenLink struct {
	RequestID string
	Seq       int    // 0 with Reason "no events"
	EventID   int64  // events.id; 0 with Reason "no events"
	Type      string // the event's type as stored
	Reason    string // see the Audit* reasons
}

// Reasons a link is broken, checked in this order for each event.
const (
	// AuditSequenceGap: seq is not the previous event's seq + 1 (or 1 for
	// the first event): events were deleted or renumbered.
	AuditSequenceGap = "sequence gap"
	// AuditPrevHashMismatch: prev_hash is not the previous event's hash
	// (32 zero bytes for seq 1).
	AuditPrevHashMismatch = "prev_hash mismatch"
	// AuditMalformedData: data is not a JSON object of strings, so no
	// event written by AppendEvent can have it.
	AuditMalformedData = "malformed data"
	// AuditHashMismatch: hash is not EventHash of the stored columns: the
	// event was changed after it was written.
	AuditHashMismatch = "hash mismatch"
	// AuditNoEvents: a request has no events at all, though intake always
	// writes one.
	AuditNoEvents = "no events"
	// AuditPersonalMismatch: a version-2 event's personal part does not
	// match its digest (it was changed), or is missing though its request
	// was never purged (only the purge erases it).
	AuditPersonalMismatch = "personal data mismatch"
)

// VerifyChains recomputes every request's event hash chain with EventHash
// (version-1 rows) or EventHashV2 and the personal part's digest,
// streaming all requests and their events in one query ordered by
// (request id, seq), and reports the first broken link. Each event is
// checked against the stored hash of the one before it, so one changed
// event is reported once, at that event. It cannot see events cut from the
// end of a chain: the chain's head is not anchored anywhere else.
//
// Errors: only database failures (EINTERNAL); a broken chain is a result,
// in AuditReport.Broken.
func VerifyChains(ctx context.Context, q Querier) (AuditReport, error) {
	var rep AuditReport
	// A LEFT JOIN from requests so that a request whose events were all
	// deleted shows up too. One statement is one snapshot, so a request
	// committed with its first events is seen with them.
	rows, err := q.Query(ctx, `SELECT r.id::text, r.purged_at IS NOT NULL, e.id, e.seq, e.at, e.actor, e.type, e.public, e.data, e.prev_hash, e.hash,
			e.hash_version, p.personal, e.personal_digest
		FROM requests r LEFT JOIN events e ON e.request_id = r.id
			LEFT JOIN event_personal p ON p.request_id = e.request_id AND p.seq = e.seq
		ORDER BY r.id, e.seq`)
	if err != nil {
		return rep, wrap("verify chains", err)
	}
	defer rows.Close()

	zero := make([]byte, sha256.Size)
	var (
		request  string
		prevSeq  int
		prevHash []byte
	)
	broken := func(l BrokenLink) {
		if rep.Broken == nil {
			rep.Broken = &l
		}
	}
	for rows.Next() {
		var (
			requestID        string
			eventID          *int64
			seq              *int
			at               *time.Time
			actor, typ       *string
			public           *bool
			data, prev, hash []byte
			purged           bool
			version          *int16
			personal, digest []byte
		)
		if err := rows.Scan(&requestID, &purged, &eventID, &seq, &at, &actor, &typ, &public, &data, &prev, &hash, &version, &personal, &digest); err != nil {
			return rep, wrap("verify chains", err)
		}
		if requestID != request {
			request, prevSeq, prevHash = requestID, 0, zero
			rep.Requests++
		}
		if eventID == nil {
			broken(BrokenLink{RequestID: requestID, Reason: AuditNoEvents})
			continue
		}
		rep.Events++
		link := BrokenLink{RequestID: requestID, Seq: *seq, EventID: *eventID, Type: *typ}
		ev := dsr.Event{Seq: *seq, At: *at, Actor: *actor, Type: *typ, Public: *public}
		switch {
		case *seq != prevSeq+1:
			link.Reason = AuditSequenceGap
		case !bytes.Equal(prev, prevHash):
			link.Reason = AuditPrevHashMismatch
		case !decodeEventData(data, &ev.Data):
			link.Reason = AuditMalformedData
		case *version == HashV1 && !bytes.Equal(hash, EventHash(prev, requestID, ev)):
			link.Reason = AuditHashMismatch
		case *version == HashV2 && !bytes.Equal(hash, EventHashV2(prev, requestID, ev, digest)):
			link.Reason = AuditHashMismatch
		case *version == HashV2 && (!checkPersonal(personal, digest) || (personal == nil && digest != nil && !purged)):
			link.Reason = AuditPersonalMismatch
		case *version != HashV1 && *version != HashV2:
			link.Reason = AuditHashMismatch
		}
		if link.Reason != "" {
			broken(link)
		}
		prevSeq, prevHash = *seq, hash
	}
	if err := rows.Err(); err != nil {
		return rep, wrap("verify chains", err)
	}
	return rep, nil
}

// decodeEventData unmarshals an events.data value, which AppendEvent
// writes from a map[string]string.
func decodeEventData(data []byte, m *map[string]string) bool {
	return json.Unmarshal(data, m) == nil && *m != nil
}
