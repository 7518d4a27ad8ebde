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
