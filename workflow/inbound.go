package workflow

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/notify"
)

// Requests by email. The SMTP listener (notify.NewInboundServer) calls
// StoreInbound, which stores the raw message and its parse job in one
// transaction before the sender gets 250. The job reads the message with
// the pure parsing of notify (ParseMail, CheckDKIM; the kind is guessed by
// dsr.GuessKind) and applies it here: it either creates a request waiting
// for triage (channel email, the sender as data subject, the clock started
// at receipt; see triage.go), attaches a reply to the request it answers
// (or holds a stranger's reply for officers), or records why it did
// neither.

// Limits of what an email contributes to a request.
const (
	maxInboundNote      = 10000 // characters of a reply kept as the requester's note (as Answer)
	maxInboundDetails   = 5000  // characters of a new request's details (as the form)
	maxInboundName      = 200
	dkimLookupTimeout   = 10 * time.Second
	inboundParseTimeout = 2 * time.Minute
)

// DKIM results recorded for the From: domain (see notify.CheckDKIM).
const (
	DKIMPass      = notify.DKIMPass
	DKIMFail      = notify.DKIMFail
	DKIMNone      = notify.DKIMNone
	DKIMTempError = notify.DKIMTempError
)

// AcceptsInbound reports whether rcpt is one of the organisation's
// privacy addresses (mail.privacy_addresses, case-insensitive): the only
// recipients the inbound SMTP server takes mail for.
func (e *Engine) AcceptsInbound(rcpt string) bool {
	rcpt = strings.TrimSpace(rcpt)
	for _, a := range e.org.Mail.PrivacyAddresses {
		if strings.EqualFold(rcpt, a) {
			return true
		}
	}
	return false
}

// InboundDomain is the name the inbound SMTP server greets with: the
// domain of the first privacy address (else of mail.from).
func (e *Engine) InboundDomain() string {
	addr := e.org.Mail.From
	if len(e.org.Mail.PrivacyAddresses) > 0 {
		addr = e.org.Mail.PrivacyAddresses[0]
	}
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return "localhost"
}

// StoreInbound is the inbound SMTP server's store function: in one
// transaction it stores the raw message (received now) and inserts its
// parse job. A message whose Message-ID is already stored is a resend and
// is not stored again (nil: the sender gets 250). Errors: EINTERNAL when
// the database fails (the server answers 451 and the sender retries).
func (e *Engine) StoreInbound(ctx context.Context, m notify.InboundMessage) error {
	in := &db.InboundEmail{ReceivedAt: e.now(), EnvelopeFrom: notify.CleanText(m.From), Recipients: m.To,
		RemoteIP: m.RemoteIP, Helo: notify.CleanText(m.Helo), MessageID: notify.CleanText(notify.HeaderMessageID(m.Raw)), Raw: m.Raw}
	if in.Recipients == nil {
		in.Recipients = []string{}
	}
	return e.inTx(ctx, func(tx pgx.Tx) error {
		id, dup, err := db.InsertInbound(ctx, tx, in)
		if err != nil || dup {
			return err
		}
		if _, err := e.river.InsertTx(ctx, tx, ParseInboundArgs{InboundID: id}, nil); err != nil {
			return &dsr.Error{Code: dsr.EINTERNAL, Err: fmt.Errorf("insert parse job: %w", err)}
		}
		return nil
	})
}

// ParseInboundArgs asks for one stored inbound email to be parsed. IDs
// only: the row holds the message.
type ParseInboundArgs struct {
	InboundID string `json:"inbound_id" river:"unique"`
}

// Kind is the River job kind.
func (ParseInboundArgs) Kind() string { return "parse_inbound_email" }

// InsertOpts: unique per message, 10 attempts.
func (ParseInboundArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type parseInboundWorker struct {
	river.WorkerDefaults[ParseInboundArgs]
	e *Engine
}

// Timeout bounds parsing one message (up to 25 MB) and its DKIM lookups.
func (w *parseInboundWorker) Timeout(*river.Job[ParseInboundArgs]) time.Duration {
	return inboundParseTimeout
}

// Work parses the message and acts on it; a message already processed
// (a rescued duplicate run, or an officer marked it) is left alone.
func (w *parseInboundWorker) Work(ctx context.Context, job *river.Job[ParseInboundArgs]) error {
	return w.e.processInbound(ctx, job.Args.InboundID)
}

func (e *Engine) processInbound(ctx context.Context, id string) error {
	in, err := db.GetInbound(ctx, e.pool, id, false)
	if dsr.ErrorCode(err) == dsr.ENOTFOUND {
		return river.JobCancel(err)
	}
	if err != nil || in.Status != db.InboundReceived {
		return err
	}
	p := &inboundMail{ParsedMail: notify.ParseMail(in.Raw)}
	if p.FromDomain != "" {
		p.dkim, p.dkimDomain = e.checkDKIM(ctx, in.Raw, p.FromDomain)
	}
	applyErr := e.inTx(ctx, func(tx pgx.Tx) error { return e.applyInbound(ctx, tx, in, p) })
	if applyErr == nil || dsr.ErrorCode(applyErr) == dsr.EINTERNAL {
		return applyErr // retried by River
	}
	// The config cannot take this message as a request (e.g. no regime
	// covers any kind): keep it for officers rather than retrying.
	note := "no request could be made: " + dsr.ErrorMessage(applyErr)
	return e.inTx(ctx, func(tx pgx.Tx) error {
		status, _, err := db.LockInbound(ctx, tx, in.ID)
		if err != nil || status != db.InboundReceived {
			return err
		}
		return db.MarkInboundProcessed(ctx, tx, in.ID, p.outcome(db.InboundUnreadable, "", note), e.now())
	})
}

// applyInbound decides what the message is, under the lock of its row.
func (e *Engine) applyInbound(ctx context.Context, tx pgx.Tx, in *db.InboundEmail, p *inboundMail) error {
	status, _, err := db.LockInbound(ctx, tx, in.ID)
	if err != nil || status != db.InboundReceived {
		return err
	}
	now := e.now()
	if why := e.ignoreReason(in, p); why != "" {
		return db.MarkInboundProcessed(ctx, tx, in.ID, p.outcome(db.InboundIgnored, "", why), now)
	}
	if p.Problem != "" {
		return db.MarkInboundProcessed(ctx, tx, in.ID, p.outcome(db.InboundUnreadable, "", p.Problem), now)
	}
	replied, err := db.RepliedMessage(ctx, tx, p.Refs)
	if err != nil {
		return err
	}
	if replied != nil {
		if err := e.attachReply(ctx, tx, in, p, replied); err != nil {
			return err
		}
		return db.MarkInboundProcessed(ctx, tx, in.ID, p.outcome(db.InboundReply, replied.RequestID, ""), now)
	}
	reqID, err := e.createFromEmail(ctx, tx, in, p)
	if err != nil {
		return err
	}
	return db.MarkInboundProcessed(ctx, tx, in.ID, p.outcome(db.InboundRequest, reqID, ""), now)
}

// ignoreReason says why a message must never become a request or an
// answer (RFC 3834: do not act on automatic mail, or loops follow), or "".
func (e *Engine) ignoreReason(in *db.InboundEmail, p *inboundMail) string {
	if as := strings.ToLower(strings.TrimSpace(p.AutoSubmitted)); as != "" && as != "no" {
		return "automatic message (Auto-Submitted: " + as + ")"
	}
	if in.EnvelopeFrom == "" || p.Report {
		return "delivery report or bounce (null sender or multipart/report)"
	}
	switch strings.ToLower(strings.TrimSpace(p.Precedence)) {
	case "bulk", "junk", "list":
		return "bulk or list mail (Precedence: " + strings.ToLower(strings.TrimSpace(p.Precedence)) + ")"
	}
	if strings.EqualFold(p.From, e.org.Mail.From) || e.AcceptsInbound(p.From) {
		return "sent from our own address (mail loop)"
	}
	return ""
}

// createFromEmail files a new request for the sender in pending_triage:
// the kind is guessed from the text and the regime is the configured
// default, so an officer confirms or changes both (Triage) before the
// normal flow — the verification email and so on — continues, or
// dismisses the email as not a request (NotARequest). The clock starts at
// receipt of the email, as the law says: the dates, the ledger and the
// deadline reminders are those of a request received then, and run during
// triage. Nothing is mailed to the sender (no backscatter to spammers)
// unless the regime has a duty to acknowledge receipt (CCPA: 10 business
// days), which the acknowledgment sent here meets.
func (e *Engine) createFromEmail(ctx context.Context, tx pgx.Tx, in *db.InboundEmail, p *inboundMail) (string, error) {
	reg, regimeRule, err := e.emailRegime()
	if err != nil {
		return "", err
	}
	kind, kindRule := dsr.GuessKind(p.Subject, p.Text)
	kind, kindRule, err = e.fitKind(kind, kindRule, reg)
	if err != nil {
		return "", err
	}
	s := dsr.Submission{Kind: kind, Regime: reg.ID, Channel: dsr.ChannelEmail,
		Subject: dsr.Person{Email: p.From, Name: notify.TruncateRunes(p.FromName, maxInboundName)},
		Details: notify.TruncateRunes(strings.TrimSpace(p.subjectLine()+p.Text), maxInboundDetails)}
	if kind == dsr.KindOptOut {
		s.Fields = map[string]string{"opt_out_of": dsr.GuessOptOutOf(p.Subject + "\n" + p.Text)}
	}
	req, err := e.createEmailRequest(ctx, tx, s, reg, in.ReceivedAt)
	if err != nil {
		return "", err
	}
	now := e.now()
	stored, err := insertFiles(ctx, tx, req.ID, "inbound", p.Files)
	if err != nil {
		return "", err
	}
	data := map[string]string{"inbound_email": in.ID, "received_at": in.ReceivedAt.UTC().Format(time.RFC3339),
		"kind": string(kind), "kind_rule": kindRule, "regime": reg.ID, "regime_rule": regimeRule,
		"dkim": p.dkim, "dkim_domain": p.dkimDomain, "body": p.bodySource()}
	p.fileData(data, stored)
	return req.ID, event(ctx, tx, req, dsr.ActorSystem, dsr.EventEmailIntake, false, data, now)
}

// emailRegime is the regime of a request by email, whose sender's place is
// unknown: the config's default_regime, else its first regime.
func (e *Engine) emailRegime() (*dsr.Regime, string, error) {
	if e.org.DefaultRegime != "" {
		r, err := dsr.LookupRegime(e.org.DefaultRegime)
		return r, "default_regime of the organisation config; the sender's place is unknown, so officers should check it", err
	}
	if len(e.org.Regimes) == 0 {
		return nil, "", dsr.Errorf(dsr.EUNAVAILABLE, "the organisation config lists no regime")
	}
	r, err := dsr.LookupRegime(e.org.Regimes[0])
	return r, "first regime of the organisation config (no default_regime); the sender's place is unknown, so officers should check it", err
}

// fitKind keeps the guessed kind if the organisation takes it and the
// regime gives that right; otherwise access, else the first kind that
// fits, saying so. Errors: EUNAVAILABLE when no kind fits.
func (e *Engine) fitKind(k dsr.Kind, rule string, reg *dsr.Regime) (dsr.Kind, string, error) {
	fits := func(k dsr.Kind) bool { return e.org.OffersKind(k) && reg.Covers(k) }
	if fits(k) {
		return k, rule, nil
	}
	why := fmt.Sprintf("%s (guessed %s, which %s does not cover or the organisation does not take)", rule, k, reg.Short)
	if fits(dsr.KindAccess) {
		return dsr.KindAccess, "access: " + why, nil
	}
	for _, c := range dsr.Kinds {
		if fits(c) {
			return c, string(c) + ": " + why, nil
		}
	}
	return "", "", dsr.Errorf(dsr.EUNAVAILABLE, "no kind the organisation takes is covered by %s", reg.Short)
}

// attachReply adds a reply to the request whose email it answers: the
// text as the requester's note, files as answer attachments, a public
// email_reply_received event; a request waiting for the requester resumes
// exactly as when they answer on the status page.
func (e *Engine) attachReply(ctx context.Context, tx pgx.Tx, in *db.InboundEmail, p *inboundMail, m *db.Message) error {
	req, err := db.GetRequest(ctx, tx, m.RequestID, true)
	if err != nil {
		return err
	}
	holder, trusted := replyAuthor(req, p, m)
	if !trusted {
		return e.holdReply(ctx, tx, in, p, m, req, holder)
	}
	now := e.now()
	text := notify.TruncateRunes(notify.StripQuoted(p.Text), maxInboundNote)
	resume := req.Status == dsr.StatusAwaitingRequester
	files := p.Files
	var first *dsr.File
	if resume && len(files) > 0 {
		first, files = &files[0], files[1:] // resume stores it, as Answer does
	}
	stored, err := insertFiles(ctx, tx, req.ID, "answer", files)
	if err != nil {
		return err
	}
	data := map[string]string{"inbound_email": in.ID, "holder": holder, "in_reply_to": m.Event,
		"sender_matches": fmt.Sprint(strings.EqualFold(p.From, m.ToEmail)), "dkim": p.dkim, "dkim_domain": p.dkimDomain,
		"resumed": fmt.Sprint(resume), "length": fmt.Sprint(len(text))}
	p.fileData(data, stored)
	if err := event(ctx, tx, req, actorFor(req), dsr.EventEmailReplyReceived, true, data, now); err != nil {
		return err
	}
	if resume {
		return e.resume(ctx, tx, req, holder, text, first)
	}
	if ok, err := e.appealByReply(ctx, tx, req, m, text); ok || err != nil {
		return err
	}
	if text == "" {
		return nil
	}
	return db.InsertNote(ctx, tx, req.ID, holder, text, now)
}

// replyAuthor says who wrote reply p to our message m: the data subject or
// the agent when From: is their address (and DKIM did not fail), trusted;
// otherwise whom m went to, untrusted. An address in From: can be forged
// too, but a stranger's own address never passes as the requester's.
func replyAuthor(req *dsr.Request, p *inboundMail, m *db.Message) (holder string, trusted bool) {
	if p.dkim != "fail" {
		if req.Subject.Email != "" && strings.EqualFold(p.From, req.Subject.Email) {
			return db.HolderSubject, true
		}
		if req.Agent != nil && strings.EqualFold(p.From, req.Agent.Email) {
			return db.HolderAgent, true
		}
	}
	return m.RecipientRole, false
}

// holdReply keeps a reply from a stranger for officers: its text on the
// inbound email, its files stored as unverified attachments (no answer
// documents), an internal email_reply_unverified event. The request does
// not move (a paused one stays paused) until an officer accepts the reply
// (AcceptReply).
func (e *Engine) holdReply(ctx context.Context, tx pgx.Tx, in *db.InboundEmail, p *inboundMail, m *db.Message, req *dsr.Request, heldFor string) error {
	now := e.now()
	text := notify.TruncateRunes(notify.StripQuoted(p.Text), maxInboundNote)
	stored, err := insertFiles(ctx, tx, req.ID, db.AttachmentUnverified, p.Files)
	if err != nil {
		return err
	}
	if err := db.HoldReply(ctx, tx, in.ID, heldFor, text, stored); err != nil {
		return err
	}
	data := map[string]string{"inbound_email": in.ID, "held_for": heldFor, "in_reply_to": m.Event,
		"dkim": p.dkim, "dkim_domain": p.dkimDomain, "length": fmt.Sprint(len(text))}
	p.fileData(data, stored)
	return event(ctx, tx, req, dsr.ActorSystem, dsr.EventEmailReplyUnverified, false, data, now)
}

// AcceptReply is an officer's verdict that a reply held because of its
// sender (holdReply) is the requester's after all: it is applied exactly
// as a reply from their address would have been — a request waiting for
// the requester resumes with the text and the files as the answer,
// otherwise the text becomes their note — and its attachments become
// answer documents. It writes an internal email_reply_accepted event, all
// in one transaction. Accepting twice is not an error. Errors: ENOTFOUND
// (no such email on that request), ECONFLICT (the email is not a held
// reply).
func (e *Engine) AcceptReply(ctx context.Context, requestID, inboundID, actor string) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		h, err := db.LockHeldReply(ctx, tx, inboundID)
		if err != nil {
			return err
		}
		if h.RequestID != requestID {
			return dsr.Errorf(dsr.ENOTFOUND, "inbound email not found")
		}
		switch h.Trust {
		case db.TrustAccepted:
			return nil
		case db.TrustUnverified:
		default:
			return &dsr.Error{Code: dsr.ECONFLICT, Message: "This email is not a reply held for review.", Rule: "only unverified replies are accepted"}
		}
		req, err := db.GetRequest(ctx, tx, requestID, true)
		if err != nil {
			return err
		}
		now := e.now()
		if err := db.AcceptHeldReply(ctx, tx, inboundID, actor, now); err != nil {
			return err
		}
		resume := req.Status == dsr.StatusAwaitingRequester
		data := map[string]string{"inbound_email": inboundID, "held_for": h.For, "resumed": fmt.Sprint(resume)}
		if len(h.Attachments) > 0 {
			data["attachments"] = strings.Join(h.Attachments, ",")
		}
		if err := event(ctx, tx, req, actor, dsr.EventEmailReplyAccepted, false, data, now); err != nil {
			return err
		}
		if resume {
			return e.resume(ctx, tx, req, h.For, h.Text, nil)
		}
		if h.Text == "" {
			return nil
		}
		return db.InsertNote(ctx, tx, req.ID, h.For, h.Text, now)
	})
}

// MarkInboundNotARequest records an officer's verdict that an inbound
// email is not a request (spam, a general question) with their reason. The
// request it created, still waiting for triage (or triaged but never
// confirmed by the sender), is closed as withdrawn without mailing the
// sender (no backscatter to spammers). Marking twice is not an error.
// Errors: EINVALID (no reason), ENOTFOUND, ECONFLICT when the email was a
// reply, or its request was already confirmed or closed (withdraw or deny
// the request instead). NotARequest does the same by request id.
func (e *Engine) MarkInboundNotARequest(ctx context.Context, inboundID, actor, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return &dsr.Error{Code: dsr.EINVALID, Message: "Say why this email is not a request.", Fields: map[string]string{"reason": "is required"}}
	}
	return e.inTx(ctx, func(tx pgx.Tx) error {
		status, reqID, err := db.LockInbound(ctx, tx, inboundID)
		if err != nil {
			return err
		}
		now := e.now()
		switch status {
		case db.InboundNotARequest:
			return nil
		case db.InboundReply:
			return &dsr.Error{Code: dsr.ECONFLICT, Message: "This email is a reply and is kept on the request it answers.", Rule: "replies are part of their request"}
		case db.InboundRequest:
			if err := e.closeNotARequest(ctx, tx, reqID, actor, reason, inboundID, now); err != nil {
				return err
			}
		}
		return db.MarkInboundNotARequest(ctx, tx, inboundID, actor, reason, now)
	})
}

func (e *Engine) closeNotARequest(ctx context.Context, tx pgx.Tx, requestID, actor, reason, inboundID string, now time.Time) error {
	req, err := db.GetRequest(ctx, tx, requestID, true)
	if err != nil {
		return err
	}
	if !dismissable(req) {
		return &dsr.Error{Code: dsr.ECONFLICT, Message: "The request is " + string(req.Status) + "; withdraw or deny it instead.",
			Rule: "only a request by email waiting for triage or for confirmation can be dismissed as not a request"}
	}
	if err := db.UseAllTokens(ctx, tx, req.ID, db.TokenVerify, now); err != nil {
		return err
	}
	before := req.Status
	if err := db.SetStatus(ctx, tx, req.ID, dsr.StatusWithdrawn, now, "not_a_request"); err != nil {
		return err
	}
	req.Status = dsr.StatusWithdrawn
	data := map[string]string{"reason": reason, "status_before": string(before)}
	if inboundID != "" {
		data["inbound_email"] = inboundID
	}
	return event(ctx, tx, req, actor, dsr.EventNotARequest, false, data, now)
}

// dismissable reports whether an officer may close req as not a request:
// a request by email still waiting for triage, or triaged but not yet
// confirmed by the sender.
func dismissable(req *dsr.Request) bool {
	return req.Channel == dsr.ChannelEmail &&
		(req.Status == dsr.StatusPendingTriage || req.Status == dsr.StatusPendingVerification)
}

// insertFiles stores checked files as attachments of purpose and returns
// their ids.
func insertFiles(ctx context.Context, tx pgx.Tx, requestID, purpose string, files []dsr.File) ([]string, error) {
	var ids []string
	for i := range files {
		id, err := db.InsertAttachment(ctx, tx, requestID, purpose, &files[i])
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// inboundMail is a parsed message (notify.ParseMail) with the DKIM result
// for its From: domain.
type inboundMail struct {
	*notify.ParsedMail
	dkim, dkimDomain string
}

func (p *inboundMail) outcome(status, requestID, note string) db.InboundOutcome {
	return db.InboundOutcome{Status: status, RequestID: requestID, FromAddress: p.From, Subject: p.Subject,
		DKIM: p.dkim, DKIMDomain: p.dkimDomain, Note: note}
}

func (p *inboundMail) subjectLine() string {
	if p.Subject == "" {
		return ""
	}
	return "Subject: " + p.Subject + "\n\n"
}

func (p *inboundMail) bodySource() string {
	switch {
	case p.FromHTML:
		return "html"
	case p.Text == "":
		return "empty"
	}
	return "text"
}

// fileData adds the stored and refused attachments to event data.
func (p *inboundMail) fileData(data map[string]string, stored []string) {
	if len(stored) > 0 {
		data["attachments"] = strings.Join(stored, ",")
	}
	if len(p.Rejected) > 0 {
		data["attachments_not_stored"] = strings.Join(p.Rejected, "; ")
	}
}

// dkimLookups holds the TXT resolvers set with SetDKIMLookup, per engine.
var dkimLookups sync.Map // *Engine → func(string) ([]string, error)

// SetDKIMLookup replaces the DNS TXT lookup used to fetch DKIM keys of
// inbound mail (default: the system resolver with a 10s timeout) for
// messages parsed from then on. Tests use it to verify offline-signed
// messages. The engine is then kept in a package map for the life of the
// process, so set it once per engine.
func (e *Engine) SetDKIMLookup(fn func(domain string) ([]string, error)) {
	dkimLookups.Store(e, fn)
}

// checkDKIM verifies the message's DKIM signatures for the From: domain
// (notify.CheckDKIM) with the lookup set by SetDKIMLookup, else the system
// resolver, each lookup bounded by dkimLookupTimeout.
func (e *Engine) checkDKIM(ctx context.Context, raw []byte, fromDomain string) (result, domain string) {
	lookup := func(name string) ([]string, error) {
		lctx, cancel := context.WithTimeout(ctx, dkimLookupTimeout)
		defer cancel()
		return net.DefaultResolver.LookupTXT(lctx, name)
	}
	if fn, ok := dkimLookups.Load(e); ok {
		lookup = fn.(func(string) ([]string, error))
	}
	return notify.CheckDKIM(raw, fromDomain, lookup)
}

// guessOptOutOf is dsr.GuessOptOutOf, for the triage code that calls it
// by this name.
func guessOptOutOf(text string) string { return dsr.GuessOptOutOf(text) }
