package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"github.com/jackc/pgx/v5"

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

// UserByAPIToken returns the user holding the API token with this hash and
// records the use in last_used_at. Errors: ENOTFOUND when no token has the
// hash, the token is revoked or its user is disabled (one answer for all
// three, so a caller learns nothing about which).
func UserByAPIToken(ctx context.Context, q Querier, hash []byte) (*User, error) {
	var u User
	err := q.QueryRow(ctx, `UPDATE api_tokens t SET last_used_at = now()
		FROM users u
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.id = t.user_id AND u.disabled_at IS NULL
		RETURNING u.id, u.email, u.name, u.role, u.password_hash, u.disabled_at`, hash).
		Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.DisabledAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "no such API token")
	}
	if err != nil {
		return nil, wrap("user by api token", err)
	}
	return &u, nil
}
