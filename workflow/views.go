package workflow

import (
	"github.com/dsrdesk/dsrdesk/db"
)

// The types the engine's reads return to the HTTP layer. They are aliases
// of the rows db scans, not copies: a page shows what was stored, and the
// account methods (SessionUser, DisableUser, …) already take and return
// these rows, so a second struct would mean converting in both directions
// on every request. What the HTTP layer may not do is name db itself
// (dsr/api imports dsr and workflow only; see dsr/api/layering_test.go),
// and the admin JSON API has its own response types with explicit tags.
type (
	// User is a console account. Lists leave PasswordHash empty.
	User = db.User
	// APIToken is an admin API token as listed (never its secret).
	APIToken = db.APIToken
	// QueueFilter selects and pages the officer queue.
	QueueFilter = db.QueueFilter
	// QueueCursor is a keyset position in the queue (due date, then ref).
	QueueCursor = db.Cursor
	// QueueRow is one request in the queue.
	QueueRow = db.QueueRow
	// Message is one outgoing email as recorded (redacted bodies).
	Message = db.Message
	// HeldReply is a reply from a sender other than the requester, held
	// for an officer to accept.
	HeldReply = db.HeldReply
	// Attachment describes a stored document of a request (not its bytes).
	Attachment = db.AttachmentInfo
	// Note is an internal note or a requester's answer.
	Note = db.Note
	// OptOut is one opt-out in the feed for downstream systems.
	OptOut = db.OptOut
	// OptOutApplication records that a system applied an opt-out.
	OptOutApplication = db.Application
	// OptOutCursor is a keyset position in the opt-out feed.
	OptOutCursor = db.OptOutCursor
)

// Console roles.
const (
	RoleAdmin   = db.RoleAdmin
	RoleOfficer = db.RoleOfficer
	RoleViewer  = db.RoleViewer
)

// Message delivery statuses, as recorded on Message.Status.
const (
	MessageCaptured = db.MessageCaptured // no relay configured: kept in the database only
	MessageQueued   = db.MessageQueued
	MessageSent     = db.MessageSent
	MessageFailed   = db.MessageFailed
)

// ParseQueueCursor decodes QueueCursor.String. Errors: EINVALID.
func ParseQueueCursor(s string) (*QueueCursor, error) { return db.ParseCursor(s) }

// InvalidInput reports whether err is PostgreSQL refusing a value as
// input (SQLSTATE class 22: a NUL byte, broken UTF-8, a non-UUID id), which
// the HTTP layer answers with 400 rather than 500.
func InvalidInput(err error) bool { return db.InvalidInput(err) }

// Unreachable reports whether err means the database could not be reached,
// which the HTTP layer answers with 503 (try again) rather than 500.
func Unreachable(err error) bool { return db.Unreachable(err) }
