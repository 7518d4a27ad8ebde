package workflow

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode ISO-8859-*, Windows-125x, … bodies and headers
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/notify"
)

// Requests by email. The SMTP listener (notify.NewInboundServer) calls
// StoreInbound, which stores the raw message and its parse job in one
// transaction before the sender gets 250. The job parses the message and
// either creates a request waiting for triage (channel email, the sender as
// data subject, the clock started at receipt; see triage.go), attaches a
// reply to the request it answers, or records why it did neither.

// Limits of what an email contributes to a request.
const (
	maxInboundParts     = 100   // MIME parts looked at per message
	maxInboundFiles     = 10    // attachments stored per message
	maxInboundNote      = 10000 // characters of a reply kept as the requester's note (as Answer)
	maxInboundDetails   = 5000  // characters of a new request's details (as the form)
	maxInboundSubject   = 500
	maxInboundName      = 200
	dkimLookupTimeout   = 10 * time.Second
	dkimMaxSignatures   = 5
	inboundParseTimeout = 2 * time.Minute
)

// DKIM results recorded for the From: domain: a signal for officers, not
// proof of the data subject's identity.
const (
	DKIMPass      = "pass"      // a valid signature by the From: domain (or a parent domain)
	DKIMFail      = "fail"      // the From: domain signed, but the signature does not verify
	DKIMNone      = "none"      // no signature by the From: domain
	DKIMTempError = "temperror" // the key could not be fetched
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
	in := &db.InboundEmail{ReceivedAt: e.now(), EnvelopeFrom: cleanText(m.From), Recipients: m.To,
		RemoteIP: m.RemoteIP, Helo: cleanText(m.Helo), MessageID: cleanText(headerMessageID(m.Raw)), Raw: m.Raw}
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

// headerMessageID returns the Message-ID of a raw message without angle
// brackets, or "" when it has none or the header does not parse.
func headerMessageID(raw []byte) string {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return ""
	}
	mh := mail.Header{Header: message.Header{Header: h}}
	id, err := mh.MessageID()
	if err != nil {
		return ""
	}
	return id
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
	p := parseInbound(in.Raw)
	if p.fromDomain != "" {
		p.dkim, p.dkimDomain = e.checkDKIM(ctx, in.Raw, p.fromDomain)
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
	if p.problem != "" {
		return db.MarkInboundProcessed(ctx, tx, in.ID, p.outcome(db.InboundUnreadable, "", p.problem), now)
	}
	replied, err := db.RepliedMessage(ctx, tx, p.refs)
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
	if as := strings.ToLower(strings.TrimSpace(p.autoSubmitted)); as != "" && as != "no" {
		return "automatic message (Auto-Submitted: " + as + ")"
	}
	if in.EnvelopeFrom == "" || p.report {
		return "delivery report or bounce (null sender or multipart/report)"
	}
	switch strings.ToLower(strings.TrimSpace(p.precedence)) {
	case "bulk", "junk", "list":
		return "bulk or list mail (Precedence: " + strings.ToLower(strings.TrimSpace(p.precedence)) + ")"
	}
	if strings.EqualFold(p.from, e.org.Mail.From) || e.AcceptsInbound(p.from) {
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
	kind, kindRule := GuessKind(p.subject, p.text)
	kind, kindRule, err = e.fitKind(kind, kindRule, reg)
	if err != nil {
		return "", err
	}
	s := dsr.Submission{Kind: kind, Regime: reg.ID, Channel: dsr.ChannelEmail,
		Subject: dsr.Person{Email: p.from, Name: truncateRunes(p.fromName, maxInboundName)},
		Details: truncateRunes(strings.TrimSpace(p.subjectLine()+p.text), maxInboundDetails)}
	if kind == dsr.KindOptOut {
		s.Fields = map[string]string{"opt_out_of": guessOptOutOf(p.subject + "\n" + p.text)}
	}
	req, err := e.createEmailRequest(ctx, tx, s, reg, in.ReceivedAt)
	if err != nil {
		return "", err
	}
	now := e.now()
	stored, err := insertFiles(ctx, tx, req.ID, "inbound", p.files)
	if err != nil {
		return "", err
	}
	data := map[string]string{"inbound_email": in.ID, "received_at": in.ReceivedAt.UTC().Format(time.RFC3339),
		"kind": string(kind), "kind_rule": kindRule, "regime": reg.ID, "regime_rule": regimeRule,
		"dkim": p.dkim, "dkim_domain": p.dkimDomain, "body": p.bodySource()}
	p.fileData(data, stored)
	return req.ID, event(ctx, tx, req, dsr.ActorSystem, "email_intake", false, data, now)
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
	text := truncateRunes(stripQuoted(p.text), maxInboundNote)
	resume := req.Status == dsr.StatusAwaitingRequester
	files := p.files
	var first *dsr.File
	if resume && len(files) > 0 {
		first, files = &files[0], files[1:] // resume stores it, as Answer does
	}
	stored, err := insertFiles(ctx, tx, req.ID, "answer", files)
	if err != nil {
		return err
	}
	data := map[string]string{"inbound_email": in.ID, "holder": holder, "in_reply_to": m.Event,
		"sender_matches": fmt.Sprint(strings.EqualFold(p.from, m.ToEmail)), "dkim": p.dkim, "dkim_domain": p.dkimDomain,
		"resumed": fmt.Sprint(resume), "length": fmt.Sprint(len(text))}
	p.fileData(data, stored)
	if err := event(ctx, tx, req, actorFor(req), "email_reply_received", true, data, now); err != nil {
		return err
	}
	if resume {
		return e.resume(ctx, tx, req, holder, text, first)
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
		if req.Subject.Email != "" && strings.EqualFold(p.from, req.Subject.Email) {
			return db.HolderSubject, true
		}
		if req.Agent != nil && strings.EqualFold(p.from, req.Agent.Email) {
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
	text := truncateRunes(stripQuoted(p.text), maxInboundNote)
	stored, err := insertFiles(ctx, tx, req.ID, db.AttachmentUnverified, p.files)
	if err != nil {
		return err
	}
	if err := db.HoldReply(ctx, tx, in.ID, heldFor, text, stored); err != nil {
		return err
	}
	data := map[string]string{"inbound_email": in.ID, "held_for": heldFor, "in_reply_to": m.Event,
		"dkim": p.dkim, "dkim_domain": p.dkimDomain, "length": fmt.Sprint(len(text))}
	p.fileData(data, stored)
	return event(ctx, tx, req, dsr.ActorSystem, "email_reply_unverified", false, data, now)
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
		if err := event(ctx, tx, req, actor, "email_reply_accepted", false, data, now); err != nil {
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
	return event(ctx, tx, req, actor, "not_a_request", false, data, now)
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

// inboundMail is what the parse job reads from a raw message.
type inboundMail struct {
	from, fromName, fromDomain string
	subject                    string
	refs                       []string // In-Reply-To then References, without angle brackets
	text                       string   // the body as plain text
	fromHTML                   bool     // text was converted from an HTML-only body
	files                      []dsr.File
	rejected                   []string // "name (why)" of attachments not stored
	autoSubmitted, precedence  string
	report                     bool // multipart/report: a delivery status notification
	problem                    string
	dkim, dkimDomain           string
}

func (p *inboundMail) outcome(status, requestID, note string) db.InboundOutcome {
	return db.InboundOutcome{Status: status, RequestID: requestID, FromAddress: p.from, Subject: p.subject,
		DKIM: p.dkim, DKIMDomain: p.dkimDomain, Note: note}
}

func (p *inboundMail) subjectLine() string {
	if p.subject == "" {
		return ""
	}
	return "Subject: " + p.subject + "\n\n"
}

func (p *inboundMail) bodySource() string {
	switch {
	case p.fromHTML:
		return "html"
	case p.text == "":
		return "empty"
	}
	return "text"
}

// fileData adds the stored and refused attachments to event data.
func (p *inboundMail) fileData(data map[string]string, stored []string) {
	if len(stored) > 0 {
		data["attachments"] = strings.Join(stored, ",")
	}
	if len(p.rejected) > 0 {
		data["attachments_not_stored"] = strings.Join(p.rejected, "; ")
	}
}

// parseInbound reads a raw message with go-message: sender, subject,
// thread references, the first text body (HTML converted when there is no
// plain text) and the attachments that pass the upload checks. It never
// fails: what it cannot use is noted in problem or rejected.
func parseInbound(raw []byte) *inboundMail {
	p := &inboundMail{}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) {
		p.problem = "the message does not parse: " + err.Error()
		return p
	}
	defer mr.Close()
	h := mr.Header
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		p.from, p.fromName = cleanText(from[0].Address), cleanName(from[0].Name)
		if i := strings.LastIndexByte(p.from, '@'); i >= 0 {
			p.fromDomain = strings.ToLower(p.from[i+1:])
		}
	}
	if !dsr.ValidEmail(p.from) {
		p.problem = "no valid From: address"
	}
	subject, _ := h.Subject()
	p.subject = truncateRunes(cleanText(subject), maxInboundSubject)
	for _, key := range []string{"In-Reply-To", "References"} {
		ids, _ := h.MsgIDList(key)
		p.refs = append(p.refs, ids...)
	}
	p.autoSubmitted, p.precedence = h.Get("Auto-Submitted"), h.Get("Precedence")
	if t, _, _ := h.ContentType(); t == "multipart/report" {
		p.report = true
	}
	p.readParts(mr)
	return p
}

func (p *inboundMail) readParts(mr *mail.Reader) {
	var plain, htmlBody string
	var havePlain, haveHTML bool
	for n := 0; n < maxInboundParts; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) {
			if p.problem == "" && !havePlain && !haveHTML {
				p.problem = "the message body does not parse: " + err.Error()
			}
			break
		}
		var ct, name string
		inline := false
		switch h := part.Header.(type) {
		case *mail.InlineHeader:
			var params map[string]string
			ct, params, _ = h.ContentType()
			name, inline = params["name"], true
		case *mail.AttachmentHeader:
			ct, _, _ = h.ContentType()
			name, _ = h.Filename()
		}
		switch {
		case inline && ct == "text/plain" && !havePlain:
			plain, havePlain = readText(part.Body), true
		case inline && ct == "text/html" && !haveHTML:
			htmlBody, haveHTML = readText(part.Body), true
		case inline && strings.HasPrefix(ct, "text/"):
			_, _ = io.Copy(io.Discard, part.Body) // further alternatives
		default:
			p.readFile(part.Body, name, ct)
		}
	}
	switch {
	case havePlain:
		p.text = tidyText(plain)
	case haveHTML:
		p.text, p.fromHTML = htmlToText(htmlBody), true
	}
}

// readFile keeps an attachment that passes the same checks as uploads
// (PDF, PNG or JPEG by content, at most 10 MB); others are only listed.
func (p *inboundMail) readFile(body io.Reader, name, ct string) {
	content, _ := io.ReadAll(io.LimitReader(body, dsr.MaxPermissionBytes+1))
	_, _ = io.Copy(io.Discard, body)
	label := "unnamed " + ct
	if strings.Trim(name, ". ") != "" {
		label = dsr.SafeFilename(cleanText(name), "")
	}
	f := dsr.File{Filename: cleanText(name), Content: content}
	switch {
	case len(content) > dsr.MaxPermissionBytes:
		p.rejected = append(p.rejected, label+" (larger than 10 MB)")
	case dsr.CheckPermissionFile(&f) != nil:
		p.rejected = append(p.rejected, label+" (not a PDF, PNG or JPEG)")
	case len(p.files) >= maxInboundFiles:
		p.rejected = append(p.rejected, label+" (too many attachments)")
	default:
		p.files = append(p.files, f)
	}
}

func readText(r io.Reader) string {
	b, _ := io.ReadAll(r) // a broken encoding keeps what decoded
	return cleanText(string(b))
}

// cleanText makes s storable in PostgreSQL text: valid UTF-8, no NUL.
func cleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// cleanName makes a From: display name fit to be a requester's name: the
// encoded-word form lets a sender put line breaks and other control
// characters in it, which would make every mail to them undeliverable, so
// each becomes a space.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, cleanText(s))
	return strings.Join(strings.Fields(s), " ")
}

var (
	blankLines = regexp.MustCompile(`\n{3,}`)
	spaceRun   = regexp.MustCompile(`[ \t\f\v\x{a0}]+`)
	anySpace   = regexp.MustCompile(`\s+`)
)

// tidyText normalises line breaks, trims each line's trailing space and
// collapses runs of blank lines.
func tidyText(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

// htmlToText turns an HTML body into plain text: the text of the
// document, block elements on their own lines, scripts, styles and the
// head dropped, entities decoded.
func htmlToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			lines := strings.Split(b.String(), "\n")
			for i, l := range lines {
				lines[i] = strings.TrimSpace(spaceRun.ReplaceAllString(l, " "))
			}
			return tidyText(strings.Join(lines, "\n"))
		case html.TextToken:
			if skip == 0 {
				b.WriteString(anySpace.ReplaceAllString(string(z.Text()), " ")) // HTML: line breaks in text are spaces
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template:
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case atom.Body:
				skip = 0 // a head never closed does not hide the body
			case atom.Br:
				b.WriteByte('\n')
			case atom.Li:
				if tt == html.StartTagToken {
					b.WriteString("\n- ")
				}
			case atom.P, atom.Div, atom.Tr, atom.Table, atom.Ul, atom.Ol, atom.Blockquote, atom.Pre,
				atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Hr, atom.Section, atom.Article, atom.Header, atom.Footer:
				b.WriteString("\n\n")
			case atom.Td, atom.Th:
				b.WriteByte(' ')
			}
		}
	}
}

var replyHeaderLine = regexp.MustCompile(`(?m)^(On [^\n]*(\n[^\n]*)?wrote:[ \t]*$|-{2,}\s*Original Message\s*-{2,}|_{10,}[ \t]*$)`)

// stripQuoted keeps what the requester wrote in a reply: the text before
// "On … wrote:" (or an Outlook "Original Message" line), without lines
// quoted with ">".
func stripQuoted(s string) string {
	if loc := replyHeaderLine.FindStringIndex(s); loc != nil {
		s = s[:loc[0]]
	}
	var kept []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimLeft(l, " "), ">") {
			kept = append(kept, l)
		}
	}
	return tidyText(strings.Join(kept, "\n"))
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// kindRules guess a request's kind from English wording, most specific
// first: the first rule matching the subject wins, else the first matching
// the body.
var kindRules = []struct {
	kind dsr.Kind
	re   *regexp.Regexp
}{
	{dsr.KindAccess, regexp.MustCompile(`(?i)\b(data )?subject access request\b|\bd?sar\b|\bright of access\b`)},
	{dsr.KindErasure, regexp.MustCompile(`(?i)\bright to (erasure|be forgotten)\b`)},
	{dsr.KindPortability, regexp.MustCompile(`(?i)\b(data )?portability\b`)},
	{dsr.KindRectification, regexp.MustCompile(`(?i)\b(right to )?rectification\b`)},
	{dsr.KindOptOut, regexp.MustCompile(`(?i)\bopt(ing)?[ -]?out\b|\b(do not|don'?t|stop) (sell|shar)(e|ing)\b|\bstop selling\b|\bunsubscribe\b|\bremove me from (your|the|all) (mailing|marketing|email|e-mail)|\bsale of my\b|\b(sell|sharing|share) my (personal )?(data|information|info)\b`)},
	{dsr.KindErasure, regexp.MustCompile(`(?i)\b(delete|deletion|erase|erasure|remove|removal|forget me)\b`)},
	{dsr.KindRectification, regexp.MustCompile(`(?i)\b(correct|correction|rectify|update|wrong|inaccurate|incorrect)\b`)},
	{dsr.KindPortability, regexp.MustCompile(`(?i)\b(port|export|transfer)\b`)},
	{dsr.KindRestriction, regexp.MustCompile(`(?i)\brestrict(ion)?\b`)},
	{dsr.KindObjection, regexp.MustCompile(`(?i)\bobject(ion)?\b`)},
	{dsr.KindAccess, regexp.MustCompile(`(?i)\baccess\b|\bcopy of\b|\bwhat (personal )?(data|information)\b`)},
	{dsr.KindOptOut, regexp.MustCompile(`(?i)\bshar(e|ing)\b`)},
}

// GuessKind guesses what an email asks for from English keywords ("delete
// my data" → erasure, "subject access request" → access, "do not sell" →
// opt_out, …), looking at the subject first and then the body; with no
// keyword it is access. It returns the kind and the rule that decided it,
// for the officer who checks the guess.
func GuessKind(subject, body string) (dsr.Kind, string) {
	for _, where := range []struct{ name, text string }{{"subject", subject}, {"body", body}} {
		for _, r := range kindRules {
			if m := r.re.FindString(where.text); m != "" {
				return r.kind, fmt.Sprintf("%q in the %s", strings.ToLower(m), where.name)
			}
		}
	}
	return dsr.KindAccess, "no keyword: access by default"
}

// guessOptOutOf lists what an opt-out by email is about, for the
// opt_out_of field: sale and sharing unless the text says otherwise.
func guessOptOutOf(text string) string {
	t := strings.ToLower(text)
	var out []string
	add := func(v string, words ...string) {
		for _, w := range words {
			if strings.Contains(t, w) {
				out = append(out, v)
				return
			}
		}
	}
	add("sale", "sell", "sale")
	add("sharing", "shar")
	add("targeted_advertising", "advertis", "targeted")
	add("profiling", "profiling")
	add("direct_marketing", "marketing", "unsubscribe", "newsletter")
	if len(out) == 0 {
		return "sale,sharing"
	}
	return strings.Join(out, ",")
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

// checkDKIM verifies the message's DKIM signatures and returns the result
// for the From: domain: pass when a signature by that domain or a parent
// domain verifies, otherwise temperror, fail or none (no such signature).
func (e *Engine) checkDKIM(ctx context.Context, raw []byte, fromDomain string) (result, domain string) {
	lookup := func(name string) ([]string, error) {
		lctx, cancel := context.WithTimeout(ctx, dkimLookupTimeout)
		defer cancel()
		return net.DefaultResolver.LookupTXT(lctx, name)
	}
	if fn, ok := dkimLookups.Load(e); ok {
		lookup = fn.(func(string) ([]string, error))
	}
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: lookup, MaxVerifications: dkimMaxSignatures})
	if err != nil {
		if dkim.IsTempFail(err) {
			return DKIMTempError, ""
		}
		return DKIMFail, ""
	}
	result = DKIMNone
	for _, v := range vs {
		if !alignedDomain(v.Domain, fromDomain) {
			continue
		}
		switch {
		case v.Err == nil:
			return DKIMPass, strings.ToLower(v.Domain)
		case dkim.IsTempFail(v.Err):
			result, domain = DKIMTempError, strings.ToLower(v.Domain)
		case result != DKIMTempError:
			result, domain = DKIMFail, strings.ToLower(v.Domain)
		}
	}
	return result, domain
}

// alignedDomain reports whether a signature by signer speaks for the From:
// domain from: the same domain or a parent of it (relaxed alignment).
func alignedDomain(signer, from string) bool {
	signer, from = strings.ToLower(strings.TrimSuffix(signer, ".")), strings.ToLower(from)
	return signer != "" && (signer == from || strings.HasSuffix(from, "."+signer))
}
