package workflow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// statusLinkBackstop bounds a status link of a request that stays open:
// links normally end at the close plus db.StatusLinkGrace (SetStatus caps
// them), and this only keeps a link of a request left open by mistake
// from working for ever.
const statusLinkBackstop = 400 * 24 * time.Hour

// newToken returns a random 256-bit URL-safe token and its SHA-256 hash,
// the only form stored.
func newToken() (raw string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("workflow: crypto/rand failed: " + err.Error())
	}
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, HashToken(raw)
}

// HashToken returns the stored form of a token.
func HashToken(raw string) []byte {
	h := sha256.Sum256([]byte(raw))
	return h[:]
}

// issueToken stores a new full-scope token (verify, download) and returns
// the raw value for the link.
func issueToken(ctx context.Context, tx pgx.Tx, requestID, purpose, holder string, expires time.Time) (string, error) {
	raw, hash := newToken()
	if err := db.InsertToken(ctx, tx, requestID, purpose, holder, db.ScopeFull, hash, expires); err != nil {
		return "", err
	}
	return raw, nil
}

// issueStatusToken stores a new status link for holder and returns the
// raw value. Its scope is full only once the subject has proven the
// email address (req.VerifiedAt set): before that, and for opt-outs that
// needed no proof, whoever holds the link may only see that the request
// exists. A link of a closed request lives for the grace period only.
func (e *Engine) issueStatusToken(ctx context.Context, tx pgx.Tx, req *dsr.Request, holder string, now time.Time) (string, error) {
	scope := db.ScopePending
	if req.VerifiedAt != nil {
		scope = db.ScopeFull
	}
	expires := now.Add(statusLinkBackstop)
	if req.Status.Closed() {
		closed := now
		if req.ClosedAt != nil {
			closed = *req.ClosedAt
		}
		expires = closed.Add(db.StatusLinkGrace)
	}
	raw, hash := newToken()
	if err := db.InsertToken(ctx, tx, req.ID, db.TokenStatus, holder, scope, hash, expires); err != nil {
		return "", err
	}
	return raw, nil
}
