package workflow

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
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
// messages and jobs in one transaction: dsr.PlanIntake decides, and
// applyIntake writes the plan in two round trips. With an idempotency
// key, a retry returns the first receipt instead of creating a second
// request; the same key with a different submission is ECONFLICT. Form,
// API, officer entry and GPC all come through here. Errors: EINVALID with
// field errors, EUNAVAILABLE, ECONFLICT.
func (e *Engine) Submit(ctx context.Context, s dsr.Submission, idemKey string) (*Receipt, error) {
	fp := fingerprint(s)
	for attempt := 0; ; attempt++ {
		if idemKey != "" {
			if rc, err := e.replay(ctx, idemKey, fp); rc != nil || err != nil {
				return rc, err
			}
		}
		now := e.now()
		plan, err := dsr.PlanIntake(e.org, s, now, deliverable)
		if err != nil {
			return nil, err
		}
		rc, err := e.applyIntake(ctx, plan, now, idemKey, fp)
		if dsr.ErrorCode(err) == dsr.ECONFLICT && idemKey != "" && attempt == 0 {
			continue // a concurrent retry with the same key won: answer with its receipt
		}
		return rc, err
	}
}

// createEmailRequest files a request that came by email, in the inbound
// processing transaction tx, through the shared planner and apply
// (dsr.PlanEmailIntake, insertIntake). Errors: those of the planner and
// the database.
func (e *Engine) createEmailRequest(ctx context.Context, tx pgx.Tx, s dsr.Submission, reg *dsr.Regime, receivedAt time.Time) (*dsr.Request, error) {
	now := e.now()
	plan, err := dsr.PlanEmailIntake(e.org, s, reg, receivedAt, now, deliverable)
	if err != nil {
		return nil, err
	}
	return e.insertIntake(ctx, tx, plan, now)
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
func event(ctx context.Context, tx pgx.Tx, req *dsr.Request, actor string, typ dsr.EventType, public bool, data map[string]string, at time.Time) error {
	return db.AppendEvent(ctx, tx, req.ID, dsr.Event{At: at, Actor: actor, Type: string(typ), Public: public, Data: data})
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

// sealReceipt returns the lookup hash of an Idempotency-Key and the
// receipt sealed under a key derived from it (the key itself is never
// stored).
func (e *Engine) sealReceipt(key string, rc *Receipt) (lookup, sealed []byte, err error) {
	lookup, sealKey := idemKeys(key)
	plain, err := json.Marshal(rc)
	if err != nil {
		return nil, nil, dsr.Internal(err)
	}
	if sealed, err = seal(sealKey, plain); err != nil {
		return nil, nil, dsr.Internal(err)
	}
	return lookup, sealed, nil
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
		return nil, dsr.Internal(err)
	}
	var rc Receipt
	if err := json.Unmarshal(plain, &rc); err != nil {
		return nil, dsr.Internal(err)
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
