package workflow

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// GPCReceipt is what SubmitGPC recorded. Callers answering the public
// must not show it: whether an email or device had already opted out is
// nobody else's business, so the API and the form answer the same for a
// new and a repeated signal.
type GPCReceipt struct {
	Receipt
	Existing bool // the same device (or, without one, the same email) had already opted out
	// Law is the regime this signal is an opt-out under (dsr.GPCRegime).
	Law string
}

// SubmitGPC records a browser's Global Privacy Control signal with no
// place given: SubmitGPCAt with country and state "".
func (e *Engine) SubmitGPC(ctx context.Context, email, deviceID string) (*GPCReceipt, error) {
	return e.SubmitGPCAt(ctx, email, deviceID, "", "")
}

// SubmitGPCAt records a browser's Global Privacy Control signal as an
// opt-out of sale and sharing under the law that requires honouring it
// (dsr.GPCRegime: the place's regime where given, else the CCPA where the
// organisation applies it — 11 CCR §7025 — else the first configured
// regime that requires it, from its effective date), without
// verification, marked as coming from GPC. A signal with a device id is
// its own record per device (the email, if given, is kept on it); one
// with only an email is keyed by that email. A repeat returns the earlier
// opt-out with Existing set; Law is the regime this signal falls under
// either way. Its status links stay pending: no link can withdraw it.
// Errors: EINVALID (no identifier, a malformed place), EUNAVAILABLE (no
// law the organisation applies requires honouring the signal there).
func (e *Engine) SubmitGPCAt(ctx context.Context, email, deviceID, country, state string) (*GPCReceipt, error) {
	email, deviceID = strings.TrimSpace(email), strings.TrimSpace(deviceID)
	place, err := dsr.GPCRegime(e.org, country, state, dsr.DateIn(e.now(), e.org.Location()))
	if err != nil {
		return nil, err
	}
	if email == "" && deviceID == "" {
		return nil, dsr.InvalidField("device_id", "give an email or a device id")
	}
	if rc, err := e.existingGPC(ctx, email, deviceID); rc != nil || err != nil {
		if rc != nil {
			rc.Law = place.Regime.ID
		}
		return rc, err
	}
	fields := map[string]string{"opt_out_of": dsr.GPCOptOut}
	if deviceID != "" {
		fields["device_id"] = deviceID
	}
	rc, err := e.Submit(ctx, dsr.Submission{Kind: dsr.KindOptOut, Regime: place.Regime.ID, Channel: dsr.ChannelGPC, Fields: fields,
		Subject: dsr.Person{Email: email, Country: place.Country, State: place.State}, Details: "Global Privacy Control signal (Sec-GPC: 1)"}, "")
	if err != nil {
		return nil, err
	}
	rc.StatusURL = "" // no link leaves through a GPC answer
	return &GPCReceipt{Receipt: *rc, Law: place.Regime.ID}, nil
}

func (e *Engine) existingGPC(ctx context.Context, email, deviceID string) (*GPCReceipt, error) {
	id, err := db.FindGPCOptOut(ctx, e.pool, email, deviceID)
	if err != nil || id == "" {
		return nil, err
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
		return event(ctx, tx, req, Actor(userID), dsr.EventOptOutApplied, false, map[string]string{"system": system}, now)
	})
}
