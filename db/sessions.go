package db

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// InsertSession stores a console session (by token hash).
func InsertSession(ctx context.Context, q Querier, userID string, hash []byte, expires time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, $2, $3)`, userID, hash, expires)
	return wrap("insert session", err)
}

// UserBySession returns the user of a live session and records activity.
// Errors: ENOTFOUND for an unknown, expired or disabled session.
func UserBySession(ctx context.Context, q Querier, hash []byte, now time.Time) (*User, error) {
	var u User
	err := q.QueryRow(ctx, `UPDATE sessions s SET last_seen_at = $2 FROM users u
		WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.id = s.user_id AND u.disabled_at IS NULL
		RETURNING u.id, u.email, u.name, u.role`, hash, now).Scan(&u.ID, &u.Email, &u.Name, &u.Role)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "no session")
	}
	return &u, wrap("session", err)
}

// DeleteSession ends a session.
func DeleteSession(ctx context.Context, q Querier, hash []byte) error {
	_, err := q.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash)
	return wrap("delete session", err)
}

// CountUsers returns how many users exist (a fresh install has none).
func CountUsers(ctx context.Context, q Querier) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, wrap("count users", err)
}
