package workflow

import (
	"context"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// The reads behind the console pages and the admin API. They change
// nothing; each is one or a few queries on the pool, outside any
// transaction (a page may show a request a moment older than its events).

// Now is the engine's clock, in UTC to the microsecond (what PostgreSQL
// stores): handlers use it for "today" and "days left" so that a test's
// fake clock moves the pages with the jobs.
func (e *Engine) Now() time.Time { return e.now() }

// Queue returns one page of the officer queue in due-date order and the
// cursor of the next page (nil on the last page). Errors: ETEMPORARY when
// the database is unreachable, EINTERNAL otherwise.
func (e *Engine) Queue(ctx context.Context, f QueueFilter) ([]QueueRow, *QueueCursor, error) {
	rows, next, err := db.Queue(ctx, e.pool, f)
	if err != nil {
		return nil, nil, err
	}
	out := make([]QueueRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, queueRowOf(r))
	}
	return out, next, nil
}

// QueueCountCap is the most QueueCount counts exactly (db.QueueCountCap).
const QueueCountCap = db.QueueCountCap

// QueueCount counts the requests f selects, whatever its page: the total
// behind the console's page numbers.
func (e *Engine) QueueCount(ctx context.Context, f QueueFilter) (int, error) {
	return db.QueueCount(ctx, e.pool, f)
}

// StatusCounts returns how many requests are in each status.
func (e *Engine) StatusCounts(ctx context.Context) (map[dsr.Status]int, error) {
	return db.StatusCounts(ctx, e.pool)
}

// ActiveUsers lists the enabled users with one of roles, by email,
// without password hashes.
func (e *Engine) ActiveUsers(ctx context.Context, roles ...string) ([]User, error) {
	return db.ActiveUsers(ctx, e.pool, roles...)
}

// CountUsers returns how many users exist (a fresh install has none).
func (e *Engine) CountUsers(ctx context.Context) (int, error) { return db.CountUsers(ctx, e.pool) }

// UserByEmail finds a user, disabled or not, with the password hash (for
// the sign-in check). Errors: ENOTFOUND.
func (e *Engine) UserByEmail(ctx context.Context, email string) (*User, error) {
	return db.UserByEmail(ctx, e.pool, email)
}

// EndSession deletes the console session whose secret hashes to hash; an
// unknown hash is no error (signing out twice is fine).
func (e *Engine) EndSession(ctx context.Context, hash []byte) error {
	return db.DeleteSession(ctx, e.pool, hash)
}

// Request returns one request as stored. Errors: ENOTFOUND.
func (e *Engine) Request(ctx context.Context, id string) (*dsr.Request, error) {
	return db.GetRequest(ctx, e.pool, id, false)
}

// RequestDetail is everything stored about one request that an officer
// sees on its page.
type RequestDetail struct {
	Request       *dsr.Request
	AssigneeEmail string // "" when unassigned or the assignee is gone
	Ledger        []dsr.LedgerEntry
	Events        []dsr.Event // all, internal ones included
	Messages      []*Message
	Attachments   []Attachment
	HeldReplies   []*HeldReply
	Notes         []Note
	// Outcome is a completed request's outcome (Result "" otherwise).
	Outcome dsr.Outcome
	Appeals []*Appeal // oldest first
}

// RequestDetail loads a request with its ledger, events, messages,
// documents, held replies and notes. Errors: ENOTFOUND.
func (e *Engine) RequestDetail(ctx context.Context, id string) (*RequestDetail, error) {
	req, err := db.GetRequest(ctx, e.pool, id, false)
	if err != nil {
		return nil, err
	}
	d := &RequestDetail{Request: req}
	if req.AssigneeID != "" {
		if u, err := db.UserByID(ctx, e.pool, req.AssigneeID); err == nil {
			d.AssigneeEmail = u.Email
		}
	}
	if d.Ledger, err = db.Ledger(ctx, e.pool, id); err != nil {
		return nil, err
	}
	if d.Events, err = db.Events(ctx, e.pool, id, false); err != nil {
		return nil, err
	}
	msgs, err := db.RequestMessages(ctx, e.pool, id)
	if err != nil {
		return nil, err
	}
	atts, err := db.Attachments(ctx, e.pool, id, "")
	if err != nil {
		return nil, err
	}
	held, err := db.HeldReplies(ctx, e.pool, id)
	if err != nil {
		return nil, err
	}
	notes, err := db.Notes(ctx, e.pool, id)
	if err != nil {
		return nil, err
	}
	d.Messages, d.Attachments, d.HeldReplies, d.Notes = messagesOf(msgs), attachmentsOf(atts), heldRepliesOf(held), notesOf(notes)
	if d.Outcome, err = db.RequestOutcome(ctx, e.pool, id); err != nil {
		return nil, err
	}
	if d.Appeals, err = db.Appeals(ctx, e.pool, id); err != nil {
		return nil, err
	}
	return d, nil
}

// Attachment returns one stored document of a request, whatever its
// purpose. Errors: ENOTFOUND, also when it belongs to another request.
func (e *Engine) Attachment(ctx context.Context, requestID, attachmentID string) (*dsr.File, error) {
	return db.AttachmentContent(ctx, e.pool, requestID, attachmentID, "")
}

// Outbox returns the latest limit outgoing messages, newest first.
func (e *Engine) Outbox(ctx context.Context, limit int) ([]*Message, error) {
	msgs, err := db.RecentMessages(ctx, e.pool, limit)
	if err != nil {
		return nil, err
	}
	return messagesOf(msgs), nil
}

// OptOuts lists the opt-outs received at or after since, oldest first,
// with the systems that applied each; with system set, only those that
// system has not applied yet. It returns at most limit and the cursor of
// the next page (nil on the last).
func (e *Engine) OptOuts(ctx context.Context, since time.Time, system string, after *OptOutCursor, limit int) ([]OptOut, *OptOutCursor, error) {
	list, next, err := db.OptOuts(ctx, e.pool, since, system, after, limit)
	if err != nil {
		return nil, nil, err
	}
	return optOutsOf(list), next, nil
}

// Ping reports whether the database answers (the readiness probe). Errors:
// whatever the connection attempt returned.
func (e *Engine) Ping(ctx context.Context) error { return e.pool.Ping(ctx) }
