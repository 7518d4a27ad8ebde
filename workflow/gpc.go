package workflow

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// GPCReceipt is the answer to a Global Privacy Control opt-out.
type GPCReceipt struct {
	Receipt
	Existing bool `json:"existing"` // the same browser or email had already opted out
}

// SubmitGPC records a browser's Global Privacy Control signal as a CCPA
// opt-out of sale and sharing (11 CCR §7025), without verification, due in
// 15 business days and marked as coming from GPC. The identifiers are the
// email when known, otherwise a device or cookie id. A repeat from the same
// device or email returns the earlier opt-out. Errors: EINVALID (no
// identifier), EUNAVAILABLE (the organisation does not apply the CCPA).
func (e *Engine) SubmitGPC(ctx context.Context, email, deviceID string) (*GPCReceipt, error) {
	email, deviceID = strings.TrimSpace(email), strings.TrimSpace(deviceID)
	if !e.org.OffersRegime("ccpa") {
		return nil, &dsr.Error{Code: dsr.EUNAVAILABLE, Message: e.org.Organisation.Name +
			" does not sell or share personal information under the CCPA, so a Global Privacy Control opt-out has nothing to record."}
	}
	if email == "" && deviceID == "" {
		return nil, &dsr.Error{Code: dsr.EINVALID, Message: "Some fields are not valid.", Fields: map[string]string{"device_id": "give an email or a device id"}}
	}
	if rc, err := e.existingGPC(ctx, email, deviceID); rc != nil || err != nil {
		return rc, err
	}
	fields := map[string]string{"opt_out_of": dsr.GPCOptOut}
	if deviceID != "" {
		fields["device_id"] = deviceID
	}
	rc, err := e.Submit(ctx, dsr.Submission{Kind: dsr.KindOptOut, Regime: "ccpa", Channel: dsr.ChannelGPC, Fields: fields,
		Subject: dsr.Person{Email: email, Country: "US", State: "CA"}, Details: "Global Privacy Control signal (Sec-GPC: 1)"}, "")
	if err != nil {
		return nil, err
	}
	return &GPCReceipt{Receipt: *rc}, nil
}

func (e *Engine) existingGPC(ctx context.Context, email, deviceID string) (*GPCReceipt, error) {
	var id string
	err := e.pool.QueryRow(ctx, `SELECT r.id FROM requests r JOIN requesters s ON s.id = r.requester_id
		WHERE r.channel = 'gpc' AND r.status <> 'withdrawn'
		  AND (($1 <> '' AND r.fields ->> 'device_id' = $1) OR ($2 <> '' AND lower(s.email) = lower($2)))
		ORDER BY r.received_at LIMIT 1`, deviceID, email).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, &dsr.Error{Code: dsr.EINTERNAL, Err: err}
	}
	req, err := db.GetRequest(ctx, e.pool, id, false)
	if err != nil {
		return nil, err
	}
	return &GPCReceipt{Existing: true, Receipt: Receipt{ID: req.ID, Ref: req.RefString(), Kind: req.Kind, Regime: req.Regime,
		Status: req.Status, ReceivedAt: req.ReceivedAt, DueAt: req.DueOn}}, nil
}

// MarkOptOutApplied records that a selling or sharing system applied an
// opt-out, in the audit trail too. Errors: ENOTFOUND, EINVALID.
func (e *Engine) MarkOptOutApplied(ctx context.Context, requestID, system, userID string) error {
	return e.withRequest(ctx, requestID, func(tx pgx.Tx, req *dsr.Request) error {
		now := e.now()
		if err := db.MarkOptOutApplied(ctx, tx, req.ID, system, userID, now); err != nil {
			return err
		}
		return event(ctx, tx, req, Actor(userID), "opt_out_applied", false, map[string]string{"system": system}, now)
	})
}
