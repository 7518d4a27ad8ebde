package db

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Token purposes and holders.
const (
	TokenVerify   = dsr.TokenVerify
	TokenStatus   = dsr.TokenStatus
	TokenDownload = dsr.TokenDownload
	HolderSubject = dsr.HolderSubject
	HolderAgent   = dsr.HolderAgent
)

// Status-link scopes. A pending link was issued before the subject proved
// the email address (or for an opt-out that needed no proof): it shows
// that the request exists and nothing else. A full link was issued after
// confirmation and may answer and withdraw.
const (
	ScopePending = dsr.ScopePending
	ScopeFull    = dsr.ScopeFull
)

// StatusLinkGrace is how long status links keep working after their
// request closes (completed, denied, withdrawn, expired): long enough to
// read the outcome, short enough that an old email stops being a key.
// SetStatus applies it in the transaction of every close.
const StatusLinkGrace = dsr.StatusLinkGrace

// Token is a stored link token (only its hash is stored).
type Token struct {
	ID        string
	RequestID string
	Purpose   string
	Holder    string
	Scope     string // ScopePending or ScopeFull
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// InsertToken stores the hash of a new token with its scope (ScopeFull
// for verify and download tokens).
func InsertToken(ctx context.Context, tx pgx.Tx, requestID, purpose, holder, scope string, hash []byte, expires time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO tokens (request_id, purpose, holder, scope, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		requestID, purpose, holder, scope, hash, expires)
	return wrap("insert token", err)
}

// FindToken looks a token up by hash and purpose; with forUpdate it locks
// the row so a single-use token cannot be used twice. Errors: ENOTFOUND.
func FindToken(ctx context.Context, q Querier, hash []byte, purpose string, forUpdate bool) (*Token, error) {
	sql := `SELECT id, request_id, purpose, holder, scope, expires_at, used_at, revoked_at FROM tokens WHERE token_hash = $1 AND purpose = $2`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var t Token
	err := q.QueryRow(ctx, sql, hash, purpose).Scan(&t.ID, &t.RequestID, &t.Purpose, &t.Holder, &t.Scope, &t.ExpiresAt, &t.UsedAt, &t.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "This link is not valid. Check that you copied the whole link from the email.")
	}
	return &t, wrap("find token", err)
}

// UseToken marks a token used.
func UseToken(ctx context.Context, tx pgx.Tx, id string, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE tokens SET used_at = $2 WHERE id = $1`, id, at)
	return wrap("use token", err)
}

// UseAllTokens marks every unused token of a purpose for a request used
// (after verification, the other verification links die too).
func UseAllTokens(ctx context.Context, tx pgx.Tx, requestID, purpose string, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE tokens SET used_at = $3 WHERE request_id = $1 AND purpose = $2 AND used_at IS NULL`, requestID, purpose, at)
	return wrap("use tokens", err)
}

// capStatusTokens ends a closed request's status links at closedAt plus
// StatusLinkGrace (never later than they would have ended anyway).
func capStatusTokens(ctx context.Context, tx pgx.Tx, requestID string, closedAt time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE tokens SET expires_at = least(expires_at, $2) WHERE request_id = $1 AND purpose = 'status'`,
		requestID, closedAt.Add(StatusLinkGrace))
	return wrap("cap status tokens", err)
}

// Idempotent is a stored first answer for an Idempotency-Key.
type Idempotent struct {
	Fingerprint []byte
	RequestID   string
	Response    []byte
}

// FindIdempotent returns the stored answer for a key hash, or nil.
func FindIdempotent(ctx context.Context, q Querier, keyHash []byte) (*Idempotent, error) {
	var i Idempotent
	err := q.QueryRow(ctx, `SELECT fingerprint, request_id, response FROM idempotency_keys WHERE key_hash = $1`, keyHash).
		Scan(&i.Fingerprint, &i.RequestID, &i.Response)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return &i, wrap("find idempotency key", err)
}

// InsertIdempotent stores the first answer for a key hash. Errors:
// ECONFLICT when another transaction stored one first.
func InsertIdempotent(ctx context.Context, tx pgx.Tx, keyHash []byte, i Idempotent) error {
	_, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (key_hash, fingerprint, request_id, response) VALUES ($1, $2, $3, $4)`,
		keyHash, i.Fingerprint, i.RequestID, i.Response)
	return wrap("insert idempotency key", err)
}
