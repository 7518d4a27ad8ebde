package workflow

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// DefaultSessionIdleTimeout ends a console session unused for this long.
const DefaultSessionIdleTimeout = 30 * time.Minute

func sessionIdleTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultSessionIdleTimeout
	}
	return d
}

// Roles are the console roles, most powerful first.
var Roles = []string{db.RoleAdmin, db.RoleOfficer, db.RoleViewer}

// MaxTokenLifetime bounds an API token's expiry (ten years), so a typo
// cannot overflow a date.
const MaxTokenLifetime = 3650 * 24 * time.Hour

// ParseTokenLifetime reads an API token lifetime written as a whole
// number of days or hours: "90d", "12h". Errors: EINVALID for any other
// form, zero, or more than MaxTokenLifetime.
func ParseTokenLifetime(s string) (time.Duration, error) {
	bad := dsr.Errorf(dsr.EINVALID, "The expiry %q is not a lifetime: write days or hours, e.g. 90d or 12h (at most 3650d).", s)
	if len(s) < 2 {
		return 0, bad
	}
	unit := time.Hour
	switch s[len(s)-1] {
	case 'd':
		unit = 24 * time.Hour
	case 'h':
	default:
		return 0, bad
	}
	digits := s[:len(s)-1]
	if strings.TrimLeft(digits, "0123456789") != "" {
		return 0, bad
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n <= 0 || n > int64(MaxTokenLifetime/unit) {
		return 0, bad
	}
	return time.Duration(n) * unit, nil
}

// MaxTokenNameLength bounds an API token's label, in characters.
const MaxTokenNameLength = 100

// CheckTokenName accepts an API token label: at most MaxTokenNameLength
// characters of printable text ("" is allowed). Errors: EINVALID.
func CheckTokenName(name string) error {
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxTokenNameLength || strings.ContainsFunc(name, unicode.IsControl) {
		return &dsr.Error{Code: dsr.EINVALID, Message: fmt.Sprintf("A token name is at most %d characters of text, without control characters.", MaxTokenNameLength),
			Fields: map[string]string{"name": "Use a short label, e.g. ticketing."}}
	}
	return nil
}

// SessionIdleTimeout is how long a console session may go unused.
func (e *Engine) SessionIdleTimeout() time.Duration { return e.idle }

// StartSession stores a console session for the user, by the hash of its
// token, lasting at most ttl from now on the engine's clock.
func (e *Engine) StartSession(ctx context.Context, userID string, hash []byte, ttl time.Duration) error {
	now := e.now()
	return db.StartSession(ctx, e.pool, userID, hash, now, now.Add(ttl))
}

// SessionUser returns the user of the console session whose token has
// this hash, refusing it when it is past its absolute expiry, unused for
// longer than the idle timeout, or its user is disabled.
// Errors: ENOTFOUND for all of those.
func (e *Engine) SessionUser(ctx context.Context, hash []byte) (*db.User, error) {
	return db.UserBySession(ctx, e.pool, hash, e.now(), e.idle)
}

// APITokenUser returns the user holding the admin API token with this
// hash. Errors: ENOTFOUND when the token is unknown, revoked, expired or
// its user disabled.
func (e *Engine) APITokenUser(ctx context.Context, hash []byte) (*db.User, error) {
	return db.UserByAPIToken(ctx, e.pool, hash, e.now())
}

// APITokenSystem returns the data system holding the system token with
// this hash. Errors: ENOTFOUND (no live system token has it).
func (e *Engine) APITokenSystem(ctx context.Context, hash []byte) (string, error) {
	return db.SystemByAPIToken(ctx, e.pool, hash, e.now())
}

// Users lists every console user, disabled ones included.
func (e *Engine) Users(ctx context.Context) ([]db.User, error) { return db.AllUsers(ctx, e.pool) }

// APITokens lists the API tokens of one user, or of all when userID is "".
func (e *Engine) APITokens(ctx context.Context, userID string) ([]db.APIToken, error) {
	return db.APITokens(ctx, e.pool, userID)
}

// notSelf refuses an admin's change to their own account that could lock
// them (and, as the last admin, everyone) out of the console: that is
// done by another admin or with the dsrdesk command on the server.
func notSelf(actor *db.User, userID, what string) error {
	if actor != nil && actor.ID == userID {
		return dsr.Errorf(dsr.ECONFLICT, "You cannot %s your own account; ask another admin or use the dsrdesk command on the server.", what)
	}
	return nil
}

// DisableUser disables a user and ends their sessions and API tokens at
// once (one statement), recording actor. Errors: ECONFLICT for the
// actor's own account, ENOTFOUND.
func (e *Engine) DisableUser(ctx context.Context, actor *db.User, userID string) error {
	if err := notSelf(actor, userID, "disable"); err != nil {
		return err
	}
	if err := db.DisableUser(ctx, e.pool, actorID(actor), userID, e.now()); err != nil {
		return err
	}
	e.logAccount(ctx, actor, userID, db.UserEventDisable)
	return nil
}

// EnableUser lets a disabled user sign in again. Errors: ENOTFOUND.
func (e *Engine) EnableUser(ctx context.Context, actor *db.User, userID string) error {
	if err := db.EnableUser(ctx, e.pool, actorID(actor), userID, e.now()); err != nil {
		return err
	}
	e.logAccount(ctx, actor, userID, db.UserEventEnable)
	return nil
}

// SetUserRole changes a user's role; it applies from their next request.
// Errors: EINVALID for a role not in Roles, ECONFLICT for the actor's own
// account, ENOTFOUND.
func (e *Engine) SetUserRole(ctx context.Context, actor *db.User, userID, role string) error {
	if !slices.Contains(Roles, role) {
		return &dsr.Error{Code: dsr.EINVALID, Message: "Choose a role.",
			Fields: map[string]string{"role": "Choose one of: " + strings.Join(Roles, ", ") + "."}}
	}
	if err := notSelf(actor, userID, "change the role of"); err != nil {
		return err
	}
	if err := db.SetUserRole(ctx, e.pool, actorID(actor), userID, role, e.now()); err != nil {
		return err
	}
	e.logAccount(ctx, actor, userID, db.UserEventRole)
	return nil
}

// SetUserPassword sets a user's password (the rules of dsr.HashPassword)
// and ends their sessions except keepSession (the hash of the session
// making the change, when it is the user's own; nil for none).
// Errors: EINVALID for a password the rules refuse, ENOTFOUND.
func (e *Engine) SetUserPassword(ctx context.Context, actor *db.User, userID, password string, keepSession []byte) error {
	hash, err := dsr.HashPassword(password)
	if err != nil {
		if dsr.ErrorCode(err) == dsr.EINVALID {
			msg := dsr.ErrorMessage(err)
			return &dsr.Error{Code: dsr.EINVALID, Message: msg, Fields: map[string]string{"password": msg}}
		}
		return err
	}
	if actor == nil || actor.ID != userID {
		keepSession = nil
	}
	if err := db.SetUserPassword(ctx, e.pool, actorID(actor), userID, hash, keepSession, e.now()); err != nil {
		return err
	}
	e.logAccount(ctx, actor, userID, db.UserEventPassword)
	return nil
}

// CreateAPIToken makes an admin API token for an enabled user, expiring
// after lifetime (0: never), and returns the raw token, to be shown once;
// only its hash is stored. Errors: EINVALID for a bad name, ENOTFOUND, ECONFLICT when the user is
// disabled.
func (e *Engine) CreateAPIToken(ctx context.Context, actor *db.User, userID, name string, lifetime time.Duration) (string, error) {
	if err := CheckTokenName(name); err != nil {
		return "", err
	}
	u, err := db.UserByID(ctx, e.pool, userID)
	if err != nil {
		return "", err
	}
	if u.DisabledAt != nil {
		return "", dsr.Errorf(dsr.ECONFLICT, "The user %s is disabled; enable them first.", u.Email)
	}
	now := e.now()
	var expires *time.Time
	if lifetime > 0 {
		t := now.Add(lifetime)
		expires = &t
	}
	raw, hash := db.NewAPIToken()
	if _, err := db.CreateAPIToken(ctx, e.pool, actorID(actor), userID, name, hash, expires, now); err != nil {
		return "", err
	}
	e.logAccount(ctx, actor, userID, db.UserEventTokenCreate)
	return raw, nil
}

// RevokeAPIToken revokes a token: it answers 401 from the next request.
// Errors: ENOTFOUND when there is no such live token.
func (e *Engine) RevokeAPIToken(ctx context.Context, actor *db.User, tokenID string) error {
	if err := db.RevokeAPIToken(ctx, e.pool, actorID(actor), tokenID, e.now()); err != nil {
		return err
	}
	e.log.InfoContext(ctx, "security: account change", "action", db.UserEventTokenRevoke, "actor_id", actorID(actor), "token_id", tokenID)
	return nil
}

func actorID(actor *db.User) string {
	if actor == nil {
		return ""
	}
	return actor.ID
}

// logAccount writes the security log line of an account change: ids and
// the action only, never a password, token or email address.
func (e *Engine) logAccount(ctx context.Context, actor *db.User, userID, action string) {
	e.log.InfoContext(ctx, "security: account change", "action", action, "actor_id", actorID(actor), "user_id", userID)
}
