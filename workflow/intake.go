package workflow

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/notify"
)

// Receipt is the answer to a new request, as the API returns it.
type Receipt struct {
	ID         string     `json:"id"`
	Ref        string     `json:"ref"`
	Kind       dsr.Kind   `json:"kind"`
	Regime     string     `json:"regime"`
	Status     dsr.Status `json:"status"`
	ReceivedAt time.Time  `json:"received_at"`
	DueAt      dsr.Date   `json:"due_at"`
	StatusURL  string     `json:"status_url"`
}

// Submit validates and stores a new request with its events, ledger,
// messages and jobs in one transaction. With an idempotency key, a retry
// returns the first receipt instead of creating a second request; the
// same key with a different submission is ECONFLICT. Errors: EINVALID with
// field errors, EUNAVAILABLE, ECONFLICT.
func (e *Engine) Submit(ctx context.Context, s dsr.Submission, idemKey string) (*Receipt, error) {
	fp := fingerprint(s)
	for attempt := 0; ; attempt++ {
		if idemKey != "" {
			if rc, err := e.replay(ctx, idemKey, fp); rc != nil || err != nil {
				return rc, err
			}
		}
		if err := e.checkReceivedAt(s); err != nil {
			return nil, err
		}
		reg, err := s.Validate(e.org)
		if err != nil {
			return nil, err
		}
		var rc *Receipt
		err = e.inTx(ctx, func(tx pgx.Tx) error {
			var err error
			rc, err = e.create(ctx, tx, &s, reg)
			if err != nil || idemKey == "" {
				return err
			}
			return e.storeIdempotent(ctx, tx, idemKey, fp, rc)
		})
		if dsr.ErrorCode(err) == dsr.ECONFLICT && idemKey != "" && attempt == 0 {
			continue // a concurrent retry with the same key won: answer with its receipt
		}
		return rc, err
	}
}

// checkReceivedAt accepts an explicit receipt time only from officers, in
// the past year and not in the future.
func (e *Engine) checkReceivedAt(s dsr.Submission) error {
	if s.ReceivedAt.IsZero() {
		return nil
	}
	now := e.clock.Now()
	msg := ""
	switch {
	case s.Channel != dsr.ChannelOfficer:
		msg = "only officers entering a request may set the receipt time"
	case s.ReceivedAt.After(now.Add(time.Minute)):
		msg = "must not be in the future"
	case s.ReceivedAt.Before(now.AddDate(-1, 0, 0)):
		msg = "must be within the last year"
	}
	if msg != "" {
		return &dsr.Error{Code: dsr.EINVALID, Message: "Some fields are not valid.", Fields: map[string]string{"received_at": msg}}
	}
	return nil
}

func (e *Engine) create(ctx context.Context, tx pgx.Tx, s *dsr.Submission, reg *dsr.Regime) (*Receipt, error) {
	now := e.now()
	received := now
	if !s.ReceivedAt.IsZero() {
		received = s.ReceivedAt.UTC().Truncate(time.Microsecond)
	}
	dl, err := e.org.Deadlines(reg, s.Kind, received)
	if err != nil {
		return nil, err
	}
	req, err := e.insertRequest(ctx, tx, s, reg, dl, received)
	if err != nil {
		return nil, err
	}
	if err := e.recordIntake(ctx, tx, req, s, reg, dl, now); err != nil {
		return nil, err
	}
	holder := db.HolderSubject
	if req.Agent != nil {
		holder = db.HolderAgent
	}
	// The filer has proven nothing yet: this link is pending (it shows
	// only that the request exists) until the subject confirms.
	statusTok, err := e.issueStatusToken(ctx, tx, req, holder, now)
	if err != nil {
		return nil, err
	}
	return &Receipt{ID: req.ID, Ref: req.RefString(), Kind: req.Kind, Regime: req.Regime, Status: req.Status,
		ReceivedAt: req.ReceivedAt, DueAt: req.DueOn, StatusURL: e.link("/status/" + statusTok)}, nil
}

func (e *Engine) insertRequest(ctx context.Context, tx pgx.Tx, s *dsr.Submission, reg *dsr.Regime, dl dsr.Deadlines, now time.Time) (*dsr.Request, error) {
	subjectID, err := db.InsertRequester(ctx, tx, s.Subject)
	if err != nil {
		return nil, err
	}
	var agentID string
	if s.Agent != nil {
		if agentID, err = db.InsertAgent(ctx, tx, s.Agent.Name, s.Agent.Email); err != nil {
			return nil, err
		}
	}
	status := dsr.StatusOpen
	needs := s.NeedsVerification(reg)
	if needs {
		status = dsr.StatusPendingVerification
	}
	id, _, err := db.InsertRequest(ctx, tx, db.NewRequest{Kind: s.Kind, Regime: reg.ID, Status: status, Channel: s.Channel,
		RequesterID: subjectID, AgentID: agentID, Details: s.Details, Fields: s.Fields, ReceivedAt: now,
		Deadlines: dl, NeedsVerification: needs})
	if err != nil {
		return nil, err
	}
	return db.GetRequest(ctx, tx, id, true)
}

// recordIntake writes the first events, the ledger, the permission
// document and the first emails.
func (e *Engine) recordIntake(ctx context.Context, tx pgx.Tx, req *dsr.Request, s *dsr.Submission, reg *dsr.Regime, dl dsr.Deadlines, now time.Time) error {
	if err := db.InsertLedger(ctx, tx, req.ID, now, dl.Ledger); err != nil {
		return err
	}
	data := map[string]string{"kind": string(req.Kind), "regime": req.Regime, "channel": string(req.Channel),
		"due": req.DueOn.String(), "agent": fmt.Sprint(req.Agent != nil)}
	actor := actorFor(req)
	if s.EnteredBy != "" {
		actor = s.EnteredBy
	}
	if err := event(ctx, tx, req, actor, "received", true, data, now); err != nil {
		return err
	}
	if s.Agent != nil {
		attID, err := db.InsertAttachment(ctx, tx, req.ID, "permission", s.Agent.Permission)
		if err != nil {
			return err
		}
		if err := event(ctx, tx, req, dsr.ActorAgent, "agent_permission_attached", false,
			map[string]string{"attachment": attID, "content_type": s.Agent.Permission.ContentType}, now); err != nil {
			return err
		}
	}
	if err := e.acknowledgeAtIntake(ctx, tx, req, reg, now); err != nil {
		return err
	}
	if err := e.scheduleReminders(ctx, tx, req); err != nil {
		return err
	}
	if req.Status == dsr.StatusOpen {
		why := reg.Short + " does not allow identity verification for opt-out requests"
		if err := event(ctx, tx, req, dsr.ActorSystem, "opened", true, map[string]string{"reason": why}, now); err != nil {
			return err
		}
		return e.mailAll(ctx, tx, req, MailAcknowledged, mailExtra{})
	}
	// The confirmation email first: the verification jobs count from it.
	if err := e.mailVerification(ctx, tx, req, MailReceived, now); err != nil {
		return err
	}
	return e.scheduleVerificationJobs(ctx, tx, req)
}

// acknowledgeAtIntake records that the receipt email, sent in this same
// transaction, satisfies a legal acknowledgment duty (CCPA: 10 business
// days) — but only when that email exists and can be delivered. When it
// cannot (no address, or a name no mail header can carry), the duty stays
// open: an internal acknowledgment_not_sent event tells officers why, and
// ack_sent_at stays empty.
func (e *Engine) acknowledgeAtIntake(ctx context.Context, tx pgx.Tx, req *dsr.Request, reg *dsr.Regime, now time.Time) error {
	if req.AckDue.IsZero() {
		return nil
	}
	data := map[string]string{"ack_due": req.AckDue.String(), "rule": reg.Ack.Rule}
	if why := ackUndeliverable(req); why != "" {
		data["reason"] = why
		return event(ctx, tx, req, dsr.ActorSystem, "acknowledgment_not_sent", false, data, now)
	}
	if err := db.MarkAckSent(ctx, tx, req.ID, now); err != nil {
		return err
	}
	if today := dsr.DateIn(now, e.org.Location()); today.After(req.AckDue) {
		// Entered late (a letter found in the post): acknowledge at once,
		// and say so.
		data["late_by_days"] = fmt.Sprint(req.AckDue.DaysUntil(today))
	}
	return event(ctx, tx, req, dsr.ActorSystem, "acknowledgment_sent", false, data, now)
}

// mailVerification sends the subject a fresh confirmation link (event
// received or verify_reminder; agent_confirm when an agent filed) and the
// agent a copy of the news.
func (e *Engine) mailVerification(ctx context.Context, tx pgx.Tx, req *dsr.Request, subjectEvent string, now time.Time) error {
	expires := now.Add(time.Duration(e.org.Verification.LinkValidDays) * 24 * time.Hour)
	tok, err := issueToken(ctx, tx, req.ID, db.TokenVerify, db.HolderSubject, expires)
	if err != nil {
		return err
	}
	if req.Agent != nil && subjectEvent == MailReceived {
		subjectEvent = MailAgentConfirm
	}
	if subjectEvent != MailVerifyReminder {
		if err := db.MarkVerificationSent(ctx, tx, req.ID, now); err != nil {
			return err
		}
		if req.VerificationSent == nil {
			req.VerificationSent = &now
		}
	}
	x := mailExtra{actionURL: e.link("/verify/" + tok), actionLabel: "Confirm", linkExpires: expires}
	if err := e.mailOne(ctx, tx, req, db.HolderSubject, subjectEvent, x); err != nil {
		return err
	}
	if req.Agent != nil && subjectEvent == MailAgentConfirm {
		return e.mailOne(ctx, tx, req, db.HolderAgent, MailReceivedAgent, mailExtra{})
	}
	return nil
}

func actorFor(req *dsr.Request) string {
	if req.Agent != nil {
		return dsr.ActorAgent
	}
	return dsr.ActorRequester
}

// event appends an audit event for req.
func event(ctx context.Context, tx pgx.Tx, req *dsr.Request, actor, typ string, public bool, data map[string]string, at time.Time) error {
	return db.AppendEvent(ctx, tx, req.ID, dsr.Event{At: at, Actor: actor, Type: typ, Public: public, Data: data})
}

// fingerprint identifies a submission's content, to refuse an
// Idempotency-Key reused for a different request.
func fingerprint(s dsr.Submission) []byte {
	c := s
	if s.Agent != nil && s.Agent.Permission != nil {
		a := *s.Agent
		sum := sha256.Sum256(a.Permission.Content)
		a.Permission = &dsr.File{Filename: a.Permission.Filename, Content: sum[:]}
		c.Agent = &a
	}
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return h[:]
}

func idemKeys(key string) (lookup, seal []byte) {
	l := sha256.Sum256([]byte("dsrdesk/idempotency/lookup\x00" + key))
	s := sha256.Sum256([]byte("dsrdesk/idempotency/seal\x00" + key))
	return l[:], s[:]
}

func (e *Engine) storeIdempotent(ctx context.Context, tx pgx.Tx, key string, fp []byte, rc *Receipt) error {
	lookup, sealKey := idemKeys(key)
	plain, err := json.Marshal(rc)
	if err != nil {
		return err
	}
	sealed, err := seal(sealKey, plain)
	if err != nil {
		return err
	}
	return db.InsertIdempotent(ctx, tx, lookup, db.Idempotent{Fingerprint: fp, RequestID: rc.ID, Response: sealed})
}

// replay returns the first receipt for key, nil when the key is new.
func (e *Engine) replay(ctx context.Context, key string, fp []byte) (*Receipt, error) {
	lookup, sealKey := idemKeys(key)
	found, err := db.FindIdempotent(ctx, e.pool, lookup)
	if err != nil || found == nil {
		return nil, err
	}
	if string(found.Fingerprint) != string(fp) {
		return nil, &dsr.Error{Code: dsr.ECONFLICT, Message: "This Idempotency-Key was already used for a different request.", Rule: "Idempotency-Key"}
	}
	plain, err := open(sealKey, found.Response)
	if err != nil {
		return nil, &dsr.Error{Code: dsr.EINTERNAL, Err: err}
	}
	var rc Receipt
	if err := json.Unmarshal(plain, &rc); err != nil {
		return nil, &dsr.Error{Code: dsr.EINTERNAL, Err: err}
	}
	return &rc, nil
}

func seal(key, plain []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, plain, nil), nil
}

func open(key, sealed []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < gcm.NonceSize() {
		return nil, errors.New("idempotency: sealed response too short")
	}
	return gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], nil)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// ackUndeliverable says why the receipt email to req's data subject cannot
// count as an acknowledgment, or "" when it can. The reason quotes nothing
// of the requester's data.
func ackUndeliverable(req *dsr.Request) string {
	if req.Subject.Email == "" {
		return "the requester gave no email address, so no acknowledgment could be sent; acknowledge by another way"
	}
	if err := notify.CheckRecipient(notify.Address{Name: req.Subject.Name, Email: req.Subject.Email}); err != nil {
		return "the requester's name or address cannot be written in a mail header, so the acknowledgment cannot be delivered; acknowledge by another way"
	}
	return ""
}
