package db

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// User roles.
const (
	RoleAdmin   = "admin"
	RoleOfficer = "officer"
	RoleViewer  = "viewer"
)

// User is a console user.
type User struct {
	ID           string
	Email        string
	Name         string
	Role         string
	PasswordHash string
	DisabledAt   *time.Time
}

// InsertUser stores a user. Errors: ECONFLICT when the email exists.
func InsertUser(ctx context.Context, q Querier, u *User) error {
	err := q.QueryRow(ctx, `INSERT INTO users (email, name, role, password_hash) VALUES (lower($1), $2, $3, $4) RETURNING id`,
		u.Email, u.Name, u.Role, u.PasswordHash).Scan(&u.ID)
	return wrap("insert user", err)
}

// UserByEmail finds an active or disabled user. Errors: ENOTFOUND.
func UserByEmail(ctx context.Context, q Querier, email string) (*User, error) {
	var u User
	err := q.QueryRow(ctx, `SELECT id, email, name, role, password_hash, disabled_at FROM users WHERE email = lower($1)`, email).
		Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.DisabledAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "no such user")
	}
	return &u, wrap("user by email", err)
}

// UserByID finds a user. Errors: ENOTFOUND.
func UserByID(ctx context.Context, q Querier, id string) (*User, error) {
	var u User
	err := q.QueryRow(ctx, `SELECT id, email, name, role, password_hash, disabled_at FROM users WHERE id = $1`, id).
		Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.DisabledAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dsr.Errorf(dsr.ENOTFOUND, "no such user")
	}
	return &u, wrap("user by id", err)
}

// ActiveUsers returns the enabled users with one of the roles.
func ActiveUsers(ctx context.Context, q Querier, roles ...string) ([]User, error) {
	rows, err := q.Query(ctx, `SELECT id, email, name, role FROM users WHERE disabled_at IS NULL AND role = ANY($1) ORDER BY email`, roles)
	if err != nil {
		return nil, wrap("active users", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (User, error) {
		var u User
		err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role)
		return u, err
	})
}

// Account changes recorded in user_events.
const (
	UserEventDisable     = "disable"
	UserEventEnable      = "enable"
	UserEventRole        = "role"
	UserEventPassword    = "password"
	UserEventTokenCreate = "token_create"
	UserEventTokenRevoke = "token_revoke"
)

// AllUsers returns every user, disabled ones included, by email. The
// password hash is left empty: lists never need it.
func AllUsers(ctx context.Context, q Querier) ([]User, error) {
	rows, err := q.Query(ctx, `SELECT id, email, name, role, disabled_at FROM users ORDER BY email`)
	if err != nil {
		return nil, wrap("all users", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (User, error) {
		var u User
		err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.DisabledAt)
		return u, err
	})
}

// DisableUser disables the user userID and, in the same statement (one
// snapshot, all or nothing), deletes every session of the user and revokes
// every API token not yet revoked, so nothing the user holds works after
// it returns (PostgreSQL runs every data-modifying WITH part to completion,
// read or not). actorID is the admin doing it ("" for the dsrdesk command on
// the server); the change is recorded in user_events. Disabling a disabled
// user changes nothing but still ends whatever sessions and tokens exist.
// Errors: ENOTFOUND when there is no such user.
func DisableUser(ctx context.Context, q Querier, actorID, userID string, now time.Time) error {
	var found bool
	err := q.QueryRow(ctx, `WITH target AS (SELECT id FROM users WHERE id = $2 FOR UPDATE),
		u AS (UPDATE users SET disabled_at = $3 FROM target WHERE users.id = target.id AND users.disabled_at IS NULL RETURNING users.id),
		s AS (DELETE FROM sessions WHERE user_id IN (SELECT id FROM target) RETURNING 1),
		t AS (UPDATE api_tokens SET revoked_at = $3 WHERE user_id IN (SELECT id FROM target) AND revoked_at IS NULL RETURNING 1),
		e AS (INSERT INTO user_events (at, actor_id, user_id, action, detail)
			SELECT $3, NULLIF($1, '')::uuid, id, 'disable', 'sessions ended: ' || (SELECT count(*) FROM s) || ', tokens revoked: ' || (SELECT count(*) FROM t)
			FROM u RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM target)`, actorID, userID, now).Scan(&found)
	if err != nil {
		return wrap("disable user", err)
	}
	if !found {
		return dsr.Errorf(dsr.ENOTFOUND, "no such user")
	}
	return nil
}

// EnableUser lets a disabled user sign in again (with the password they
// had; revoked API tokens stay revoked) and records it. Enabling an
// enabled user changes nothing. Errors: ENOTFOUND.
func EnableUser(ctx context.Context, q Querier, actorID, userID string, now time.Time) error {
	var found bool
	err := q.QueryRow(ctx, `WITH target AS (SELECT id FROM users WHERE id = $2 FOR UPDATE),
		u AS (UPDATE users SET disabled_at = NULL FROM target WHERE users.id = target.id AND users.disabled_at IS NOT NULL RETURNING users.id),
		e AS (INSERT INTO user_events (at, actor_id, user_id, action) SELECT $3, NULLIF($1, '')::uuid, id, 'enable' FROM u RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM target)`, actorID, userID, now).Scan(&found)
	if err != nil {
		return wrap("enable user", err)
	}
	if !found {
		return dsr.Errorf(dsr.ENOTFOUND, "no such user")
	}
	return nil
}

// SetUserRole gives the user a role (one of the Role constants; the
// database refuses others) and records the change with the old and new
// role. Sessions and tokens stay: each request reads the role afresh, so
// the change applies to the next request. Errors: ENOTFOUND.
func SetUserRole(ctx context.Context, q Querier, actorID, userID, role string, now time.Time) error {
	var found bool
	err := q.QueryRow(ctx, `WITH target AS (SELECT id, role FROM users WHERE id = $2 FOR UPDATE),
		u AS (UPDATE users SET role = $3 FROM target WHERE users.id = target.id AND target.role <> $3 RETURNING target.role AS before, users.id),
		e AS (INSERT INTO user_events (at, actor_id, user_id, action, detail)
			SELECT $4, NULLIF($1, '')::uuid, id, 'role', before || ' -> ' || $3 FROM u RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM target)`, actorID, userID, role, now).Scan(&found)
	if err != nil {
		return wrap("set user role", err)
	}
	if !found {
		return dsr.Errorf(dsr.ENOTFOUND, "no such user")
	}
	return nil
}

// SetUserPassword stores a new password hash for the user, deletes the
// user's sessions except the one whose token hash is keepSession (nil
// keeps none: the admin changing their own password stays signed in
// where they did it) and records the change (never the hash).
// Errors: ENOTFOUND.
func SetUserPassword(ctx context.Context, q Querier, actorID, userID, passwordHash string, keepSession []byte, now time.Time) error {
	var found bool
	err := q.QueryRow(ctx, `WITH target AS (SELECT id FROM users WHERE id = $2 FOR UPDATE),
		u AS (UPDATE users SET password_hash = $3 FROM target WHERE users.id = target.id RETURNING users.id),
		s AS (DELETE FROM sessions WHERE user_id IN (SELECT id FROM target) AND token_hash IS DISTINCT FROM $4 RETURNING 1),
		e AS (INSERT INTO user_events (at, actor_id, user_id, action, detail)
			SELECT $5, NULLIF($1, '')::uuid, id, 'password', 'sessions ended: ' || (SELECT count(*) FROM s) FROM u RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM target)`, actorID, userID, passwordHash, keepSession, now).Scan(&found)
	if err != nil {
		return wrap("set user password", err)
	}
	if !found {
		return dsr.Errorf(dsr.ENOTFOUND, "no such user")
	}
	return nil
}

// UserEvent is one recorded change to an account.
type UserEvent struct {
	At      time.Time
	ActorID string // "" for the dsrdesk command
	UserID  string
	Action  string
	Detail  string
}

// UserEvents returns the recorded changes to a user's account, oldest
// first.
func UserEvents(ctx context.Context, q Querier, userID string) ([]UserEvent, error) {
	rows, err := q.Query(ctx, `SELECT at, coalesce(actor_id::text, ''), user_id::text, action, detail
		FROM user_events WHERE user_id = $1 ORDER BY at, id`, userID)
	if err != nil {
		return nil, wrap("user events", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (UserEvent, error) {
		var e UserEvent
		err := row.Scan(&e.At, &e.ActorID, &e.UserID, &e.Action, &e.Detail)
		return e, err
	})
}
