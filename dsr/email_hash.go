package dsr

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// EmailSHA256 is the lower-case hex SHA-256 of the email address trimmed
// and lower-cased: the identity connectors give systems that store hashes
// instead of addresses (webhook identity.email_sha256, SQL :email_sha256).
// Systems must hash the same way to match.
func EmailSHA256(email string) string {
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(h[:])
}
