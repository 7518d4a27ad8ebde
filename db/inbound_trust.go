package db

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Trust of a reply (inbound_emails.trust).
const (
	TrustUnverified = "unverified" // From: is not the requester's or agent's address: held for officers
	TrustAccepted   = "accepted"   // an officer accepted the held reply
)

// AttachmentUnverified is the purpose of a held reply's attachments: stored,
// but no answer documents until the reply is accepted.
const AttachmentUnverified = "unverified"

// HeldReply is a reply held for officers because of its sender.
type HeldReply struct {
	InboundID   string
	RequestID   string
	Status      string // the inbound email's status (reply)
	Trust       string // TrustUnverified or TrustAccepted ("" for any other message)
	For         string // whom our mail went to: "subject" or "agent"
	Text        string // what the sender wrote, quotes stripped
	Attachments []string
	FromAddress string
	Subject     string
	DKIM        string
	ReceivedAt  time.Time
	AcceptedBy  string
	AcceptedAt  *time.Time
}

const heldColumns = `id, coalesce(request_id::text, ''), status, trust, held_for, held_text, held_attachments::text[],
	from_address, subject, dkim, received_at, accepted_by, accepted_at`

func scanHeld(row pgx.Row) (*HeldReply, error) {
	var h HeldReply
	err := row.Scan(&h.InboundID, &h.RequestID, &h.Status, &h.Trust, &h.For, &h.Text, &h.Attachments,
		&h.FromAddress, &h.Subject, &h.DKIM, &h.ReceivedAt, &h.AcceptedBy, &h.AcceptedAt)
	return &h, err
}

// HoldReply marks inbound email id as an unverified reply with what
// accepting it will apply: the text, the attachments (already stored with
// purpose AttachmentUnverified) and whom it answers.
func HoldReply(ctx context.Context, tx pgx.Tx, id, heldFor, text string, attachments []string) error {
	if attachments == nil {
		attachments = []string{}
	}
	_, err := tx.Exec(ctx, `UPDATE inbound_emails SET trust = 'unverified', held_for = $2, held_text = $3,
		held_attachments = $4::uuid[] WHERE id = $1`, id, heldFor, text, attachments)
	return wrap("hold reply", err)
}

// LockHeldReply locks inbound email id and returns it as a held reply
// (whatever its trust: the caller checks). Errors: ENOTFOUND.
func LockHeldReply(ctx context.Context, tx pgx.Tx, id string) (*HeldReply, error) {
	h, err := scanHeld(tx.QueryRow(ctx, `SELECT `+heldColumns+` FROM inbound_emails WHERE id::text = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "inbound email not found")
	}
	return h, wrap("lock held reply", err)
}

// AcceptHeldReply records that actor accepted held reply id at at, and
// makes its attachments answer documents.
func AcceptHeldReply(ctx context.Context, tx pgx.Tx, id, actor string, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE attachments SET purpose = 'answer'
		WHERE id = ANY (SELECT unnest(held_attachments) FROM inbound_emails WHERE id = $1) AND purpose = 'unverified'`, id)
	if err != nil {
		return wrap("accept held reply attachments", err)
	}
	_, err = tx.Exec(ctx, `UPDATE inbound_emails SET trust = 'accepted', accepted_by = $2, accepted_at = $3 WHERE id = $1`, id, actor, at)
	return wrap("accept held reply", err)
}

// HeldReplies lists a request's replies held for officers, unverified and
// accepted, oldest first.
func HeldReplies(ctx context.Context, q Querier, requestID string) ([]*HeldReply, error) {
	rows, err := q.Query(ctx, `SELECT `+heldColumns+` FROM inbound_emails
		WHERE request_id = $1 AND trust <> '' ORDER BY received_at, id`, requestID)
	if err != nil {
		return nil, wrap("held replies", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*HeldReply, error) { return scanHeld(row) })
}
