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

// SessionTouchEvery is how stale last_seen_at may get before a use of
// the session writes it again: without it every console request would
// be a write. The idle timeout is therefore exact to within this much.
const SessionTouchEvery = time.Minute

// StartSession stores a new console session (by token hash) begun at now
// and ending at expires at the latest. Errors: ECONFLICT when the hash is
// already stored.
func StartSession(ctx context.Context, q Querier, userID string, hash []byte, now, expires time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)`,
		userID, hash, now, expires)
	return wrap("start session", err)
}

// UserBySession returns the user of a live session: known, not past its
// absolute expiry, used within the last idle (0: no idle limit), and of
// an enabled user. It records the use in last_seen_at when that is older
// than SessionTouchEvery. Errors: ENOTFOUND for an unknown, expired, idle
// or disabled session (one answer for all).
func UserBySession(ctx context.Context, q Querier, hash []byte, now time.Time, idle time.Duration) (*User, error) {
	idleSince := time.Time{} // no idle limit: every last_seen_at is recent enough
	if idle > 0 {
		idleSince = now.Add(-idle)
	}
	var u User
	err := q.QueryRow(ctx, `WITH live AS (
			SELECT s.id, s.last_seen_at, u.id AS uid, u.email, u.name, u.role FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.disabled_at IS NULL),
		touch AS (UPDATE sessions s SET last_seen_at = $2 FROM live WHERE s.id = live.id AND live.last_seen_at < $4)
		SELECT uid, email, name, role FROM live`, hash, now, idleSince, now.Add(-SessionTouchEvery)).
		Scan(&u.ID, &u.Email, &u.Name, &u.Role)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "no session")
	}
	return &u, wrap("session", err)
}

// DeleteExpiredSessions deletes, in one statement, every session past its
// absolute expiry or unused for longer than idle (0: absolute expiry
// only), and returns how many it deleted.
func DeleteExpiredSessions(ctx context.Context, q Querier, now time.Time, idle time.Duration) (int64, error) {
	idleSince := time.Time{}
	if idle > 0 {
		idleSince = now.Add(-idle)
	}
	tag, err := q.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2`, now, idleSince)
	if err != nil {
		return 0, wrap("delete expired sessions", err)
	}
	return tag.RowsAffected(), nil
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
