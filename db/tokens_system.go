package db

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// CreateSystemToken stores the hash of a new API token for a data system
// (it may only report on that system's tasks, through POST
// /api/v1/tasks/{id}), expiring at expires (nil: never), and returns the
// token's id. Errors: ECONFLICT when the hash is already stored.
func CreateSystemToken(ctx context.Context, q Querier, system, name string, hash []byte, expires *time.Time, now time.Time) (string, error) {
	var id string
	err := q.QueryRow(ctx, `INSERT INTO api_tokens (system, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		system, name, hash, now, expires).Scan(&id)
	return id, wrap("create system token", err)
}

// SystemByAPIToken returns the system holding the API token with this
// hash and records the use. Errors: ENOTFOUND when no live system token
// has the hash (a user's token is not a system's).
func SystemByAPIToken(ctx context.Context, q Querier, hash []byte, now time.Time) (string, error) {
	var system string
	err := q.QueryRow(ctx, `UPDATE api_tokens SET last_used_at = $2
		WHERE token_hash = $1 AND system IS NOT NULL AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
		RETURNING system`, hash, now).Scan(&system)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", dsr.Errorf(dsr.ENOTFOUND, "no such system token")
	}
	return system, wrap("system by api token", err)
}

// RevokeSystemTokens revokes a system's live tokens named name and
// returns how many.
func RevokeSystemTokens(ctx context.Context, q Querier, system, name string, now time.Time) (int, error) {
	tag, err := q.Exec(ctx, `UPDATE api_tokens SET revoked_at = $3 WHERE system = $1 AND name = $2 AND revoked_at IS NULL`, system, name, now)
	if err != nil {
		return 0, wrap("revoke system token", err)
	}
	return int(tag.RowsAffected()), nil
}
