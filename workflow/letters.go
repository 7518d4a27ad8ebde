package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// Letter is a message to a requester without an email address, to print
// and post (see db.Letter).
type Letter = db.Letter

// letterStatusLine stands in a letter where an email has the status link:
// paper carries no token, so it says how to ask instead.
func (e *Engine) letterStatusLine(req *dsr.Request) string {
	s := fmt.Sprintf("%s, quoting reference %s", e.org.WriteToUs(), req.RefString())
	if c := e.org.Organisation.ContactEmail; c != "" {
		s += ", or email " + c
	}
	return s + "."
}

// prepareLetter fills in what a letter's row carries: like prepareMessage,
// but addressed to the postal address, captured (never delivered by the
// mail relay) and with nothing to seal, as a letter holds no link.
func (e *Engine) prepareLetter(m *db.Message, req *dsr.Request, now time.Time) error {
	m.FromEmail, m.MessageID, m.CreatedAt = e.org.Mail.From, e.newMessageID(), now
	m.ToEmail, m.Letter, m.Status = "", req.Subject.PostalAddress, db.MessageCaptured
	return nil
}

// Letters lists the letters of request id, oldest first.
func (e *Engine) Letters(ctx context.Context, id string) ([]Letter, error) {
	return db.Letters(ctx, e.pool, id)
}

// Letter returns one letter of request id, for its print view. Errors:
// ENOTFOUND.
func (e *Engine) Letter(ctx context.Context, id, messageID string) (*Letter, error) {
	return db.GetLetter(ctx, e.pool, id, messageID)
}

// MarkLetterPosted records that the officer userID posted the letter:
// the letter's posted time and a letter_posted event, in one transaction.
// Errors: ENOTFOUND (no such letter), ECONFLICT (already marked posted).
func (e *Engine) MarkLetterPosted(ctx context.Context, id, messageID, userID string) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		req, head, err := db.LockRequest(ctx, tx, id)
		if err != nil {
			return err
		}
		l, err := db.GetLetter(ctx, tx, id, messageID)
		if err != nil {
			return err
		}
		now := e.now()
		c, err := dsr.PlanLetterPosted(req, Actor(userID), messageID, l.Event, now)
		if err != nil {
			return err
		}
		ok, err := db.MarkLetterPosted(ctx, tx, id, messageID, userID, now)
		if err != nil {
			return err
		}
		if !ok {
			return &dsr.Error{Code: dsr.ECONFLICT, Message: "This letter is already marked posted."}
		}
		_, err = e.apply(ctx, tx, req, head, c, now)
		return err
	})
}
