package workflow

import (
	"context"
	"slices"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// AddUser creates a console account with email, name, role and an
// argon2id password hash, and sets u.ID. Errors: EINVALID for an email
// that is not one or a role not in Roles, ECONFLICT when the email is
// taken.
func (e *Engine) AddUser(ctx context.Context, u *User) error {
	if !dsr.ValidEmail(u.Email) || !slices.Contains(Roles, u.Role) {
		return dsr.InvalidField("email", "Enter an email and choose a role.")
	}
	return db.InsertUser(ctx, e.pool, u)
}
