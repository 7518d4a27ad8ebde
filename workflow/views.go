package workflow

import (
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// The types the engine's reads return to the HTTP layer (dsr/api imports
// dsr and workflow only; see dsr/api/layering_test.go). The admin JSON API
// has its own response types, with explicit tags, built from these.

// Account types are aliases of the rows db scans: the account methods
// (SessionUser, DisableUser, CreateAPIToken, …) take and return them, and a
// copy would mean converting in both directions on every request. The
// same holds for the inputs of the paged reads (filters and cursors).
type (
	// User is a console account. Lists leave PasswordHash empty.
	User = db.User
	// APIToken is an admin API token as listed (never its secret).
	APIToken = db.APIToken
	// QueueFilter selects and pages the officer queue.
	QueueFilter = db.QueueFilter
	// QueueCursor is a keyset position in the queue (due date, then ref);
	// its String form goes in URLs.
	QueueCursor = db.Cursor
	// OptOutCursor is a keyset position in the opt-out feed.
	OptOutCursor = db.OptOutCursor
)

// Console roles.
const (
	RoleAdmin   = db.RoleAdmin
	RoleOfficer = db.RoleOfficer
	RoleViewer  = db.RoleViewer
)

// Message delivery statuses, as on Message.Status.
const (
	MessageCaptured = db.MessageCaptured // no relay configured: kept in the database only
	MessageQueued   = db.MessageQueued
	MessageSent     = db.MessageSent
	MessageFailed   = db.MessageFailed
)

// QueueRow is one request in the officer queue.
type QueueRow struct {
	ID            string
	Ref           string // DSR-000042
	Kind          dsr.Kind
	Regime        string
	Status        dsr.Status
	Channel       string
	ReceivedOn    dsr.Date
	DueOn         dsr.Date // the effective due date
	HasAgent      bool
	AssigneeID    string // "" when unassigned
	AssigneeEmail string
	// RequesterName and RequesterEmail are the data subject's (either may
	// be empty: a letter without email, a form without a name).
	RequesterName, RequesterEmail string
}

func queueRowOf(r db.QueueRow) QueueRow {
	return QueueRow{ID: r.ID, Ref: r.Ref, Kind: r.Kind, Regime: r.Regime, Status: r.Status, Channel: r.Channel,
		ReceivedOn: r.ReceivedOn, DueOn: r.DueOn, HasAgent: r.HasAgent, AssigneeID: r.AssigneeID, AssigneeEmail: r.AssigneeEmail,
		RequesterName: r.RequesterName, RequesterEmail: r.RequesterEmail}
}

// Message is one outgoing email as the console shows it: to whom, about
// what, and how its delivery went. It carries no body: the stored bodies
// are redacted and the sealed live ones are for the delivery job only.
type Message struct {
	ID            string
	RequestID     string
	Event         string // the mail template, e.g. acknowledgment
	RecipientRole string // subject or agent
	ToName        string
	ToEmail       string
	Subject       string
	MessageID     string
	Status        string // one of the Message… statuses
	Attempts      int
	LastError     string
	CreatedAt     time.Time
	SentAt        *time.Time
}

func messagesOf(ms []*db.Message) []*Message {
	out := make([]*Message, 0, len(ms))
	for _, m := range ms {
		out = append(out, &Message{ID: m.ID, RequestID: m.RequestID, Event: m.Event, RecipientRole: m.RecipientRole,
			ToName: m.ToName, ToEmail: m.ToEmail, Subject: m.Subject, MessageID: m.MessageID, Status: m.Status,
			Attempts: m.Attempts, LastError: m.LastError, CreatedAt: m.CreatedAt, SentAt: m.SentAt})
	}
	return out
}

// Trust of a held reply (HeldReply.Trust).
const (
	TrustUnverified = db.TrustUnverified // From: is not the requester's or agent's address
	TrustAccepted   = db.TrustAccepted   // an officer accepted it as the requester's
)

// HeldReply is a reply from a sender other than the requester or agent,
// held for an officer to accept.
type HeldReply struct {
	InboundID   string
	RequestID   string
	Trust       string // TrustUnverified or TrustAccepted
	For         string // whom our mail went to: subject or agent
	Text        string // what the sender wrote, quotes stripped
	Attachments []string
	FromAddress string
	Subject     string
	DKIM        string
	ReceivedAt  time.Time
	AcceptedBy  string
	AcceptedAt  *time.Time
}

func heldRepliesOf(hs []*db.HeldReply) []*HeldReply {
	out := make([]*HeldReply, 0, len(hs))
	for _, h := range hs {
		out = append(out, &HeldReply{InboundID: h.InboundID, RequestID: h.RequestID, Trust: h.Trust, For: h.For, Text: h.Text,
			Attachments: h.Attachments, FromAddress: h.FromAddress, Subject: h.Subject, DKIM: h.DKIM,
			ReceivedAt: h.ReceivedAt, AcceptedBy: h.AcceptedBy, AcceptedAt: h.AcceptedAt})
	}
	return out
}

// Attachment describes a stored document of a request (not its bytes).
type Attachment struct {
	ID          string
	Purpose     string // permission, answer, export, …
	Filename    string
	ContentType string
	Size        int64 // bytes
	CreatedAt   time.Time
}

func attachmentsOf(as []db.AttachmentInfo) []Attachment {
	out := make([]Attachment, 0, len(as))
	for _, a := range as {
		out = append(out, Attachment{ID: a.ID, Purpose: a.Purpose, Filename: a.Filename, ContentType: a.ContentType, Size: a.Size, CreatedAt: a.CreatedAt})
	}
	return out
}

// Note is an officer's internal note or a requester's answer.
type Note struct {
	Author   string // an actor: user:<id>, requester
	Internal bool
	Body     string
	At       time.Time
}

func notesOf(ns []db.Note) []Note {
	out := make([]Note, 0, len(ns))
	for _, n := range ns {
		out = append(out, Note(n))
	}
	return out
}

// OptOut is one opt-out in the feed for downstream systems.
type OptOut struct {
	ID         string
	Ref        string
	Channel    string
	Regime     string
	Status     dsr.Status
	ReceivedAt time.Time
	DueOn      dsr.Date
	Email      string // "" for a GPC signal identified by device only
	DeviceID   string
	OptOutOf   string // e.g. sale,sharing
	Applied    []OptOutApplication
	Tasks      []OptOutTask // each opt_out system's task (issue #15)
}

// OptOutTask is where one system's task of an opt-out stands.
type OptOutTask = db.OptOutTask

// OptOutApplication records that a system applied an opt-out.
type OptOutApplication struct {
	System    string
	AppliedAt time.Time
}

func optOutsOf(list []db.OptOut) []OptOut {
	out := make([]OptOut, 0, len(list))
	for _, o := range list {
		v := OptOut{ID: o.ID, Ref: o.Ref, Channel: o.Channel, Regime: o.Regime, Status: o.Status, ReceivedAt: o.ReceivedAt,
			DueOn: o.DueOn, Email: o.Email, DeviceID: o.DeviceID, OptOutOf: o.OptOutOf, Applied: []OptOutApplication{}, Tasks: o.Tasks}
		for _, a := range o.Applied {
			v.Applied = append(v.Applied, OptOutApplication{System: a.System, AppliedAt: a.AppliedAt})
		}
		out = append(out, v)
	}
	return out
}

// ParseQueueCursor decodes QueueCursor.String. Errors: EINVALID.
func ParseQueueCursor(s string) (*QueueCursor, error) { return db.ParseCursor(s) }

// InvalidInput reports whether err is PostgreSQL refusing a value as
// input (SQLSTATE class 22: a NUL byte, broken UTF-8, a non-UUID id), which
// the HTTP layer answers with 400 rather than 500.
func InvalidInput(err error) bool { return db.InvalidInput(err) }

// Unreachable reports whether err means the database could not be reached,
// which the HTTP layer answers with 503 (try again) rather than 500.
func Unreachable(err error) bool { return db.Unreachable(err) }
