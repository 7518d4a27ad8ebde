package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// APITokenPrefix starts every raw admin API token, so a leaked one is
// recognisable (and findable by secret scanners).
const APITokenPrefix = "dsr_"

// NewAPIToken returns a new admin API token: raw is "dsr_" followed by 32
// random bytes in unpadded base64url (256 bits), shown to its holder once;
// hash is APITokenHash(raw), the only form stored.
func NewAPIToken() (raw string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	raw = APITokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return raw, APITokenHash(raw)
}

// APITokenHash is the SHA-256 of a raw API token as presented (prefix
// included): the key api_tokens is searched by.
func APITokenHash(raw string) []byte {
	sum := sha256.Sum256([]byte(raw))
	return sum[:]
}

// InsertAPIToken stores the hash of a new API token for a user and returns
// the token's id. name is a label for people ("ci", "backup job").
// Errors: ECONFLICT when the hash is already stored.
func InsertAPIToken(ctx context.Context, q Querier, userID, name string, hash []byte) (string, error) {
	var id string
	err := q.QueryRow(ctx, `INSERT INTO api_tokens (user_id, name, token_hash) VALUES ($1, $2, $3) RETURNING id`,
		userID, name, hash).Scan(&id)
	return id, wrap("insert api token", err)
}

// CreateAPIToken stores the hash of a new API token for a user, expiring
// at expires (nil: never), records the creation in user_events by actorID
// ("" for the dsrdesk command) and returns the token's id.
// Errors: ENOTFOUND when there is no such user, ECONFLICT when the hash is
// already stored.
func CreateAPIToken(ctx context.Context, q Querier, actorID, userID, name string, hash []byte, expires *time.Time, now time.Time) (string, error) {
	var id string
	err := q.QueryRow(ctx, `WITH t AS (
			INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) VALUES ($2, $3, $4, $5, $6) RETURNING id, user_id),
		e AS (INSERT INTO user_events (at, actor_id, user_id, action, detail) SELECT $5, NULLIF($1, '')::uuid, user_id, 'token_create', $3 FROM t)
		SELECT id FROM t`, actorID, userID, name, hash, now, expires).Scan(&id)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" { // foreign key: no such user
		return "", dsr.Errorf(dsr.ENOTFOUND, "no such user")
	}
	return id, wrap("create api token", err)
}

// APIToken describes a stored API token: never the token or its hash.
type APIToken struct {
	ID        string
	UserID    string // "" for a system's token
	UserEmail string // "system:<name>" for a system's token
	// System is the data system a system token reports for ("" for a
	// user's token).
	System     string
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
}

// Live reports whether the token still authenticates at now (its user
// may still be disabled).
func (t APIToken) Live(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || t.ExpiresAt.After(now))
}

// APITokens returns the tokens of the user userID, or of every user and
// every system when userID is "", by owner (a system's token is owned by
// "system:<name>") and then newest first.
func APITokens(ctx context.Context, q Querier, userID string) ([]APIToken, error) {
	rows, err := q.Query(ctx, `SELECT t.id, coalesce(t.user_id::text, ''), coalesce(u.email, 'system:' || t.system), coalesce(t.system, ''),
			t.name, t.created_at, t.last_used_at, t.expires_at, t.revoked_at
		FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
		WHERE $1 = '' OR t.user_id = NULLIF($1, '')::uuid
		ORDER BY coalesce(u.email, 'system:' || t.system), t.created_at DESC, t.id`, userID)
	if err != nil {
		return nil, wrap("api tokens", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (APIToken, error) {
		var t APIToken
		err := row.Scan(&t.ID, &t.UserID, &t.UserEmail, &t.System, &t.Name, &t.CreatedAt, &t.LastUsedAt, &t.ExpiresAt, &t.RevokedAt)
		return t, err
	})
}

// RevokeAPIToken revokes the token with this id, if not yet revoked, and
// records it. Errors: ENOTFOUND when there is no such token or it was
// already revoked.
func RevokeAPIToken(ctx context.Context, q Querier, actorID, tokenID string, now time.Time) error {
	n, err := revokeAPITokens(ctx, q, actorID, `id = $3::uuid`, tokenID, now)
	if err == nil && n == 0 {
		err = dsr.Errorf(dsr.ENOTFOUND, "no such API token, or it is already revoked")
	}
	return err
}

// RevokeAPITokensByName revokes the user's tokens named name that are not
// yet revoked (names are labels, not unique) and returns how many.
func RevokeAPITokensByName(ctx context.Context, q Querier, actorID, userID, name string, now time.Time) (int, error) {
	return revokeAPITokens(ctx, q, actorID, `user_id = $3::uuid AND name = $4`, userID, now, name)
}

// revokeAPITokens revokes the live tokens matching where (which may use
// $3 = arg and $4… = more) and records one user_events row for each.
func revokeAPITokens(ctx context.Context, q Querier, actorID, where string, arg string, now time.Time, more ...any) (int, error) {
	var n int
	err := q.QueryRow(ctx, `WITH t AS (UPDATE api_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND `+where+` RETURNING user_id, name),
		e AS (INSERT INTO user_events (at, actor_id, user_id, action, detail) SELECT $2, NULLIF($1, '')::uuid, user_id, 'token_revoke', name FROM t)
		SELECT count(*) FROM t`, append([]any{actorID, now, arg}, more...)...).Scan(&n)
	return n, wrap("revoke api token", err)
}

// UserByAPIToken returns the user holding the API token with this hash and
// records the use in last_used_at. Errors: ENOTFOUND when no token has the
// hash, the token is revoked or expired at now, or its user is disabled
// (one answer for all, so a caller learns nothing about which).
func UserByAPIToken(ctx context.Context, q Querier, hash []byte, now time.Time) (*User, error) {
	var u User
	err := q.QueryRow(ctx, `UPDATE api_tokens t SET last_used_at = $2
		FROM users u
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)
			AND u.id = t.user_id AND u.disabled_at IS NULL
		RETURNING u.id, u.email, u.name, u.role, u.password_hash, u.disabled_at`, hash, now).
		Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.DisabledAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "no such API token")
	}
	if err != nil {
		return nil, wrap("user by api token", err)
	}
	return &u, nil
}
