package workflow

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// MinSecretKeyBytes is the shortest DSR_SECRET_KEY accepted (256 bits).
const MinSecretKeyBytes = 32

// ParseSecretKey decodes DSR_SECRET_KEY: hex (64 or more hex digits) or
// standard or URL-safe base64, padded or not, of at least 32 bytes.
// Errors: not hex or base64, or shorter than 32 bytes.
func ParseSecretKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var key []byte
	if b, err := hex.DecodeString(s); err == nil {
		key = b
	} else {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil {
				key = b
				break
			}
		}
		if key == nil {
			return nil, errors.New("not hex or base64")
		}
	}
	if len(key) < MinSecretKeyBytes {
		return nil, fmt.Errorf("%d bytes, need at least %d (e.g. 64 hex digits from `openssl rand -hex 32`)", len(key), MinSecretKeyBytes)
	}
	return key, nil
}

// NewSecretKey returns a random 32-byte key, for a server started without
// DSR_SECRET_KEY: mail sealed with it cannot be delivered after a restart.
func NewSecretKey() []byte {
	b := make([]byte, MinSecretKeyBytes)
	if _, err := rand.Read(b); err != nil {
		panic("workflow: crypto/rand failed: " + err.Error())
	}
	return b
}

// mailSealKey derives the AES-256 key that seals stored mail from the
// server secret, so the secret itself never keys a cipher directly.
func mailSealKey(secret []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, secret, nil, "dsrdesk/mail-seal/v1", 32)
}

// linkToken finds the token of a verify, status or download link (256-bit
// tokens are 43 base64url characters); migration 010 uses the same
// pattern for the rows stored before sealing.
var linkToken = regexp.MustCompile(`/(verify|status|download)/[A-Za-z0-9_-]{43,}`)

// redactLinks replaces the token of every link in s by "[link]"
// (https://x/status/[link]) and reports whether there was one.
func redactLinks(s string) (string, bool) {
	if !linkToken.MatchString(s) {
		return s, false
	}
	return linkToken.ReplaceAllString(s, "/$1/[link]"), true
}

// sealedMail is the plaintext of messages.sealed.
type sealedMail struct {
	Text string `json:"text"`
	HTML string `json:"html"`
}

// errUnsealable is why a message sealed under another key (a restart
// with a new or ephemeral DSR_SECRET_KEY) cannot be delivered.
var errUnsealable = errors.New("the sealed message cannot be opened with this server's DSR_SECRET_KEY (the key changed since it was recorded); its links cannot be sent")

// sealMail encrypts the live bodies with AES-256-GCM under key, bound to
// the message's Message-ID (the AAD) so a sealed blob cannot be moved to
// another message.
func sealMail(key []byte, messageID, text, html string) ([]byte, error) {
	plain, err := json.Marshal(sealedMail{Text: text, HTML: html})
	if err != nil {
		return nil, err
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, plain, []byte(messageID)), nil
}

// openMail decrypts what sealMail sealed. Errors: errUnsealable for a
// wrong key, a wrong Message-ID or a damaged blob.
func openMail(key []byte, messageID string, sealed []byte) (text, html string, err error) {
	gcm, err := newGCM(key)
	if err != nil {
		return "", "", err
	}
	if len(sealed) < gcm.NonceSize() {
		return "", "", errUnsealable
	}
	plain, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], []byte(messageID))
	if err != nil {
		return "", "", errUnsealable
	}
	var m sealedMail
	if err := json.Unmarshal(plain, &m); err != nil {
		return "", "", errUnsealable
	}
	return m.Text, m.HTML, nil
}
