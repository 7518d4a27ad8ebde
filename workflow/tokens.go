package workflow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
)

// statusLinkValidity is how long a status-page link works.
const statusLinkValidity = 400 * 24 * time.Hour

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

// issueToken stores a new token and returns the raw value for the link.
func issueToken(ctx context.Context, tx pgx.Tx, requestID, purpose, holder string, expires time.Time) (string, error) {
	raw, hash := newToken()
	if err := db.InsertToken(ctx, tx, requestID, purpose, holder, hash, expires); err != nil {
		return "", err
	}
	return raw, nil
}
