package workflow

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/notify"
)

// MailRedirected answers the processor path with the organisation's
// instructions.
const MailRedirected = dsr.MailRedirected

// Redirected is what Redirect recorded, for the answer page.
type Redirected struct {
	ID           string
	Instructions string
	Client       string
}

// Redirect answers a request about data one of the organisation's clients
// controls (the processor path): it records the request as redirected
// and mails the organisation's instructions to the requester, in one
// transaction with the message's delivery job. Errors: ENOTFOUND (the
// organisation has no processor notice), EINVALID with fields (see
// dsr.PlanRedirect).
func (e *Engine) Redirect(ctx context.Context, in dsr.RedirectInput) (*Redirected, error) {
	now := e.now()
	rd, err := dsr.PlanRedirect(e.org, in, now)
	if err != nil {
		return nil, err
	}
	data := notify.MailData{Locale: e.org.Locale, OrgName: e.org.Organisation.Name, ContactEmail: e.org.Organisation.ContactEmail,
		ReceivedOn: dsr.DateIn(now, e.org.Location()).Long(), Note: rd.Instructions, ClientName: rd.Client}
	r, err := e.renderer.Render(e.org.Locale, MailRedirected, data)
	if err != nil {
		return nil, dsr.Internal(err)
	}
	m := &db.Message{Event: MailRedirected, Locale: e.org.Locale, RecipientRole: db.HolderSubject,
		ToEmail: rd.Email, Subject: r.Subject, TextBody: r.Text, HTMLBody: r.HTML}
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		if err := e.recordMessage(ctx, tx, m); err != nil {
			return err
		}
		if err := db.InsertRedirect(ctx, tx, rd.ID, rd.ReceivedAt, rd.Client, m.ID); err != nil {
			return dbErr("insert redirect", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Redirected{ID: rd.ID, Instructions: rd.Instructions, Client: rd.Client}, nil
}

// RedirectRow is a recorded processor-path answer (see db.RedirectRow).
type RedirectRow = db.RedirectRow

// Redirects lists the latest limit requests answered on the processor
// path, newest first, with the instructions mail each was sent, and how
// many there are in all. Errors: the database's.
func (e *Engine) Redirects(ctx context.Context, limit int) ([]RedirectRow, int, error) {
	return db.Redirects(ctx, e.pool, limit)
}
