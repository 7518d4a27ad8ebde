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
	TokenVerify   = "verify"
	TokenStatus   = "status"
	TokenDownload = "download"
	HolderSubject = "subject"
	HolderAgent   = "agent"
)

// Token is a stored link token (only its hash is stored).
type Token struct {
	ID        string
	RequestID string
	Purpose   string
	Holder    string
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// InsertToken stores the hash of a new token.
func InsertToken(ctx context.Context, tx pgx.Tx, requestID, purpose, holder string, hash []byte, expires time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO tokens (request_id, purpose, holder, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		requestID, purpose, holder, hash, expires)
	return wrap("insert token", err)
}

// FindToken looks a token up by hash and purpose; with forUpdate it locks
// the row so a single-use token cannot be used twice. Errors: ENOTFOUND.
func FindToken(ctx context.Context, q Querier, hash []byte, purpose string, forUpdate bool) (*Token, error) {
	sql := `SELECT id, request_id, purpose, holder, expires_at, used_at FROM tokens WHERE token_hash = $1 AND purpose = $2`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var t Token
	err := q.QueryRow(ctx, sql, hash, purpose).Scan(&t.ID, &t.RequestID, &t.Purpose, &t.Holder, &t.ExpiresAt, &t.UsedAt)
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
