package dsr

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password rules.
const (
	// MinPasswordLength is the shortest password accepted, in characters.
	MinPasswordLength = 12
	// MaxPasswordLength bounds the work one login attempt can cause, in bytes.
	MaxPasswordLength = 1024
)

// Argon2id parameters for new hashes: OWASP's minimum configuration
// (19 MiB of memory, 2 passes, 1 lane), a 16-byte salt and a 32-byte key.
// CheckPassword reads the parameters from each stored hash, so these can
// be raised later without invalidating existing passwords.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonSaltLen   = 16
	argonKeyLen    = 32
)

// Bounds on the parameters CheckPassword accepts from a stored hash, so a
// corrupt or hostile row cannot make a login allocate gigabytes or spin.
const (
	maxArgonMemoryKiB = 1 << 20 // 1 GiB
	maxArgonTime      = 16
	minArgonSaltLen   = 8
	minArgonKeyLen    = 16
	maxArgonKeyLen    = 64
)

var b64 = base64.RawStdEncoding

// HashPassword returns the argon2id hash of pw as a PHC string:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<base64 salt>$<base64 hash>
//
// (unpadded standard base64). Errors: EINVALID when pw is shorter than
// MinPasswordLength characters or longer than MaxPasswordLength bytes.
func HashPassword(pw string) (string, error) {
	if n := utf8.RuneCountInString(pw); n < MinPasswordLength {
		return "", Errorf(EINVALID, "The password must be at least %d characters long.", MinPasswordLength)
	}
	if len(pw) > MaxPasswordLength {
		return "", Errorf(EINVALID, "The password must be at most %d bytes long.", MaxPasswordLength)
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", &Error{Code: EINTERNAL, Err: fmt.Errorf("password salt: %w", err)}
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches encoded, a PHC string made by
// HashPassword (with any parameters within sane bounds). The comparison is
// constant-time; a malformed encoded string never matches.
func CheckPassword(encoded, pw string) bool {
	p, ok := parseArgon2id(encoded)
	if !ok || len(pw) > MaxPasswordLength {
		return false
	}
	key := argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1
}

type argon2idHash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parseArgon2id parses "$argon2id$v=19$m=M,t=T,p=P$salt$key".
func parseArgon2id(s string) (argon2idHash, bool) {
	var h argon2idHash
	if strings.ContainsAny(s, "\r\n") { // base64 decoding would skip them
		return h, false
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, false
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return h, false
	}
	m, okM := param(params[0], "m=", maxArgonMemoryKiB)
	t, okT := param(params[1], "t=", maxArgonTime)
	p, okP := param(params[2], "p=", 255)
	if !okM || !okT || !okP || m < 8*p {
		return h, false // argon2 needs at least 8 KiB per lane
	}
	salt, err := b64.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < minArgonSaltLen {
		return h, false
	}
	key, err := b64.Strict().DecodeString(parts[5])
	if err != nil || len(key) < minArgonKeyLen || len(key) > maxArgonKeyLen {
		return h, false
	}
	return argon2idHash{memory: m, time: t, threads: uint8(p), salt: salt, key: key}, true
}

// param parses "name=N" with 1 <= N <= max.
func param(s, name string, max uint32) (uint32, bool) {
	v, ok := strings.CutPrefix(s, name)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n < 1 || n > uint64(max) {
		return 0, false
	}
	return uint32(n), true
}

// passwordAlphabet is the URL-safe base64 alphabet: 64 symbols, so each
// random byte's low 6 bits pick one without bias.
const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// GeneratePassword returns a random 20-character password over the
// URL-safe alphabet (120 bits) from crypto/rand.
func GeneratePassword() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	for i := range b {
		b[i] = passwordAlphabet[b[i]&63]
	}
	return string(b)
}
